"""Configuration and output of every command that reports findings (issue 16, points 13–16): where
qingdan.toml comes from, the same --config and acceptances everywhere, --lang zh|en for the terminal
and the HTML report, call sites beyond the shown ones, "did you mean", diff --fail-on and owners, the
folder scan's progress bar."""

import json
import os
import subprocess
import sys

import pytest

from qingdan.checks.pipeline import analyze
from qingdan.report.html import render_html
from qingdan.report.jsonreport import to_dict
from tests.support.apkbuilder import ClassDef, Invoke, Method, build_apk, build_dex, build_manifest
from tests.test_lists import GOOD
from tests.test_ui import AD_LABEL, SPLASH, dump

STR = "Ljava/lang/String;"
IMEI = Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
# the app block of test_lists' good file, and one collected row
LISTS = GOOD.split("collected:")[0] + """collected:
  - pi_type: imei
    purpose: 识别设备，防范账号被盗
    scenario: TODO
    method: permission
    permission: android.permission.READ_PHONE_STATE
    collector: {collector}
"""
POLICY = "本应用会收集您的位置信息和通讯录。\n如有问题请与我们联系。\n"


def run(*args, cwd=None, env=None):
    """The CLI in a subprocess, from ``cwd``, with exactly the locale variables of ``env``."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("QINGDAN_DEBUG", "QINGDAN_LANG", "LC_ALL", "LC_MESSAGES", "LANG")}
    e.update(env or {"LANG": "C.UTF-8"})
    p = subprocess.run([sys.executable, "-m", "qingdan.cli", *args], capture_output=True, text=True,
                       timeout=120, env=e, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def apk(folder, name="a.apk", debuggable=True, sdk_calls=0, perms=()):
    """An app (debuggable: one block finding); with ``sdk_calls``, JPush code reading the IMEI from
    that many classes."""
    folder.mkdir(parents=True, exist_ok=True)
    classes = [ClassDef("Lcom/example/app/Main;")]
    if sdk_calls:
        classes += [ClassDef(f"Lcn/jpush/android/api/C{i};") for i in range(6)]
        classes += [ClassDef(f"Lcn/jpush/android/api/Dev{i};", methods=[Method("m", invokes=[IMEI])])
                    for i in range(sdk_calls)]
    man = build_manifest("com.example.app", label="T", permissions=list(perms),
                         app_attrs={"android:debuggable": debuggable, "android:allowBackup": False},
                         app_meta_data={"JPUSH_APPKEY": "k"} if sdk_calls else {})
    return build_apk(folder / name, man, [build_dex(classes)])


def accept_all(path, rows):
    """A qingdan.toml that accepts every finding of ``rows`` (JSON rows: rule, owner)."""
    body = "".join(f'[[accept]]\nrule = "{r["rule"]}"\nowner = "{r["owner"]}"\nreason = "known, tracked"\n'
                   for r in {(r["rule"], r["owner"]): r for r in rows}.values())
    path.write_text(body, "utf-8")
    return path


# -- 13: qingdan.toml from beside the package or --config, never the current folder; said on stderr --


def test_config_is_never_read_from_the_current_folder(tmp_path):
    p = apk(tmp_path / "app")
    here = tmp_path / "elsewhere"
    here.mkdir()
    (here / "qingdan.toml").write_text('fail_on = "block"\n', "utf-8")  # meant for another app
    code, _, err = run("scan", str(p), cwd=here)
    assert code == 0 and "config:" not in err, err  # not read, and nothing said
    # beside the package: used, and named in one line on stderr
    beside = tmp_path / "app" / "qingdan.toml"
    beside.write_text('fail_on = "block"\n', "utf-8")
    code, _, err = run("scan", str(p), cwd=here)
    assert code == 1 and f"config: {beside}" in err.splitlines()
    # --config wins over the one beside the package
    other = accept_all(tmp_path / "other.toml", [{"rule": "sec.debuggable", "owner": "app"}])
    code, _, err = run("scan", str(p), "--config", str(other), "--fail-on", "block", cwd=here)
    assert code == 0 and f"config: {other}" in err.splitlines() and str(beside) not in err
    code, _, err = run("scan", str(p), "--config", str(tmp_path / "missing.toml"))
    assert code == 2 and err.strip().startswith(f"error: {tmp_path / 'missing.toml'}: ")
    assert len(err.strip().splitlines()) == 1


def test_folder_scan_reads_the_folders_own_config_only(tmp_path):
    apk(tmp_path / "apps" / "one")
    # a config beside one package inside the folder does not decide for the whole folder scan
    (tmp_path / "apps" / "one" / "qingdan.toml").write_text('fail_on = "block"\n', "utf-8")
    code, _, err = run("scan", str(tmp_path / "apps"))
    assert code == 0 and "config:" not in err, err
    (tmp_path / "apps" / "qingdan.toml").write_text('fail_on = "block"\n', "utf-8")
    code, _, err = run("scan", str(tmp_path / "apps"))
    assert code == 1 and f"config: {tmp_path / 'apps' / 'qingdan.toml'}" in err


# -- 14: every command that reports findings takes the same --config and acceptances --------------


def _accepts_findings(tmp_path, name, *args):
    """Run a findings command (its JSON output is its last argument), accept all it found, run it again:
    the second run exits 0, every finding accepted, and the config named on stderr."""
    out = tmp_path / f"{name}.json"
    code, stdout, err = run(*args, "--json", str(out), "--fail-on", "info")
    assert code == 1, stdout + err
    doc = json.loads(out.read_text("utf-8"))
    rows = doc["findings"] if "findings" in doc else [f for s in doc["screens"] for f in s["findings"]]
    rows = rows["added"] if isinstance(rows, dict) else rows
    cfg = accept_all(tmp_path / f"{name}.toml", rows)
    code, stdout, err = run(*args, "--json", str(out), "--fail-on", "info", "--config", str(cfg))
    assert code == 0, stdout + err
    assert f"config: {cfg}" in err.splitlines()
    doc = json.loads(out.read_text("utf-8"))
    return doc, stdout


def test_lists_policy_ui_and_diff_take_config_and_acceptances(tmp_path):
    lists = tmp_path / "privacy-lists.yaml"
    lists.write_text(LISTS.format(collector="app"), "utf-8")
    doc, stdout = _accepts_findings(tmp_path, "lists", "lists", "check", str(lists))
    assert doc["findings"] and all(f["accepted"] and f["accepted_reason"] == "known, tracked"
                                   for f in doc["findings"])
    assert "[block, accepted] lists.todo" in stdout and "accepted)" in stdout
    policy = tmp_path / "policy.txt"
    policy.write_text(POLICY, "utf-8")
    doc, _ = _accepts_findings(tmp_path, "policy", "policy", "check", str(policy))
    assert doc["findings"] and all(f["accepted"] for f in doc["findings"])
    screen = dump(tmp_path, SPLASH, AD_LABEL)  # no close control
    doc, _ = _accepts_findings(tmp_path, "ui", "ui", "check", str(screen))
    assert all(f["accepted"] for s in doc["screens"] for f in s["findings"])
    old, new = apk(tmp_path / "v1", debuggable=False), apk(tmp_path / "v2")
    doc, _ = _accepts_findings(tmp_path, "diff", "diff", str(old), str(new))
    assert doc["findings"]["added"] == []  # accepted: neither added nor removed


def test_config_beside_the_lists_file_and_its_fail_on(tmp_path):
    lists = tmp_path / "privacy-lists.yaml"
    lists.write_text(LISTS.format(collector="app").replace("scenario: TODO", "scenario: 登录时"), "utf-8")
    assert run("lists", "check", str(lists))[0] == 0
    (tmp_path / "qingdan.toml").write_text('fail_on = "info"\n', "utf-8")  # lists.* info findings count
    code, stdout, err = run("lists", "check", str(lists))
    assert f"config: {tmp_path / 'qingdan.toml'}" in err
    assert code == (1 if "[info]" in stdout else 0), stdout


# -- 15: --lang zh|en, default from QINGDAN_LANG, else the locale ----------------------------------


@pytest.mark.parametrize("env,want", [
    ({}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"), ({"LC_MESSAGES": "zh_TW"}, "zh"),
    ({"QINGDAN_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"), ({"QINGDAN_LANG": "en", "LC_ALL": "zh_CN"}, "en")])
def test_default_language(monkeypatch, env, want):
    from qingdan.cli._common import resolve_lang

    for k in ("QINGDAN_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert resolve_lang(None) == want
    assert resolve_lang("ZH") == "zh"


def test_scan_findings_and_html_in_the_chosen_language(tmp_path):
    p = apk(tmp_path)
    res, findings = analyze(p)
    f = next(f for f in findings if f.rule_id == "sec.debuggable")
    code, zh, _ = run("scan", str(p), "--html", str(tmp_path / "zh.html"), env={"LANG": "zh_CN.UTF-8"})
    assert code == 0 and f"[block] sec.debuggable: {f.message_zh}" in zh and f.message_en not in zh
    code, en, _ = run("scan", str(p), "--lang", "en", "--html", str(tmp_path / "en.html"),
                      env={"LANG": "zh_CN.UTF-8"})
    assert code == 0 and f"[block] sec.debuggable: {f.message_en}" in en and f.message_zh not in en
    zh_page, en_page = ((tmp_path / f"{x}.html").read_text("utf-8") for x in ("zh", "en"))
    assert '<html lang="zh-CN">' in zh_page and '<html lang="en">' in en_page
    for zh_label, en_label in (("应用身份", "Identity"), ("按法规条款", "By regulation clause"),
                               ("谁收集什么", "Who collects which personal information")):
        assert zh_label in zh_page and en_label not in zh_page
        assert en_label in en_page and zh_label not in en_page
    assert f.rule.fix_zh in zh_page and f.rule.fix_en in en_page and f.rule.fix_zh not in en_page
    assert f.message_en not in zh_page and f.message_zh not in en_page
    code, _, err = run("scan", str(p), "--lang", "fr")
    assert code == 2 and err.strip() == "error: --lang: must be zh or en, not 'fr'"


def test_lists_check_in_chinese(tmp_path):
    lists = tmp_path / "privacy-lists.yaml"
    lists.write_text(LISTS.format(collector="app"), "utf-8")
    _, zh, _ = run("lists", "check", str(lists), "--json", str(tmp_path / "l.json"),
                   env={"QINGDAN_LANG": "zh"})
    f = json.loads((tmp_path / "l.json").read_text("utf-8"))["findings"][0]
    assert f["message_zh"] in zh and f["message_en"] not in zh
    _, en, _ = run("lists", "check", str(lists), "--lang", "en")
    assert f["message_en"] in en and f["message_zh"] not in en


# -- 16: call sites beyond those shown, did you mean, diff --fail-on and owners, progress ------------


def test_html_evidence_says_how_many_more_call_sites(tmp_path):
    p = apk(tmp_path, sdk_calls=8, perms=["android.permission.READ_PHONE_STATE"])
    rep = to_dict(analyze(p)[0])
    f = next(f for f in rep["findings"] if f["rule"] == "pi.non-resettable-id" and f["owner"] == "jpush")
    assert f["evidence"]["count"] == 8
    assert "还有 5 处" in render_html(rep, "zh") and "5 more" in render_html(rep, "en")
    use = next(u for u in rep["api_uses"] if u["owner"] == "jpush")  # 8 sites, 5 examples kept
    assert use["count"] == 8 and len(use["sites"]) == 5 and "还有 3 处" in render_html(rep, "zh")
    rep["findings"] = [{**f, "evidence": {**f["evidence"], "sites": f["evidence"]["sites"][:3], "count": 3}}]
    assert "more" not in render_html(rep, "en").split('id="findings"')[1].split("</table>")[0]


@pytest.mark.parametrize("written,meant", [("tencent-bugley", "tencent-bugly"), ("Bugly", "tencent-bugly")])
def test_unknown_collector_gets_did_you_mean(tmp_path, written, meant):
    lists = tmp_path / "privacy-lists.yaml"
    lists.write_text(LISTS.format(collector=written), "utf-8")
    code, _, err = run("lists", "check", str(lists))
    assert code == 2 and f"got {written!r}; did you mean {meant!r}?" in err
    lists.write_text(LISTS.format(collector="zzqqxx-nothing-like-it"), "utf-8")
    assert "did you mean" not in run("lists", "check", str(lists))[2]


def test_diff_fail_on_and_owner_of_each_added_pi_type(tmp_path):
    old = apk(tmp_path / "v1", debuggable=False)
    new = apk(tmp_path / "v2", debuggable=False, sdk_calls=2, perms=["android.permission.READ_PHONE_STATE"])
    out = tmp_path / "d.json"
    code, stdout, err = run("diff", str(old), str(new), "--json", str(out))
    assert code == 0, err
    d = json.loads(out.read_text("utf-8"))
    assert "imei" in d["pi_types"]["added"]
    assert d["pi_types"]["owners"]["imei"] == [{"owner": "jpush", "kind": "sdk"}]
    assert "PI        + imei: jpush (sdk)" in stdout
    code, _, err = run("diff", str(old), str(new), "--fail-on", "warn")
    assert code == 1 and "added open finding(s) at or above warn" in err
    assert run("diff", str(new), str(old), "--fail-on", "warn")[0] == 0  # only removed
    code, _, err = run("diff", str(old), str(new), "--fail-on", "loud")
    assert code == 2 and err.startswith("error: --fail-on")


def _on_terminal(args, stdout_tty, stderr_tty):
    """Run the CLI with stdout and/or stderr on a pseudo-terminal; what reached each."""
    pty = pytest.importorskip("pty")
    m_out, s_out = pty.openpty() if stdout_tty else os.pipe()
    m_err, s_err = pty.openpty() if stderr_tty else os.pipe()
    e = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100"}
    for k in ("NO_COLOR", "TERM_PROGRAM", "CI", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        e.pop(k, None)
    p = subprocess.Popen([sys.executable, "-m", "qingdan.cli", *args], stdout=s_out, stderr=s_err,
                         stdin=subprocess.DEVNULL, env=e)
    os.close(s_out)
    os.close(s_err)
    got = {}
    for name, fd in (("out", m_out), ("err", m_err)):
        chunks = []
        while True:
            try:
                b = os.read(fd, 65536)
            except OSError:  # a pty's master reads EIO once the child has gone
                break
            if not b:
                break
            chunks.append(b)
        os.close(fd)
        got[name] = b"".join(chunks).decode("utf-8", "replace")
    p.wait(timeout=120)
    return got["out"], got["err"]


def test_folder_scan_progress_only_on_a_terminal(tmp_path):
    for i in range(2):
        apk(tmp_path / "apps", f"a{i}.apk")
    args = ("scan", str(tmp_path / "apps"), "-j", "1")
    out, _ = _on_terminal(args, True, True)
    assert "scanning" in out and "━" in out  # rich's bar
    for tty in ((True, False), (False, True), (False, False)):
        out, err = _on_terminal(args, *tty)
        assert "scanning" not in out + err and "━" not in out + err and "\x1b[" not in out + err, tty
        assert "2 packages: 2 scanned, 0 failed" in out
