"""Whose code each class is: libraries own their code, only the app's namespaces are the app's, and
obfuscated code outside every root is tied to an owner by evidence or left unattributed.

Ground truth comes from packages the tests build (chosen classes, calls and components); the corpus
test checks the library and Umeng cases the issue names on real apps.
"""

from pathlib import Path

import yaml

from qingdan.checks.attribution import PLATFORM, organisation_root, registered_domain
from qingdan.checks.pipeline import analyze
from qingdan.checks.sdks import own_namespaces
from qingdan.lists.draft import draft_yaml
from qingdan.report.html import render_html
from qingdan.report.jsonreport import report_schema, to_dict
from qingdan.report.summary import summary_lines
from tests.conftest import CORPUS, needs_shared
from tests.support.apkbuilder import (
    ClassDef,
    Component,
    IntentFilter,
    Invoke,
    Method,
    build_apk,
    build_dex,
    build_manifest,
)

STR = "Ljava/lang/String;"
LOC = "Landroid/location/Location;"
LM = "Landroid/location/LocationManager;"
TM = "Landroid/telephony/TelephonyManager;"


def last_location():
    return Invoke(LM, "getLastKnownLocation", [STR], LOC, string_args={1: "gps"})


def imei():
    return Invoke(TM, "getDeviceId", ret=STR)


def calls(cls: str, *invokes: Invoke) -> ClassDef:
    return ClassDef(cls, methods=[Method("run", invokes=list(invokes))])


def umeng(n=6):
    """Umeng analytics code under its root; MobclickAgent.onEvent is what obfuscated code calls."""
    return [ClassDef(f"Lcom/umeng/analytics/pro/C{i};") for i in range(n)] + [
        ClassDef("Lcom/umeng/analytics/MobclickAgent;", methods=[Method("onEvent", static=True)])]


def on_event():
    return Invoke("Lcom/umeng/analytics/MobclickAgent;", "onEvent", kind="static")


# the permissions the calls below need to return data (without them a call is a capability only)
GATES = ("android.permission.READ_PHONE_STATE", "android.permission.ACCESS_FINE_LOCATION")


def scan(tmp_path, classes, name="a.apk", package="com.example.app", components=(), perms=GATES,
         application=None):
    classes = [ClassDef("Lcom/example/app/Main;"), *classes]
    attrs = {"android:allowBackup": False}
    if application:
        attrs["android:name"] = application
    man = build_manifest(package, label="T", components=list(components), permissions=list(perms),
                         app_attrs=attrs)
    return analyze(build_apk(tmp_path / name, man, [build_dex(classes)]))


def uses_of(res, api_id):
    return {(u.owner, u.caller_class) for u in res.api_uses if u.api.id == api_id}


def pi_findings(fs, rule_id):
    return {f.owner: f for f in fs if f.rule_id == rule_id}


# -- 1. libraries own their code ------------------------------------------------------------------


def appcompat():
    cls = [ClassDef(f"Landroidx/appcompat/widget/W{i};") for i in range(6)]
    cls.append(calls("Landroidx/appcompat/app/TwilightManager;", last_location()))
    return cls


def test_library_code_is_the_librarys_not_the_apps(tmp_path):
    res, fs = scan(tmp_path, appcompat(), perms=["android.permission.ACCESS_FINE_LOCATION"])
    assert res.library("jetpack-appcompat") is not None
    twilight = ("jetpack-appcompat", "androidx.appcompat.app.TwilightManager")
    assert uses_of(res, "location.last_known") == {twilight}
    assert res.owner_kind("jetpack-appcompat") == "library"
    # the PI summary shows the library as the collector, never the app
    owners = {c.owner for c in res.pi_summary["precise_location"]}
    assert "jetpack-appcompat" in owners
    assert not any(e.kind == "api" for c in res.pi_summary["precise_location"] if c.owner == "app"
                   for e in c.evidence)
    # "App collects precise location" does not fire; the library gets an info note naming it
    located = [f for f in fs if "precise_location" in f.evidence.get("pi_types", ())]
    assert not [f for f in located if f.owner == "app"]
    rep = to_dict(res)
    use = next(u for u in rep["api_uses"] if u["api"] == "location.last_known")
    assert use["owner_kind"] == "library" and use["sites"][0]["attribution"] == "prefix"
    lines = "\n".join(summary_lines(rep))
    assert "lib PI    jetpack-appcompat: " in lines and "app PI" not in lines


