"""The call graph and the pre-consent search, on packages built with known paths: direct, through a
Runnable, a Handler, an interface implemented in another class, a provider, behind a gate, a click
listener (user-driven: never pre-consent), and code nothing reaches — each asserted exactly."""

from qingdan.apk.package import read_package
from qingdan.checks.callgraph import ASYNC, CALL, CALLBACK, CallGraph
from qingdan.checks.consent import analyse
from qingdan.checks.scan import SYSTEM_START_ACTIONS
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
TM = "Landroid/telephony/TelephonyManager;"
SP = "Landroid/content/SharedPreferences;"
APP = "Lcom/ex/app/App;"
START = frozenset(SYSTEM_START_ACTIONS)


def imei() -> Invoke:
    return Invoke(TM, "getDeviceId", ret=STR)


def call(cls: str, name: str, kind: str = "virtual", params=(), ret="V") -> Invoke:
    return Invoke(cls, name, list(params), ret, kind=kind)


def new(cls: str) -> Invoke:
    return Invoke(cls, "<init>", kind="direct")


def build(tmp_path, classes, components=(), application=APP, name="a.apk"):
    attrs = {"android:name": application.strip("L;").replace("/", ".")} if application else {}
    launcher = Component("activity", "com.ex.app.Main", exported=True, intent_filters=[
        IntentFilter(["android.intent.action.MAIN"], ["android.intent.category.LAUNCHER"])])
    man = build_manifest("com.ex.app", components=[launcher, *components], app_attrs=attrs)
    return read_package(build_apk(tmp_path / name, man, [build_dex(classes)]))


def app(*invokes: Invoke) -> ClassDef:
    return ClassDef(APP, "Landroid/app/Application;", methods=[Method("onCreate", invokes=list(invokes))])


def main(*invokes: Invoke) -> ClassDef:
    """The launcher activity; its onCreate sets its layout, then makes ``invokes``."""
    layout = Invoke("Landroid/app/Activity;", "setContentView", ["I"])
    return ClassDef("Lcom/ex/app/Main;", "Landroid/app/Activity;",
                    methods=[Method("onCreate", ["Landroid/os/Bundle;"], invokes=[layout, *invokes])])


def pre_consent(view) -> dict[str, list[str]]:
    """caller → path, for every pre-consent use of the IMEI API."""
    return {u.caller: u.path for u in view.uses if u.callee.endswith("getDeviceId")}


def test_direct_call_from_application_oncreate(tmp_path):
    util = ClassDef("Lcom/ex/app/Util;", methods=[Method("id", static=True, invokes=[imei()])])
    view = analyse(build(tmp_path, [app(call("Lcom/ex/app/Util;", "id", "static")), main(), util]), START)
    assert pre_consent(view) == {"com.ex.app.Util.id": ["com.ex.app.App.onCreate", "com.ex.app.Util.id"]}
    assert {e.kind for e in view.entries} == {"application", "launcher"}


def test_through_a_runnable_and_a_handler(tmp_path):
    work = ClassDef("Lcom/ex/app/Work;", interfaces=["Ljava/lang/Runnable;"],
                    methods=[Method("<init>"), Method("run", invokes=[imei()])])
    h = ClassDef("Lcom/ex/app/H;", "Landroid/os/Handler;",
                 methods=[Method("<init>"),
                          Method("handleMessage", ["Landroid/os/Message;"], invokes=[imei()])])
    pkg = build(tmp_path, [app(new("Lcom/ex/app/Work;"), new("Lcom/ex/app/H;")), main(), work, h])
    paths = pre_consent(analyse(pkg, START))
    assert paths == {"com.ex.app.Work.run": ["com.ex.app.App.onCreate", "com.ex.app.Work.run"],
                     "com.ex.app.H.handleMessage": ["com.ex.app.App.onCreate", "com.ex.app.H.handleMessage"]}
    g = CallGraph(pkg)
    onc = g.lookup(APP, "onCreate", "()V")
    kinds = {(g.label(t), k) for t, k in g.edges(onc)}
    assert ("com.ex.app.Work.run", ASYNC) in kinds and ("com.ex.app.H.handleMessage", ASYNC) in kinds


def test_through_an_interface_implemented_in_another_class(tmp_path):
    svc = ClassDef("Lcom/ex/app/Svc;", interfaces=[], access=0x0601,
                   methods=[Method("collect", abstract=True, access=0x0401)])
    impl = ClassDef("Lcom/ex/app/SvcImpl;", interfaces=["Lcom/ex/app/Svc;"],
                    methods=[Method("collect", invokes=[imei()])])
    pkg = build(tmp_path, [app(Invoke("Lcom/ex/app/Svc;", "collect", kind="interface")), main(), svc, impl])
    view = analyse(pkg, START)
    assert pre_consent(view) == {"com.ex.app.SvcImpl.collect": ["com.ex.app.App.onCreate",
                                                                "com.ex.app.SvcImpl.collect"]}


