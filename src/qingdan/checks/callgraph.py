"""The app's call graph, and what it reaches from the points where Android enters the app.

Nodes are methods with code that make calls, named ``(dex number, method id)`` and packed into one
integer; nothing is materialised per edge. Edges are made on demand while a search walks the graph,
from the DEX call records (``apk.dex``) and the class hierarchy read from the dex files:

- ``call``: an invoke; a call to an app class's method resolves up its superclasses to the method
  that runs and, unless it is a constructor, down to every app subclass or implementor that
  overrides it (class-hierarchy analysis);
- ``async``: creating an object whose class extends or implements a framework type that runs it
  without the user (a ``Runnable`` handed to a thread, executor or handler; ``AsyncTask``;
  ``Handler.handleMessage``; a dynamically registered receiver; Kotlin lambdas and coroutines; …:
  ``knowledge/data/android_callbacks.yaml``) leads to those callbacks — the creator is taken to
  start them;
- ``callback``: every other method of an object created on the path (listeners, views, adapters:
  the framework may call them once the user acts);
- ``clinit``: using a class (its constructor, static method or static field) runs its static
  initialiser;
- ``reflection``: ``Class.forName("constant")`` leads to that class's initialiser and constructor.

Calls into framework classes end the path (the framework's own code is not in the package), calls
whose target is unknown (reflection with computed names, native methods, code loaded at run time)
are recorded on the node as such, never silently dropped.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from qingdan.apk.dex import NO_STRING, DexFile, java_name
from qingdan.apk.package import AppPackage
from qingdan.knowledge.android import async_callbacks

CALL, ASYNC, CALLBACK, CLINIT, REFLECT = "call", "async", "callback", "clinit", "reflection"
ALL_KINDS = frozenset({CALL, ASYNC, CALLBACK, CLINIT, REFLECT})
#: What runs without a user action: a search for pre-consent code follows only these edges.
UNATTENDED = frozenset({CALL, ASYNC, CLINIT, REFLECT})

_FOR_NAME = ("Ljava/lang/Class;", "forName")
_DYNAMIC = {  # callees whose target cannot be read from the call: the node says so
    ("Ljava/lang/reflect/Method;", "invoke"): "reflection (Method.invoke)",
    ("Ljava/lang/reflect/Constructor;", "newInstance"): "reflection (Constructor.newInstance)",
    ("Ljava/lang/Class;", "newInstance"): "reflection (Class.newInstance)",
    ("Ldalvik/system/DexClassLoader;", "<init>"): "code loaded at run time (DexClassLoader)",
    ("Ldalvik/system/PathClassLoader;", "<init>"): "code loaded at run time (PathClassLoader)",
    ("Ldalvik/system/InMemoryDexClassLoader;", "<init>"): "code loaded at run time (InMemoryDexClassLoader)",
    ("Ljava/lang/System;", "loadLibrary"): "native code (System.loadLibrary)",
    ("Ljava/lang/System;", "load"): "native code (System.load)",
}
# D8/R8 and javac names of synthetic lambda classes, whose single instance sits in a static field
_LAMBDA_CLASS = re.compile(r"\$\$Lambda|\$\$ExternalSyntheticLambda|\$lambda\$|-\$\$Lambda\$")

Node = int  # dex number << 32 | method id
_MISSING = object()
_EMPTY: dict = {}
_FOR_NAME_MARK = "Class.forName"


def node_of(dex_no: int, method_id: int) -> Node:
    return dex_no << 32 | method_id


@dataclass(slots=True)
class Step:
    """How a search reached a node: from ``parent`` (None at an entry point) by an edge ``kind``."""

    parent: Node | None
    kind: str
    entry: int  # index of the entry point the path starts at


@dataclass(slots=True)
class Reach:
    """The nodes a search reached, each with the step that reached it first (so paths are shortest
    in edges), the gates it stopped at and where targets could not be resolved."""

    steps: dict[Node, Step] = field(default_factory=dict)
    gates: dict[Node, str] = field(default_factory=dict)  # gate node → why it is a gate
    unresolved: dict[Node, set[str]] = field(default_factory=dict)

    def path(self, node: Node) -> list[Node]:
        out: list[Node] = []
        cur: Node | None = node
        while cur is not None and len(out) < 10_000:
            out.append(cur)
            cur = self.steps[cur].parent
        return out[::-1]


class CallGraph:
    """The app's classes across its dex files (the first definition of a class wins, as on
    Android), with method lookups and edges made on demand."""

    def __init__(self, pkg: AppPackage) -> None:
        self.dexes: list[DexFile] = list(pkg.dex)
        self.where: dict[str, tuple[int, int]] = {}  # class descriptor → (dex number, class index)
        self.supers: dict[str, str] = {}
        self.interfaces: dict[str, tuple[str, ...]] = {}
        for dn, d in enumerate(self.dexes):
            types = d.class_types()
            for ci, t in enumerate(types):
                desc = d.type_name(t)
                if desc in self.where:
                    continue
                self.where[desc] = (dn, ci)
                st = d.superclass_type(ci)
                if st >= 0:
                    self.supers[desc] = d.type_name(st)
                its = d.interface_types(ci)
                if its:
                    self.interfaces[desc] = tuple(d.type_name(x) for x in its)
        self._subs: dict[str, list[str]] | None = None
        self._methods: dict[str, dict[tuple[str, str], int]] = {}  # class → (name, sig) → method id
        self._by_sig: dict[tuple[str, str], list[str]] | None = None  # (name, sig) → classes
        self._records: dict[str, dict[int, tuple[int, int]]] = {}  # class → method id → record range
        self._mrefs: list[dict[int, tuple[str, str, str]]] = [{} for _ in self.dexes]
        self._reads: list[dict[int, list[int]] | None] = [None for _ in self.dexes]
        self._ancestors: dict[str, frozenset[str]] = {}
        self._ranges: dict[Node, tuple[int, int]] = {}
        self._protos: list[dict[int, str]] = [{} for _ in self.dexes]
        self._names: list[dict[int, str]] = [{} for _ in self.dexes]
        self._cols: list[tuple | None] = [None for _ in self.dexes]
        self._created_cache: dict[str, tuple[tuple[Node, str], ...]] = {}
        self._targets: list[dict[int, object]] = [{} for _ in self.dexes]  # callee id → edges
        self._fields: list[dict[int, tuple[tuple[Node, str], ...]]] = [{} for _ in self.dexes]
        self._wanted: list[frozenset[int] | None] = [None for _ in self.dexes]
        self._subs_cache: dict[str, frozenset[str]] = {}
        self._async = async_callbacks()

    # -- classes and methods ------------------------------------------------------------------
    def defines(self, desc: str) -> bool:
        return desc in self.where

    def _mref(self, dn: int, mid: int) -> tuple[str, str, str]:
        """(class descriptor, name, signature) of method id ``mid`` of dex ``dn`` (cached)."""
        cache = self._mrefs[dn]
        got = cache.get(mid)
        if got is None:
            cols = self._cols[dn]
            if cols is None:
                d = self.dexes[dn]
                cols = self._cols[dn] = (*d.method_columns(), d.type_names())
            classes, names, protos, tn = cols
            if not 0 <= mid < len(classes):
                return "", "", ""
            got = cache[mid] = (tn[classes[mid]], self._name(dn, names[mid]), self._sig(dn, protos[mid]))
        return got

    def _name(self, dn: int, si: int) -> str:
        cache = self._names[dn]
        got = cache.get(si)
        if got is None:
            got = cache[si] = self.dexes[dn].string(si)
        return got

    def short(self, node: Node) -> tuple[str, str]:
        """(Java class name, method name) of a node."""
        cls, name, _sig = self._mref(node >> 32, node & 0xFFFFFFFF)
        return java_name(cls), name

    def label(self, node: Node) -> str:
        cls, name = self.short(node)
        return f"{cls}.{name}"

    def _sig(self, dn: int, proto: int) -> str:
        cache = self._protos[dn]
        got = cache.get(proto)
        if got is None:
            got = cache[proto] = self.dexes[dn].proto_sig(proto)
        return got

    def _class_records(self, desc: str) -> dict[int, tuple[int, int]]:
        got = self._records.get(desc)
        if got is not None:
            return got
        out: dict[int, tuple[int, int]] = {}
        dn, ci = self.where[desc]
        d = self.dexes[dn]
        c = d.calls
        r = d.class_call_range(ci)
        k = r.start
        while k < r.stop:
            m = c[4 * k]
            j = k + 1
            while j < r.stop and c[4 * j] == m:
                j += 1
            if m not in out:  # one run per method (the scanner writes a method's calls together)
                out[m] = (k, j)
            k = j
        self._records[desc] = out
        return out

    def _index(self) -> None:
        """Every method with code that makes calls, by class and by (name, signature): one pass over
        the distinct callers of each dex."""
        by_class: dict[str, dict[tuple[str, str], int]] = {}
        by_sig: dict[tuple[str, str], list[str]] = {}
        for dn, d in enumerate(self.dexes):
            where = self.where
            mref = self._mref
            for mid in set(d.calls[0::4]):
                cls, name, sig = mref(dn, mid)
                w = where.get(cls)
                if w is None or w[0] != dn:
                    continue  # a later copy of a class defined in an earlier dex: Android loads the first
                key = (name, sig)
                by_class.setdefault(cls, {})[key] = mid
                by_sig.setdefault(key, []).append(cls)
        self._methods, self._by_sig = by_class, by_sig

    def methods(self, desc: str) -> dict[tuple[str, str], int]:
        """(name, signature) → method id, for the methods of an app class that make calls."""
        if self._by_sig is None:
            self._index()
        return self._methods.get(desc, _EMPTY)

    def lookup(self, desc: str, name: str, sig: str) -> Node | None:
        """The method that runs for ``desc.name(sig)``: the class's own, else the nearest app
        superclass's that has code with calls."""
        seen = 0
        key = (name, sig)
        while desc in self.where and seen < 64:
            m = self.methods(desc).get(key)
            if m is not None:
                return node_of(self.where[desc][0], m)
            desc = self.supers.get(desc, "")
            seen += 1
        return None

    def overrides(self, desc: str, name: str, sig: str) -> list[Node]:
        """Methods ``name(sig)`` of the app classes that extend or implement ``desc`` (class-hierarchy
        analysis: the targets a virtual or interface call may dispatch to)."""
        if self._by_sig is None:
            self._index()
        holders = self._by_sig.get((name, sig))
        if not holders:
            return []
        subs = self.subclasses(desc)
        if not subs:
            return []
        return [node_of(self.where[c][0], self._methods[c][(name, sig)]) for c in holders if c in subs]

    def subclasses(self, desc: str) -> frozenset[str]:
        """Every app class that extends or implements ``desc``, transitively."""
        if self._subs is None:
            subs: dict[str, list[str]] = {}
            for c, s in self.supers.items():
                subs.setdefault(s, []).append(c)
            for c, its in self.interfaces.items():
                for i in its:
                    subs.setdefault(i, []).append(c)
            self._subs = subs
        got = self._subs_cache.get(desc)
        if got is not None:
            return got
        out, todo = {desc}, [desc]
        while todo:
            for s in self._subs.get(todo.pop(), ()):
                if s not in out:
                    out.add(s)
                    todo.append(s)
        out.discard(desc)
        got = self._subs_cache[desc] = frozenset(out)
        return got

    def ancestors(self, desc: str) -> frozenset[str]:
        """Every superclass and interface of ``desc``, app classes walked through, framework ones
        as the leaves they are."""
        got = self._ancestors.get(desc)
        if got is not None:
            return got
        out: set[str] = set()
        todo = [desc]
        while todo and len(out) < 4096:
            c = todo.pop()
            for p in (self.supers.get(c), *self.interfaces.get(c, ())):
                if p and p not in out:
                    out.add(p)
                    if p in self.where:
                        todo.append(p)
        got = self._ancestors[desc] = frozenset(out)
        return got

    # -- edges --------------------------------------------------------------------------------
    def _field_reads(self, dn: int) -> dict[int, list[int]]:
        got = self._reads[dn]
        if got is None:
            got = {}
            fr = self.dexes[dn].field_reads
            for k in range(0, len(fr), 2):
                got.setdefault(fr[k], []).append(fr[k + 1])
            self._reads[dn] = got
        return got

    def _range(self, node: Node) -> tuple[int, int]:
        """The node's call records ``[a, b)`` in its dex's record array."""
        got = self._ranges.get(node)
        if got is None:
            dn, mid = node >> 32, node & 0xFFFFFFFF
            desc = self._mref(dn, mid)[0]
            got = (0, 0)
            if desc in self.where and self.where[desc][0] == dn:
                got = self._class_records(desc).get(mid, (0, 0))
            self._ranges[node] = got
        return got

    def records(self, node: Node) -> Iterator[tuple[int, int, int]]:
        """(callee method id, string 1, string 2) of every call the node's method makes."""
        a, b = self._range(node)
        c = self.dexes[node >> 32].calls
        for k in range(a, b):
            yield c[4 * k + 1], c[4 * k + 2], c[4 * k + 3]

    def _created(self, desc: str) -> tuple[tuple[Node, str], ...]:
        """What creating an object of app class ``desc`` starts: its framework callbacks that run
        unattended, then (as ``callback``) every other method of the class."""
        got = self._created_cache.get(desc)
        if got is not None:
            return got
        out: list[tuple[Node, str]] = []
        seen: set[Node] = set()
        for anc in self.ancestors(desc) | {desc}:
            for name, sig in self._async.get(anc, ()):
                n = self.lookup(desc, name, sig)
                if n is not None and n not in seen:
                    seen.add(n)
                    out.append((n, ASYNC))
        dn = self.where[desc][0]
        for m in self.methods(desc).values():
            n = node_of(dn, m)
            if n not in seen:
                out.append((n, CALLBACK))
        got = self._created_cache[desc] = tuple(out)
        return got

    def _clinit(self, desc: str) -> Node | None:
        m = self.methods(desc).get(("<clinit>", "()V")) if desc in self.where else None
        return None if m is None else node_of(self.where[desc][0], m)

    def _call_targets(self, dn: int, callee: int) -> tuple[tuple[Node, str], ...] | str | None:
        """Where a call to method id ``callee`` of dex ``dn`` leads: the edges, or — for calls whose
        target the call does not name — a string saying why (``None``: a framework call)."""
        cdesc, cname, csig = self._mref(dn, callee)
        if cdesc not in self.where:
            if (cdesc, cname) == _FOR_NAME:
                return _FOR_NAME_MARK
            return _DYNAMIC.get((cdesc, cname))
        out: list[tuple[Node, str]] = []
        ci = self._clinit(cdesc)
        if ci is not None:
            out.append((ci, CLINIT))
        target = self.lookup(cdesc, cname, csig)
        if target is not None:
            out.append((target, CALL))
        if cname == "<init>":
            out += self._created(cdesc)
        elif cname != "<clinit>":
            out += [(n, CALL) for n in self.overrides(cdesc, cname, csig)]
        return tuple(out)

    def _for_name(self, dn: int, s1: int) -> tuple[tuple[Node, str], ...] | None:
        """``Class.forName("constant")``: the class's initialiser and no-argument constructor."""
        if s1 == NO_STRING:
            return None
        desc = "L" + self.dexes[dn].string(s1).replace(".", "/") + ";"
        if desc not in self.where:
            return None
        out = []
        ci = self._clinit(desc)
        if ci is not None:
            out.append((ci, REFLECT))
        init = self.methods(desc).get(("<init>", "()V"))
        if init is not None:
            out.append((node_of(self.where[desc][0], init), REFLECT))
        return tuple(out)

    def _field_targets(self, dn: int, fid: int) -> tuple[tuple[Node, str], ...]:
        cache = self._fields[dn]
        got = cache.get(fid)
        if got is None:
            fdesc, fname, _t = self.dexes[dn].field_ref(fid)
            out: list[tuple[Node, str]] = []
            if fdesc in self.where:
                ci = self._clinit(fdesc)
                if ci is not None:
                    out.append((ci, CLINIT))
                if fname == "INSTANCE" or _LAMBDA_CLASS.search(fdesc):
                    out += self._created(fdesc)
            got = cache[fid] = tuple(out)
        return got

    def _interesting(self, dn: int) -> frozenset[int]:
        """Method ids of dex ``dn`` a call to which may lead somewhere: methods of app classes,
        ``Class.forName`` and the calls whose target is computed (everything else is the framework's
        and ends the path)."""
        got = self._wanted[dn]
        if got is None:
            d = self.dexes[dn]
            app_types = {t for t, name in enumerate(d.type_names()) if name in self.where}
            types = d.method_types()
            ids = {m for m, t in enumerate(types) if t in app_types}
            for cls, name in (_FOR_NAME, *_DYNAMIC):
                ids.update(d.find_methods(cls, name))
            got = self._wanted[dn] = frozenset(ids)
        return got

    def edges(self, node: Node,
              unresolved: Callable[[str], None] | None = None) -> Iterator[tuple[Node, str]]:
        """The node's successors with the kind of each edge (duplicates possible)."""
        dn = node >> 32
        a, b = self._range(node)
        c = self.dexes[dn].calls
        callees = c[4 * a + 1:4 * b:4]
        wanted = self._interesting(dn)
        hits = wanted.intersection(callees) if len(callees) > 4 else [x for x in callees if x in wanted]
        if hits:
            cache = self._targets[dn]
            for callee in hits:
                t = cache.get(callee, _MISSING)
                if t is _MISSING:
                    t = cache[callee] = self._call_targets(dn, callee)
                if t is None:
                    continue
                if t.__class__ is tuple:
                    yield from t
                elif t is _FOR_NAME_MARK:
                    for k in range(4 * a + 1, 4 * b, 4):
                        if c[k] == callee:
                            got = self._for_name(dn, c[k + 1])
                            if got is not None:
                                yield from got
                            elif unresolved is not None:
                                unresolved("reflection (Class.forName with a computed name)")
                elif unresolved is not None:
                    unresolved(t)
        reads = self._field_reads(dn).get(node & 0xFFFFFFFF)
        if reads:
            for fid in reads:
                yield from self._field_targets(dn, fid)

    # -- searches -----------------------------------------------------------------------------
    def search(self, entries: Iterable[Node], follow: frozenset[str] = ALL_KINDS,
               gate: Callable[[Node], str | None] | None = None) -> Reach:
        """Breadth-first from ``entries`` along edges of the kinds in ``follow``; a node for which
        ``gate`` gives a reason is reached but not walked past."""
        reach = Reach()
        q: deque[Node] = deque()
        for i, e in enumerate(entries):
            if e not in reach.steps:
                reach.steps[e] = Step(None, "entry", i)
                q.append(e)
        while q:
            n = q.popleft()
            if gate is not None:
                why = gate(n)
                if why:
                    reach.gates[n] = why
                    continue
            entry = reach.steps[n].entry

            def note(why: str, n: Node = n) -> None:
                reach.unresolved.setdefault(n, set()).add(why)

            for t, kind in self.edges(n, note):
                if kind in follow and t not in reach.steps:
                    reach.steps[t] = Step(n, kind, entry)
                    q.append(t)
        return reach
