"""What runs before the user agrees to the privacy policy, and what the app's code can reach at all.

Android runs some code before any screen shows: the ``Application`` class (``attachBaseContext``,
``onCreate``), every ``ContentProvider``'s ``onCreate`` (before ``Application.onCreate``), receivers of
system broadcasts that start the process, and the launcher activity while it creates the first
screen — the one that shows the consent dialog (``knowledge/data/android_callbacks.yaml``). Searching
the call graph (:mod:`qingdan.checks.callgraph`) from there along the edges that need no user action
gives the code that may run before the user has answered.

A **consent gate** stops the search: a method that reads a stored agreement flag (a constant key such
as ``privacy_agreed`` handed to ``SharedPreferences.getBoolean``, MMKV …: ``knowledge/data/consent.yaml``)
is taken to decide on it, so what it calls is not pre-consent. Without control flow the order inside a
method is unknown, so code a gate method runs *before* its check is missed: the search under-reports
there, and says which gates it stopped at.

A second search from every component and every object the framework may call back gives
``reachable`` for each sensitive API use: code that ships but that no entry point reaches. That is
never proof that it cannot run (reflection, native code, code loaded at run time): the nodes where a
target could not be resolved are listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from qingdan.apk.dex import NO_STRING, java_name
from qingdan.apk.package import AppPackage
from qingdan.checks.apis import sensitive_callees
from qingdan.checks.callgraph import UNATTENDED, CallGraph, Node, Reach, node_of
from qingdan.knowledge.android import start_entries
from qingdan.knowledge.consent import ConsentKnowledge, load_consent

_MAIN, _LAUNCHER = "android.intent.action.MAIN", "android.intent.category.LAUNCHER"
MAX_PATH = 12  # methods shown of a path (the entry, the last ones before the API)


@dataclass(frozen=True, slots=True)
class EntryPoint:
    kind: str  # application | provider | system-receiver | launcher
    component: str  # the component's class (Java name)
    method: str  # the method Android calls, with its class (Java name): where the code runs
    why: str


@dataclass(slots=True)
class PreConsentUse:
    """A sensitive API a start-up path reaches with no gate on the way (the shortest such path)."""

    api_id: str
    pi_types: tuple[str, ...]
    callee: str  # android.telephony.TelephonyManager.getDeviceId
    caller: str  # the method that calls it (class.method)
    path: list[str]  # entry … caller (class.method each)
    entry: EntryPoint
    count: int = 1  # callers on start-up paths that call it


@dataclass(slots=True)
class InitCall:
    """An SDK's initialisation method called on a start-up path with no gate on the way."""

    sdk: str
    method: str  # the SDK's init method (class.method)
    caller: str
    path: list[str]
    entry: EntryPoint


@dataclass(slots=True)
class ConsentView:
    entries: list[EntryPoint] = field(default_factory=list)
    gates: list[tuple[str, str]] = field(default_factory=list)  # (method, why it counts as a gate)
    uses: list[PreConsentUse] = field(default_factory=list)
    inits: list[InitCall] = field(default_factory=list)
    # (class, method name) of every method some entry point reaches (any edge kind)
    reachable: set[tuple[str, str]] = field(default_factory=set)
    unresolved: dict[str, list[str]] = field(default_factory=dict)  # method → what could not be followed
    graph_nodes: int = 0
    switched: list[str] = field(default_factory=list)  # SDKs whose consent switch the app calls


def _switched_sdks(graph: CallGraph, k: ConsentKnowledge) -> set[str]:
    """SDKs whose consent switch (``JCollectionAuth.setAuth``, ``updatePrivacyAgree`` …) the app calls
    anywhere: the SDK then waits for the answer itself, so calling its init early is what its guide
    asks for."""
    out: set[str] = set()
    for d in graph.dexes:
        ids = {mid: sdk.sdk for sdk in k.sdks.values() for cls, name in sdk.consent
               for mid in d.find_methods("L" + cls.replace(".", "/") + ";", name)}
        if ids:
            callees = set(d.calls[1::4])
            out |= {sid for mid, sid in ids.items() if mid in callees}
    return out


def _entry_nodes(pkg: AppPackage, graph: CallGraph, start_actions: frozenset[str]
                 ) -> list[tuple[EntryPoint, Node]]:
    """Start-up entry points and the method nodes they begin at (an entry with no code that makes
    calls has no node and reaches nothing)."""
    kinds = start_entries()
    m = pkg.manifest
    wanted: list[tuple[str, str]] = []  # (kind, class)
    if m.application_name:
        wanted.append(("application", m.application_name))
    for c in m.components:
        if c.kind == "provider":
            wanted.append(("provider", c.name))
        elif c.kind == "receiver" and any(a in start_actions for f in c.intent_filters for a in f.actions):
            wanted.append(("system-receiver", c.name))
        elif c.kind in ("activity", "activity-alias") and any(
                _MAIN in f.actions and _LAUNCHER in f.categories for f in c.intent_filters):
            alias = c.kind == "activity-alias" and c.target_activity
            wanted.append(("launcher", alias or c.name))
    out: list[tuple[EntryPoint, Node]] = []
    seen: set[Node] = set()
    for kind, cls in wanted:
        desc = "L" + cls.replace(".", "/") + ";"
        spec = kinds[kind]
        for name, sig in spec.methods:
            n = graph.lookup(desc, name, sig)
            if n is None or n in seen:
                continue
            seen.add(n)
            out.append((EntryPoint(kind, cls, graph.label(n), spec.why), n))
    return out


