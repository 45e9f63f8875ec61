"""Scan: an :class:`AppPackage` plus reference knowledge → :class:`ScanResult`.

This is the stage later detectors (SDKs, sensitive APIs, rules) hang off. For now it joins the
package with the permission knowledge and derives the facts every report shows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.apk.dex import java_name
from qingdan.apk.package import AppPackage, read_package
from qingdan.apk.zipread import Limits
from qingdan.knowledge.permissions import permission_info, protection_level

# System broadcasts that start an app's process without the user (self-start, 自启动).
SYSTEM_START_ACTIONS = {
    "android.intent.action.BOOT_COMPLETED", "android.intent.action.LOCKED_BOOT_COMPLETED",
    "android.intent.action.QUICKBOOT_POWERON", "com.htc.intent.action.QUICKBOOT_POWERON",
    "android.intent.action.USER_PRESENT", "android.net.conn.CONNECTIVITY_CHANGE",
    "android.intent.action.PACKAGE_ADDED", "android.intent.action.PACKAGE_REMOVED",
    "android.intent.action.PACKAGE_REPLACED", "android.intent.action.MY_PACKAGE_REPLACED",
    "android.intent.action.ACTION_POWER_CONNECTED", "android.intent.action.ACTION_POWER_DISCONNECTED",
    "android.intent.action.MEDIA_MOUNTED", "android.intent.action.TIME_SET",
    "android.intent.action.TIMEZONE_CHANGED", "android.net.wifi.STATE_CHANGE",
    "android.net.wifi.WIFI_STATE_CHANGED", "android.intent.action.BATTERY_CHANGED",
    "android.intent.action.SCREEN_ON", "android.intent.action.SCREEN_OFF",
}
# Prefixes not counted as third-party code in the prefix overview.
PLATFORM_PREFIXES = ("android.", "java.", "javax.", "dalvik.", "kotlin.", "kotlinx.", "androidx.")


@dataclass(slots=True)
class PermissionFact:
    name: str
    protection: str
    zh: str | None
    en: str | None
    group: str | None
    pi_types: tuple[str, ...]
    max_sdk: int | None
    sdk23: bool


@dataclass(slots=True)
class ComponentNote:
    kind: str
    name: str
    reason: str


@dataclass(slots=True)
class ScanResult:
    package: AppPackage
    permissions: list[PermissionFact]
    components_of_note: list[ComponentNote]
    package_prefixes: list[tuple[str, int]]
    warnings: list[str] = field(default_factory=list)

    @property
    def permission_counts(self) -> dict[str, int]:
        c = Counter(p.protection for p in self.permissions)
        return {k: c.get(k, 0) for k in ("dangerous", "normal", "signature", "special", "unknown")}


def package_prefixes(pkg: AppPackage, top: int = 12) -> list[tuple[str, int]]:
    own = pkg.package
    counts: Counter[str] = Counter()
    for d in pkg.dex:
        for desc in d.class_descriptors():
            name = java_name(desc)
            if own and (name.startswith(own + ".") or name == own):
                continue
            if name.startswith(PLATFORM_PREFIXES) or "." not in name:
                continue
            counts[_prefix2(name)] += 1
    return counts.most_common(top)


def _prefix2(name: str) -> str:
    parts = name.split(".")[:-1]
    return ".".join(parts[:2]) if len(parts) >= 2 else parts[0]


def components_of_note(pkg: AppPackage) -> list[ComponentNote]:
    notes: list[ComponentNote] = []
    for c in pkg.manifest.components:
        if c.kind in ("activity", "activity-alias") and any(
            "android.intent.category.LAUNCHER" in f.categories for f in c.intent_filters
        ):
            notes.append(ComponentNote(c.kind, c.name, "launcher"))
        starts = sorted(a for a in c.actions() if a in SYSTEM_START_ACTIONS)
        if c.kind == "receiver" and starts:
            notes.append(ComponentNote(c.kind, c.name, "system broadcast: " + ", ".join(a.rsplit(".", 1)[-1] for a in starts)))
        if c.exported and c.permission is None and c.kind in ("service", "receiver", "provider"):
            notes.append(ComponentNote(c.kind, c.name, "exported without permission"))
    return notes


def scan_package(pkg: AppPackage) -> ScanResult:
    perms = []
    for up in pkg.manifest.uses_permissions:
        info = permission_info(up.name)
        prot = protection_level(up.name)
        if prot == "unknown" and up.name in pkg.manifest.declared_permissions:
            prot = "signature" if "signature" in pkg.manifest.declared_permissions[up.name] else "normal"
        perms.append(PermissionFact(
            name=up.name, protection=prot, zh=info.zh if info else None, en=info.en if info else None,
            group=info.group if info else None, pi_types=info.pi_types if info else (),
            max_sdk=up.max_sdk, sdk23=up.sdk23,
        ))
    return ScanResult(pkg, perms, components_of_note(pkg), package_prefixes(pkg), list(pkg.warnings))


def scan_path(path: str | Path, limits: Limits | None = None) -> ScanResult:
    return scan_package(read_package(path, limits))
