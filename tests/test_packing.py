"""Packed apps (加固): the packer knowledge, detection, payloads that are not native libraries, the
shell's own SDK copies, the sec.packed finding, the report and the suggested verdict.

Exact cases come from packages the tests build (a Legu-like shell and its unpacked twin); the real
corpus checks the two Legu-packed apps, their unpacked twins and that nothing else is called packed.
"""

import json
import os

import jsonschema
import pytest

from qingdan.apk.package import content_kind, read_package
from qingdan.checks.pipeline import analyze
from qingdan.knowledge import packers as packers_mod
from qingdan.knowledge.packers import load_packers
from qingdan.knowledge.sdks import load_sdks
from qingdan.report.html import render_html
from qingdan.report.jsonreport import report_schema, to_dict
from qingdan.report.summary import summary_lines
from qingdan.review.suggestion import verdict_suggestion
from tests.conftest import CORPUS, corpus_apks, needs_shared
from tests.support.apkbuilder import (
    ClassDef,
    Component,
    Invoke,
    Method,
    build_apk,
    build_dex,
    build_manifest,
    dummy_elf,
)

STR = "Ljava/lang/String;"
TM = "Landroid/telephony/TelephonyManager;"
STUB = "com.tencent.StubShell.TxAppEntry"


def _app_classes():
    return [ClassDef("Lcom/example/packed/MainActivity;", methods=[Method("m", ret=STR, invokes=[
        Invoke(TM, "getDeviceId", ret=STR)])])]


def _shell_classes():
    # the shell: its stub Application and its own Bugly copy, which reads the IMEI
    return [ClassDef(f"L{STUB.replace('.', '/')};"), ClassDef("Lcom/tencent/StubShell/ZipUtil;"),
            ClassDef("Lcom/tencent/bugly/legu/crashreport/CrashReport;", methods=[
                Method("id", ret=STR, invokes=[Invoke(TM, "getDeviceId", ret=STR)])])]


def build_packed(tmp_path, name="packed.apk", components=()):
    """A Legu-like packed app: stub Application, shell classes, native loaders, an encrypted payload in
    assets/, lib/ files that are not ELF, and the shell's libBugly.so."""
    man = build_manifest("com.example.packed", label="P", app_attrs={"android:name": STUB},
                         permissions=["android.permission.READ_PHONE_STATE"], components=list(components))
    files = {
        "lib/armeabi-v7a/libshella-3.0.0.so": dummy_elf("armeabi-v7a", b"shell"),
        "lib/armeabi-v7a/libshellx-3.0.0.so": dummy_elf("armeabi-v7a", b"shellx"),
        "lib/armeabi-v7a/libBugly.so": dummy_elf("armeabi-v7a", b"bugly"),
        "lib/armeabi-v7a/mix.dex": b"dex\n035\0" + bytes(range(200)),
        "assets/0OO00l111l1l": bytes((i * 73 + 11) % 256 for i in range(4096)),
    }
    return build_apk(tmp_path / name, man, [build_dex(_shell_classes())], files=files)


def build_unpacked(tmp_path, name="unpacked.apk"):
    man = build_manifest("com.example.packed", label="P", permissions=["android.permission.READ_PHONE_STATE"])
    return build_apk(tmp_path / name, man, [build_dex(_app_classes())])


# -- knowledge -----------------------------------------------------------------------------------


def test_packers_cover_the_common_chinese_packers_and_name_their_catalogue_entries():
    ps = load_packers()
    for pid in ("tencent-legu", "qihoo360-jiagu", "bangcle", "ijiami", "baidu-jiagu", "netease-yidun",
                "alibaba-jiagu", "naga", "apkprotect", "dingxiang", "kiwisec"):
        assert pid in ps, pid
    sdks = load_sdks()
    for p in ps.values():
        assert p.sources and (p.sdk is None or sdks[p.sdk].category == "security")
        assert set(p.bundled_packages) <= set(sdks[p.sdk].signatures.packages if p.sdk else ())
    legu = ps["tencent-legu"]
    assert STUB in legu.signatures.application_classes and "libBugly.so" in legu.bundled_native_libs
    assert "com.tencent.bugly.legu" in legu.bundled_packages


@pytest.mark.parametrize("old, new, says", [
    ("  sdk: tencent-legu\n", "  sdk: no-such-sdk\n", "sdk 'no-such-sdk' is not an id of the SDK catalogue"),
    ("  weak: [", "  weak: [nothing, ", "weak values ['nothing'] are not among its signatures"),
    ("    packages: [com.tencent.bugly.legu,", "    packages: [com.example.x,", "must be package prefixes"),
])
def test_a_bad_packer_file_names_the_file_and_the_entry(monkeypatch, old, new, says):
    text = packers_mod._FILE.read_text()
    assert old in text
    monkeypatch.setattr(packers_mod, "_read_text", lambda: text.replace(old, new, 1))
    packers_mod._loaded.cache_clear()
    try:
        with pytest.raises(ValueError) as exc:
            load_packers()
    finally:
        packers_mod._loaded.cache_clear()
    msg = str(exc.value)
    assert "knowledge/data/packers.yaml" in msg and "packers[0] (tencent-legu)" in msg and says in msg


