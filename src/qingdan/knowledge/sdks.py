"""Third-party SDK catalogue: names, operating company, category, detection signatures, PI types.

Two data files (package data):

* ``qingdan/knowledge/data/sdks.yaml`` -- the project's own catalogue (Apache-2.0: facts from
  LibChecker-Rules and AppScan with attribution, plus facts from vendors' public policies).
* ``qingdan/knowledge/data/sdks_exodus.yaml`` -- the Exodus Privacy tracker signatures, a separate
  database under the ODbL 1.0 (see the header of that file). It is never merged into the catalogue.
  Our additions to it (``qingdan_id``: the catalogue twin of a tracker; ``company`` / ``country`` of
  a tracker with no twin) stay in that file, under the same licence.

Both are loaded once per process and validated; a malformed file raises :class:`ValueError`
naming the file and the offending entry.

Signature semantics (see ``meta.signature_kinds`` in the data file): ``packages`` are Java package
prefixes in dot form (a prefix matches the package itself or any sub-package); ``components``,
``native_libs``, ``meta_data``, ``actions`` and ``permissions`` are exact names;
``component_patterns`` and ``native_lib_patterns`` are Python regular expressions matched against
the whole name (``re.fullmatch``).

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import URL_RE, DataChecker, KnowledgeFile

__all__ = [
    "CATEGORIES",
    "DATA_FILE",
    "EXODUS_FILE",
    "EXODUS_SCHEMA",
    "EXODUS_URL",
    "GENERIC_PACKAGE_PREFIXES",
    "KINDS",
    "SCHEMA",
    "SHARED_PACKAGE_PREFIXES",
    "SIGNATURE_KINDS",
    "ExodusTracker",
    "Sdk",
    "SdkSignatures",
    "exodus_prefixes",
    "exodus_sdks",
    "load_exodus",
    "load_sdk_sources",
    "load_sdks",
    "search_sdks",
]

SCHEMA = "qingdan.knowledge.sdks/1"
EXODUS_SCHEMA = "qingdan.knowledge.sdks_exodus/1"
#: Paths of the data files relative to the ``qingdan.knowledge`` package.
DATA_FILE = "data/sdks.yaml"
EXODUS_FILE = "data/sdks_exodus.yaml"
#: The public page of an Exodus tracker, by its number.
EXODUS_URL = "https://reports.exodus-privacy.eu.org/en/trackers/{}/"
EXODUS_ATTRIBUTION = "Exodus Privacy (ODbL)"

CATEGORIES = (
    "push", "analytics", "ads", "maps_location", "payment", "login_share", "crash_apm", "one_click_login",
    "im", "anti_fraud", "customer_service", "hotfix", "network", "image", "ui", "video_audio", "ar_vr",
    "game", "security", "storage", "ocr_face", "speech", "live", "utility", "framework", "other",
)
SIGNATURE_KINDS = (
    "packages", "components", "native_libs", "meta_data", "actions", "permissions",
    "component_patterns", "native_lib_patterns",
)
#: Package prefixes too generic to name an SDK (a namespace root, a platform package, or the root of a
#: company that ships many different SDKs). The catalogue must not list them.
GENERIC_PACKAGE_PREFIXES = frozenset({
    "com", "cn", "org", "net", "io", "me", "tv", "android", "androidx", "java", "javax", "kotlin", "kotlinx",
    "dalvik", "com.google", "com.google.android", "com.google.android.gms", "com.android", "org.apache",
    "org.json", "com.tencent", "com.tencent.mm", "com.qq", "com.alibaba", "com.alipay", "com.taobao",
    "com.baidu", "com.huawei", "com.xiaomi", "com.mi", "com.miui", "com.facebook", "com.sina", "com.umeng",
    "com.bytedance", "com.ss", "com.ss.android", "com.netease", "com.meituan", "com.jd", "com.iflytek",
    "com.sohu", "com.microsoft", "com.amazon", "com.samsung", "com.oppo", "com.vivo", "com.meizu",
    "com.heytap", "com.coloros", "com.hihonor", "com.kuaishou", "com.kwai", "com.mob", "com.squareup",
    "com.github", "io.github", "com.example",
})
#: Package prefixes deliberately listed by more than one SDK (none at present). Any other prefix
#: claimed twice makes the file invalid.
SHARED_PACKAGE_PREFIXES: frozenset[str] = frozenset()

_PKG_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$")
_FIELDS = ("id", "name_zh", "name_en", "company", "company_en", "country", "category", "kind", "signatures",
           "pi_types", "policy_url", "sources")
_OPTIONAL = ("verified", "purpose", "refs")
#: ``sdk``: a vendor runs a service behind the code (it counts for the double lists); ``library``:
#: open-source or vendor-neutral code with no service behind it (Glide, OkHttp, AndroidX…).
KINDS = ("sdk", "library")
_EXODUS_FIELDS = ("id", "name", "website", "categories", "code_signatures", "network_signatures", "source")
#: qingdan's additions to a tracker: its catalogue twin, or (no twin) the operating company and country
_EXODUS_OPTIONAL = ("qingdan_id", "company", "country", "verified")
#: Exodus tracker categories → catalogue categories (the first one known wins)
_EXODUS_CATEGORY = {"Advertisement": "ads", "Analytics": "analytics", "Crash reporting": "crash_apm",
                    "Location": "maps_location", "Profiling": "analytics", "Identification": "anti_fraud"}


@dataclass(frozen=True, slots=True)
class SdkSignatures:
    """How an SDK shows up in an APK."""

    packages: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    native_libs: tuple[str, ...] = ()
    meta_data: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    component_patterns: tuple[str, ...] = ()
    native_lib_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sdk:
    """One SDK of the catalogue."""

    id: str
    name_zh: str | None
    name_en: str | None
    company: str | None
    company_en: str | None
    country: str | None
    category: str
    signatures: SdkSignatures
    pi_types: tuple[str, ...]
    policy_url: str | None
    sources: tuple[str, ...]
    verified: bool = True
    kind: str = "sdk"  # sdk (a vendor runs a service behind it: counts for the double lists) | library
    purpose: str | None = None  # what the SDK is for, as its own policy / compliance guide states it (zh)
    refs: tuple[str, ...] = ()  # the public pages this entry's facts were read from

    @property
    def is_library(self) -> bool:
        return self.kind == "library"

    @property
    def name(self) -> str:
        """The Chinese name where there is one, else the English name."""
        return self.name_zh or self.name_en or self.id


@dataclass(slots=True)  # not frozen: 432 of them are built per process, and frozen ones build slowly
class ExodusTracker:
    """One tracker of the Exodus Privacy database (ODbL 1.0; see ``sdks_exodus.yaml``)."""

    id: str
    name: str
    website: str | None
    categories: tuple[str, ...]
    code_signatures: tuple[str, ...]
    network_signatures: tuple[str, ...]
    qingdan_id: str | None = None  # the catalogue entry for the same SDK, if any
    company: str | None = None  # the operating legal entity (trackers with no catalogue twin)
    country: str | None = None
    verified: bool = True
    packages: tuple[str, ...] = ()  # the Java packages its code signatures name
    # packages its signatures name only through a class: (package, simple-name prefixes)
    class_parts: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def number(self) -> int:
        return int(self.id.removeprefix("exodus-"))

    @property
    def url(self) -> str:
        """The tracker's page on the Exodus Privacy site."""
        return EXODUS_URL.format(self.number)

    @property
    def attribution(self) -> str:
        return EXODUS_ATTRIBUTION