def test_a_library_pi_finding_is_an_info_note_naming_the_library(tmp_path):
    apps = [ClassDef(f"Lcom/squareup/picasso/P{i};") for i in range(6)]
    apps.append(calls("Lcom/squareup/picasso/BitmapHunter;", Invoke(TM, "getDeviceId", ret=STR)))
    res, fs = scan(tmp_path, apps)
    f = pi_findings(fs, "pi.non-resettable-id")
    assert set(f) == {"picasso"}
    assert f["picasso"].severity == "info" and "library picasso" in f["picasso"].message_en
    assert f["picasso"].to_dict(res)["owner_kind"] == "library"


def test_the_same_call_in_app_code_is_still_the_apps(tmp_path):
    res, fs = scan(tmp_path, [calls("Lcom/example/app/Locator;", last_location())])
    assert uses_of(res, "location.last_known") == {("app", "com.example.app.Locator")}


def test_uncatalogued_platform_code_is_a_library_not_the_app(tmp_path):
    res, fs = scan(tmp_path, [calls("Landroidx/newthing/Tracker;", imei())])
    assert uses_of(res, "telephony.device_id") == {(PLATFORM, "androidx.newthing.Tracker")}
    assert res.owner_kind(PLATFORM) == "library"
    assert not pi_findings(fs, "pi.non-resettable-id").get("app")


def test_draft_writes_no_app_row_from_library_code(tmp_path):
    res, _ = scan(tmp_path, appcompat(), perms=["android.permission.ACCESS_FINE_LOCATION"])
    text = draft_yaml(res)
    doc = yaml.safe_load(text)
    rows = [(c["pi_type"], c["collector"]) for c in doc["collected"]]
    assert ("precise_location", "jetpack-appcompat") not in rows
    # the permission alone still makes a row for a person to confirm or delete
    assert "no code use found" in text and "not drafted: library jetpack-appcompat" in text


# -- 2. only the app's namespaces are the app's ---------------------------------------------------


def test_readable_unknown_code_is_unidentified(tmp_path):
    res, fs = scan(tmp_path, [calls("Lcom/foo/bar/Tracker;", imei())])
    assert uses_of(res, "telephony.device_id") == {("unidentified", "com.foo.bar.Tracker")}
    f = pi_findings(fs, "pi.non-resettable-id")
    assert set(f) == {"unidentified"}
    assert f["unidentified"].message_en.startswith("unidentified code com.foo.bar collects")
    assert f["unidentified"].severity == "warn"  # no one known answers for it: not downgraded
    # the draft asks a person to name the collector
    doc = yaml.safe_load(draft_yaml(res))
    assert any(c["collector"] == "TODO" and c["pi_type"] == "imei" for c in doc["collected"])


def test_same_organisation_is_the_apps_unless_the_root_is_generic(tmp_path):
    res, _ = scan(tmp_path, [calls("Lcom/foo/lib/Util;", imei())], package="com.foo.app")
    assert res.owners.attribution("com.foo.lib.Util").rule == "same-organisation"
    assert uses_of(res, "telephony.device_id") == {("app", "com.foo.lib.Util")}
    res2, _ = scan(tmp_path, [calls("Lcom/tencent/other/Util;", imei())], name="b.apk",
                   package="com.tencent.app")
    assert uses_of(res2, "telephony.device_id") == {("unidentified", "com.tencent.other.Util")}
    assert organisation_root("com.example.demo") is None and organisation_root("com.foo") is None


def test_a_librarys_launcher_or_application_class_is_not_an_app_namespace(tmp_path):
    leak = Component("activity", "com.squareup.leakcanary.internal.DisplayLeakActivity", intent_filters=[
        IntentFilter(["android.intent.action.MAIN"], ["android.intent.category.LAUNCHER"])])
    man = build_manifest("com.example.app", label="T", components=[leak],
                         app_attrs={"android:name": "com.android.tools.fd.runtime.BootstrapApplication"})
    from qingdan.apk.package import read_package

    pkg = read_package(build_apk(tmp_path / "n.apk", man, [build_dex([ClassDef("Lcom/example/app/M;")])]))
    assert own_namespaces(pkg) == ("com.example.app",)


# -- 3. obfuscated code outside every root -----------------------------------------------------------