def component_nodes(pkg: AppPackage, graph: CallGraph) -> list[Node]:
    """Every method of every manifest component's class (and its app superclasses): the framework
    may call any of them once the component runs."""
    out: list[Node] = []
    names = [c.name for c in pkg.manifest.components]
    if pkg.manifest.application_name:
        names.append(pkg.manifest.application_name)
    for cls in names:
        desc = "L" + cls.replace(".", "/") + ";"
        depth = 0
        while graph.defines(desc) and depth < 16:
            dn = graph.where[desc][0]
            out += [node_of(dn, mid) for mid in graph.methods(desc).values()]
            desc = graph.supers.get(desc, "")
            depth += 1
    return out


def flag_gate(graph: CallGraph, k: ConsentKnowledge):
    """``gate(node)``: why the node's method counts as a consent gate, or None."""
    key_re = re.compile("|".join(k.flag_key_patterns), re.IGNORECASE)
    readers: list[dict[int, str]] = []
    for d in graph.dexes:
        ids: dict[int, str] = {}
        for cls, name in k.flag_reads:
            desc = "L" + cls.replace(".", "/") + ";"
            for mid in d.find_methods(desc, name):
                ids[mid] = f"{cls}.{name}"
        readers.append(ids)

    def gate(node: Node) -> str | None:
        dn = node >> 32
        rd = readers[dn]
        if not rd:
            return None
        d = graph.dexes[dn]
        for callee, s1, s2 in graph.records(node):
            if callee in rd:
                for s in (s1, s2):
                    if s != NO_STRING:
                        key = d.string(s)
                        if key_re.search(key):
                            return f'reads the agreement flag "{key}" ({rd[callee]})'
        return None

    return gate


def _labels(graph: CallGraph, reach: Reach, node: Node) -> list[str]:
    path = [graph.label(n) for n in reach.path(node)]
    if len(path) > MAX_PATH:
        path = path[:2] + ["…"] + path[-(MAX_PATH - 3):]
    return path


def analyse(pkg: AppPackage, start_actions: frozenset[str], graph: CallGraph | None = None) -> ConsentView:
    """Entry points, gates, sensitive APIs and SDK initialisations reachable before consent, and the
    methods reachable from any entry point."""
    graph = graph if graph is not None else CallGraph(pkg)
    k = load_consent()
    view = ConsentView()
    starts = _entry_nodes(pkg, graph, start_actions)
    view.entries = [e for e, _n in starts]
    pre = graph.search([n for _e, n in starts], UNATTENDED, flag_gate(graph, k))
    view.gates = sorted({(graph.label(n), why) for n, why in pre.gates.items()})
    # sensitive API calls and SDK init calls made by pre-consent nodes
    sens = [sensitive_callees(d) for d in graph.dexes]
    inits: list[dict[int, tuple[str, str]]] = []
    for d in graph.dexes:
        ids: dict[int, tuple[str, str]] = {}
        for sdk in k.sdks.values():
            for cls, name in sdk.init:
                for mid in d.find_methods("L" + cls.replace(".", "/") + ";", name):
                    ids[mid] = (sdk.sdk, f"{cls}.{name}")
        inits.append(ids)
    by_api: dict[str, PreConsentUse] = {}
    by_init: dict[tuple[str, str], InitCall] = {}
    for n in pre.steps:  # breadth-first order: the first caller found has the shortest path
        if n in pre.gates:
            continue
        dn = n >> 32
        d = graph.dexes[dn]
        for callee, s1, s2 in graph.records(n):
            apis = sens[dn].get(callee)
            if apis:
                strings = tuple(d.string(s) for s in (s1, s2) if s != NO_STRING)
                for a in apis:
                    if a.weak or (a.args is not None and not a.args.matches(strings)):
                        continue
                    key = f"{a.id}@{graph.label(n)}"
                    if key in by_api:
                        continue
                    tcls, tname, _ = d.method_ref(callee)
                    entry = view.entries[pre.steps[n].entry]
                    by_api[key] = PreConsentUse(a.id, a.pi_types, f"{java_name(tcls)}.{tname}",
                                                graph.label(n), _labels(graph, pre, n), entry)
            init = inits[dn].get(callee)
            if init and init not in by_init:
                by_init[init] = InitCall(init[0], init[1], graph.label(n), _labels(graph, pre, n),
                                         view.entries[pre.steps[n].entry])
    view.uses = list(by_api.values())
    switched = _switched_sdks(graph, k)  # SDKs the app hands the user's answer to: their own gate
    view.switched = sorted(switched)
    view.inits = [i for i in by_init.values() if i.sdk not in switched]
    # everything any entry point reaches, by any edge
    every = graph.search([n for _e, n in starts] + component_nodes(pkg, graph))
    for n in every.steps:
        view.reachable.add(graph.short(n))
    view.unresolved = {graph.label(n): sorted(w) for n, w in every.unresolved.items()}
    view.graph_nodes = len(every.steps)
    return view
