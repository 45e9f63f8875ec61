"""Whose code each class is: the app's, a detected SDK's or library's, or nobody's that we know.

An :class:`OwnerMap` answers for any class name, with the rule that decided it:

* ``own-namespace`` -- under the app's own namespaces (:func:`~qingdan.checks.sdks.own_namespaces`),
  unless a detected SDK's prefix reaches deeper;
* ``prefix`` -- under a detected SDK's or library's package roots, whatever the simple names
  (``com.qq.e.comm.a.b`` is the GDT SDK's);
* ``same-organisation`` -- under the app package's first two segments (``com.foo`` for the app
  ``com.foo.bar``) when that root is not a generic one (``com.tencent``, ``com.example``…);
* ``platform`` -- AndroidX, support, Kotlin and Java runtime code no catalogued library claims:
  owned by the pseudo-library :data:`PLATFORM`;
* obfuscated packages outside every root (``a.b.c``, ``com.tencent.a``) are tied to one detected
  SDK or library by evidence (:func:`attribute`): ``manifest-superclass`` (a manifest component of
  that SDK extends the class), ``vendor-root`` (the package's readable stem, ``cn.jpush`` of
  ``cn.jpush.b.a``, is under one detected SDK's roots and is no generic root), ``call-edges`` (the
  class calls into exactly one SDK, or -- calling nobody's -- is called from exactly one),
  ``strings`` (it holds a host name of exactly one detected SDK's domains); otherwise
  ``unattributed``;
* readable packages nobody claims are ``unidentified``.

Only ``app`` code is the app's own; the rest is reported under its owner, so a catalogue miss never
becomes a statement about the app.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from qingdan.apk.dex import java_name
from qingdan.apk.package import AppPackage
from qingdan.checks.namespaces import APP, UNATTRIBUTED, UNIDENTIFIED, is_platform, looks_obfuscated
from qingdan.checks.sdks import ClassIndex, PrefixTrie, SdkDetection, _is_own, catalogue, own_namespaces
from qingdan.knowledge.sdks import GENERIC_PACKAGE_PREFIXES

#: Owner of platform-prefixed code (``androidx.*``, ``android.support.*``, ``kotlin.*``) that no
#: catalogued library claims: a library owner like any other.
PLATFORM = "platform"
#: Owner kinds, as the JSON report names them.
KINDS = ("app", "sdk", "library", "unattributed", "unidentified")
#: The rules that attribute a class (``evidence.rule`` in the report).
RULES = ("own-namespace", "prefix", "same-organisation", "platform", "manifest-superclass", "vendor-root",
         "call-edges", "strings", "no-evidence", "no-catalogue-match")
MAX_ROUNDS = 4  # call-edge propagation through chains of obfuscated classes


@dataclass(frozen=True, slots=True)
class Attribution:
    owner: str
    rule: str
    detail: str = ""


def organisation_root(package: str) -> str | None:
    """The app package's first two segments when they name one organisation (not ``com.tencent``)."""
    parts = package.split(".") if package else []
    if len(parts) < 3:
        return None
    root = ".".join(parts[:2])
    return None if root in GENERIC_PACKAGE_PREFIXES or looks_obfuscated(root) else root


