"""Every rule: a failing and a passing case on packages the tests build; the corpus push SDKs'
self-start and associated start; acceptance, --fail-on, `qingdan rules`, docs/rules.md, diff."""

import json

import pytest

from qingdan.checks.findings import implemented_rules
from qingdan.checks.pipeline import ConfigError, analyze, load_config
from qingdan.knowledge.rules import load_documents, load_rules
from qingdan.report.jsonreport import report_schema, to_dict
from qingdan.report.rulesdoc import rules_markdown
from tests.conftest import CORPUS, ROOT, cli, needs_shared
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
CTX = "Landroid/content/Context;"
INTENT = "Landroid/content/Intent;"
PKG = "com.example.app"


def app(tmp_path, name, classes=(), components=(), perms=(), target=30, app_attrs=None, meta=None,
        min_sdk=21):
    man = build_manifest(PKG, label="T", min_sdk=min(min_sdk, target), target_sdk=target,
                         components=list(components),
                         permissions=list(perms),
                         app_attrs=app_attrs or {"android:allowBackup": False}, app_meta_data=meta or {})
    classes = list(classes) or [ClassDef("Lcom/example/app/Main;")]
    return build_apk(tmp_path / name, man, [build_dex(classes)])


def findings(path, rule_id, app_type=None):
    res, fs = analyze(path, app_type=app_type)
    return [f for f in fs if f.rule_id == rule_id]


def call(cls, name, params=(), ret="V", kind="virtual", strings=None):
    return Invoke(cls, name, list(params), ret, kind=kind, string_args=strings or {})


def cls(name, *invokes):
    return ClassDef(name, methods=[Method("m", invokes=list(invokes))])


# JPush-like code, so that code in cn.jpush.* is owned by the jpush SDK
def jpush_code(*extra):
    return [ClassDef(f"Lcn/jpush/android/api/C{i};") for i in range(6)] + list(extra)


# -- catalogue ----------------------------------------------------------------------------------


def test_every_rule_has_a_check_and_names_a_clause():
    from qingdan.lists.check import LIST_RULES
    from qingdan.policy.check import POLICY_RULES
    from qingdan.review.store import REVIEW_RULES
    from qingdan.ui.check import UI_RULES

    rules = load_rules()
    assert set(rules) == (implemented_rules() | set(LIST_RULES) | set(POLICY_RULES) | set(UI_RULES)
                          | set(REVIEW_RULES))
    docs = load_documents()
    for r in rules.values():
        assert r.refs and all(ref.doc in docs for ref in r.refs)
        assert r.title_zh and r.title_en and r.fix_zh and r.fix_en


def test_docs_rules_md_is_current():
    assert (ROOT / "docs" / "rules.md").read_text("utf-8") == rules_markdown(), \
        "run: qingdan rules --markdown > docs/rules.md"


def test_rules_command_lists_every_rule():
    code, out, _ = cli("rules")
    assert code == 0
    for rid in load_rules():
        assert rid in out
    assert "工信部信管函〔2021〕292号" in out


# -- self-start, keep-alive, associated start ------------------------------------------------------


def test_autostart_receiver(tmp_path):
    boot = Component("receiver", "cn.jpush.android.service.PushReceiver", exported=False, intent_filters=[
        IntentFilter(["android.intent.action.BOOT_COMPLETED", "android.net.conn.CONNECTIVITY_CHANGE"])])
    p = app(tmp_path, "a.apk", jpush_code(ClassDef("Lcn/jpush/android/service/PushReceiver;")), [boot])
    (f,) = findings(p, "sdk.autostart-receiver")
    assert f.owner == "jpush" and f.severity == "warn"
    assert f.evidence["component"] == "cn.jpush.android.service.PushReceiver"
    assert f.evidence["actions"] == ["android.intent.action.BOOT_COMPLETED",
                                     "android.net.conn.CONNECTIVITY_CHANGE"]
    other = Component("receiver", ".R", exported=False,
                      intent_filters=[IntentFilter(["com.example.MY_ACTION"])])
    assert findings(app(tmp_path, "b.apk", components=[other]), "sdk.autostart-receiver") == []
    disabled = Component("receiver", ".Boot", enabled=False,
                         intent_filters=[IntentFilter(["android.intent.action.BOOT_COMPLETED"])])
    assert findings(app(tmp_path, "c.apk", components=[disabled]), "sdk.autostart-receiver") == []