def test_provider_starts_before_the_application(tmp_path):
    prov = ClassDef("Lcom/ex/app/Init;", "Landroid/content/ContentProvider;",
                    methods=[Method("onCreate", ret="Z", invokes=[imei()])])
    comp = Component("provider", "com.ex.app.Init", authorities="x")
    pkg = build(tmp_path, [main(), prov], components=[comp], application=None)
    view = analyse(pkg, START)
    assert pre_consent(view) == {"com.ex.app.Init.onCreate": ["com.ex.app.Init.onCreate"]}
    assert [(u.entry.kind, u.entry.component) for u in view.uses] == [("provider", "com.ex.app.Init")]


def test_a_gate_stops_the_search_and_says_why(tmp_path):
    boot = ClassDef("Lcom/ex/app/Boot;", methods=[Method("start", static=True, invokes=[
        Invoke(SP, "getBoolean", [STR, "Z"], "Z", kind="interface", string_args={1: "privacy_agreed"}),
        imei()])])
    pkg = build(tmp_path, [app(call("Lcom/ex/app/Boot;", "start", "static")), main(), boot])
    view = analyse(pkg, START)
    assert pre_consent(view) == {}
    assert view.gates == [("com.ex.app.Boot.start",
                           'reads the agreement flag "privacy_agreed" '
                           "(android.content.SharedPreferences.getBoolean)")]


def test_the_same_code_without_the_flag_is_pre_consent(tmp_path):
    boot = ClassDef("Lcom/ex/app/Boot;", methods=[Method("start", static=True, invokes=[
        Invoke(SP, "getBoolean", [STR, "Z"], "Z", kind="interface", string_args={1: "night_mode"}), imei()])])
    view = analyse(build(tmp_path, [app(call("Lcom/ex/app/Boot;", "start", "static")), main(), boot]), START)
    assert list(pre_consent(view)) == ["com.ex.app.Boot.start"] and view.gates == []


def test_click_listener_is_reachable_but_not_pre_consent(tmp_path):
    click = ClassDef("Lcom/ex/app/Agree;", interfaces=["Landroid/view/View$OnClickListener;"],
                     methods=[Method("<init>"), Method("onClick", ["Landroid/view/View;"], invokes=[imei()])])
    pkg = build(tmp_path, [app(), main(new("Lcom/ex/app/Agree;")), click])
    view = analyse(pkg, START)
    assert pre_consent(view) == {}
    assert ("com.ex.app.Agree", "onClick") in view.reachable
    g = CallGraph(pkg)
    main_oncreate = g.lookup("Lcom/ex/app/Main;", "onCreate", "(Landroid/os/Bundle;)V")
    assert ("com.ex.app.Agree.onClick", CALLBACK) in {(g.label(t), k) for t, k in g.edges(main_oncreate)}


def test_unreferenced_code_is_not_reachable(tmp_path):
    dead = ClassDef("Lcom/ex/app/Dead;", methods=[Method("leak", static=True, invokes=[imei()])])
    view = analyse(build(tmp_path, [app(), main(), dead]), START)
    assert ("com.ex.app.Dead", "leak") not in view.reachable
    assert ("com.ex.app.Main", "onCreate") in view.reachable


def test_system_broadcast_receiver_is_a_start_entry(tmp_path):
    rcv = ClassDef("Lcom/ex/app/Boot;", "Landroid/content/BroadcastReceiver;", methods=[
        Method("onReceive", ["Landroid/content/Context;", "Landroid/content/Intent;"], invokes=[imei()])])
    comp = Component("receiver", "com.ex.app.Boot", exported=True,
                     intent_filters=[IntentFilter(["android.intent.action.BOOT_COMPLETED"])])
    view = analyse(build(tmp_path, [app(), main(), rcv], components=[comp]), START)
    assert [(u.entry.kind, u.caller) for u in view.uses] == [("system-receiver", "com.ex.app.Boot.onReceive")]