@dataclass(frozen=True, slots=True)
class _Catalogue:
    sdks: dict[str, Sdk]
    sources: dict[str, dict[str, Any]]


def _read_text(name: str) -> str:
    return _FILES[name].read_text()


_FILES: dict[str, KnowledgeFile[Any]] = {name: KnowledgeFile(name, __file__, DataChecker)
                                         for name in (DATA_FILE, EXODUS_FILE)}


def _parse_signatures(ck: DataChecker, raw: Any, where: str) -> SdkSignatures:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ck.fail(f"{where}: signatures must be a mapping")
    unknown = sorted(set(raw) - set(SIGNATURE_KINDS))
    if unknown:
        raise ck.fail(f"{where}: unknown signature kinds {unknown}")
    values = {k: ck.str_list(raw.get(k, []), f"signatures.{k}", where) for k in SIGNATURE_KINDS}
    for p in values["packages"]:
        if not _PKG_RE.match(p):
            raise ck.fail(f"{where}: package prefix {p!r} is not a dotted Java package name")
        if p in GENERIC_PACKAGE_PREFIXES:
            raise ck.fail(f"{where}: package prefix {p!r} is too generic to name an SDK")
    ck.regexes(values["component_patterns"], "signatures.component_patterns", where)
    ck.regexes(values["native_lib_patterns"], "signatures.native_lib_patterns", where)
    return SdkSignatures(**values)


