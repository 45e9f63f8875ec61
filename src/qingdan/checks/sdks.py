"""Which SDKs an app embeds, with evidence (whose code each class is: :mod:`qingdan.checks.attribution`).

Signals, from strongest to weakest: manifest components and native libraries (they survive
obfuscation), code under the SDK's package prefixes, meta-data keys, custom actions and
permissions. The app's own package is never taken for an SDK: ``com.baidu.map`` the app is not
the Baidu Map SDK just because the names look alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from qingdan.apk.dex import java_name
from qingdan.apk.package import AppPackage
from qingdan.checks.namespaces import ClassIndex
from qingdan.knowledge.packers import packer_application_classes
from qingdan.knowledge.sdk_signals import load_shared_signals
from qingdan.knowledge.sdks import GENERIC_PACKAGE_PREFIXES, ExodusTracker, Sdk, load_exodus, load_sdks

APP = "app"  # the owner id of code that belongs to no SDK
MAX_SAMPLES = 5
# Fewer classes than this, with nothing else, are an interface stub another SDK pulled in (a few
# Firebase exception types inside Play services, three QQ callback classes inside Umeng Share).
MIN_CODE_CLASSES = 5


@dataclass(slots=True)
class SdkEvidence:
    classes: int = 0
    sample_classes: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    # declared in the manifest but with no class in the code (stale, or a callback the app wrote)
    declared_only: list[str] = field(default_factory=list)
    native_libs: list[str] = field(default_factory=list)
    meta_data: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)
    dex_sources: list[str] = field(default_factory=list)
    # meta-data keys, actions and permissions above that many SDKs declare: supporting evidence only
    supporting: list[str] = field(default_factory=list)

    def kinds(self) -> list[str]:
        return [k for k in ("classes", "components", "declared_only", "native_libs", "meta_data", "actions",
                            "permissions")
                if getattr(self, k)]


@dataclass(slots=True)
class SdkDetection:
    sdk: Sdk
    confidence: str  # high | medium | low
    evidence: SdkEvidence
    version: str | None = None
    exodus: ExodusTracker | None = None  # the Exodus Privacy tracker for the same SDK, if any


class PrefixTrie:
    """Package-prefix lookup by segments: ``com.umeng.analytics`` matches ``com.umeng.analytics.x.Y``."""

    __slots__ = ("root",)

    def __init__(self) -> None:
        self.root: dict = {}

    def add(self, prefix: str, value: str) -> None:
        node = self.root
        for seg in prefix.split("."):
            node = node.setdefault(seg, {})
        node.setdefault("", []).append(value)

    def longest(self, package: str) -> tuple[list[str], int]:
        """Values at the deepest prefix of ``package`` (a dotted package name), and its depth."""
        node = self.root
        best: list[str] = []
        depth = 0
        for i, seg in enumerate(package.split(".")):
            node = node.get(seg)
            if node is None:
                break
            if "" in node:
                best, depth = node[""], i + 1
        return best, depth


def own_namespaces(pkg: AppPackage) -> tuple[str, ...]:
    """The app's own packages: its package name, and the packages of its Application class and
    launcher activities (a demo app ``com.jiguang.jmlinkdemo`` may keep its code in
    ``cn.jiguang.jmlinkdemo``). Namespaces shorter than three segments are too broad to claim; nor
    is one a library or SDK brings (LeakCanary's launcher activity, Instant Run's or Tinker's
    Application class): a catalogued component, under a product's catalogued prefix, or under a
    generic root (``com.android``, ``com.tencent``)."""
    man = pkg.manifest
    out = [man.package] if man.package else []
    names = [man.application_name] if man.application_name else []
    names += [c.name for c in man.components if c.kind in ("activity", "activity-alias") and any(
        "android.intent.category.LAUNCHER" in f.categories for f in c.intent_filters)]
    cat = catalogue()
    stubs = packer_application_classes()
    for n in names:
        ns = n.rpartition(".")[0]
        if ns.count(".") < 2 or ns in out or any(ns.startswith(o + ".") for o in out):
            continue
        if n in stubs:  # a packer's stub Application (com.tencent.StubShell.TxAppEntry) is the shell's
            continue
        # a product's prefix (three segments or more) or component claims it; a vendor's root
        # (cn.jiguang) does not: the app's code may live beside the vendor's SDKs
        if (cat.trie.longest(ns)[1] >= 3 or n in cat.components
                or ".".join(ns.split(".")[:2]) in GENERIC_PACKAGE_PREFIXES):
            continue
        out.append(ns)
    return tuple(out)


def _is_own(package: str, own: tuple[str, ...] | str, depth: int) -> bool:
    """Code in the app's own namespace is the app's, unless the SDK prefix reaches deeper."""
    for ns in (own,) if isinstance(own, str) else own:
        if ns and (package == ns or package.startswith(ns + ".")) and depth <= ns.count(".") + 1:
            return True
    return False


@dataclass(slots=True)
class _Catalogue:
    sdks: dict[str, Sdk]
    trie: PrefixTrie
    components: dict[str, list[str]]
    native_libs: dict[str, list[str]]
    meta: dict[str, list[str]]
    actions: dict[str, list[str]]
    permissions: dict[str, list[str]]
    component_res: list[tuple[str, str, str]]  # (literal prefix, regex, sdk id)
    lib_res: list[tuple[str, str, str]]
    # (kind, name) of actions, permissions and meta-data keys that are evidence for no SDK alone: the
    # curated list (sdk_shared_signals.yaml) and every one that two or more catalogue entries list
    shared: frozenset[tuple[str, str]] = frozenset()


_CATALOGUE: _Catalogue | None = None
_META = set(".^$*+?{}[]|()\\")


def _literal_prefix(rx: str) -> str:
    """The plain text every match of ``rx`` starts with (``com\\.foo\\..*`` → ``com.foo.``): a
    regex is compiled only for names that start with it."""
    depth, i = 0, 0
    while i < len(rx):  # a top-level alternative means no common prefix
        c = rx[i]
        if c == "\\":
            i += 2
            continue
        depth += c == "("
        depth -= c == ")"
        if c == "|" and depth == 0:
            return ""
        i += 1
    out = []
    i = 0
    while i < len(rx):
        c = rx[i]
        if c == "\\" and i + 1 < len(rx) and not rx[i + 1].isalnum():
            out.append(rx[i + 1])
            i += 2
            continue
        if c in _META:
            # a quantifier makes the previous character optional
            if c in "*?{" and out:
                out.pop()
            break
        out.append(c)
        i += 1
    return "".join(out)


def _patterns_matching(name: str, table: list[tuple[str, str, str]]) -> list[str]:
    return [sid for prefix, rx, sid in table if name.startswith(prefix) and re.fullmatch(rx, name)]


def catalogue() -> _Catalogue:
    global _CATALOGUE
    if _CATALOGUE is None:
        sdks = load_sdks()
        trie = PrefixTrie()
        comps: dict[str, list[str]] = {}
        libs: dict[str, list[str]] = {}
        meta: dict[str, list[str]] = {}
        acts: dict[str, list[str]] = {}
        perms: dict[str, list[str]] = {}
        comp_res, lib_res = [], []
        for s in sdks.values():
            sig = s.signatures
            for p in sig.packages:
                trie.add(p, s.id)
            for table, keys in ((comps, sig.components), (libs, sig.native_libs), (meta, sig.meta_data),
                                (acts, sig.actions), (perms, sig.permissions)):
                for k in keys:
                    table.setdefault(k, []).append(s.id)
            comp_res.extend((_literal_prefix(r), r, s.id) for r in sig.component_patterns)
            lib_res.extend((_literal_prefix(r), r, s.id) for r in sig.native_lib_patterns)
        shared = set(load_shared_signals())
        for kind, table in (("meta_data", meta), ("actions", acts), ("permissions", perms)):
            shared.update((kind, k) for k, ids in table.items() if len(ids) > 1)
        _CATALOGUE = _Catalogue(sdks, trie, comps, libs, meta, acts, perms, comp_res, lib_res,
                                frozenset(shared))
    return _CATALOGUE


def detect_sdks(pkg: AppPackage, index: ClassIndex | None = None) -> list[SdkDetection]:
    cat = catalogue()
    own = own_namespaces(pkg)
    ev: dict[str, SdkEvidence] = {}

    def get(sid: str) -> SdkEvidence:
        e = ev.get(sid)
        if e is None:
            e = ev[sid] = SdkEvidence()
        return e

    index = index if index is not None else ClassIndex(pkg)
    for package, n in index.packages.items():
        ids, depth = cat.trie.longest(package)
        if not ids or _is_own(package, own, depth):
            continue
        # several SDKs may claim the same prefix: the first in the catalogue order takes the code
        e = get(ids[0])
        e.classes += n
        prefix = ".".join(package.split(".")[:depth])
        if prefix not in e.prefixes:
            e.prefixes.append(prefix)
        if len(e.sample_classes) < MAX_SAMPLES:
            e.sample_classes += index.samples(package, MAX_SAMPLES - len(e.sample_classes))
        for src in index.sources(package):
            if src not in e.dex_sources:
                e.dex_sources.append(src)

    man = pkg.manifest
    has_code = bool(index.packages)
    for c in man.components:
        # a component counts when its class is in the code; one declared without code is only a
        # hint (a stale entry, or the app's own callback such as <app>.wxapi.WXEntryActivity)
        live = not has_code or index.find(c.name) is not None
        hits = list(cat.components.get(c.name, ()))
        hits += _patterns_matching(c.name, cat.component_res)
        for sid in dict.fromkeys(hits):
            e = get(sid)
            own_callback = _is_own(c.name.rpartition(".")[0], own, 1)
            target = e.components if live and not own_callback else e.declared_only
            if c.name not in target:
                target.append(c.name)
        for a in sorted(c.actions()):
            for sid in cat.actions.get(a, ()):
                if a not in get(sid).actions:
                    _signal(get(sid), "actions", a, cat.shared)
    for lib in sorted({n.name for n in pkg.native_libs}):
        for sid in cat.native_libs.get(lib, ()):
            get(sid).native_libs.append(lib)
        for sid in _patterns_matching(lib, cat.lib_res):
            if lib not in get(sid).native_libs:
                get(sid).native_libs.append(lib)
    metas = dict(man.app_meta_data)
    for c in man.components:
        metas.update(c.meta_data)
    for key in sorted(metas):
        for sid in cat.meta.get(key, ()):
            _signal(get(sid), "meta_data", key, cat.shared)
    for p in man.permission_names + list(man.declared_permissions):
        for sid in cat.permissions.get(p, ()):
            if p not in get(sid).permissions:
                _signal(get(sid), "permissions", p, cat.shared)

    versions = _versions(pkg, cat.trie, own, set(ev))
    out = []
    for sid, e in ev.items():
        conf = _confidence(e)
        if conf is None:
            continue
        out.append(SdkDetection(cat.sdks[sid], conf, e, versions.get(sid)))
    return ranked(out)


_VERSION_CLASS = re.compile(r"(?i)(buildconfig|version|constant|config|sdk)[^.]*$")
_VERSION_FIELD = re.compile(r"(?i)^(sdk_?version(_?name)?|version_?name|sdk_?ver|[a-z]*_version|version)$")
_VERSION_VALUE = re.compile(r"^v?\d+(\.\d+){1,3}([-_.+]?[0-9A-Za-z]+)?$")


def _versions(pkg: AppPackage, trie: PrefixTrie, own, detected: set[str]) -> dict[str, str]:
    """SDK id → the version its code declares (``SDK_VERSION`` / ``BuildConfig.VERSION_NAME``
    style static constants in the SDK's own classes); the most specific, most common one wins."""
    scores: dict[str, Counter[str]] = {}
    for d in pkg.dex:
        for i, desc in enumerate(d.class_descriptors()):
            name = java_name(desc)
            if not _VERSION_CLASS.search(name):
                continue
            package = name.rpartition(".")[0]
            ids, depth = trie.longest(package)
            if not ids or ids[0] not in detected or _is_own(package, own, depth):
                continue
            for field_name, value in d.static_strings(i):
                if _VERSION_FIELD.match(field_name) and _VERSION_VALUE.match(value):
                    weight = 3 if "sdk" in field_name.lower() else 2 if name.endswith("BuildConfig") else 1
                    scores.setdefault(ids[0], Counter())[value.lstrip("v")] += weight
    return {sid: c.most_common(1)[0][0] for sid, c in scores.items()}


def _signal(e: SdkEvidence, kind: str, name: str, shared: frozenset[tuple[str, str]]) -> None:
    """Record a manifest signal in the SDK's evidence; a shared one is marked supporting."""
    getattr(e, kind).append(name)
    if (kind, name) in shared and name not in e.supporting:
        e.supporting.append(name)


_RANK = {"high": 0, "medium": 1, "low": 2}


def ranked(detections: list[SdkDetection]) -> list[SdkDetection]:
    """Detections in report order: high confidence first, then by classes, then by id."""
    return sorted(detections, key=lambda d: (_RANK[d.confidence], -d.evidence.classes, d.sdk.id))


def _confidence(e: SdkEvidence) -> str | None:
    """high: code plus a manifest/native signal, or plenty of code; medium: some code, or a live
    component / native library alone; low: a stub, or only a meta-data key, action, permission or
    a component declared without code. Signals many SDKs share (``e.supporting``) count for
    nothing here: they support an SDK found otherwise, and alone they name none."""
    sup = set(e.supporting)
    meta = [k for k in e.meta_data if k not in sup]
    actions = [a for a in e.actions if a not in sup]
    perms = [p for p in e.permissions if p not in sup]
    strong = bool(e.components or e.native_libs)
    if e.classes and (strong or meta or e.classes >= 20):
        return "high"
    if e.classes >= MIN_CODE_CLASSES or strong:
        return "medium"
    if e.classes or meta or actions or perms or e.declared_only:
        return "low"
    return None


# -- Exodus-style matching (for comparison, as the Exodus tool does it) ---------------------------


def exodus_matches(pkg: AppPackage, trackers: list[ExodusTracker] | None = None) -> dict[str, list[str]]:
    """Tracker name → class names its code signatures match, the way Exodus matches them."""
    trackers = trackers if trackers is not None else load_exodus()
    names = [java_name(desc) for d in pkg.dex for desc in d.class_descriptors()]
    out: dict[str, list[str]] = {}
    for t in trackers:
        sigs = [s for s in t.code_signatures if s]
        if not sigs:
            continue
        rx = re.compile("|".join(f"(?:{s})" for s in sigs))
        hits = [n for n in names if rx.search(n)]
        if hits:
            out[t.name] = hits
    return out