def test_reflection_with_a_constant_name_is_followed_and_a_computed_one_is_marked(tmp_path):
    target = ClassDef("Lcom/ex/app/Plugin;", methods=[Method("<clinit>", static=True, invokes=[imei()])])
    caller = app(Invoke("Ljava/lang/Class;", "forName", [STR], "Ljava/lang/Class;", kind="static",
                        string_args={0: "com.ex.app.Plugin"}),
                 Invoke("Ljava/lang/reflect/Method;", "invoke", ["Ljava/lang/Object;", "[Ljava/lang/Object;"],
                        "Ljava/lang/Object;"))
    view = analyse(build(tmp_path, [caller, main(), target]), START)
    assert pre_consent(view) == {"com.ex.app.Plugin.<clinit>": ["com.ex.app.App.onCreate",
                                                                "com.ex.app.Plugin.<clinit>"]}
    assert view.unresolved == {"com.ex.app.App.onCreate": ["reflection (Method.invoke)"]}


def test_virtual_call_resolves_to_the_superclass_method(tmp_path):
    base = ClassDef("Lcom/ex/app/Base;", methods=[Method("go", invokes=[imei()])])
    sub = ClassDef("Lcom/ex/app/Sub;", "Lcom/ex/app/Base;", methods=[Method("other")])
    pkg = build(tmp_path, [app(call("Lcom/ex/app/Sub;", "go")), main(), base, sub])
    g = CallGraph(pkg)
    onc = g.lookup(APP, "onCreate", "()V")
    assert ("com.ex.app.Base.go", CALL) in {(g.label(t), k) for t, k in g.edges(onc)}
    assert list(pre_consent(analyse(pkg, START))) == ["com.ex.app.Base.go"]


# -- the rules, through the whole analysis (scan --consent) ---------------------------------------

UMC = "Lcom/umeng/commonsdk/UMConfigure;"
CTX = "Landroid/content/Context;"


def umeng(name: str) -> Invoke:
    return Invoke(UMC, name, [CTX, STR, STR], kind="static")


def umeng_classes() -> list[ClassDef]:
    return [ClassDef(UMC, methods=[Method("init", [CTX, STR, STR], static=True),
                                   Method("preInit", [CTX, STR, STR], static=True)]),
            *[ClassDef(f"Lcom/umeng/commonsdk/internal/C{i};") for i in range(5)]]


def findings(tmp_path, classes, components=(), application=APP, consent=True):
    from qingdan.checks.pipeline import analyze

    attrs = {"android:name": application.strip("L;").replace("/", ".")} if application else {}
    launcher = Component("activity", "com.ex.app.Main", exported=True, intent_filters=[
        IntentFilter(["android.intent.action.MAIN"], ["android.intent.category.LAUNCHER"])])
    man = build_manifest("com.ex.app", components=[launcher, *components], app_attrs=attrs)
    res, fs = analyze(build_apk(tmp_path / "r.apk", man, [build_dex(classes)]), consent=consent)
    return res, {f.rule_id: f for f in fs if f.rule_id in ("pi.before-consent", "sdk.init-before-consent",
                                                           "sdk.autoinit-provider")}


def test_pi_before_consent_fires_with_the_path_and_not_behind_a_gate(tmp_path):
    util = ClassDef("Lcom/ex/app/Util;", methods=[Method("id", static=True, invokes=[imei()])])
    _res, fs = findings(tmp_path, [app(call("Lcom/ex/app/Util;", "id", "static")), main(), util])
    f = fs["pi.before-consent"]
    assert f.owner == "app" and "imei" in f.message_en
    assert f.evidence["paths"][0]["path"] == ["com.ex.app.App.onCreate", "com.ex.app.Util.id"]
    gated = ClassDef("Lcom/ex/app/Util;", methods=[Method("id", static=True, invokes=[
        Invoke(SP, "getBoolean", [STR, "Z"], "Z", kind="interface", string_args={1: "isAgreePrivacy"}),
        imei()])])
    _res, fs = findings(tmp_path, [app(call("Lcom/ex/app/Util;", "id", "static")), main(), gated])
    assert "pi.before-consent" not in fs


def test_without_consent_search_the_rules_say_nothing(tmp_path):
    util = ClassDef("Lcom/ex/app/Util;", methods=[Method("id", static=True, invokes=[imei()])])
    classes = [app(call("Lcom/ex/app/Util;", "id", "static")), main(), util]
    res, fs = findings(tmp_path, classes, consent=False)
    assert fs == {} and res.consent is None


def test_sdk_init_before_consent_but_not_its_pre_init(tmp_path):
    _res, fs = findings(tmp_path, [app(umeng("preInit"), umeng("init")), main(), *umeng_classes()])
    f = fs["sdk.init-before-consent"]
    assert f.owner == "umeng-common" and f.evidence["method"] == "com.umeng.commonsdk.UMConfigure.init"
    assert f.evidence["path"] == ["com.ex.app.App.onCreate"]
    _res, fs = findings(tmp_path, [app(umeng("preInit")), main(), *umeng_classes()])
    assert "sdk.init-before-consent" not in fs


