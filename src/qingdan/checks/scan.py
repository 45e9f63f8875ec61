"""Scan: an :class:`AppPackage` plus reference knowledge → :class:`ScanResult`.

Joins the package with the knowledge base: permissions with their protection level and PI
types, the SDKs embedded (with evidence), the sensitive APIs each owner (app or SDK) uses, and
for every PI type who collects it and why we think so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.apk.package import AppPackage, read_package
from qingdan.apk.zipread import Limits
from qingdan.checks.apis import ApiUse, find_api_uses
from qingdan.checks.attribution import OwnerCount, OwnerMap, owner_breakdown, owner_map
from qingdan.checks.consent import ConsentView
from qingdan.checks.consent import analyse as analyse_consent
from qingdan.checks.exodus import exodus_detections, name_twins
from qingdan.checks.namespaces import UNIDENTIFIED, ClassIndex, Namespace, unidentified_namespaces
from qingdan.checks.packing import Packing, absorb_shell_copies, detect_packing, manifest_in_full
from qingdan.checks.sdks import APP, SdkDetection, _is_own, catalogue, detect_sdks, own_namespaces, ranked
from qingdan.knowledge.apis import load_sensitive_apis
from qingdan.knowledge.gates import gated_without, held_permissions
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
    used_by: list[str] = field(default_factory=list)  # owners whose code uses APIs this permission guards


@dataclass(slots=True)
class ComponentNote:
    kind: str
    name: str
    reason: str


@dataclass(slots=True)
class PIEvidence:
    kind: str  # api | permission | sdk_disclosure
    detail: str  # api id, permission name, or the SDK's policy URL
    # direct | possible (reflection) | requested (permission only) | declared (SDK policy); an API use
    # whose gating permission the app lacks (certainty ``capability``) is no evidence of collection
    certainty: str
    where: str = ""  # caller class.method for api evidence
    count: int = 1


@dataclass(slots=True)
class PICollector:
    owner: str  # "app", an SDK or library id, "unattributed" or "unidentified"
    evidence: list[PIEvidence] = field(default_factory=list)


@dataclass(slots=True)
class ScanResult:
    package: AppPackage
    permissions: list[PermissionFact]
    components_of_note: list[ComponentNote]
    package_prefixes: list[tuple[str, int]]
    sdks: list[SdkDetection] = field(default_factory=list)
    libraries: list[SdkDetection] = field(default_factory=list)  # open-source code, no vendor behind it
    api_uses: list[ApiUse] = field(default_factory=list)
    pi_summary: dict[str, list[PICollector]] = field(default_factory=dict)
    owners: OwnerMap | None = None
    owner_counts: list[OwnerCount] = field(default_factory=list)  # classes per owner, app first
    warnings: list[str] = field(default_factory=list)
    findings: list = field(default_factory=list)  # rules.Finding, filled by checks.pipeline
    sensitive_callers: set[str] = field(default_factory=set)  # classes calling a sensitive API directly
    packing: Packing | None = None  # the packer whose shell the app carries (code results: the shell)
    # readable third-party namespaces that neither the app, the catalogue nor Exodus claims
    unidentified: list[Namespace] = field(default_factory=list)
    # what runs before the user agrees and what any entry point reaches (scan_package(consent=True))
    consent: ConsentView | None = None

    def sdk(self, sid: str) -> SdkDetection | None:
        return next((d for d in self.sdks if d.sdk.id == sid), None)

    def library(self, lid: str) -> SdkDetection | None:
        return next((d for d in self.libraries if d.sdk.id == lid), None)

    def owner_kind(self, owner: str) -> str:
        """``app``, ``sdk``, ``library``, ``unattributed`` or ``unidentified``."""
        if self.owners is not None:
            return self.owners.kind(owner)
        return "app" if owner == APP else "library" if self.library(owner) else "sdk"

    @property
    def permission_counts(self) -> dict[str, int]:
        c = Counter(p.protection for p in self.permissions)
        return {k: c.get(k, 0) for k in ("dangerous", "normal", "signature", "special", "unknown")}


def package_prefixes(pkg: AppPackage, top: int = 12,
                     index: ClassIndex | None = None) -> list[tuple[str, int]]:
    own = pkg.package
    counts: Counter[str] = Counter()
    for package, n in (index if index is not None else ClassIndex(pkg)).packages.items():
        if own and (package == own or package.startswith(own + ".")):
            continue
        if not package or (package + ".").startswith(PLATFORM_PREFIXES):
            continue
        counts[".".join(package.split(".")[:2])] += n
    return counts.most_common(top)


def components_of_note(pkg: AppPackage) -> list[ComponentNote]:
    notes: list[ComponentNote] = []
    for c in pkg.manifest.components:
        if c.kind in ("activity", "activity-alias") and any(
            "android.intent.category.LAUNCHER" in f.categories for f in c.intent_filters
        ):
            notes.append(ComponentNote(c.kind, c.name, "launcher"))
        starts = sorted(a for a in c.actions() if a in SYSTEM_START_ACTIONS)
        if c.kind == "receiver" and starts:
            notes.append(ComponentNote(c.kind, c.name,
                                       "system broadcast: "
                                       + ", ".join(a.rsplit(".", 1)[-1] for a in starts)))
        if c.exported and c.permission is None and c.kind in ("service", "receiver", "provider"):
            notes.append(ComponentNote(c.kind, c.name, "exported without permission"))
    return notes


def scan_package(pkg: AppPackage, consent: bool = False) -> ScanResult:
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
    index = ClassIndex(pkg)  # the classes by package, read once for detection and attribution
    found = detect_sdks(pkg, index)
    packing = detect_packing(pkg, found)
    if packing is not None:
        found = absorb_shell_copies(packing, found)  # the shell's own SDK copies are the packer's
        found = manifest_in_full(pkg, packing, found)  # components of encrypted code are live evidence
    own, trie = own_namespaces(pkg), catalogue().trie

    def known(package: str) -> bool:  # the app's or a catalogue entry's code
        return bool(trie.longest(package)[0]) or _is_own(package, own, 0)

    name_twins(found)
    found += exodus_detections(pkg, known, found, index)
    found = ranked(found)
    sdks = [d for d in found if not d.sdk.is_library]
    libraries = [d for d in found if d.sdk.is_library]
    # SDKs and libraries own the code under their roots (and obfuscated code the evidence ties to
    # them); only the app's namespaces are the app's
    owners = owner_map(pkg, sdks, libraries, index)
    unidentified = unidentified_namespaces(index, lambda p: owners.package_owner(p) != UNIDENTIFIED)
    uses, callers = find_api_uses(pkg, owners, ungranted_apis(pkg))
    for p in perms:
        p.used_by = sorted({u.owner for u in uses if p.name in u.api.permissions and u.certainty == "direct"})
    view = analyse_consent(pkg, frozenset(SYSTEM_START_ACTIONS)) if consent else None
    return ScanResult(pkg, perms, components_of_note(pkg), package_prefixes(pkg, index=index), sdks,
                      libraries, uses, pi_summary(perms, sdks, uses), owners, owner_breakdown(pkg, owners),
                      list(pkg.warnings), sensitive_callers=callers, packing=packing,
                      unidentified=unidentified, consent=view)


def ungranted_apis(pkg: AppPackage) -> frozenset[str]:
    """Ids of the catalogue's APIs that cannot return their data in this app: every permission that
    would grant it is a gate the app does not hold at any SDK level it installs on."""
    m = pkg.manifest
    held = held_permissions(((u.name, u.max_sdk) for u in m.uses_permissions), m.min_sdk, m.target_sdk)
    return frozenset(a.id for a in load_sensitive_apis() if gated_without(a.permissions, held))


def pi_summary(perms: list[PermissionFact], sdks: list[SdkDetection],
               uses: list[ApiUse]) -> dict[str, list[PICollector]]:
    """For each PI type: who collects it (the app and/or SDK ids) and the evidence."""
    table: dict[str, dict[str, PICollector]] = {}

    def ev(pi: str, owner: str, e: PIEvidence) -> None:
        col = table.setdefault(pi, {}).setdefault(owner, PICollector(owner))
        for old in col.evidence:
            if (old.kind, old.detail, old.certainty) == (e.kind, e.detail, e.certainty):
                old.count += e.count
                return
        col.evidence.append(e)

    for u in uses:
        if u.api.weak or u.certainty == "capability":
            # benign alone (Build.MODEL, self lookups), or code that cannot get the data without a
            # permission the app does not request: kept in api_uses, not counted as collection
            continue
        for pi in u.api.pi_types:
            ev(pi, u.owner,
               PIEvidence("api", u.api.id, u.certainty, f"{u.caller_class}.{u.caller_method}", u.count))
    for p in perms:
        for pi in p.pi_types:
            for owner in p.used_by or [APP]:
                # a permission reaches several PI types; which ones the code takes, its API uses say
                ev(pi, owner, PIEvidence("permission", p.name, "requested"))
    for d in sdks:
        if d.confidence == "low":
            continue
        for pi in d.sdk.pi_types:
            ev(pi, d.sdk.id, PIEvidence("sdk_disclosure", d.sdk.policy_url or d.sdk.id, "declared"))
    return {pi: sorted(cols.values(), key=lambda c: (c.owner != APP, c.owner))
            for pi, cols in sorted(table.items())}


def scan_path(path: str | Path, limits: Limits | None = None, consent: bool = False) -> ScanResult:
    return scan_package(read_package(path, limits), consent)