# -- the package reader: native libraries are ELF files -----------------------------------------


def test_only_elf_files_under_lib_are_native_libraries(tmp_path):
    man = build_manifest("com.example.libs", label="L")
    path = build_apk(tmp_path / "l.apk", man, [build_dex([ClassDef("Lcom/example/libs/A;")])], files={
        "lib/arm64-v8a/libreal.so": dummy_elf("arm64-v8a"),
        "lib/arm64-v8a/libfake.so": bytes((i * 31 + 7) % 256 for i in range(300)),
        "lib/arm64-v8a/mixz.dex": b"PK\x03\x04" + b"\0" * 60,
        "assets/plugin.jar": b"\x13\x37" * 600,  # says jar, is not a zip: an encrypted payload
        "assets/fonts/a.ttf": b"\0\1\0\0" + b"\0" * 600,  # not code: not looked at
    })
    pkg = read_package(path)
    assert [(n.abi, n.name) for n in pkg.native_libs] == [("arm64-v8a", "libreal.so")]
    assert {(p.path, p.kind) for p in pkg.payloads} == {
        ("lib/arm64-v8a/libfake.so", "opaque"), ("lib/arm64-v8a/mixz.dex", "zip"),
        ("assets/plugin.jar", "opaque")}
    assert "lib/arm64-v8a/libfake.so" in pkg.entry_names


def test_content_kind_reads_the_first_bytes():
    assert content_kind(b"\x7fELF\x01") == "elf" and content_kind(b"dex\n035\0") == "dex"
    assert content_kind(b"PK\x03\x04") == "zip" and content_kind(b"hello\n") == "text"
    assert content_kind(b"\x13\x37\x00\xff") == "opaque" and content_kind(None) == "unreadable"


# -- detection, ownership, the finding and the report -------------------------------------------


def test_a_legu_like_shell_is_detected_with_its_evidence(tmp_path):
    res, findings = analyze(build_packed(tmp_path))
    p = res.packing
    assert p is not None and p.packer.id == "tencent-legu"
    ev = {(e.kind, e.name) for e in p.evidence}
    assert ("application_class", STUB) in ev
    assert ("native_lib", "libshella-3.0.0.so") in ev and ("file", "assets/0OO00l111l1l") in ev
    assert any(k == "shell_classes" and "com.tencent.StubShell" in n for k, n in ev)
    # the shell's own Bugly copy is the packer's: no Bugly SDK, no IMEI read charged to the app
    assert ("bundled_sdk", "tencent-bugly") in ev
    assert res.sdk("tencent-bugly") is None and res.sdk("tencent-legu") is not None
    assert {u.owner for u in res.api_uses} == {"tencent-legu"}
    assert "app" not in {c.owner for c in res.pi_summary.get("imei", []) if c.evidence[0].kind == "api"}
    # mix.dex under lib/ is a payload, not a native library
    assert "mix.dex" not in {n.name for n in res.package.native_libs}
    assert ("lib/armeabi-v7a/mix.dex", "dex") in {(x.path, x.kind) for x in res.package.payloads}
    (f,) = [f for f in findings if f.rule_id == "sec.packed"]
    assert f.owner == "app" and f.severity == "warn" and f.evidence["packer"] == "tencent-legu"
    assert "unpacked build" in f.message_en and "未加固" in f.message_zh
    # manifest evidence is still used in full
    assert [p.name for p in res.permissions] == ["android.permission.READ_PHONE_STATE"]


def test_the_report_says_plainly_that_code_sections_cover_only_the_shell(tmp_path):
    res, _ = analyze(build_packed(tmp_path))
    rep = to_dict(res)
    jsonschema.Draft202012Validator(report_schema()).validate(rep)
    assert rep["packing"]["packer"] == "tencent-legu" and rep["packing"]["name"] == "腾讯乐固"
    assert rep["packing"]["unseen"] == ["sdks_from_code", "api_uses", "pi_from_code"]
    assert {e["kind"] for e in rep["packing"]["evidence"]} >= {"application_class", "native_lib", "file"}
    text = "\n".join(summary_lines(rep))
    assert "PACKED" in text and "cover only the shell" in text
    html = render_html(rep)
    assert 'id="packing"' in html and "真实代码已加密" in html and "Covers only the packer" in html
    s = verdict_suggestion(rep)
    assert s["decision"] == "reject" and "sec.packed" in s["rules"] and "unpacked build" in s["reason_en"]