def _parse_catalogue(text: str) -> _Catalogue:
    ck = _FILES[DATA_FILE].check
    doc = ck.load(text)
    sources = ck.header(doc, SCHEMA, source_fields=("title", "licence"))
    raw = doc.get("sdks")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("sdks must be a non-empty list")

    sdks: dict[str, Sdk] = {}
    owner: dict[str, str] = {}
    for i, e in enumerate(raw):
        label = e.get("id") if isinstance(e, dict) else None
        where = f"sdks[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        ck.entry(e, where, _FIELDS, _OPTIONAL)
        sid = ck.slug_id(e["id"], where, sdks)
        name_zh, name_en = ck.names(e, where)
        country = ck.country(e["country"], where)
        category = e["category"]
        if category not in CATEGORIES:
            raise ck.fail(f"{where}: category {category!r} is not one of {list(CATEGORIES)}")
        url = e["policy_url"]
        if url is not None and (not isinstance(url, str) or not URL_RE.match(url)):
            raise ck.fail(f"{where}: policy_url must be an http(s) URL or null, got {url!r}")
        srcs = ck.str_list(e["sources"], "sources", where)
        if not srcs:
            raise ck.fail(f"{where}: sources must not be empty")
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise ck.fail(f"{where}: source keys {unknown} are not defined in sources")
        verified = e.get("verified", True)
        if not isinstance(verified, bool):
            raise ck.fail(f"{where}: verified must be true or false")
        company = ck.opt_text(e["company"], "company", where)
        kind = e["kind"]
        if kind not in KINDS:
            raise ck.fail(f"{where}: kind must be one of {list(KINDS)}, got {kind!r}")
        refs = ck.str_list(e.get("refs", []), "refs", where)
        bad = [r for r in refs if not URL_RE.match(r)]
        if bad:
            raise ck.fail(f"{where}: refs must be http(s) URLs, got {bad!r}")
        sig = _parse_signatures(ck, e["signatures"], where)
        for p in sig.packages:
            if p in owner and p not in SHARED_PACKAGE_PREFIXES:
                raise ck.fail(f"{where}: package prefix {p!r} is already listed by {owner[p]!r}")
            owner[p] = sid
        sdks[sid] = Sdk(
            id=sid,
            name_zh=name_zh,
            name_en=name_en,
            company=company,
            company_en=ck.opt_text(e["company_en"], "company_en", where),
            country=country,
            category=category,
            signatures=sig,
            pi_types=ck.str_list(e["pi_types"], "pi_types", where),
            policy_url=url,
            sources=srcs,
            verified=verified,
            kind=kind,
            purpose=ck.opt_text(e.get("purpose"), "purpose", where),
            refs=refs,
        )
    return _Catalogue(sdks, sources)