def test_keepalive_job(tmp_path):
    persisted = call("Landroid/app/job/JobInfo$Builder;", "setPersisted", ["Z"],
                     "Landroid/app/job/JobInfo$Builder;")
    (f,) = findings(app(tmp_path, "a.apk", [cls("Lcom/example/app/J;", persisted)]), "sdk.keepalive-job")
    assert f.owner == "app" and f.evidence["sites"][0]["callee"].endswith("setPersisted")
    plain = call("Landroid/app/job/JobInfo$Builder;", "setRequiresCharging", ["Z"],
                 "Landroid/app/job/JobInfo$Builder;")
    assert findings(app(tmp_path, "b.apk", [cls("Lcom/example/app/J;", plain)]), "sdk.keepalive-job") == []


def test_keepalive_sync(tmp_path):
    sync = Component("service", "cn.jpush.android.service.SyncService", exported=True, intent_filters=[
        IntentFilter(["android.content.SyncAdapter"])])
    (f,) = findings(app(tmp_path, "a.apk", jpush_code(ClassDef("Lcn/jpush/android/service/SyncService;")),
                        [sync]),
                    "sdk.keepalive-sync")
    assert f.owner == "jpush" and f.severity == "warn"
    assert findings(app(tmp_path, "b.apk"), "sdk.keepalive-sync") == []


def test_associated_start_constant_target(tmp_path):
    wake = cls("Lcn/jpush/android/service/Wake;",
               call(INTENT, "setClassName", [STR, STR], INTENT,
                    strings={1: "com.other.app", 2: "com.other.app.PushService"}),
               call(CTX, "startService", [INTENT], "Landroid/content/ComponentName;"))
    (f,) = findings(app(tmp_path, "a.apk", jpush_code(wake)), "sdk.associated-start")
    assert f.owner == "jpush" and f.evidence["targets"] == ["com.other.app"]
    assert f.evidence["pattern"] == "constant-target"
    # the app's own package, or a vendor push service, is not another app being woken
    own = cls("Lcn/jpush/android/service/Own;",
              call(INTENT, "setClassName", [STR, STR], INTENT, strings={1: PKG, 2: PKG + ".Svc"}),
              call(CTX, "startService", [INTENT], "Landroid/content/ComponentName;"))
    gms = cls("Lcn/jpush/android/service/Gms;",
              call(INTENT, "setPackage", [STR], INTENT, strings={1: "com.google.android.gms"}),
              call(CTX, "bindService", [INTENT, "Landroid/content/ServiceConnection;", "I"], "Z"))
    assert findings(app(tmp_path, "b.apk", jpush_code(own, gms)), "sdk.associated-start") == []
    # an action string is not a target
    act = cls("Lcn/jpush/android/service/Act;",
              call(INTENT, "<init>", [STR], kind="direct", strings={1: "com.other.app.ACTION"}),
              call(CTX, "sendBroadcast", [INTENT]))
    assert findings(app(tmp_path, "c.apk", jpush_code(act)), "sdk.associated-start") == []


def test_associated_start_enumerate_then_start(tmp_path):
    query = cls("Lcn/jpush/android/util/Q;",
                call(INTENT, "<init>", [STR], kind="direct",
                     strings={1: "cn.jpush.android.intent.DaemonService"}),
                call("Landroid/content/pm/PackageManager;", "queryIntentServices", [INTENT, "I"],
                     "Ljava/util/List;"))
    start = cls("Lcn/jpush/android/util/S;",
                call(INTENT, "setComponent", ["Landroid/content/ComponentName;"], INTENT),
                call(CTX, "startService", [INTENT], "Landroid/content/ComponentName;"))
    (f,) = findings(app(tmp_path, "a.apk", jpush_code(query, start)), "sdk.associated-start")
    assert f.owner == "jpush" and f.evidence["pattern"] == "enumerate-then-start"
    # enumerating alone (no explicit start anywhere in the owner's code) is not associated start
    assert findings(app(tmp_path, "b.apk", jpush_code(query)), "sdk.associated-start") == []


def alipay_code(*extra):
    return [ClassDef(f"Lcom/alipay/sdk/app/C{i};") for i in range(6)] + list(extra)


def _aim_and(start, pkg, svc):
    return [call(INTENT, "setClassName", [STR, STR], INTENT, strings={1: pkg, 2: svc}),
            call(CTX, start, [INTENT, "Landroid/content/ServiceConnection;", "I"], "Z")
            if start == "bindService" else call(CTX, start, [INTENT], "Landroid/content/ComponentName;")]


