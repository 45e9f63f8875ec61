"""Intents aimed at other apps: the calls that start, bind or query another app's components, and the
package a call site aims at when its arguments are constants (the ``sdk.associated-start`` rule)."""

from __future__ import annotations

import re

TARGETING = {"setPackage", "setClassName", "<init>", "setComponent"}
TARGET_CLASSES = {"android.content.Intent", "android.content.ComponentName"}
STARTERS = {"startService", "bindService", "sendBroadcast", "sendOrderedBroadcast", "startActivity",
            "startForegroundService", "startActivities"}
QUERIES = {"queryIntentServices", "queryBroadcastReceivers"}
_PACKAGE = re.compile(r"^[A-Za-z][\w]*(\.[A-Za-z_][\w$]*)+$")
# System services that SDKs are meant to bind, not apps woken up: the platform, Google Play
# services, and each phone vendor's push/identity service (their push SDKs' documented channel).
SYSTEM_SERVICE_PACKAGES = ("android", "com.android", "com.google.android.gms", "com.google.android.gsf",
                           "com.huawei.hwid", "com.huawei.android.pushagent", "com.hihonor.android.pushagent",
                           "com.coloros.mcs", "com.heytap.mcs", "com.vivo.pushservice", "com.meizu.cloud",
                           "com.xiaomi.xmsf")


def target_package(site) -> str | None:
    """The package an Intent/ComponentName call aims at, when it is a constant: setPackage(pkg),
    setClassName(pkg, cls), new ComponentName(pkg, cls). (An Intent's action string is not a target.)"""
    if not site.strings:
        return None
    if site.callee_method == "setPackage":
        return site.strings[0]
    # (String pkg, String cls): only when both are constants can the first be told to be the package
    two = site.callee_sig.startswith("(Ljava/lang/String;Ljava/lang/String;)") and len(site.strings) == 2
    if site.callee_method == "setClassName" and two:
        return site.strings[0]
    if site.callee_method == "<init>" and site.callee_class == "android.content.ComponentName" and two:
        return site.strings[0]
    return None


def foreign_packages(sites, own: tuple[str, ...]) -> list[str]:
    """The constant target packages of ``sites`` that are neither the system's nor in ``own``."""
    out = []
    for site in sites:
        s = target_package(site)
        if s is None or not _PACKAGE.match(s) and s != "android":
            continue
        if any(s == p or s.startswith(p + ".") for p in SYSTEM_SERVICE_PACKAGES + own):
            continue
        out.append(s)
    return out