class OwnerMap:
    """Class name → owner: ``app``, a detected SDK or library id, :data:`PLATFORM`,
    ``unattributed`` or ``unidentified``; :meth:`attribution` also says which rule decided."""

    def __init__(self, sdks: Iterable[str] = (), libraries: Iterable[str] = (),
                 own: tuple[str, ...] | str = (), org_roots: Iterable[str] = (),
                 attributed: dict[str, Attribution] | None = None) -> None:
        cat = catalogue()
        self.trie = PrefixTrie()
        self.kinds: dict[str, str] = {APP: "app", UNATTRIBUTED: "unattributed", UNIDENTIFIED: "unidentified",
                                      PLATFORM: "library"}
        for kind, ids in (("sdk", sdks), ("library", libraries)):
            for sid in ids:
                self.kinds[sid] = kind
                for p in cat.sdks[sid].signatures.packages:
                    self.trie.add(p, sid)
        self.own = (own,) if isinstance(own, str) else tuple(own)
        self.org_roots = tuple(org_roots)
        self.attributed: dict[str, Attribution] = attributed if attributed is not None else {}
        self.index: ClassIndex | None = None  # the package's classes, when built by owner_map
        self._cache: dict[str, Attribution] = {}

    def _by_package(self, package: str) -> Attribution:
        a = self._cache.get(package)
        if a is None:
            ids, depth = self.trie.longest(package)
            if _is_own(package, self.own, depth):
                a = Attribution(APP, "own-namespace")
            elif ids:
                a = Attribution(ids[0], "prefix")
            elif any(package == r or package.startswith(r + ".") for r in self.org_roots):
                a = Attribution(APP, "same-organisation")
            elif is_platform(package):
                a = Attribution(PLATFORM, "platform")
            elif looks_obfuscated(package):
                a = Attribution(UNATTRIBUTED, "no-evidence")
            else:
                a = Attribution(UNIDENTIFIED, "no-catalogue-match")
            self._cache[package] = a
        return a

    def attribution(self, class_name: str) -> Attribution:
        a = self.attributed.get(class_name)
        return a if a is not None else self._by_package(class_name.rpartition(".")[0])

    def owner(self, class_name: str) -> str:
        return self.attribution(class_name).owner

    def kind(self, owner: str) -> str:
        """``app``, ``sdk``, ``library``, ``unattributed`` or ``unidentified`` (an id this map does not
        know is taken for an SDK's)."""
        return self.kinds.get(owner, "sdk")


def owner_map(pkg: AppPackage, sdks: list[SdkDetection], libraries: list[SdkDetection],
              index: ClassIndex | None = None) -> OwnerMap:
    """The owner map of one package: prefixes first, then evidence for obfuscated code."""
    own = own_namespaces(pkg)
    root = organisation_root(pkg.manifest.package or "")
    base = OwnerMap([d.sdk.id for d in sdks], [d.sdk.id for d in libraries], own, (root,) if root else ())
    base.index = index if index is not None else ClassIndex(pkg)
    base.attributed.update(attribute(pkg, base, sdks + libraries, base.index))
    return base


# -- evidence for obfuscated code outside every root ------------------------------------------------

_URL_HOST = re.compile(r"://([A-Za-z0-9.-]+)")
_BARE_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
_SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "ac", "co"})
_TLD_ROOTS = frozenset({"com", "cn", "net", "org", "io", "me", "tv", "cc", "co", "so", "im", "mobi", "info"})
# hosting and infrastructure domains that name no one vendor
_NEUTRAL_DOMAINS = frozenset({"github.com", "github.io", "gitee.com", "gitlab.com", "apache.org", "w3.org",
                              "android.com", "example.com", "googleapis.com", "gstatic.com",
                              "amazonaws.com", "cloudfront.net", "alicdn.com", "aliyuncs.com",
                              "myqcloud.com"})


def registered_domain(host: str) -> str:
    """``alog.umeng.com`` → ``umeng.com``; ``a.b.com.cn`` → ``b.com.cn``."""
    parts = host.lower().strip(".").split(".")
    if len(parts) >= 3 and len(parts[-1]) == 2 and parts[-2] in _SECOND_LEVEL:
        return ".".join(parts[-3:])
    return ".".join(parts[-2:])


def _domains(d: SdkDetection) -> set[str]:
    """The vendor domains of one SDK: its policy page's, and its package roots read backwards
    (``com.umeng.analytics`` → ``umeng.com``)."""
    out = set()
    if d.sdk.policy_url:
        host = urlsplit(d.sdk.policy_url).hostname
        if host:
            out.add(registered_domain(host))
    for p in d.sdk.signatures.packages:
        parts = p.split(".")
        if len(parts) >= 2 and parts[0] in _TLD_ROOTS and len(parts[1]) > 2:
            out.add(f"{parts[1]}.{parts[0]}")
    return out - _NEUTRAL_DOMAINS


