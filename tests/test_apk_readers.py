"""Readers against packages the project builds itself: exact ground truth."""

import struct

import pytest

from qingdan.apk import dexscan_py
from qingdan.apk.axml import ResRef, parse_axml
from qingdan.apk.dex import DexFile, java_name
from qingdan.apk.errors import ApkError
from qingdan.apk.manifest import build_manifest as interpret
from qingdan.apk.package import read_package
from tests.support.apkbuilder import (
    ClassDef,
    Component,
    IntentFilter,
    Invoke,
    Method,
    build_apk,
    build_arsc,
    build_dex,
    build_manifest,
    build_zip,
)

try:
    from qingdan.apk import _dexscan
except ImportError:  # pragma: no cover
    _dexscan = None

TM = "Landroid/telephony/TelephonyManager;"
SECURE = "Landroid/provider/Settings$Secure;"
CR = "Landroid/content/ContentResolver;"
STR = "Ljava/lang/String;"


def sample_classes():
    return [
        ClassDef("Lcom/example/app/Main;", methods=[
            Method("<init>",
                   invokes=[Invoke("Ljava/lang/Object;", "<init>", kind="direct", receiver_this=True)]),
            Method("imei", ret=STR, invokes=[Invoke(TM, "getDeviceId", ret=STR)]),
            Method("androidId", params=[CR], ret=STR, static=True, invokes=[
                Invoke(SECURE, "getString", [CR, STR], STR, kind="static", string_args={1: "android_id"}),
            ]),
            Method("wide", static=True, invokes=[
                # 3rc form: 7 registers, strings at positions 1 and 5
                Invoke("Lcom/example/app/Util;", "many", [STR, "I", "I", "I", STR, "I"], "V", kind="static",
                       string_args={0: "first", 4: "second"}, range=True),
            ], payload=("packed-switch", "sparse-switch", "fill-array-data")),
        ]),
        ClassDef("Lcom/example/app/Util;", methods=[
            Method("many", params=[STR, "I", "I", "I", STR, "I"], static=True),
            Method("reflect", static=True, invokes=[
                Invoke("Ljava/lang/Class;", "forName", [STR], "Ljava/lang/Class;", kind="static",
                       string_args={0: "android.telephony.TelephonyManager"}),
                Invoke("Ljava/lang/Class;", "getMethod", [STR, "[Ljava/lang/Class;"],
                       "Ljava/lang/reflect/Method;",
                       string_args={1: "getImei"}),
            ], strings=["中文字符串", "emoji \U0001F600"]),
        ]),
        ClassDef("Lcom/umeng/analytics/Agent;", methods=[
            Method("mac", ret=STR, invokes=[Invoke("Landroid/net/wifi/WifiInfo;", "getMacAddress", ret=STR)]),
        ]),
        ClassDef("Lcom/example/app/Iface;", access=0x601, methods=[Method("x", abstract=True)]),
    ]


@pytest.fixture(scope="module")
def dex_bytes():
    return build_dex(sample_classes())


def test_dex_tables(dex_bytes):
    d = DexFile(dex_bytes, "classes.dex")
    assert d.warnings == []
    assert set(d.class_descriptors()) == {c.name for c in sample_classes()}
    assert d.n_classes == 4
    # strings are sorted; lookups are binary searches
    assert d.string(d.find_string("android_id")) == "android_id"
    assert d.find_string("no such string") == -1
    assert d.string(d.find_string("中文字符串")) == "中文字符串"
    assert d.string(d.find_string("emoji \U0001F600")) == "emoji \U0001F600"
    assert d.find_methods(TM, "getDeviceId")
    assert d.method_sig(d.find_methods(SECURE, "getString")[0]) == f"{SECURE}->getString({CR}{STR}){STR}"
    assert d.find_methods(TM, "getLine1Number") == []
    # abstract method has no code; the others do
    assert d.n_defined_methods == 8
    assert d.n_code_methods == 7