def test_obfuscated_class_calling_only_into_one_sdk_is_that_sdks(tmp_path):
    obf = calls("La/b/c;", on_event(), imei())
    res, fs = scan(tmp_path, [*umeng(), obf])
    a = res.owners.attribution("a.b.c")
    assert (a.owner, a.rule) == ("umeng-analytics", "call-edges") and "umeng-analytics" in a.detail
    assert uses_of(res, "telephony.device_id") == {("umeng-analytics", "a.b.c")}
    assert not pi_findings(fs, "pi.non-resettable-id").get("app")
    rep = to_dict(res)
    use = next(u for u in rep["api_uses"] if u["api"] == "telephony.device_id")
    assert use["sites"][0]["attribution"] == "call-edges"
    row = next(o for o in rep["owners"] if o["owner"] == "umeng-analytics")
    assert {r["rule"] for r in row["rules"]} == {"prefix", "call-edges"}


def test_attribution_follows_chains_and_callers(tmp_path):
    # a.b.d only calls a.b.c, which calls Umeng; a.b.e calls no one's code but Umeng's code calls it
    c = calls("La/b/c;", on_event())
    d = calls("La/b/d;", Invoke("La/b/c;", "run"), imei())
    e = ClassDef("La/b/e;", methods=[Method("helper")])
    caller = calls("Lcom/umeng/analytics/pro/Caller;", Invoke("La/b/e;", "helper"))
    res, _ = scan(tmp_path, [*umeng(), c, d, e, caller])
    assert res.owners.owner("a.b.d") == "umeng-analytics"
    a = res.owners.attribution("a.b.e")
    assert (a.owner, a.rule) == ("umeng-analytics", "call-edges") and "called only from" in a.detail


def test_obfuscated_class_without_evidence_is_unattributed(tmp_path):
    res, fs = scan(tmp_path, [*umeng(), calls("La/b/c;", imei())])
    assert res.owners.attribution("a.b.c").owner == "unattributed"
    assert uses_of(res, "telephony.device_id") == {("unattributed", "a.b.c")}
    f = pi_findings(fs, "pi.non-resettable-id")["unattributed"]
    assert f.message_en.startswith("unattributed obfuscated code a.b collects")


def test_calls_into_two_sdks_or_into_the_app_decide_nothing(tmp_path):
    jpush = [ClassDef(f"Lcn/jpush/android/api/C{i};") for i in range(6)]
    both = calls("La/b/c;", on_event(), Invoke("Lcn/jpush/android/api/C0;", "run"))
    app_too = calls("La/b/d;", on_event(), Invoke("Lcom/example/app/Main;", "run"))
    res, _ = scan(tmp_path, [*umeng(), *jpush, both, app_too])
    assert res.owners.owner("a.b.c") == "unattributed"
    assert res.owners.owner("a.b.d") == "unattributed"


def test_class_under_an_sdk_root_is_the_sdks_whatever_its_name(tmp_path):
    res, _ = scan(tmp_path, [*umeng(), calls("Lcom/umeng/analytics/a/b/c;", imei())])
    a = res.owners.attribution("com.umeng.analytics.a.b.c")
    assert (a.owner, a.rule) == ("umeng-analytics", "prefix")


def test_obfuscated_superclass_of_an_sdk_component(tmp_path):
    base = ClassDef("Lx/y/z;", methods=[Method("onCreate")])
    svc = ClassDef("Lcom/umeng/analytics/pro/Svc;", superclass="Lx/y/z;")
    res, _ = scan(tmp_path, [*umeng(), base, svc], components=[Component("service",
                                                                          "com.umeng.analytics.pro.Svc")])
    a = res.owners.attribution("x.y.z")
    assert (a.owner, a.rule) == ("umeng-analytics", "manifest-superclass")


def test_obfuscated_superclass_further_up_through_the_sdks_own_base(tmp_path):
    top = ClassDef("Lx/y/z;", methods=[Method("onCreate")])
    mid = ClassDef("Lcom/umeng/analytics/pro/BaseSvc;", superclass="Lx/y/z;")
    svc = ClassDef("Lcom/umeng/analytics/pro/Svc;", superclass="Lcom/umeng/analytics/pro/BaseSvc;")
    res, _ = scan(tmp_path, [*umeng(), top, mid, svc],
                  components=[Component("service", "com.umeng.analytics.pro.Svc")])
    assert res.owners.attribution("x.y.z").rule == "manifest-superclass"


