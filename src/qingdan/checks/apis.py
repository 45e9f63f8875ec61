"""Sensitive API uses: which code (the app or which SDK) calls what, for which personal information.

Direct calls come from the DEX call sites (with the constant string arguments, so
``Settings.Secure.getString(cr, "android_id")`` is told from other ``getString`` calls); static
field reads (``Build.SERIAL``, ``ContactsContract.Contacts.CONTENT_URI``) from the field-read
index; content URIs from constant strings handed to ``Uri.parse``. Reflective use — a sensitive
member name passed as a constant to ``getMethod``/``getDeclaredMethod`` — is reported as
``possible`` with its evidence. A use of an API whose gating permission the app does not hold
(``knowledge.gates``) is a ``capability``: the code is there, the data cannot be.

Uses are grouped by (API, owner, certainty, what was called): a count and a few call sites, so an
app with a hundred thousand sensitive calls costs one pass over its call records, not a hundred
thousand objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qingdan.apk.dex import NO_STRING, DexFile, java_name
from qingdan.apk.package import AppPackage
from qingdan.checks.attribution import OwnerMap
from qingdan.knowledge.apis import SensitiveApi, load_sensitive_apis, match_content_uri

REFLECT_METHODS = (("Ljava/lang/Class;", "getMethod"), ("Ljava/lang/Class;", "getDeclaredMethod"),
                   ("Ljava/lang/Class;", "getField"), ("Ljava/lang/Class;", "getDeclaredField"))
URI_PARSE = ("Landroid/net/Uri;", "parse")
# Member names too common to mean anything when they show up as a reflected name.
GENERIC_MEMBERS = frozenset({"open", "query", "get", "getString", "getText", "insert", "update", "delete",
                             "registerListener", "getPackageInfo", "start", "read", "getInt", "getLong"})
MAX_SITES = 5


@dataclass(slots=True)
class ApiSite:
    caller_class: str
    caller_method: str
    strings: tuple[str, ...]
    dex_source: str


@dataclass(slots=True)
class ApiUse:
    """All uses of one API by one owner, through one callee, with the same certainty."""

    api: SensitiveApi
    owner: str  # "app", an SDK or library id, "unattributed" or "unidentified" (checks.attribution)
    certainty: str  # direct | possible (reflection) | capability (the app lacks the gating permission)
    how: str  # call | field | uri | reflection
    callee: str  # "android.telephony.TelephonyManager.getDeviceId", a URI, or getMethod("…")
    count: int = 0
    sites: list[ApiSite] = field(default_factory=list)  # the first few

    # the first site, for convenience
    @property
    def caller_class(self) -> str:
        return self.sites[0].caller_class

    @property
    def caller_method(self) -> str:
        return self.sites[0].caller_method

    @property
    def strings(self) -> tuple[str, ...]:
        return self.sites[0].strings

    @property
    def dex_source(self) -> str:
        return self.sites[0].dex_source


class _Uses:
    def __init__(self, owners: OwnerMap, ungranted: frozenset[str]) -> None:
        self.owners = owners
        self.ungranted = ungranted
        self.groups: dict[tuple, ApiUse] = {}
        self.callers: set[str] = set()  # classes that directly use a non-weak sensitive API

    def add(self, api: SensitiveApi, caller_class: str, caller_method: str, callee: str, certainty: str,
            how: str, strings: tuple[str, ...], dex: str) -> None:
        owner = self.owners.owner(caller_class)
        if api.id in self.ungranted:
            certainty = "capability"
        key = (api.id, owner, certainty, how, callee)
        g = self.groups.get(key)
        if g is None:
            g = self.groups[key] = ApiUse(api, owner, certainty, how, callee)
        g.count += 1
        if len(g.sites) < MAX_SITES:
            g.sites.append(ApiSite(caller_class, caller_method, strings, dex))
        if certainty == "direct" and not api.weak:
            self.callers.add(caller_class)


def _index() -> tuple[dict[str, list[SensitiveApi]], dict[str, list[SensitiveApi]]]:
    by_class: dict[str, list[SensitiveApi]] = {}
    by_member: dict[str, list[SensitiveApi]] = {}
    for a in load_sensitive_apis():
        if a.kind in ("method", "field") and a.cls:
            by_class.setdefault(a.descriptor, []).append(a)
        if a.kind in ("method", "reflection_name") and not a.weak:
            for m in a.members:
                if m not in GENERIC_MEMBERS:
                    by_member.setdefault(m, []).append(a)
    return by_class, by_member


def find_api_uses(pkg: AppPackage, owners: OwnerMap,
                  ungranted: frozenset[str] = frozenset()) -> tuple[list[ApiUse], set[str]]:
    """Grouped uses, and the classes that directly call a (non-weak) sensitive API. ``ungranted``:
    ids of the APIs whose gating permission the app does not hold (their uses: ``capability``)."""
    by_class, by_member = _index()
    acc = _Uses(owners, ungranted)
    for d in pkg.dex:
        _scan_dex(d, by_class, by_member, acc)
    uses = sorted(acc.groups.values(), key=lambda u: (u.api.id, u.owner, u.certainty, u.callee))
    return uses, acc.callers


def _api_ids(d: DexFile, by_class) -> tuple[dict[int, list[SensitiveApi]], dict[int, list[SensitiveApi]]]:
    """Method ids and field ids of one dex that are sensitive APIs, each with its catalogue entries."""
    method_apis: dict[int, list[SensitiveApi]] = {}
    field_apis: dict[int, list[SensitiveApi]] = {}
    for desc, apis in by_class.items():
        if d.find_type(desc) < 0:
            continue  # the dex never mentions the class
        for a in apis:
            for m in a.members:
                if a.kind == "method":
                    for i in d.find_methods(desc, m):
                        method_apis.setdefault(i, []).append(a)
                else:
                    for i in d.find_fields(desc, m):
                        field_apis.setdefault(i, []).append(a)
    return method_apis, field_apis


def sensitive_callees(d: DexFile) -> dict[int, list[SensitiveApi]]:
    """Method id → the sensitive-API entries a call to it is (before their ``args`` conditions)."""
    return _api_ids(d, _index()[0])[0]


def _scan_dex(d: DexFile, by_class, by_member, acc: _Uses) -> None:
    # Which callee method ids matter, and why: one pass over the call records then serves all.
    method_apis, field_apis = _api_ids(d, by_class)
    uri_ids = set(d.find_methods(*URI_PARSE))
    reflect_ids: set[int] = set()
    for cls, name in REFLECT_METHODS:
        reflect_ids.update(d.find_methods(cls, name))
    wanted = set(method_apis) | uri_ids | reflect_ids
    c = d.calls
    callee_names: dict[int, str] = {}
    callers: dict[int, tuple[str, str]] = {}
    uri_cache: dict[str, tuple[SensitiveApi, ...]] = {}
    for k in d.hits(wanted):
        caller, callee, s1, s2 = c[4 * k : 4 * k + 4]
        strings = tuple(d.string(x) for x in (s1, s2) if x != NO_STRING)
        who = callers.get(caller)
        if who is None:
            who = callers[caller] = (d.caller_class(caller), d.method_ref(caller)[1])
        ccls, cmeth = who
        if callee in method_apis:
            name = callee_names.get(callee)
            if name is None:
                tcls, tname, _ = d.method_ref(callee)
                name = callee_names[callee] = f"{java_name(tcls)}.{tname}"
            for a in method_apis[callee]:
                if a.args is None or a.args.matches(strings):
                    acc.add(a, ccls, cmeth, name, "direct", "call", strings, d.source)
        if callee in uri_ids:
            for s in strings:
                found = uri_cache.get(s)
                if found is None:
                    found = uri_cache[s] = match_content_uri(s)
                for a in found:
                    acc.add(a, ccls, cmeth, s, "direct", "uri", (s,), d.source)
        if callee in reflect_ids:
            tname = d.method_ref(callee)[1]
            for s in strings:
                for a in by_member.get(s, ()):
                    acc.add(a, ccls, cmeth, f'java.lang.Class.{tname}("{s}")', "possible", "reflection",
                            strings, d.source)
    if field_apis:
        fr = d.field_reads
        for k in range(0, len(fr), 2):
            fid = fr[k + 1]
            if fid in field_apis:
                fcls, fname, _t = d.field_ref(fid)
                caller = fr[k]
                for a in field_apis[fid]:
                    acc.add(a, d.caller_class(caller), d.method_ref(caller)[1], f"{java_name(fcls)}.{fname}",
                            "direct", "field", (), d.source)
