"""The scan command: terminal summary, JSON report (validated against the published schema), HTML."""

import json
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
    assert [d["source"] for d in rep["dex"]] == ["classes.dex", "classes2.dex", "assets/plugin.jar!/classes.dex"]
    page = html.read_text("utf-8")
    assert page.startswith("<!doctype html>") and "清单演示" in page
    assert "<script" not in page and "http://" not in page.replace("http://schemas", "") and "src=" not in page


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
    assert sorted(p.name for p in jdir.iterdir()) == ["fdroid-com.politedroid_4.apk.json", "ipin-android-2015.apk.json"]
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