def test_associated_start_tells_user_hand_offs_from_background_starts(tmp_path):
    """Alipay's SDK binding the Alipay app to pay is a payment the user asked for: info, named as a
    hand-off. The same SDK starting a service of the Alipay app, or binding it from a receiver the
    system runs in the background, or a push SDK binding it, is associated start."""
    pay = cls("Lcom/alipay/sdk/app/PayTask;", *_aim_and("bindService", "com.eg.android.AlipayGphone",
                                                       "com.alipay.android.app.MspService"))
    (f,) = findings(app(tmp_path, "a.apk", alipay_code(pay)), "sdk.associated-start")
    assert f.owner == "alipay-sdk" and f.severity == "info" and f.evidence["pattern"] == "user-handoff"
    assert f.evidence["kinds"] == ["payment"] and f.evidence["targets"] == ["com.eg.android.AlipayGphone"]
    assert "用户主动发起" in f.message_zh
    wake = cls("Lcom/alipay/sdk/app/Wake;", *_aim_and("startService", "com.eg.android.AlipayGphone",
                                                     "com.alipay.android.app.MspService"))
    (f,) = findings(app(tmp_path, "b.apk", alipay_code(pay, wake)), "sdk.associated-start")
    assert f.severity == "warn" and f.evidence["targets"] == ["com.eg.android.AlipayGphone"]
    assert [s["caller"] for s in f.evidence["sites"]] == ["com.alipay.sdk.app.Wake.m"]
    assert [s["caller"] for s in f.evidence["handoffs"]] == ["com.alipay.sdk.app.PayTask.m"]
    boot = Component("receiver", "com.alipay.sdk.app.PayTask", exported=False,
                     intent_filters=[IntentFilter(["android.intent.action.BOOT_COMPLETED"])])
    (f,) = findings(app(tmp_path, "c.apk", alipay_code(pay), [boot]), "sdk.associated-start")
    assert f.severity == "warn"
    push = cls("Lcn/jpush/android/service/Pay;", *_aim_and("bindService", "com.eg.android.AlipayGphone",
                                                          "com.alipay.android.app.MspService"))
    (f,) = findings(app(tmp_path, "d.apk", jpush_code(push)), "sdk.associated-start")
    assert f.owner == "jpush" and f.severity == "warn"


def test_hand_off_knowledge_names_catalogue_sdks():
    from qingdan.knowledge.handoffs import load_handoffs
    from qingdan.knowledge.sdks import load_sdks

    ids = set(load_sdks())
    assert {sid for h in load_handoffs() for sid in h.sdks} <= ids


@needs_shared
@pytest.mark.parametrize("rel,owner,kind", [
    ("cn-app/mshopping-mandroid1-debug-2014.apk", "alipay-sdk", "payment"),
    ("cn-app/mshopping-mandroid1-debug-2014.apk", "weibo-sdk", "login"),
    ("cn-app/getactivity-androidproject-2019.apk", "umeng-share", "share"),
    ("cn-sdk/mob-sharesdk-sample-v3.5.apk", "mob-sharesdk", "share")])
def test_corpus_payment_login_share_hand_offs_are_info(rel, owner, kind):
    (f,) = [f for f in findings(CORPUS / rel, "sdk.associated-start") if f.owner == owner]
    assert f.severity == "info" and f.evidence["pattern"] == "user-handoff" and kind in f.evidence["kinds"]


def test_wakeup_service_exported(tmp_path):
    daemon = Component("service", "cn.jpush.android.service.DaemonService", exported=True, intent_filters=[
        IntentFilter(["cn.jpush.android.intent.DaemonService"])])
    classes = jpush_code(ClassDef("Lcn/jpush/android/service/DaemonService;"))
    (f,) = findings(app(tmp_path, "a.apk", classes, [daemon]), "sdk.wakeup-service-exported")
    assert f.owner == "jpush" and f.evidence["actions"] == ["cn.jpush.android.intent.DaemonService"]
    closed = Component("service", "cn.jpush.android.service.DaemonService", exported=False, intent_filters=[
        IntentFilter(["cn.jpush.android.intent.DaemonService"])])
    assert findings(app(tmp_path, "b.apk", classes, [closed]), "sdk.wakeup-service-exported") == []


# -- personal information, by whom ----------------------------------------------------------------

PI_CASES = [
    ("pi.non-resettable-id", call("Landroid/telephony/TelephonyManager;", "getSubscriberId", ret=STR),
     call("Landroid/telephony/TelephonyManager;", "getNetworkType", ret="I")),
    ("pi.installed-apps",
     call("Landroid/content/pm/PackageManager;", "getInstalledPackages", ["I"], "Ljava/util/List;"),
     call("Landroid/content/pm/PackageManager;", "getApplicationLabel",
          ["Landroid/content/pm/ApplicationInfo;"],
          "Ljava/lang/CharSequence;")),
    ("pi.running-processes",
     call("Landroid/app/ActivityManager;", "getRunningAppProcesses", ret="Ljava/util/List;"),
     call("Landroid/app/ActivityManager;", "getMemoryClass", ret="I")),
    ("pi.clipboard",
     call("Landroid/content/ClipboardManager;", "getPrimaryClip", ret="Landroid/content/ClipData;"),
     call("Landroid/content/ClipboardManager;", "setPrimaryClip", ["Landroid/content/ClipData;"])),
    ("pi.contacts",
     call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static",
          {0: "content://com.android.contacts/contacts"}),
     call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static", {0: "https://example.com"})),
    ("pi.sms",
     call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static", {0: "content://sms/inbox"}),
     call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static",
          {0: "content://media/external"})),
    ("pi.call-log",
     call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static",
          {0: "content://call_log/calls"}),
     call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static",
          {0: "content://settings/system"})),
]