def _parse_exodus(text: str) -> list[ExodusTracker]:
    ck = _FILES[EXODUS_FILE].check
    doc = ck.load(text)
    meta = doc.get("meta")
    if not isinstance(meta, dict) or meta.get("schema") != EXODUS_SCHEMA:
        raise ck.fail(f"meta.schema must be {EXODUS_SCHEMA!r}")
    if meta.get("licence") != "ODbL-1.0":
        raise ck.fail("meta.licence must be 'ODbL-1.0'")
    raw = doc.get("trackers")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("trackers must be a non-empty list")
    out: list[ExodusTracker] = []
    seen: set[str] = set()
    for i, e in enumerate(raw):
        label = e.get("id") if isinstance(e, dict) else None
        where = f"trackers[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        if (not isinstance(e, dict) or not set(_EXODUS_FIELDS) <= set(e)
                or set(e) - set(_EXODUS_FIELDS) - set(_EXODUS_OPTIONAL)):
            raise ck.fail(f"{where}: must have the keys {list(_EXODUS_FIELDS)} and may have "
                          f"{list(_EXODUS_OPTIONAL)}")
        tid = e["id"]
        if not isinstance(tid, str) or not re.fullmatch(r"exodus-\d+", tid):
            raise ck.fail(f"{where}: id must look like 'exodus-<number>', got {tid!r}")
        if tid in seen:
            raise ck.fail(f"{where}: duplicate id")
        seen.add(tid)
        if e["source"] != "exodus":
            raise ck.fail(f"{where}: source must be 'exodus'")
        name = ck.opt_text(e["name"], "name", where)
        if name is None:
            raise ck.fail(f"{where}: name must not be empty")
        code = ck.str_list(e["code_signatures"], "code_signatures", where)
        net = ck.str_list(e["network_signatures"], "network_signatures", where)
        ck.regexes(code, "code_signatures", where)
        ck.regexes(net, "network_signatures", where)
        qid = e.get("qingdan_id")
        if qid is not None:
            qid = ck.slug_id(qid, f"{where}: qingdan_id", ())
        country = ck.country(e.get("country"), where)
        packages, class_parts = _signature_packages(code)
        out.append(ExodusTracker(
            id=tid,
            name=name,
            website=ck.opt_text(e["website"], "website", where),
            categories=ck.str_list(e["categories"], "categories", where),
            code_signatures=code,
            network_signatures=net,
            qingdan_id=qid,
            company=ck.opt_text(e.get("company"), "company", where),
            country=country,
            verified=ck.boolean(e.get("verified", True), "verified", where),
            packages=packages,
            class_parts=class_parts,
        ))
    return out


@functools.cache
def _catalogue() -> _Catalogue:
    return _FILES[DATA_FILE].build(_read_text(DATA_FILE), _parse_catalogue)


@functools.cache
def load_sdks() -> dict[str, Sdk]:
    """All SDKs of the catalogue, keyed by id, in file order.

    The result is cached and shared between callers: treat it as read-only.
    """
    return _catalogue().sdks


def load_sdk_sources() -> dict[str, dict[str, Any]]:
    """The ``sources`` table of the catalogue (key -> description, licence, ...)."""
    return {k: dict(v) for k, v in _catalogue().sources.items()}


@functools.cache
def load_exodus() -> list[ExodusTracker]:
    """The Exodus Privacy trackers (ODbL 1.0 data; attribute Exodus Privacy where shown).

    The result is cached and shared between callers: treat it as read-only.
    """
    # cached as plain tuples: every scan loads this file, and tuples unpickle ~20x faster than
    # frozen dataclasses
    names = [f.name for f in dataclasses.fields(ExodusTracker)]
    rows = _FILES[EXODUS_FILE].build(_read_text(EXODUS_FILE), lambda text: [
        tuple(getattr(t, n) for n in names) for t in _parse_exodus(text)])
    return [ExodusTracker(*r) for r in rows]


_LOWER_SEGMENT = re.compile(r"[a-z_][a-z0-9_]*")
_CLASS_SIGNATURE = re.compile(r"^((?:[a-z_][a-z0-9_]*\.)+)([A-Z][\w$]*)\.?$")