def test_call_sites_with_constant_strings(dex_bytes):
    d = DexFile(dex_bytes)
    sites = list(d.call_sites())
    by = {(s.caller_class, s.caller_method, s.callee_class, s.callee_method): s for s in sites}
    s = by[("com.example.app.Main", "androidId", "android.provider.Settings$Secure", "getString")]
    assert s.strings == ("android_id",)
    assert by[("com.example.app.Main", "imei", "android.telephony.TelephonyManager",
               "getDeviceId")].strings == ()
    # range invoke: both string arguments seen, in register order
    assert by[("com.example.app.Main", "wide", "com.example.app.Util", "many")].strings == ("first", "second")
    # reflective use leaves the method name as a constant argument of getMethod
    assert by[("com.example.app.Util", "reflect", "java.lang.Class", "getMethod")].strings == ("getImei",)
    assert by[("com.example.app.Util", "reflect", "java.lang.Class", "forName")].strings == (
        "android.telephony.TelephonyManager",)
    # the invoke after the payload tables is still found (instruction widths are right)
    assert ("com.umeng.analytics.Agent", "mac", "android.net.wifi.WifiInfo", "getMacAddress") in by
    assert len(sites) == 7  # <init>, imei, androidId, wide, forName, getMethod, mac
    callees = d.callees_by_class()
    assert f"{TM}->getDeviceId(){STR}" in callees["com.example.app.Main"]
    assert set(callees) == {"com.example.app.Main", "com.example.app.Util", "com.umeng.analytics.Agent"}
    hits = list(d.calls_to(d.find_methods(TM, "getDeviceId")))
    assert [h.caller_method for h in hits] == ["imei"]


def test_const_strings(dex_bytes):
    d = DexFile(dex_bytes)
    consts = {d.string(i) for i in d.const_string_indices()}
    assert {"android_id", "first", "second", "getImei", "中文字符串"} <= consts
    assert "Lcom/example/app/Main;" not in consts  # a type name, never loaded by const-string
    assert d.n_const_strings == len(consts)


def test_duplicate_calls_in_one_method_are_merged():
    inv = Invoke(TM, "getDeviceId", ret=STR)
    other = Invoke(SECURE, "getString", [CR, STR], STR, kind="static", string_args={1: "android_id"})
    other2 = Invoke(SECURE, "getString", [CR, STR], STR, kind="static", string_args={1: "bluetooth_address"})
    d = DexFile(build_dex([ClassDef("La/B;", methods=[Method("m", invokes=[inv, inv, other, other,
                                                                           other2])])]))
    got = sorted((s.callee_method, s.strings) for s in d.call_sites())
    assert got == [("getDeviceId", ()), ("getString", ("android_id",)), ("getString", ("bluetooth_address",))]


def _scan_args(data: bytes):
    (m_size,) = struct.unpack_from("<L", data, 88)
    (s_size,) = struct.unpack_from("<L", data, 56)
    c_size, c_off = struct.unpack_from("<LL", data, 96)
    (f_size,) = struct.unpack_from("<L", data, 80)
    return data, c_off, c_size, m_size, s_size, f_size


@pytest.mark.skipif(_dexscan is None, reason="C scanner not built")
def test_c_and_python_scanners_agree(dex_bytes):
    for data in (dex_bytes, build_dex(sample_classes()[:2])):
        args = _scan_args(data)
        assert _dexscan.scan(*args) == dexscan_py.scan(*args)