def _hosts(strings: Iterable[str]) -> set[str]:
    out = set()
    for s in strings:
        if "." not in s or len(s) > 300:
            continue
        m = _URL_HOST.search(s)
        if m:
            out.add(registered_domain(m.group(1)))
        elif _BARE_HOST.match(s):
            out.add(registered_domain(s))
    return out


class _Graph:
    """Call edges of the candidate classes, both ways (class name → neighbour class → calls)."""

    def __init__(self) -> None:
        self.outs: dict[str, Counter[str]] = {}
        self.ins: dict[str, Counter[str]] = {}
        self.where: dict[str, tuple] = {}  # candidate → (dex, class index)
        self.dex_info: list[tuple] = []  # (dex, class types, method types, type-name lookup)

    def read_callers(self, names: set[str]) -> None:
        """Fill :attr:`ins` for the candidates ``names`` (one pass over each dex's call records)."""
        for d, types, mtypes, tname in self.dex_info:
            want = {types[i] for n, (dd, i) in self.where.items() if dd is d and n in names}
            mids: set[int] = set()
            for t in want:  # method ids are sorted by their class: one run per class
                mids.update(range(bisect_left(mtypes, t), bisect_right(mtypes, t)))
            c, n_m = d.calls, len(mtypes)
            for k in d.hits(mids):
                caller, callee = c[4 * k], c[4 * k + 1]
                if caller < n_m and mtypes[caller] != mtypes[callee]:
                    self.ins.setdefault(tname(mtypes[callee]), Counter())[tname(mtypes[caller])] += 1


def _candidates(index: ClassIndex, base: OwnerMap) -> _Graph:
    """Candidates (obfuscated classes nobody's prefix claims) with their call edges both ways."""
    g = _Graph()
    for d, descs, by_pkg in index.dexes:
        cands = {i: java_name(descs[i]) for p, idx in by_pkg.items()
                 if base._by_package(p).owner == UNATTRIBUTED for i in idx}
        for i, name in cands.items():
            g.where.setdefault(name, (d, i))
        if not cands:
            continue
        types = d.class_types()
        mtypes = d.method_types()
        n_m = len(mtypes)
        c = d.calls
        tnames: dict[int, str] = {}

        def tname(t: int, d=d, tnames=tnames) -> str:
            s = tnames.get(t)
            if s is None:
                s = tnames[t] = java_name(d.type_name(t))
            return s

        for i, name in cands.items():
            r = d.class_call_range(i)
            if not r:
                continue
            counts = Counter(mtypes[x] for x in c[4 * r.start + 1 : 4 * r.stop : 4] if x < n_m)
            own_t = types[i]
            out = g.outs.setdefault(name, Counter())
            for t, n in counts.items():
                if t != own_t:
                    out[tname(t)] += n
        g.dex_info.append((d, types, mtypes, tname))
    return g