def test_the_unpacked_twin_is_not_packed(tmp_path):
    res, findings = analyze(build_unpacked(tmp_path))
    rep = to_dict(res)
    assert res.packing is None and rep["packing"] is None and rep["payloads"] == []
    assert "sec.packed" not in {f.rule_id for f in findings}
    assert "PACKED" not in "\n".join(summary_lines(rep)) and 'id="packing"' not in render_html(rep)
    assert "sec.packed" not in verdict_suggestion(rep)["rules"]


def test_weak_signals_alone_do_not_call_an_app_packed(tmp_path):
    man = build_manifest("com.example.weak", label="W")
    path = build_apk(tmp_path / "w.apk", man, [build_dex([ClassDef("Lcom/example/weak/A;")])],
                     files={"lib/armeabi/mix.dex": b"dex\n035\0" + b"\0" * 100})
    res, _ = analyze(path)
    assert res.packing is None


# -- the corpus ----------------------------------------------------------------------------------


@needs_shared
def test_corpus_legu_apps_are_detected_and_nothing_else_is_packed():
    packed = {}
    for path in corpus_apks(include_edge=False):
        try:
            res, _ = analyze(path)
        except Exception:  # noqa: BLE001 - unreadable corpus files are other tests' business
            continue
        packed[os.path.relpath(path, CORPUS)] = res.packing.packer.id if res.packing else None
    legu = {k for k in packed if k.startswith("packed/") and k.endswith("-legu.apk")}
    assert len(legu) == 2
    assert {packed[k] for k in legu} == {"tencent-legu"}
    others = {k: v for k, v in packed.items() if k not in legu and v is not None}
    assert others == {}
    assert packed["packed/game2048-unpacked.apk"] is None and packed["packed/liferecord-unpacked.apk"] is None


@needs_shared
def test_corpus_legu_shell_bugly_copy_is_the_packers():
    res, _ = analyze(CORPUS / "packed" / "game2048-legu.apk")
    assert res.sdk("tencent-bugly") is None
    assert {u.owner for u in res.api_uses} <= {"tencent-legu"}
    libs = {n.name for n in res.package.native_libs}
    assert libs == {"libBugly.so", "libshella-2.8.so", "libshellx-2.8.so"}  # mix.dex, mixz.dex: payloads
    rep = json.loads(json.dumps(to_dict(res)))
    assert rep["packing"]["packer"] == "tencent-legu"


def test_the_review_service_suggests_asking_for_an_unpacked_build(tmp_path, monkeypatch):
    from tests import test_review

    svc = test_review.Svc(tmp_path, monkeypatch)
    try:
        r = svc.upload(build_packed(tmp_path), app="com.example.packed")
        assert r.status_code == 202, r.text
        summary = svc.wait(r.json()["id"])["summary"]
        assert summary["packing"] == "tencent-legu" and "sec.packed" in summary["rules"]
        s = summary["suggestion"]
        assert s["decision"] == "reject" and s["rules"][0] == "sec.packed" and "未加固" in s["reason_zh"]
        r2 = svc.upload(build_unpacked(tmp_path, "twin.apk"), app="com.example.packed")
        summary2 = svc.wait(r2.json()["id"])["summary"]
        assert summary2["packing"] is None and summary2["suggestion"]["decision"] != "reject"
    finally:
        svc.close()
        test_review._OPEN.remove(svc)


def test_diff_says_which_side_is_packed(tmp_path):
    from qingdan.report.diff import diff_lines, diff_reports

    old = to_dict(analyze(build_unpacked(tmp_path))[0])
    new = to_dict(analyze(build_packed(tmp_path))[0])
    d = diff_reports(old, new)
    assert d["packing"] == {"old": None, "new": "tencent-legu"}
    assert any("new package is packed (tencent-legu)" in line for line in diff_lines(d))


def test_manifest_components_of_encrypted_code_are_live_evidence(tmp_path):
    # JPush's service is declared; its class is encrypted with the rest of the app's code
    push = Component("service", "cn.jpush.android.service.PushService", exported=False)
    callback = Component("activity", "com.example.packed.wxapi.WXEntryActivity")
    res, _ = analyze(build_packed(tmp_path, components=[push, callback]))
    d = res.sdk("jpush")
    assert d is not None and d.confidence == "medium"
    assert d.evidence.components == ["cn.jpush.android.service.PushService"]
    wx = res.sdk("wechat-open-sdk") or next((x for x in res.sdks if callback.name in x.evidence.declared_only
                                              + x.evidence.components), None)
    assert wx is None or callback.name not in wx.evidence.components  # the app's own callback stays a hint