def test_sdk_init_after_the_agreement_check_is_not_reported(tmp_path):
    boot = ClassDef("Lcom/ex/app/Boot;", methods=[Method("start", static=True, invokes=[
        Invoke(SP, "getBoolean", [STR, "Z"], "Z", kind="interface", string_args={1: "privacy_agreed"}),
        umeng("init")])])
    start = call("Lcom/ex/app/Boot;", "start", "static")
    _res, fs = findings(tmp_path, [app(umeng("preInit"), start), main(), boot, *umeng_classes()])
    assert "sdk.init-before-consent" not in fs


def test_sdk_provider_that_reaches_sensitive_apis_and_how_to_turn_it_off(tmp_path):
    fip = ClassDef("Lcom/google/firebase/provider/FirebaseInitProvider;", "Landroid/content/ContentProvider;",
                   methods=[Method("onCreate", ret="Z", invokes=[imei()])])
    extra = [ClassDef(f"Lcom/google/firebase/internal/C{i};") for i in range(5)]
    prov = Component("provider", "com.google.firebase.provider.FirebaseInitProvider", authorities="ex.fip")
    _res, fs = findings(tmp_path, [app(), main(), fip, *extra], components=[prov])
    f = fs["sdk.autoinit-provider"]
    assert f.owner == "firebase" and 'tools:node="remove"' in f.message_en
    assert f.evidence["provider"] == "com.google.firebase.provider.FirebaseInitProvider"
    # the app's own provider is the app's code: pi.before-consent, not an SDK's auto-initialisation
    own = ClassDef("Lcom/ex/app/Init;", "Landroid/content/ContentProvider;",
                   methods=[Method("onCreate", ret="Z", invokes=[imei()])])
    _res, fs = findings(tmp_path, [app(), main(), own], components=[Component("provider", "com.ex.app.Init",
                                                                              authorities="x")])
    assert "sdk.autoinit-provider" not in fs and fs["pi.before-consent"].owner == "app"


def test_report_carries_the_consent_view_and_validates(tmp_path):
    import json

    import jsonschema

    from qingdan.report.jsonreport import to_dict
    from tests.conftest import ROOT

    util = ClassDef("Lcom/ex/app/Util;", methods=[Method("id", static=True, invokes=[imei()])])
    dead = ClassDef("Lcom/ex/app/Dead;", methods=[Method("leak", static=True, invokes=[imei()])])
    res, _fs = findings(tmp_path, [app(call("Lcom/ex/app/Util;", "id", "static")), main(), util, dead])
    rep = to_dict(res)
    schema = json.loads((ROOT / "docs" / "schema" / "report-1.json").read_text("utf-8"))
    jsonschema.validate(rep, schema)
    assert [u["caller"] for u in rep["consent"]["before_consent"]] == ["com.ex.app.Util.id"]
    imei_use = next(u for u in rep["api_uses"] if "imei" in u["pi_types"])
    assert imei_use["reachable"] is True  # Util.id is reached; Dead.leak is in the same group
    res2, _ = findings(tmp_path, [app(), main(), dead])
    rep2 = to_dict(res2)
    assert [u["reachable"] for u in rep2["api_uses"] if "imei" in u["pi_types"]] == [False]


def test_scan_consent_option_on_the_command_line(tmp_path):
    import json

    from tests.conftest import cli

    util = ClassDef("Lcom/ex/app/Util;", methods=[Method("id", static=True, invokes=[imei()])])
    launcher = Component("activity", "com.ex.app.Main", exported=True, intent_filters=[
        IntentFilter(["android.intent.action.MAIN"], ["android.intent.category.LAUNCHER"])])
    man = build_manifest("com.ex.app", components=[launcher], app_attrs={"android:name": "com.ex.app.App"})
    apk = build_apk(tmp_path / "c.apk", man, [build_dex([app(call("Lcom/ex/app/Util;", "id", "static")),
                                                          main(), util])])
    rc, out, err = cli("scan", str(apk), "--consent", "--json", str(tmp_path / "r.json"))
    assert rc == 0, err
    assert "pi.before-consent" in out
    rep = json.loads((tmp_path / "r.json").read_text("utf-8"))
    assert [u["caller"] for u in rep["consent"]["before_consent"]] == ["com.ex.app.Util.id"]
    rc, out, _ = cli("scan", str(apk), "--json", str(tmp_path / "p.json"))
    assert rc == 0 and "pi.before-consent" not in out
    assert json.loads((tmp_path / "p.json").read_text("utf-8"))["consent"] is None