def attribute(pkg: AppPackage, base: OwnerMap, detections: list[SdkDetection],
              index: ClassIndex | None = None) -> dict[str, Attribution]:
    """Obfuscated classes outside every root → the detected SDK or library the evidence names."""
    index = index if index is not None else ClassIndex(pkg)
    g = _candidates(index, base)
    if not g.where:
        return {}
    out: dict[str, Attribution] = {}

    def owner_of(name: str) -> str:
        a = out.get(name)
        return a.owner if a is not None else base.attribution(name).owner

    # 1. a manifest component of an SDK (or library) extends the class, directly or further up
    comp_owner: dict[str, str] = {}
    for det in detections:
        for comp in det.evidence.components:
            comp_owner.setdefault(comp, det.sdk.id)
    for comp in pkg.manifest.components:
        o = base.owner(comp.name)
        if base.kind(o) in ("sdk", "library") and o != PLATFORM:
            comp_owner.setdefault(comp.name, o)
    for comp, o in sorted(comp_owner.items()):
        at = index.find(comp)
        seen = 0
        while at is not None and seen < 16:
            d, i = at
            t = d.superclass_type(i)
            if t < 0:
                break
            sup = java_name(d.type_name(t))
            seen += 1
            if sup in g.where and sup not in out:
                out[sup] = Attribution(o, "manifest-superclass", f"{comp} extends it")
                at = g.where[sup]
            elif sup not in out and base.owner(sup) == o:
                at = index.find(sup)  # the SDK's own base class: look further up
            else:
                break

    # 2. the readable stem of an obfuscated package (``cn.jpush`` of ``cn.jpush.b.a``) is under the
    # roots of exactly one detected SDK or library, and is not a generic root (``com.tencent``)
    stems: dict[str, set[str]] = {}
    for det in detections:
        for p in det.sdk.signatures.packages:
            parts = p.split(".")
            for k in range(2, len(parts) + 1):
                stems.setdefault(".".join(parts[:k]), set()).add(det.sdk.id)
    for name in g.where:
        if name in out:
            continue
        stem = _readable_stem(name.rpartition(".")[0])
        ids = stems.get(stem, ()) if stem.count(".") >= 1 and stem not in GENERIC_PACKAGE_PREFIXES else ()
        if len(ids) == 1:
            (o,) = ids
            out[name] = Attribution(o, "vendor-root", f"{stem} holds only {o}'s code among the detected")

    users: dict[str, set[str]] = {}  # candidate → the candidates that have it as a neighbour

    def link(table: dict[str, Counter[str]]) -> None:
        for name, nbrs in table.items():
            for n in nbrs:
                if n in g.where:
                    users.setdefault(n, set()).add(name)

    def rounds(todo: Iterable[str]) -> None:
        """Decide by call edges; a later round looks again only at the neighbours of what the
        round before decided."""
        todo = [n for n in todo if n not in out]
        for _ in range(MAX_ROUNDS):
            decided: dict[str, Attribution] = {}
            for name in todo:
                a = _by_edges(g.outs.get(name), g.ins.get(name), owner_of, base)
                if a is not None:
                    decided[name] = a
            out.update(decided)
            todo = sorted({u for n in decided for u in users.get(n, ()) if u not in out})
            if not todo:
                break

    # 3. call edges, propagated through chains of obfuscated classes: what a class calls first,
    # then (for what that left) who calls it
    link(g.outs)
    rounds(g.where)
    rest = {n for n in g.where if n not in out}
    if rest:
        g.read_callers(rest)
        link(g.ins)
        rounds(sorted(rest))
    # 4. the vendor's own host names, then edges again from what they settled
    domain_owners: dict[str, set[str]] = {}
    app_root = organisation_root(pkg.manifest.package or "") or ""
    app_domain = ".".join(reversed(app_root.split("."))) if app_root else ""
    for det in detections:
        if det.sdk.is_library:
            continue
        for dom in _domains(det):
            domain_owners.setdefault(dom, set()).add(det.sdk.id)
    domain_owners.pop(app_domain, None)
    if domain_owners:
        found = False
        for name, (d, i) in g.where.items():
            if name in out:
                continue
            c = d.calls
            strings = [d.string(x) for k in d.class_call_range(i) for x in (c[4 * k + 2], c[4 * k + 3])
                       if x != 0xFFFFFFFF]
            strings += [v for _f, v in d.static_strings(i)]
            owners = {o for h in _hosts(strings) for o in domain_owners.get(h, ())}
            if len(owners) == 1:
                o = owners.pop()
                dom = sorted(h for h in _hosts(strings) if o in domain_owners.get(h, ()))[0]
                out[name] = Attribution(o, "strings", f"holds host names of {dom}")
                found = True
        if found:
            rounds(sorted({u for n in out for u in users.get(n, ())}))
    return out


