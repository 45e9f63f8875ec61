"""Sensitive API uses: which code (the app or which SDK) calls what, for which personal information.

Direct calls come from the DEX call sites (with the constant string arguments, so
``Settings.Secure.getString(cr, "android_id")`` is told from other ``getString`` calls); static
field reads (``Build.SERIAL``, ``ContactsContract.Contacts.CONTENT_URI``) from the field-read
index; content URIs from constant strings handed to ``Uri.parse``. Reflective use — a sensitive
member name passed as a constant to ``getMethod``/``getDeclaredMethod`` — is reported as
``possible`` with its evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

from qingdan.apk.dex import DexFile
from qingdan.apk.package import AppPackage
from qingdan.checks.sdks import OwnerMap
from qingdan.knowledge.apis import SensitiveApi, load_sensitive_apis, match_content_uri

REFLECT_METHODS = (("Ljava/lang/Class;", "getMethod"), ("Ljava/lang/Class;", "getDeclaredMethod"),
                   ("Ljava/lang/Class;", "getField"), ("Ljava/lang/Class;", "getDeclaredField"))
URI_PARSE = ("Landroid/net/Uri;", "parse")
# Member names too common to mean anything when they show up as a reflected name.
GENERIC_MEMBERS = frozenset({"open", "query", "get", "getString", "getText", "insert", "update", "delete",
                             "registerListener", "getPackageInfo", "start", "read", "getInt", "getLong"})


@dataclass(slots=True)
class ApiUse:
    api: SensitiveApi
    caller_class: str
    caller_method: str
    callee: str  # what was called or read: "android.telephony.TelephonyManager.getDeviceId", a URI …
    owner: str  # "app" or an SDK id
    certainty: str  # direct | possible
    how: str  # call | field | uri | reflection
    dex_source: str
    strings: tuple[str, ...] = ()


def _index() -> tuple[dict[str, list[SensitiveApi]], dict[str, list[SensitiveApi]]]:
    methods: dict[str, list[SensitiveApi]] = {}
    by_member: dict[str, list[SensitiveApi]] = {}
    for a in load_sensitive_apis():
        if a.kind in ("method", "field") and a.cls:
            methods.setdefault(a.descriptor, []).append(a)
        if a.kind in ("method", "reflection_name") and not a.weak:
            for m in a.members:
                if m not in GENERIC_MEMBERS:
                    by_member.setdefault(m, []).append(a)
    return methods, by_member


def find_api_uses(pkg: AppPackage, owners: OwnerMap) -> list[ApiUse]:
    by_class, by_member = _index()
    uses: list[ApiUse] = []
    seen: set[tuple] = set()

    def add(u: ApiUse) -> None:
        key = (u.api.id, u.caller_class, u.caller_method, u.callee, u.how, u.strings)
        if key not in seen:
            seen.add(key)
            uses.append(u)

    for d in pkg.dex:
        _direct(d, by_class, owners, add)
        _uris(d, owners, add)
        _reflective(d, by_member, owners, add)
    uses.sort(key=lambda u: (u.api.id, u.owner, u.caller_class, u.caller_method))
    return uses


def _direct(d: DexFile, by_class, owners: OwnerMap, add) -> None:
    for desc, apis in by_class.items():
        if d.find_type(desc) < 0:
            continue  # the dex never mentions the class: nothing to look up
        for a in apis:
            if a.kind == "method":
                ids: list[int] = []
                for m in a.members:
                    ids.extend(d.find_methods(desc, m))
                for site in d.calls_to(ids):
                    if a.args is not None and not a.args.matches(site.strings):
                        continue
                    add(ApiUse(a, site.caller_class, site.caller_method,
                               f"{site.callee_class}.{site.callee_method}", owners.owner(site.caller_class),
                               "direct", "call", d.source, site.strings))
            else:  # field
                fids: list[int] = []
                for m in a.members:
                    fids.extend(d.find_fields(desc, m))
                for ccls, cmeth, fcls, fname in d.reads_of(fids):
                    add(ApiUse(a, ccls, cmeth, f"{fcls}.{fname}", owners.owner(ccls), "direct", "field", d.source))


def _uris(d: DexFile, owners: OwnerMap, add) -> None:
    ids = d.find_methods(*URI_PARSE)
    if not ids:
        return
    for site in d.calls_to(ids):
        for s in site.strings:
            for a in match_content_uri(s):
                add(ApiUse(a, site.caller_class, site.caller_method, s, owners.owner(site.caller_class),
                           "direct", "uri", d.source, (s,)))


def _reflective(d: DexFile, by_member, owners: OwnerMap, add) -> None:
    ids: list[int] = []
    for cls, name in REFLECT_METHODS:
        ids.extend(d.find_methods(cls, name))
    for site in d.calls_to(ids):
        for s in site.strings:
            for a in by_member.get(s, ()):
                add(ApiUse(a, site.caller_class, site.caller_method,
                           f"{site.callee_class}.{site.callee_method}(\"{s}\")", owners.owner(site.caller_class),
                           "possible", "reflection", d.source, site.strings))