# the permissions the APIs above need: with them, the calls collect
GATES = ["android.permission.READ_PHONE_STATE", "android.permission.READ_CONTACTS",
         "android.permission.READ_SMS", "android.permission.READ_CALL_LOG"]


@pytest.mark.parametrize("rid,bad,good", PI_CASES, ids=[c[0] for c in PI_CASES])
def test_pi_rules_by_owner(tmp_path, rid, bad, good):
    p = app(tmp_path, "a.apk",
            jpush_code(cls("Lcn/jpush/android/api/Collector;", bad), cls("Lcom/example/app/M;", bad)),
            perms=GATES)
    got = findings(p, rid)
    assert {f.owner for f in got} == {"app", "jpush"}
    assert all(f.evidence["sites"] and f.evidence["count"] >= 1 and f.evidence["pi_types"] for f in got)
    assert findings(app(tmp_path, "b.apk", [cls("Lcom/example/app/M;", good)], perms=GATES), rid) == []


def test_pi_rule_reflection_only_is_info(tmp_path):
    refl = call("Ljava/lang/Class;", "getMethod", [STR, "[Ljava/lang/Class;"], "Ljava/lang/reflect/Method;",
                strings={1: "getSubscriberId"})
    (f,) = findings(app(tmp_path, "a.apk", [cls("Lcom/example/app/R;", refl)], perms=GATES),
                    "pi.non-resettable-id")
    assert f.severity == "info" and "reflection" in f.message_en


MSA = "Lcom/bun/miitmdid/interfaces/IdSupplier;"