def _readable_stem(package: str) -> str:
    """The segments before the obfuscated tail: ``cn.jpush.b.a.b`` → ``cn.jpush``."""
    parts = package.split(".")
    i = len(parts)
    while i > 0 and len(parts[i - 1]) <= 2:
        i -= 1
    return ".".join(parts[:i])


def _by_edges(outs: Counter[str] | None, ins: Counter[str] | None, owner_of,
              base: OwnerMap) -> Attribution | None:
    """Calls into exactly one SDK (libraries count when no SDK is reached; none into the app), or,
    calling no one's code, called only from one SDK or library."""
    sdk_n: Counter[str] = Counter()
    lib_n: Counter[str] = Counter()
    app = False
    for cls, n in (outs or {}).items():
        o = owner_of(cls)
        k = base.kind(o)
        if k == "sdk":
            sdk_n[o] += n
        elif k == "library" and o != PLATFORM:
            lib_n[o] += n
        elif k == "app":
            app = True
    if app:
        return None
    for table in (sdk_n, lib_n):
        if len(table) == 1:
            (o, n), = table.items()
            return Attribution(o, "call-edges", f"calls into {o} ({n} call sites)")
        if len(table) > 1:
            return None
    callers: Counter[str] = Counter()
    for cls, n in (ins or {}).items():
        o = owner_of(cls)
        k = base.kind(o)
        if k == "app":
            return None
        if k in ("sdk", "library") and o != PLATFORM:
            callers[o] += n
    if len(callers) == 1:
        (o, n), = callers.items()
        return Attribution(o, "call-edges", f"called only from {o} ({n} call sites)")
    return None


# -- the breakdown the report shows ---------------------------------------------------------------

MAX_SAMPLES = 3


@dataclass(slots=True)
class OwnerCount:
    """Classes one owner holds, by the rule that attributed them (with a few samples each)."""

    owner: str
    kind: str
    classes: int = 0
    rules: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # rule → (class, detail)


def owner_breakdown(pkg: AppPackage, owners: OwnerMap) -> list[OwnerCount]:
    """Every defined class counted under its owner: app first, then SDKs, libraries, unattributed,
    unidentified (largest first within a kind). Counted per package; only the classes evidence
    attributed are looked at one by one."""
    index = owners.index if owners.index is not None else ClassIndex(pkg)
    rows: dict[str, OwnerCount] = {}

    def add(a: Attribution, n: int, samples: list[str]) -> None:
        row = rows.get(a.owner)
        if row is None:
            row = rows[a.owner] = OwnerCount(a.owner, owners.kind(a.owner))
        row.classes += n
        row.rules[a.rule] = row.rules.get(a.rule, 0) + n
        s = row.samples.setdefault(a.rule, [])
        for name in samples[: MAX_SAMPLES - len(s)]:
            s.append((name, a.detail))

    moved: dict[str, int] = {}
    for name, a in owners.attributed.items():
        add(a, 1, [name])
        p = name.rpartition(".")[0]
        moved[p] = moved.get(p, 0) + 1
    first: dict[str, list[str]] = {}
    for _d, descs, by_pkg in index.dexes:
        for p, idx in by_pkg.items():
            if p not in first:
                first[p] = [java_name(descs[i]) for i in idx[:MAX_SAMPLES + moved.get(p, 0)]]
    for p, n in index.packages.items():
        n -= moved.get(p, 0)
        if n > 0:
            add(owners._by_package(p), n, [c for c in first[p] if c not in owners.attributed])
    order = {k: i for i, k in enumerate(KINDS)}
    return sorted(rows.values(), key=lambda r: (order.get(r.kind, 9), -r.classes, r.owner))
