#!/usr/bin/env python3
"""Build ``examples/demo.apk``, the small demo app used in the README.

Run from anywhere::

    python examples/build_demo.py [output.apk]

The APK is produced by the test-side writer ``tests/support/apkbuilder.py``
(no Android SDK needed) and is byte-for-byte reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.apkbuilder import (  # noqa: E402
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
    dummy_elf,
)

PACKAGE = "com.example.qingdan.demo"
VERSION_NAME = "2.1.0"
VERSION_CODE = 21
MIN_SDK = 21
TARGET_SDK = 33
APP_NAME = "清单演示"
APP_NAME_EN = "Qingdan Demo"

PERMISSIONS = [
    "android.permission.INTERNET",
    "android.permission.READ_PHONE_STATE",
    "android.permission.ACCESS_FINE_LOCATION",
    "android.permission.ACCESS_COARSE_LOCATION",
    "android.permission.CAMERA",
    "android.permission.READ_CONTACTS",
    "android.permission.RECEIVE_BOOT_COMPLETED",
    "android.permission.ACCESS_WIFI_STATE",
    "android.permission.READ_PHONE_STATE",  # duplicated on purpose
]
PERMISSIONS_SDK23 = ["android.permission.READ_EXTERNAL_STORAGE"]

META_DATA = {
    "UMENG_APPKEY": "5f3c2a1b8e9d7c6b5a4f3e2d",
    "JPUSH_APPKEY": "a1b2c3d4e5f60718293a4b5c",
    "com.amap.api.v2.apikey": "0123456789abcdef0123456789abcdef",
}

S = "Ljava/lang/String;"
CTX = "Landroid/content/Context;"
INTENT = "Landroid/content/Intent;"
BUNDLE = "Landroid/os/Bundle;"
OBJECT = "Ljava/lang/Object;"


def _init(superclass: str) -> Method:
    return Method("<init>", invokes=[Invoke(superclass, "<init>", kind="direct", receiver_this=True)])


def _cls(name: str) -> str:
    return "L" + name.replace(".", "/") + ";"


def main_dex() -> bytes:
    demo = "Lcom/example/qingdan/demo/"
    device_info = ClassDef(
        demo + "util/DeviceInfo;",
        source_file="DeviceInfo.java",
        methods=[
            _init(OBJECT),
            Method("getImei", [CTX], S, static=True, invokes=[
                Invoke(CTX, "getSystemService", [S], OBJECT, string_args={1: "phone"}),
                Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", [], S),
            ]),
            Method("getAndroidId", [CTX], S, static=True, invokes=[
                Invoke(CTX, "getContentResolver", [], "Landroid/content/ContentResolver;"),
                Invoke("Landroid/provider/Settings$Secure;", "getString",
                       ["Landroid/content/ContentResolver;", S], S, kind="static",
                       string_args={1: "android_id"}),
            ]),
            Method("getLocation", [CTX], "Landroid/location/Location;", static=True, invokes=[
                Invoke(CTX, "getSystemService", [S], OBJECT, string_args={1: "location"}),
                Invoke("Landroid/location/LocationManager;", "getLastKnownLocation", [S],
                       "Landroid/location/Location;", string_args={1: "gps"}),
            ]),
            Method("readClipboard", [CTX], "Landroid/content/ClipData;", static=True, invokes=[
                Invoke(CTX, "getSystemService", [S], OBJECT, string_args={1: "clipboard"}),
                Invoke("Landroid/content/ClipboardManager;", "getPrimaryClip", [],
                       "Landroid/content/ClipData;"),
            ]),
        ],
    )
    reflect = ClassDef(
        demo + "util/Reflect;",
        source_file="Reflect.java",
        methods=[
            _init(OBJECT),
            Method("imeiViaReflection", [CTX], OBJECT, static=True, invokes=[
                Invoke("Ljava/lang/Class;", "forName", [S], "Ljava/lang/Class;", kind="static",
                       string_args={0: "android.telephony.TelephonyManager"}),
                Invoke("Ljava/lang/Class;", "getMethod", [S, "[Ljava/lang/Class;"],
                       "Ljava/lang/reflect/Method;", string_args={1: "getDeviceId"}),
                Invoke("Ljava/lang/reflect/Method;", "invoke", [OBJECT, "[Ljava/lang/Object;"], OBJECT),
            ]),
        ],
    )
    main_activity = ClassDef(
        demo + "MainActivity;",
        superclass="Landroid/app/Activity;",
        source_file="MainActivity.java",
        methods=[
            _init("Landroid/app/Activity;"),
            Method("onCreate", [BUNDLE], invokes=[
                Invoke("Landroid/app/Activity;", "onCreate", [BUNDLE], kind="super", receiver_this=True),
                Invoke(demo + "util/DeviceInfo;", "getImei", [CTX], S, kind="static"),
                Invoke(demo + "util/DeviceInfo;", "getAndroidId", [CTX], S, kind="static"),
                Invoke(demo + "util/DeviceInfo;", "getLocation", [CTX], "Landroid/location/Location;",
                       kind="static"),
                Invoke(demo + "util/DeviceInfo;", "readClipboard", [CTX], "Landroid/content/ClipData;",
                       kind="static"),
                Invoke("Landroid/widget/Toast;", "makeText", [CTX, "Ljava/lang/CharSequence;", "I"],
                       "Landroid/widget/Toast;", kind="static", string_args={1: "欢迎使用清单演示"}),
            ]),
            Method("route", ["I"], payload=True),
        ],
    )
    splash = ClassDef(
        demo + "SplashActivity;",
        superclass="Landroid/app/Activity;",
        source_file="SplashActivity.java",
        methods=[
            _init("Landroid/app/Activity;"),
            Method("onResume", invokes=[
                Invoke("Landroid/app/Activity;", "onResume", kind="super", receiver_this=True),
                Invoke("Landroid/content/Intent;", "setClassName", [S, S], INTENT,
                       string_args={1: PACKAGE, 2: PACKAGE + ".MainActivity"}),
                Invoke("Landroid/app/Activity;", "startActivity", [INTENT]),
            ]),
        ],
    )
    boot = ClassDef(
        demo + "BootReceiver;",
        superclass="Landroid/content/BroadcastReceiver;",
        source_file="BootReceiver.java",
        methods=[
            _init("Landroid/content/BroadcastReceiver;"),
            Method("onReceive", [CTX, INTENT], invokes=[
                Invoke("Landroid/util/Log;", "d", [S, S], "I", kind="static",
                       string_args={0: "BootReceiver", 1: "boot completed"}),
            ]),
        ],
    )
    umeng = ClassDef(
        "Lcom/umeng/analytics/pro/h;",
        source_file="SourceFile",
        methods=[
            _init(OBJECT),
            Method("a", [CTX], S, static=True, invokes=[
                Invoke(CTX, "getSystemService", [S], OBJECT, string_args={1: "wifi"}),
                Invoke("Landroid/net/wifi/WifiManager;", "getConnectionInfo", [],
                       "Landroid/net/wifi/WifiInfo;"),
                Invoke("Landroid/net/wifi/WifiInfo;", "getMacAddress", [], S),
            ]),
            Method("b", [CTX], "Ljava/util/List;", static=True, invokes=[
                Invoke(CTX, "getPackageManager", [], "Landroid/content/pm/PackageManager;"),
                Invoke("Landroid/content/pm/PackageManager;", "getInstalledPackages", ["I"],
                       "Ljava/util/List;"),
            ]),
        ],
    )
    jpush_helper = ClassDef(
        "Lcn/jpush/android/helper/ServiceHelper;",
        source_file="SourceFile",
        methods=[
            _init(OBJECT),
            Method("startDaemon", [CTX], static=True, invokes=[
                Invoke(INTENT, "<init>", kind="direct"),
                Invoke(INTENT, "setClassName", [S, S], INTENT,
                       string_args={1: PACKAGE, 2: "cn.jpush.android.service.DaemonService"}),
                Invoke(CTX, "startService", [INTENT], "Landroid/content/ComponentName;"),
            ]),
        ],
    )
    push_service = ClassDef(
        "Lcn/jpush/android/service/PushService;",
        superclass="Landroid/app/Service;",
        source_file="SourceFile",
        methods=[
            _init("Landroid/app/Service;"),
            Method("onBind", [INTENT], "Landroid/os/IBinder;"),
            Method("onCreate", invokes=[
                Invoke("Landroid/app/Service;", "onCreate", kind="super", receiver_this=True),
                Invoke("Lcn/jpush/android/helper/ServiceHelper;", "startDaemon", [CTX], kind="static"),
            ]),
        ],
    )
    return build_dex([main_activity, splash, boot, device_info, reflect, umeng, jpush_helper, push_service])


def second_dex() -> bytes:
    daemon = ClassDef(
        "Lcn/jpush/android/service/DaemonService;",
        superclass="Landroid/app/Service;",
        source_file="SourceFile",
        methods=[
            _init("Landroid/app/Service;"),
            Method("onBind", [INTENT], "Landroid/os/IBinder;"),
            Method("onStartCommand", [INTENT, "I", "I"], "I", invokes=[
                Invoke("Lcn/jpush/android/helper/ServiceHelper;", "startDaemon", [CTX], kind="static"),
            ]),
        ],
    )
    umeng_service = ClassDef(
        "Lcom/umeng/message/UmengIntentService;",
        superclass="Landroid/app/IntentService;",
        source_file="SourceFile",
        methods=[
            Method("<init>", invokes=[Invoke("Landroid/app/IntentService;", "<init>", [S], kind="direct",
                                             receiver_this=True, string_args={1: "UmengIntentService"})]),
            Method("onHandleIntent", [INTENT], invokes=[
                Invoke("Lcom/umeng/analytics/pro/h;", "a", [CTX], S, kind="static"),
                Invoke("Ljava/net/URL;", "<init>", [S], kind="direct",
                       string_args={1: "http://alog.umeng.com/app_logs"}),
            ]),
        ],
    )
    return build_dex([daemon, umeng_service])


def plugin_jar() -> bytes:
    entry = ClassDef(
        "Lcom/example/plugin/PluginEntry;",
        source_file="PluginEntry.java",
        methods=[
            _init(OBJECT),
            Method("run", invokes=[
                Invoke("Ljava/lang/Runtime;", "getRuntime", [], "Ljava/lang/Runtime;", kind="static"),
                Invoke("Ljava/lang/Runtime;", "exec", [S], "Ljava/lang/Process;",
                       string_args={1: "getprop ro.serialno"}),
            ]),
        ],
    )
    return build_zip({"classes.dex": build_dex([entry])})


def manifest(label: str) -> bytes:
    return build_manifest(
        PACKAGE,
        version_code=VERSION_CODE,
        version_name=VERSION_NAME,
        min_sdk=MIN_SDK,
        target_sdk=TARGET_SDK,
        label=label,
        permissions=PERMISSIONS,
        permissions_sdk23=PERMISSIONS_SDK23,
        app_attrs={
            "android:debuggable": False,
            "android:allowBackup": True,
            "android:usesCleartextTraffic": True,
        },
        components=[
            Component("activity", PACKAGE + ".MainActivity", exported=True, intent_filters=[
                IntentFilter(["android.intent.action.MAIN"], ["android.intent.category.LAUNCHER"])]),
            Component("activity", PACKAGE + ".SplashActivity"),
            Component("receiver", PACKAGE + ".BootReceiver", intent_filters=[
                IntentFilter(["android.intent.action.BOOT_COMPLETED"])]),
            Component("service", "cn.jpush.android.service.PushService", exported=True,
                      process=":pushcore", intent_filters=[
                          IntentFilter(["cn.jpush.android.intent.REGISTER", "cn.jpush.android.intent.REPORT",
                                        "cn.jpush.android.intent.PushService"],
                                       ["cn.jpush.android.intent.category"])]),
            Component("service", "cn.jpush.android.service.DaemonService", exported=False, enabled=True),
            Component("service", "com.umeng.message.UmengIntentService", exported=False, process=":channel"),
        ],
        app_meta_data=META_DATA,
    )


def build(out: Path) -> Path:
    arsc, ids = build_arsc(PACKAGE, {"app_name": APP_NAME}, localized={"en": {"app_name": APP_NAME_EN}})
    elf_payload = b"JNI_OnLoad\x00jcore\x00"
    return build_apk(
        out,
        manifest(f"@0x{ids['app_name']:08x}"),
        dexes=[main_dex(), second_dex()],
        arsc=arsc,
        files={
            "lib/arm64-v8a/libjcore.so": dummy_elf("arm64-v8a", elf_payload),
            "lib/armeabi-v7a/libjcore.so": dummy_elf("armeabi-v7a", elf_payload),
            "assets/plugin.jar": plugin_jar(),
        },
        sign=True,
    )


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "demo.apk"
    path = build(out)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