def test_obfuscated_class_holding_the_sdks_host_names(tmp_path):
    url = Invoke("Ljava/net/URL;", "<init>", [STR], kind="direct", string_args={1: "https://alog.umeng.com/app_logs"})
    res, _ = scan(tmp_path, [*umeng(), calls("La/b/c;", url)])
    a = res.owners.attribution("a.b.c")
    assert (a.owner, a.rule) == ("umeng-analytics", "strings") and "umeng.com" in a.detail
    assert registered_domain("a.b.example.com.cn") == "example.com.cn"


def test_obfuscated_package_under_a_vendor_stem(tmp_path):
    jpush = [ClassDef(f"Lcn/jpush/android/api/C{i};") for i in range(6)]
    res, _ = scan(tmp_path, [*jpush, ClassDef("Lcn/jpush/b/a/b;")])
    a = res.owners.attribution("cn.jpush.b.a.b")
    assert (a.owner, a.rule) == ("jpush", "vendor-root")


# -- 4. shown in the reports ---------------------------------------------------------------------------


def test_reports_show_the_owner_breakdown(tmp_path):
    import jsonschema

    res, _ = scan(tmp_path, [*umeng(), *appcompat(), calls("La/b/c;", on_event()), calls("La/b/d;", imei()),
                             calls("Lcom/foo/bar/T;", imei())])
    rep = to_dict(res)
    jsonschema.Draft202012Validator(report_schema()).validate(rep)
    kinds = {o["owner"]: (o["kind"], o["classes"]) for o in rep["owners"]}
    assert kinds["app"] == ("app", 1) and kinds["unattributed"] == ("unattributed", 1)
    assert kinds["unidentified"] == ("unidentified", 1) and kinds["jetpack-appcompat"] == ("library", 7)
    assert kinds["umeng-analytics"] == ("sdk", 8)
    assert [o["kind"] for o in rep["owners"]][0] == "app"
    line = next(x for x in summary_lines(rep) if x.startswith("  owners"))
    assert "app 1 · sdk 8 · library 7 · unattributed 1 · unidentified 1 classes" in line
    assert "1 obfuscated tied to an owner by evidence" in line
    html = render_html(rep)
    assert 'id="owners"' in html and "call-edges: 1" in html and 'id="library-pi"' in html


# -- corpus ---------------------------------------------------------------------------------------------


@needs_shared
def test_corpus_library_and_umeng_code_is_never_the_apps():
    not_app = ("androidx.", "android.support.", "com.squareup.picasso.", "u.aly.", "u.fb.", "u.upd.")
    checked = 0
    for group in ("cn-app", "cn-sdk"):
        for p in sorted(Path(CORPUS / group).glob("*.apk")):
            res, fs = analyze(p)
            checked += 1
            wrong = sorted({s.caller_class for u in res.api_uses if u.owner == "app" for s in u.sites
                            if s.caller_class.startswith(not_app)})
            assert not wrong, (p.name, wrong[:5])
    assert checked >= 15
    # the named cases: AppCompat's TwilightManager, Picasso's BitmapHunter, Umeng's u.aly
    res, fs = analyze(CORPUS / "cn-app/mshopping-mandroid1-debug-2014.apk")
    assert res.owners.owner("com.squareup.picasso.BitmapHunter") == "picasso"
    assert res.owners.owner("u.aly.bi") == "umeng-analytics"
    assert res.owners.kind(res.owners.owner("com.tencent.a.a.a.a")) == "sdk"
    res, fs = analyze(CORPUS / "cn-app/getactivity-androidproject-2019.apk")
    assert not [f for f in fs if f.owner == "app" and f.rule_id in ("pi.installed-apps",)
                and any("androidx" in s["caller"] for s in f.evidence.get("sites", []))]


def test_lists_check_asks_no_row_for_library_code_and_takes_any_row_for_unknown_code(tmp_path):
    from qingdan.lists.check import check_lists
    from qingdan.lists.declarations import parse_lists

    res, _ = scan(tmp_path, [*appcompat(), calls("Lcom/foo/bar/Tracker;", imei())],
                  perms=["android.permission.ACCESS_FINE_LOCATION"])
    text = draft_yaml(res).replace('collector: "TODO"', "collector: app")
    dl = parse_lists(text, "privacy-lists.yaml")
    undeclared = [f for f in check_lists(dl, res) if f.rule_id == "lists.pi-undeclared"]
    assert not undeclared  # AppCompat's location read asks no row; the app's imei row covers com.foo.bar
