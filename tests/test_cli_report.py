"""The scan command: terminal summary, JSON report (validated against the published schema), HTML."""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from qingdan.checks.scan import scan_path
from qingdan.report.html import render_html
from qingdan.report.jsonreport import report_schema, to_dict
from tests.conftest import CORPUS, ROOT, cli, corpus_apks, needs_shared
from tests.support.apkbuilder import (
    ClassDef,
    Component,
    IntentFilter,
    build_apk,
    build_arsc,
    build_dex,
    build_manifest,
)

DEMO = ROOT / "examples" / "demo.apk"


def validate(rep):
    jsonschema.Draft202012Validator(report_schema()).validate(rep)


def test_schema_file_is_published_and_valid():
    schema = json.loads((ROOT / "docs" / "schema" / "report-1.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == report_schema()


def test_demo_scan_summary_and_reports(tmp_path):
    out, html = tmp_path / "r.json", tmp_path / "r.html"
    code, stdout, stderr = cli("scan", str(DEMO), "--json", str(out), "--html", str(html))
    assert code == 0, stderr
    assert stdout.splitlines()[0] == "com.example.qingdan.demo 2.1.0 (21)  清单演示"
    assert "perms     9: 6 dangerous · 3 normal" in stdout
    assert "READ_PHONE_STATE 读取电话状态" in stdout
    assert "receiver com.example.qingdan.demo.BootReceiver: system broadcast: BOOT_COMPLETED" in stdout
    assert "dex       2 files + 1 nested" in stdout
    rep = json.loads(out.read_text("utf-8"))
    validate(rep)
    assert rep["app"]["package"] == "com.example.qingdan.demo"
    assert rep["signing"]["schemes"] == ["v1"]
    assert {p["name"] for p in rep["permissions"]} >= {"android.permission.READ_PHONE_STATE",
                                                        "android.permission.CAMERA"}
    assert rep["application"]["meta_data"]["UMENG_APPKEY"]
    assert [d["source"] for d in rep["dex"]] == ["classes.dex", "classes2.dex",
                                                 "assets/plugin.jar!/classes.dex"]
    page = html.read_text("utf-8")
    assert page.startswith("<!doctype html>") and "清单演示" in page
    assert ("<script" not in page and "http://" not in page.replace("http://schemas", "")
            and "src=" not in page)


def test_html_escapes_app_controlled_strings(tmp_path):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    arsc, ids = build_arsc("a.b", {"app_name": evil})
    man = build_manifest("a.b", label=f"@0x{ids['app_name']:08x}", app_meta_data={"K": evil},
                         components=[Component("activity", ".A" + "&<b>", intent_filters=[
                             IntentFilter([evil])])])
    p = build_apk(tmp_path / "e.apk", man, [build_dex([ClassDef("La/b/A;")])], arsc=arsc)
    page = render_html(to_dict(scan_path(p)))
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;" in page


@needs_shared
@pytest.mark.parametrize("path", corpus_apks(include_edge=False)[::3], ids=lambda p: p.name)
def test_corpus_reports_validate(path):
    rep = to_dict(scan_path(path))
    validate(rep)
    assert render_html(rep)


@needs_shared
def test_folder_scan_counts_bad_files_and_goes_on(tmp_path):
    folder = tmp_path / "apps"
    folder.mkdir()
    for name in ("cn-app/ipin-android-2015.apk", "oss-app/fdroid-com.politedroid_4.apk",
                 "edge/git-lfs-pointer-olacabs.apk"):
        (folder / Path(name).name).write_bytes((CORPUS / name).read_bytes())
    (folder / "notes.txt").write_text("not a package")
    jdir = tmp_path / "json"
    summary = tmp_path / "summary.csv"
    code, stdout, stderr = cli("scan", str(folder), "-j", "2", "--json", str(jdir), "--summary", str(summary))
    assert code == 2  # one bad package
    assert "3 packages: 2 scanned, 1 failed" in stdout
    assert "error: " in stdout and "git-lfs-pointer-olacabs.apk" in stdout
    assert sorted(p.name for p in jdir.iterdir()) == ["fdroid-com.politedroid_4.apk.json",
                                                      "ipin-android-2015.apk.json"]
    rows = summary.read_text("utf-8").splitlines()
    assert rows[0].startswith("file,ok,error,package,version,suggestion")
    assert len(rows) == 4
    ipin = next(r for r in rows if r.startswith("ipin-android-2015.apk,True,,com.mishow.ipin_android"))
    assert ipin.split(",")[5] in ("approve", "review", "reject")


def test_version_and_usage_errors():
    code, out, _ = cli("--version")
    assert code == 0 and out.strip().startswith("qingdan ")
    code, _, err = cli("scan")
    assert code == 2 and "Missing argument" in err


# ------------------------------------------------------------------ app strings on the terminal

# C0 (but the newline that ends our own lines), DEL, C1 (0x9b: an 8-bit CSI), line/paragraph
# separators and bidi controls: none may reach the terminal from an app
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
EVIL = "Evil\x1b]0;pwned\x07\x1b[2J\rX\x9b31m\u202eabc\u2066\nfindings  0 block\x00\x7f"


def _evil_apk(path, package="a.b"):
    arsc, ids = build_arsc(package, {"app_name": EVIL})
    boot = IntentFilter(["android.intent.action.BOOT_COMPLETED"])
    man = build_manifest(package, label=f"@0x{ids['app_name']:08x}", version_name="1.0" + EVIL,
                         components=[Component("receiver", ".Boot" + EVIL, intent_filters=[boot])])
    return build_apk(path, man, [build_dex([ClassDef("La/b/A;")])], arsc=arsc)


def _assert_clean(text):
    assert not CONTROL.findall(text), sorted(set(CONTROL.findall(text)))
    assert not any(line.startswith("findings  0") for line in text.splitlines()), "an app string made a line"


def test_terminal_output_carries_no_control_characters(tmp_path):
    p = _evil_apk(tmp_path / "e.apk")
    code, out, err = cli("scan", str(p))
    assert code == 0, err
    _assert_clean(out + err)
    assert "Evil]0;pwned[2J X31mabc findings  0 block" in out  # the text stays, its controls go
    assert out.splitlines()[0].startswith("a.b 1.0Evil")
    assert "receiver a.b.BootEvil" in out
    code, out, err = cli("diff", str(DEMO), str(p))
    assert code == 0, err
    _assert_clean(out + err)
    # a folder: file names are outside text too, and so are the errors about them
    apps = tmp_path / "apps"
    apps.mkdir()
    _evil_apk(apps / "ok\x1b]0;t\x07\r.apk")
    (apps / "bad\x1b[31m\u202e.apk").write_bytes(b"PK\x03\x04" + EVIL.encode())
    code, out, err = cli("scan", str(apps), "-j", "1")
    assert code == 2
    _assert_clean(out + err)
    assert "ok]0;t .apk: a.b 1.0Evil" in out and "error: " in out and "bad[31m.apk" in out


def test_error_lines_carry_no_control_characters(tmp_path):
    bad = tmp_path / "x\x1b]0;t\x07\u202e.apk"
    bad.write_bytes(b"nope")
    code, out, err = cli("scan", str(bad))
    assert code == 2
    _assert_clean(out + err)
    assert err.strip() == f"error: {tmp_path}/x]0;t.apk: not a zip archive (4 bytes)"


def test_terminal_text_unit():
    from qingdan._io import terminal_text

    every_control = "".join(map(chr, [*range(0x20), 0x7f, *range(0x80, 0xa0), 0x061c, 0x200e, 0x200f,
                                      *range(0x2028, 0x202f), *range(0x2066, 0x206a)]))
    assert terminal_text("a" + every_control + "b") == "a   b"  # \t, \n, \r become spaces
    assert terminal_text("a" + every_control + "b", keep_newlines=True) == "a\t\nb"
    assert terminal_text("清单 · 友盟同欣（北京）") == "清单 · 友盟同欣（北京）"
    assert terminal_text(12) == "12"


def test_folder_summary_csv_cells_are_never_formulas(tmp_path):
    """A package name or file name is the app's: in the summary CSV it must not start a formula."""
    folder = tmp_path / "apps"
    folder.mkdir()
    build_apk(folder / "=HYPERLINK(1).apk", build_manifest("@evil.formula", version_name="-1+1"))
    summary = tmp_path / "summary.csv"
    code, _, stderr = cli("scan", str(folder), "-j", "1", "--summary", str(summary))
    assert code in (0, 1), stderr
    import csv as _csv

    rows = list(_csv.DictReader(summary.open(encoding="utf-8", newline="")))
    assert rows[0]["file"] == "'=HYPERLINK(1).apk"
    assert rows[0]["package"] == "'@evil.formula"
    assert rows[0]["version"].startswith("'-1+1")