def test_truncated_dex_is_an_error_not_a_crash(dex_bytes):
    for cut in (0, 50, 111, 112, 200, len(dex_bytes) // 2):
        try:
            d = DexFile(dex_bytes[:cut])
        except ApkError as exc:
            assert str(exc)
        else:  # tables survived the cut: damaged code must be reported
            assert d.warnings or d.n_code_methods < 7


def test_axml_and_manifest_semantics():
    comps = [
        Component("activity", ".Main", intent_filters=[IntentFilter(["android.intent.action.MAIN"],
                                                                     ["android.intent.category.LAUNCHER"])]),
        Component("receiver", "com.example.app.Boot",
                  intent_filters=[IntentFilter(["android.intent.action.BOOT_COMPLETED"])]),
        Component("service", "Svc", exported=False, process=":push",
                  intent_filters=[IntentFilter(["x.y.Z"])]),
        Component("provider", "com.example.app.Prov", authorities="a.b;c.d"),
        Component("receiver", "com.example.app.Guarded", exported=True, permission="com.example.P"),
    ]
    man = build_manifest(
        "com.example.app", version_code=7, version_name="1.2.3", min_sdk=21, target_sdk=30,
        label="Plain Label",
        permissions=["android.permission.INTERNET", ("android.permission.READ_PHONE_STATE", 28),
                     "android.permission.INTERNET"],
        permissions_sdk23=["android.permission.ACCESS_FINE_LOCATION"],
        app_attrs={"android:debuggable": True, "android:allowBackup": False},
        components=comps, app_meta_data={"UMENG_APPKEY": "abc123"},
    )
    root, warnings = parse_axml(man)
    assert warnings == []
    m = interpret(root)
    assert (m.package, m.version_code, m.version_name, m.min_sdk, m.target_sdk) == (
        "com.example.app", 7, "1.2.3", 21, 30)
    assert m.label == "Plain Label"
    assert m.permission_names == ["android.permission.INTERNET", "android.permission.READ_PHONE_STATE",
                                  "android.permission.ACCESS_FINE_LOCATION"]
    perms = {p.name: p for p in m.uses_permissions}
    assert perms["android.permission.READ_PHONE_STATE"].max_sdk == 28
    assert perms["android.permission.ACCESS_FINE_LOCATION"].sdk23
    assert m.debuggable and not m.allow_backup
    assert m.uses_cleartext_traffic is False  # default from target SDK 28 on
    assert m.app_meta_data == {"UMENG_APPKEY": "abc123"}
    c = {x.name: x for x in m.components}
    assert c["com.example.app.Main"].exported and c["com.example.app.Main"].exported_explicit is None
    assert c["com.example.app.Boot"].exported  # implied by its intent filter
    svc = c["com.example.app.Svc"]
    assert not svc.exported and svc.process == "com.example.app:push"
    assert c["com.example.app.Prov"].authorities == ["a.b", "c.d"]
    assert not c["com.example.app.Prov"].exported  # providers default to not exported from SDK 17
    assert c["com.example.app.Guarded"].permission == "com.example.P"
    assert c["com.example.app.Boot"].intent_filters[0].actions == ["android.intent.action.BOOT_COMPLETED"]


def test_target_31_without_exported_is_warned():
    man = build_manifest("a.b", target_sdk=31, label="x", components=[
        Component("activity", ".M", intent_filters=[IntentFilter(["android.intent.action.VIEW"])])])
    m = interpret(parse_axml(man)[0])
    assert any("android:exported" in w for w in m.warnings)


def test_sdk_codename():
    man = build_manifest("a.b", min_sdk=None, target_sdk=None, uses_sdk_codename="VanillaIceCream", label="x")
    m = interpret(parse_axml(man)[0])
    assert m.target_sdk == 35 and m.min_sdk == 35
    assert m.sdk_codenames.get("min") == "VanillaIceCream"


def test_label_from_resources_and_locales(tmp_path):
    arsc, ids = build_arsc("com.example.app", {"app_name": "Demo", "other": "x"},
                           localized={"zh-CN": {"app_name": "演示"}})
    man = build_manifest("com.example.app", label=f"@0x{ids['app_name']:08x}")
    p = build_apk(tmp_path / "a.apk", man, [build_dex(sample_classes())], arsc=arsc)
    pkg = read_package(p)
    assert pkg.label == "Demo"
    assert pkg.labels == {"": "Demo", "zh-CN": "演示"}
    assert isinstance(parse_axml(man)[0].findall("application")[0].get("android:label"), ResRef)


def test_package_dex_nested_native_and_signing(tmp_path):
    inner = build_zip({"classes.dex": build_dex([ClassDef("Lplugin/Hidden;", methods=[Method("run")])])})
    man = build_manifest("com.example.app", label="L")
    p = build_apk(tmp_path / "b.apk", man,
                  [build_dex(sample_classes()), build_dex([ClassDef("Lcom/example/app/Second;")])],
                  files={"assets/plugin.jar": inner, "lib/arm64-v8a/libfoo.so": b"\x7fELF" + b"\0" * 60,
                         "assets/privacy.html": b"<html>policy</html>"},
                  sign=True)
    pkg = read_package(p)
    sources = [d.source for d in pkg.dex]
    assert sources == ["classes.dex", "classes2.dex", "assets/plugin.jar!/classes.dex"]
    assert "Lplugin/Hidden;" in pkg.class_names()
    assert [(n.abi, n.name) for n in pkg.native_libs] == [("arm64-v8a", "libfoo.so")]
    assert "assets/privacy.html" in pkg.assets
    assert pkg.signing.schemes == ["v1"]
    assert pkg.signing.certificates[0].subject == "CN=qingdan test,O=qingdan,C=CN"
    unsigned = read_package(build_apk(tmp_path / "c.apk", man, [build_dex(sample_classes())]))
    assert unsigned.signing.schemes == [] and not unsigned.signing.signed


def test_split_bundle(tmp_path):
    man = build_manifest("com.example.app", label="L")
    base = build_apk(tmp_path / "base.apk", man, [build_dex(sample_classes())]).read_bytes()
    split_man = build_manifest("com.example.app", label="L", manifest_attrs={"split": "config.arm64_v8a"})
    split = build_apk(tmp_path / "split.apk", split_man, [],
                      files={"lib/arm64-v8a/libx.so": b"\x7fELF" + b"\0" * 40}).read_bytes()
    feat = build_apk(tmp_path / "feat.apk", build_manifest("com.example.app", label="L",
                                                            manifest_attrs={"split": "feature"}),
                     [build_dex([ClassDef("Lcom/example/feature/F;")])]).read_bytes()
    bundle = tmp_path / "app.apks"
    bundle.write_bytes(build_zip({"splits/base-master.apk": base, "splits/base-arm64_v8a.apk": split,
                                  "splits/feature.apk": feat, "toc.pb": b"\0"}))
    # split paths are one level down in .apks made by bundletool
    pkg = read_package(bundle)
    assert pkg.kind == "apks"
    assert pkg.package == "com.example.app"
    assert {"Lcom/example/app/Main;", "Lcom/example/feature/F;"} <= pkg.class_names()
    assert [(n.abi, n.name) for n in pkg.native_libs] == [("arm64-v8a", "libx.so")]
    assert len(pkg.splits) == 3


def test_descriptor_names():
    assert java_name("Lcom/a/B$C;") == "com.a.B$C"
    assert java_name("[I") == "[I"


TWIN_APPS = ["cn-sdk/jpush-tutorial-demo-debug.apk", "oss-app/fdroid-a2dp.Vol_137.apk",
             "droidbench/Reflection_Reflection1.apk", "iccbench/icc_dynregister1.apk"]


@pytest.mark.skipif(_dexscan is None, reason="C scanner not built")
@pytest.mark.parametrize("rel", TWIN_APPS)
def test_c_and_python_scanners_agree_on_real_code(rel):
    from tests.conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    for d in read_package(CORPUS / rel).dex:
        args = _scan_args(d.data)
        assert _dexscan.scan(*args) == dexscan_py.scan(*args)


def test_static_field_reads_on_real_code():
    from tests.conftest import CORPUS

    if not CORPUS.is_dir():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    # a2dp.Vol reads contacts through ContactsContract; every app reads Build fields
    pkg = read_package(CORPUS / "oss-app/fdroid-a2dp.Vol_137.apk")
    reads = set()
    for d in pkg.dex:
        for k in range(0, len(d.field_reads), 2):
            cls, name, _t = d.field_ref(d.field_reads[k + 1])
            reads.add((cls, name))
    assert ("Landroid/os/Build$VERSION;", "SDK_INT") in reads
    d = pkg.dex[0]
    ids = d.find_fields("Landroid/os/Build$VERSION;", "SDK_INT")
    assert ids and all(d.field_ref(i)[1] == "SDK_INT" for i in ids)
    callers = list(d.reads_of(ids))
    assert callers and all(r[2] == "android.os.Build$VERSION" for r in callers)