_ClassParts = tuple[tuple[str, tuple[str, ...]], ...]


def _signature_packages(sigs: tuple[str, ...]) -> tuple[tuple[str, ...], _ClassParts]:
    """(the Java packages Exodus code signatures name, and the packages named only through a class:
    package → simple-name prefixes). Each signature is read up to its first segment that is not a
    lowercase package name (``com.adobe.mobile.Analytics`` → ``com.adobe.mobile`` through class
    ``Analytics``); signatures that name no package (``.LigatusManager``) and namespace roots too
    generic to name an SDK give none."""
    out: list[str] = []
    plain: set[str] = set()
    named: dict[str, list[str]] = {}
    for sig in sigs:
        if sig.startswith(".") or "\\" in sig:
            continue
        segs = []
        for seg in sig.rstrip(".").split("."):
            if not seg or not _LOWER_SEGMENT.fullmatch(seg):
                break
            segs.append(seg)
        p = ".".join(segs)
        if p.count(".") < 1 or p in GENERIC_PACKAGE_PREFIXES:
            continue
        m = _CLASS_SIGNATURE.match(sig)
        if m and m.group(1).rstrip(".") == p:
            named.setdefault(p, []).append(m.group(2))
        else:
            plain.add(p)
        if p not in out:
            out.append(p)
    return tuple(out), tuple((p, tuple(v)) for p, v in named.items() if p not in plain)


def exodus_package_prefixes(t: ExodusTracker) -> tuple[str, ...]:
    """The Java packages a tracker's code signatures name (see :func:`_signature_packages`)."""
    return t.packages or _signature_packages(t.code_signatures)[0]


def exodus_sdk(t: ExodusTracker) -> Sdk:
    """A tracker with no catalogue twin, as an SDK entry (id ``exodus-<n>``, source ``exodus``)."""
    category = next((_EXODUS_CATEGORY[c] for c in t.categories if c in _EXODUS_CATEGORY), "other")
    return Sdk(id=t.id, name_zh=None, name_en=t.name, company=t.company, company_en=None, country=t.country,
               category=category, signatures=SdkSignatures(packages=t.packages), pi_types=(),
               policy_url=None, sources=("exodus",), verified=t.verified, kind="sdk", refs=(t.url,))


@functools.cache
def _exodus_prefixes() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for t in load_exodus():
        if t.packages:
            out[t.id] = t.packages
            if t.qingdan_id:
                out[t.qingdan_id] = out.get(t.qingdan_id, ()) + t.packages
    return out


def exodus_prefixes(sid: str) -> tuple[str, ...]:
    """The Java packages the Exodus trackers of an SDK name: those of tracker ``exodus-<n>``, or of
    every tracker whose catalogue twin is ``sid``. Detected, the SDK owns that code too."""
    return _exodus_prefixes().get(sid, ())


@functools.cache
def exodus_sdks() -> dict[str, Sdk]:
    """The Exodus trackers that have no catalogue twin, as SDK entries keyed by ``exodus-<n>``."""
    return {t.id: exodus_sdk(t) for t in load_exodus() if t.qingdan_id is None}


def search_sdks(text: str | None = None, category: str | None = None) -> list[Sdk]:
    """SDKs whose id, names, company or package prefixes contain ``text`` (case-insensitive),
    optionally restricted to one ``category``; in catalogue order. No arguments: every SDK."""
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown SDK category {category!r}; expected one of {list(CATEGORIES)}")
    needle = text.strip().casefold() if text else ""
    out = []
    for sdk in load_sdks().values():
        if category is not None and sdk.category != category:
            continue
        if needle:
            hay = [sdk.id, sdk.name_zh, sdk.name_en, sdk.company, sdk.company_en, *sdk.signatures.packages]
            if not any(h and needle in h.casefold() for h in hay):
                continue
        out.append(sdk)
    return out