def test_non_resettable_id_names_only_non_resettable_types(tmp_path):
    """OAID, VAID and AAID are resettable (pi_types.yaml): the rule neither lists them nor fires on
    them, also when an SDK reaches Xiaomi's identifier provider by reflection."""
    ids = [call(MSA, m, ret=STR, kind="interface") for m in ("getOAID", "getVAID", "getAAID")]
    imei = call("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
    (f,) = findings(app(tmp_path, "a.apk", [cls("Lcom/example/app/Ids;", *ids, imei)], perms=GATES),
                    "pi.non-resettable-id")
    assert f.evidence["pi_types"] == ["imei", "meid"] and "oaid" not in f.message_en
    only_ids = app(tmp_path, "b.apk", [cls("Lcom/example/app/Ids;", *ids)])
    assert findings(only_ids, "pi.non-resettable-id") == []
    refl = call("Ljava/lang/Class;", "getMethod", [STR, "[Ljava/lang/Class;"], "Ljava/lang/reflect/Method;",
                strings={1: "getOAID"})
    forname = call("Ljava/lang/Class;", "forName", [STR], "Ljava/lang/Class;", "static",
                   {0: "com.android.id.impl.IdProviderImpl"})
    p = app(tmp_path, "c.apk", [cls("Lcom/example/app/Mi;", forname, refl)])
    assert findings(p, "pi.non-resettable-id") == []
    res, _ = analyze(p)
    assert "oaid" in res.pi_summary and "udid" not in res.pi_summary


# -- a permission-gated API without the permission collects nothing ---------------------------------

LOC = call("Landroid/location/LocationManager;", "getLastKnownLocation", [STR], "Landroid/location/Location;")
IMEI = call("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
CONTACTS = call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static",
                {0: "content://com.android.contacts/contacts"})
CALLS = call("Landroid/net/Uri;", "parse", [STR], "Landroid/net/Uri;", "static", {0: "content://call_log/calls"})


def _collected(res):
    """PI types with code evidence of collection in pi_summary (as the lists draft reads it)."""
    return {pi for pi, cols in res.pi_summary.items()
            if any(e.kind == "api" and e.certainty == "direct" for c in cols for e in c.evidence)}


def test_gated_api_without_its_permission_is_a_capability(tmp_path):
    from qingdan.lists.draft import draft_yaml

    code = jpush_code(cls("Lcn/jpush/android/api/Loc;", LOC, IMEI, CONTACTS, CALLS),
                      cls("Lcom/example/app/Loc;", LOC))
    p = app(tmp_path, "a.apk", code, app_attrs={"android:allowBackup": True})
    res, fs = analyze(p)
    with_code = {pi for pi, cols in res.pi_summary.items() for c in cols for e in c.evidence
                 if e.kind == "api"}
    assert not {"precise_location", "coarse_location", "imei", "address_book", "call_log"} & with_code
    assert {u.certainty for u in res.api_uses if u.api.id in ("location.last_known", "telephony.device_id")} \
        == {"capability"}
    (nr,) = [f for f in fs if f.rule_id == "pi.non-resettable-id"]
    assert nr.severity == "info" and nr.evidence["pi_types"] == []
    assert nr.evidence["capability_pi_types"] == ["imei", "meid"]
    assert nr.evidence["missing_permissions"] == ["android.permission.READ_PHONE_STATE"]
    assert "capability" in nr.message_en and "READ_PHONE_STATE" in nr.message_en
    for rid in ("pi.contacts", "pi.call-log"):
        (f,) = [f for f in fs if f.rule_id == rid]
        assert f.severity == "info" and f.evidence["pi_types"] == []
    assert [f for f in fs if f.rule_id == "sec.allow-backup-pi"] == []
    draft = draft_yaml(res)
    assert "pi_type: precise_location" not in draft and "pi_type: imei" not in draft
    # the same code with the permissions collects
    p = app(tmp_path, "b.apk", code, perms=GATES + ["android.permission.ACCESS_COARSE_LOCATION"],
            app_attrs={"android:allowBackup": True})
    res, fs = analyze(p)
    assert {"coarse_location", "imei", "address_book", "call_log"} <= _collected(res)
    assert {f.severity for f in fs if f.rule_id == "pi.non-resettable-id"} == {"warn"}
    assert [f for f in fs if f.rule_id == "sec.allow-backup-pi"]
    assert "pi_type: coarse_location" in draft_yaml(res)


def test_permissions_held_through_the_platforms_compatibility_grants(tmp_path):
    code = [cls("Lcom/example/app/C;", IMEI, CALLS, LOC)]
    # READ_CONTACTS gives the call log to an app that can run below Jelly Bean (API 16)
    res, _ = analyze(app(tmp_path, "a.apk", code, perms=["android.permission.READ_CONTACTS"], min_sdk=14))
    assert "call_log" in _collected(res)
    res, _ = analyze(app(tmp_path, "b.apk", code, perms=["android.permission.READ_CONTACTS"], min_sdk=16))
    assert "call_log" not in _collected(res)
    # an app targeting below API 4 holds READ_PHONE_STATE without asking
    res, _ = analyze(app(tmp_path, "c.apk", code, target=3, min_sdk=3))
    assert "imei" in _collected(res)
    # fine location includes coarse; a maxSdkVersion below minSdkVersion holds nothing
    res, _ = analyze(app(tmp_path, "d.apk", code, perms=["android.permission.ACCESS_FINE_LOCATION"]))
    assert "precise_location" in _collected(res)
    res, _ = analyze(app(tmp_path, "e.apk", code, perms=[("android.permission.READ_PHONE_STATE", 18)]))
    assert "imei" not in _collected(res)
    res, _ = analyze(app(tmp_path, "f.apk", code, perms=[("android.permission.READ_PHONE_STATE", 28)]))
    assert "imei" in _collected(res)


# -- ads ------------------------------------------------------------------------------------------


def pangle(*extra):
    return [ClassDef(f"Lcom/bytedance/sdk/openadsdk/C{i};") for i in range(6)] + list(extra)


def test_shake_sensor_in_ad_sdk(tmp_path):
    reg = call("Landroid/hardware/SensorManager;", "registerListener",
               ["Landroid/hardware/SensorEventListener;", "Landroid/hardware/Sensor;", "I"], "Z")
    (f,) = findings(app(tmp_path, "a.apk", pangle(cls("Lcom/bytedance/sdk/openadsdk/Shake;", reg))),
                    "ad.shake-sensor")
    assert f.owner == "pangle"
    # the same call in the app's own code (a pedometer, say) is not this rule's business
    assert findings(app(tmp_path, "b.apk", pangle(cls("Lcom/example/app/Steps;", reg))),
                    "ad.shake-sensor") == []


def test_splash_sdk(tmp_path):
    load = call("Lcom/bytedance/sdk/openadsdk/TTAdNative;", "loadSplashAd",
                ["Lcom/bytedance/sdk/openadsdk/AdSlot;",
                 "Lcom/bytedance/sdk/openadsdk/TTAdNative$SplashAdListener;"],
                kind="interface")
    (f,) = findings(app(tmp_path, "a.apk", pangle(cls("Lcom/example/app/Splash;", load))), "ad.splash-sdk")
    assert f.owner == "pangle" and f.severity == "info" and "ui check" in f.message_en
    assert findings(app(tmp_path, "b.apk", pangle()), "ad.splash-sdk") == []


# -- necessity ------------------------------------------------------------------------------------


def test_permissions_beyond_the_app_type(tmp_path):
    perms = ["android.permission.ACCESS_FINE_LOCATION", "android.permission.READ_CONTACTS",
             "android.permission.INTERNET"]
    p = app(tmp_path, "a.apk", perms=perms)
    got = findings(p, "perm.beyond-necessary", app_type="map_navigation")
    assert [f.evidence["permission"] for f in got] == ["android.permission.READ_CONTACTS"]
    assert findings(p, "perm.beyond-necessary") == []  # no app type given: rule silent
    # a type that needs no personal information at all: both PI permissions are beyond it
    got = findings(p, "perm.beyond-necessary", app_type="37")
    assert {f.evidence["permission"] for f in got} == {"android.permission.ACCESS_FINE_LOCATION",
                                                       "android.permission.READ_CONTACTS"}


def test_beyond_necessary_counts_refusable_permissions_and_what_the_device_gives(tmp_path):
    """Install-time permissions (network and Wi-Fi state) cannot be refused: not this rule's matter.
    READ_PHONE_STATE reaches the SIM's number, but a shopping app's necessary phone number is the
    one the user registers with: the permission serves nothing necessary."""
    perms = ["android.permission.ACCESS_NETWORK_STATE", "android.permission.ACCESS_WIFI_STATE",
             "android.permission.READ_PHONE_STATE", "android.permission.ACCESS_COARSE_LOCATION"]
    p = app(tmp_path, "a.apk", perms=perms)
    (f,) = findings(p, "perm.beyond-necessary", app_type="map_navigation")
    assert f.evidence["permission"] == "android.permission.READ_PHONE_STATE"
    shopping = findings(p, "perm.beyond-necessary", app_type="online_shopping")
    got = {f.evidence["permission"]: f for f in shopping}
    assert set(got) == {"android.permission.READ_PHONE_STATE", "android.permission.ACCESS_COARSE_LOCATION"}
    phone = got["android.permission.READ_PHONE_STATE"]
    assert phone.evidence["user_provided"] == ["phone_number"] and "imei" in phone.evidence["pi_types"]
    assert "由用户提供" in phone.message_zh


# -- security basics ------------------------------------------------------------------------------


def test_debuggable(tmp_path):
    (f,) = findings(app(tmp_path, "a.apk",
                        app_attrs={"android:debuggable": True, "android:allowBackup": False}),
                    "sec.debuggable")
    assert f.severity == "block"
    assert findings(app(tmp_path, "b.apk"), "sec.debuggable") == []


def test_cleartext(tmp_path):
    (f,) = findings(app(tmp_path, "a.apk", target=27), "sec.cleartext-traffic")
    assert f.evidence["explicit"] is False
    assert findings(app(tmp_path, "b.apk", target=30), "sec.cleartext-traffic") == []
    (f,) = findings(app(tmp_path, "c.apk",
                        app_attrs={"android:usesCleartextTraffic": True, "android:allowBackup": False}),
                    "sec.cleartext-traffic")
    assert f.evidence["explicit"] is True


def test_allow_backup_with_pi(tmp_path):
    imei = call("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
    p = app(tmp_path, "a.apk", [cls("Lcom/example/app/M;", imei)], app_attrs={"android:allowBackup": True},
            perms=GATES)
    (f,) = findings(p, "sec.allow-backup-pi")
    assert "imei" in f.evidence["pi_types"]
    assert findings(app(tmp_path, "b.apk", app_attrs={"android:allowBackup": True}),
                    "sec.allow-backup-pi") == []


def test_allow_backup_counts_neither_capabilities_nor_library_code(tmp_path):
    """Point 5: getLatitude on a Location needs the location permission that gave the object; and
    AppCompat's TwilightManager reads a location only if the app uses automatic night mode."""
    lat = call("Landroid/location/Location;", "getLatitude", ret="D")
    twilight = [ClassDef(f"Landroidx/appcompat/widget/W{i};") for i in range(6)] + [
        cls("Landroidx/appcompat/app/TwilightManager;", LOC, lat)]
    on = {"android:allowBackup": True}
    assert findings(app(tmp_path, "a.apk", [cls("Lcom/example/app/M;", lat)], app_attrs=on),
                    "sec.allow-backup-pi") == []
    fine = ["android.permission.ACCESS_FINE_LOCATION"]
    (f,) = findings(app(tmp_path, "b.apk", [cls("Lcom/example/app/M;", lat)], app_attrs=on, perms=fine),
                    "sec.allow-backup-pi")
    assert f.evidence["pi_types"] == ["precise_location"]
    assert findings(app(tmp_path, "c.apk", twilight, app_attrs=on, perms=fine), "sec.allow-backup-pi") == []


@needs_shared
def test_corpus_allow_backup_only_where_code_collects():
    """Apps whose only PI code is library code or calls without their permission (the ad-skip app,
    the fake Baidu-map demo, the JMLink demo) are not flagged; an SDK collecting with its
    permission (Bugly's ICCID and serial with READ_PHONE_STATE) still is."""
    for rel in ("cn-app/adjump-signed-2020.apk", "cn-app/baidumap-demo-release-2017.apk",
                "cn-sdk/jiguang-jmlink-demo.apk"):
        assert findings(CORPUS / rel, "sec.allow-backup-pi") == [], rel
    (f,) = findings(CORPUS / "cn-sdk/bugly-hotfix-demo.apk", "sec.allow-backup-pi")
    assert {"iccid", "serial_number"} <= set(f.evidence["pi_types"])


def test_exported_unprotected(tmp_path):
    imei = call("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
    svc = Component("service", "com.example.app.Leaky", exported=True)
    p = app(tmp_path, "a.apk", [cls("Lcom/example/app/Leaky;", imei)], [svc], perms=GATES)
    (f,) = findings(p, "sec.exported-unprotected")
    assert f.severity == "warn" and f.evidence["handles_pi"] is True
    # without READ_PHONE_STATE the call cannot return the IMEI: the service handles no PI
    (f,) = findings(app(tmp_path, "a2.apk", [cls("Lcom/example/app/Leaky;", imei)], [svc]),
                    "sec.exported-unprotected")
    assert f.severity == "info" and f.evidence["handles_pi"] is False
    quiet = app(tmp_path, "b.apk", [ClassDef("Lcom/example/app/Quiet;")],
                [Component("service", ".Quiet", exported=True)])
    (g,) = findings(quiet, "sec.exported-unprotected")
    assert g.severity == "info"
    guarded = app(tmp_path, "c.apk", [cls("Lcom/example/app/Leaky;", imei)],
                  [Component("service", ".Leaky", exported=True, permission="com.example.app.PRIVATE")])
    assert findings(guarded, "sec.exported-unprotected") == []


def test_low_target_sdk(tmp_path):
    (f,) = findings(app(tmp_path, "a.apk", target=22), "sec.low-target-sdk")
    assert f.severity == "warn"
    (g,) = findings(app(tmp_path, "b.apk", target=28), "sec.low-target-sdk")
    assert g.severity == "info"
    assert findings(app(tmp_path, "c.apk", target=33), "sec.low-target-sdk") == []


# -- acceptance, exit codes, config ---------------------------------------------------------------


def test_accepted_findings_stay_marked(tmp_path):
    p = app(tmp_path, "a.apk", app_attrs={"android:debuggable": True, "android:allowBackup": False})
    (tmp_path / "qingdan.toml").write_text(
        'fail_on = "warn"\n[[accept]]\nrule = "sec.debuggable"\nowner = "app"\n'
        'reason = "internal test build"\n', "utf-8")
    out = tmp_path / "r.json"
    code, stdout, stderr = cli("scan", str(p), "--json", str(out))
    rep = json.loads(out.read_text("utf-8"))
    f = next(f for f in rep["findings"] if f["rule"] == "sec.debuggable")
    assert f["accepted"] is True and f["accepted_reason"] == "internal test build"
    assert rep["finding_counts"]["accepted"] == 1
    assert code == 0, stdout + stderr  # nothing else at warn or above is open
    import jsonschema

    jsonschema.Draft202012Validator(report_schema()).validate(rep)


def test_fail_on_exit_codes(tmp_path):
    p = app(tmp_path, "a.apk", target=28)  # info findings only (target 28 < 30)
    assert cli("scan", str(p))[0] == 0
    assert cli("scan", str(p), "--fail-on", "block")[0] == 0
    assert cli("scan", str(p), "--fail-on", "warn")[0] == 0
    code, _, err = cli("scan", str(p), "--fail-on", "info")
    assert code == 1 and "open finding" in err
    code, _, err = cli("scan", str(p), "--fail-on", "loud")
    assert code == 2 and err.startswith("error: --fail-on")
    code, _, err = cli("scan", str(p), "--app-type", "no-such-type")
    assert code == 2 and err.startswith("error: --app-type")


def test_bad_config_is_one_line(tmp_path):
    bad = tmp_path / "qingdan.toml"
    bad.write_text("[[accept]]\nrule = \"sec.debuggable\"\n", "utf-8")
    with pytest.raises(ConfigError, match="reason is required"):
        load_config(bad)
    p = app(tmp_path, "a.apk")
    code, _, err = cli("scan", str(p))
    assert (code == 2 and err.strip().startswith(f"error: {bad}: accept[0]")
            and len(err.strip().splitlines()) == 1)
    bad.write_text("fail_on = [", "utf-8")
    code, _, err = cli("scan", str(p))
    assert code == 2 and "not valid TOML" in err
    bad.write_text('[[accept]]\nrule = "nope.rule"\nreason = "x"\n', "utf-8")
    assert "unknown rule" in cli("scan", str(p))[2]


def test_diff_between_versions(tmp_path):
    old = app(tmp_path, "v1.apk", perms=["android.permission.INTERNET"])
    imei = call("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
    new = app(tmp_path, "v2.apk", jpush_code(cls("Lcn/jpush/android/api/Collector;", imei)),
              perms=["android.permission.INTERNET", "android.permission.READ_PHONE_STATE"],
              meta={"JPUSH_APPKEY": "k"})
    out = tmp_path / "d.json"
    code, stdout, err = cli("diff", str(old), str(new), "--json", str(out))
    assert code == 0, err
    d = json.loads(out.read_text("utf-8"))
    assert d["sdks"]["added"] == ["jpush"] and d["sdks"]["removed"] == []
    assert d["permissions"]["added"] == ["android.permission.READ_PHONE_STATE"]
    assert "imei" in d["pi_types"]["added"]
    assert {"rule": "pi.non-resettable-id", "owner": "jpush", "severity": "warn"} in d["findings"]["added"]
    assert "SDKs      + jpush" in stdout
    # and back: the same things removed
    code, stdout, _ = cli("diff", str(new), str(old))
    assert "SDKs      - jpush" in stdout


# -- the corpus: push SDKs that self-start and wake each other -------------------------------------


@needs_shared
@pytest.mark.parametrize("rel,owner", [("cn-sdk/jpush-tutorial-demo-debug.apk", "jpush"),
                                       ("cn-sdk/jpush-hbuilder-hello.apk", "jpush"),
                                       ("cn-sdk/xpush-xgdemo-2019.apk", "tencent-tpns")])
def test_corpus_push_sdks_self_start_and_wake(rel, owner):
    res, fs = analyze(CORPUS / rel)
    by = {(f.rule_id, f.owner) for f in fs}
    assert ("sdk.autostart-receiver", owner) in by
    assert ("sdk.wakeup-service-exported", owner) in by
    if owner == "jpush":
        f = next(f for f in fs if f.rule_id == "sdk.associated-start" and f.owner == "jpush")
        assert f.evidence["pattern"] == "enumerate-then-start"
        recv = next(f for f in fs if f.rule_id == "sdk.autostart-receiver" and f.owner == "jpush")
        assert recv.evidence["component"] == "cn.jpush.android.service.PushReceiver"
        assert "android.intent.action.USER_PRESENT" in recv.evidence["actions"]
    else:
        assert ("sdk.associated-start", owner) in by
    rep = to_dict(res)
    import jsonschema

    jsonschema.Draft202012Validator(report_schema()).validate(rep)


@needs_shared
def test_corpus_negative_app_has_no_sdk_findings():
    # the Baidu-map-named demo has no SDK: nothing may be pinned on an SDK
    res, fs = analyze(CORPUS / "cn-app/baidumap-demo-release-2017.apk")
    assert all(res.owner_kind(f.owner) != "sdk" for f in fs)
    # the support library's TwilightManager / MenuBuilder are not the app's (no "App collects …")
    assert not [f for f in fs if f.rule_id.startswith("pi.") and f.owner == "app"]


def test_html_groups_findings_by_clause_and_owner(tmp_path):
    from qingdan.report.html import render_html

    boot = Component("receiver", "cn.jpush.android.service.PushReceiver", exported=False, intent_filters=[
        IntentFilter(["android.intent.action.BOOT_COMPLETED"])])
    p = app(tmp_path, "a.apk", jpush_code(ClassDef("Lcn/jpush/android/service/PushReceiver;")), [boot],
            app_attrs={"android:debuggable": True, "android:allowBackup": False})
    page = render_html(to_dict(analyze(p)[0]))
    assert "按责任方 By owner" in page and "按法规条款 By regulation clause" in page
    assert page.index("sec.debuggable") < page.index("sdk.autostart-receiver") or "jpush" in page
    assert "工信部信管函〔2021〕292号" in page
