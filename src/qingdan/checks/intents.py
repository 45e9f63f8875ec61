"""Intents aimed at other apps: the calls that start, bind or query another app's components, the
package a call site aims at when its arguments are constants, and which of those starts are a
user-initiated hand-off (the ``sdk.associated-start`` rule)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from qingdan.apk.package import AppPackage
from qingdan.knowledge.handoffs import handoffs_of

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


Sites = dict[str, list[dict[str, Any]]]


def intent_sites(pkg: AppPackage, own: tuple[str, ...], owner_of: Callable[[str], str]
                 ) -> tuple[Sites, Sites, Sites]:
    """Per owner: methods that aim an Intent at another app by constant package/class name and start,
    bind or broadcast it (``targets``); methods that enumerate other apps' components answering an
    action; methods that start explicit components computed at run time (``targets`` empty)."""
    direct: Sites = {}
    enumerate_: Sites = {}
    explicit: Sites = {}
    for d in pkg.dex:
        named = d.methods_named(TARGETING | STARTERS | QUERIES | {"getPackageName"})
        c = d.calls
        for ks in d.calls_by_caller(named).values():
            names = {named[c[4 * k + 1]] for k in ks}
            starters = sorted(names & STARTERS)
            has_query = bool(names & QUERIES)
            aim_ks = [k for k in ks if named[c[4 * k + 1]] in TARGETING]
            if not has_query and not (starters and aim_ks):
                continue  # the common case, decided on integers alone
            sites = [d.site(k) for k in ks]
            caller_name = f"{sites[0].caller_class}.{sites[0].caller_method}"
            owner = owner_of(sites[0].caller_class)
            queried = sorted({s.callee_method for s in sites if s.callee_method in QUERIES
                              and s.callee_class == "android.content.pm.PackageManager"})
            if queried:
                actions = sorted({x for s in sites if s.callee_method in QUERIES for x in s.strings})
                enumerate_.setdefault(owner, []).append({"caller": caller_name, "queries": queried,
                                                         "actions": actions, "dex": d.source})
            aims = [s for s in sites if s.callee_method in TARGETING and s.callee_class in TARGET_CLASSES]
            if not starters or not aims:
                continue
            targets = sorted(set(foreign_packages(aims, own)))
            if targets:
                direct.setdefault(owner, []).append({"caller": caller_name, "targets": targets,
                                                     "starts": starters, "dex": d.source})
            elif "getPackageName" not in names and not any(s.strings for s in aims):
                explicit.setdefault(owner, []).append({"caller": caller_name, "starts": starters,
                                                       "dex": d.source, "targets": []})
    return direct, enumerate_, explicit


def split_handoffs(owner: str, sites: list[dict[str, Any]], background: set[str]
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``sites`` split into user-initiated hand-offs and other starts. A hand-off: the owner is an
    SDK with a hand-off in handoffs.yaml that names every constant target of the site and allows
    its calls (an activity, or the bound service of a payment or SSO) -- a site whose targets are
    computed at run time must start activities only, screens the user sees --, and the calling
    class is not a service, receiver or provider, code the system runs in the background."""
    known = handoffs_of(owner)
    if not known:
        return [], sites
    handoffs, starts = [], []
    for s in sites:
        used = set(s["starts"])
        if s["targets"]:
            fits = [[h.kind for h in known if t in h.targets and used <= h.starts] for t in s["targets"]]
            kinds = {k for f in fits for k in f} if all(fits) else set()
        else:
            kinds = ({h.kind for h in known if used <= h.starts}
                     if used <= {"startActivity", "startActivities"} else set())
        if kinds and s["caller"].rsplit(".", 1)[0].split("$", 1)[0] not in background:
            handoffs.append({**s, "kinds": sorted(kinds)})
        else:
            starts.append(s)
    return handoffs, starts
