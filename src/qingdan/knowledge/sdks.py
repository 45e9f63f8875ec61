"""Third-party SDK catalogue: names, operating company, category, detection signatures, PI types.

Two data files (package data):

* ``qingdan/knowledge/data/sdks.yaml`` -- the project's own catalogue (Apache-2.0: facts from
  LibChecker-Rules and AppScan with attribution, plus facts from vendors' public policies).
* ``qingdan/knowledge/data/sdks_exodus.yaml`` -- the Exodus Privacy tracker signatures, a separate
  database under the ODbL 1.0 (see the header of that file). It is never merged into the catalogue.

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

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import DataChecker, KnowledgeFile

__all__ = [
    "CATEGORIES",
    "DATA_FILE",
    "EXODUS_FILE",
    "EXODUS_SCHEMA",
    "GENERIC_PACKAGE_PREFIXES",
    "KINDS",
    "SCHEMA",
    "SHARED_PACKAGE_PREFIXES",
    "SIGNATURE_KINDS",
    "ExodusTracker",
    "Sdk",
    "SdkSignatures",
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
_URL_RE = re.compile(r"^https?://\S+$")
_FIELDS = ("id", "name_zh", "name_en", "company", "company_en", "country", "category", "kind", "signatures",
           "pi_types", "policy_url", "sources")
_OPTIONAL = ("verified", "purpose", "refs")
#: ``sdk``: a vendor runs a service behind the code (it counts for the double lists); ``library``:
#: open-source or vendor-neutral code with no service behind it (Glide, OkHttp, AndroidX…).
KINDS = ("sdk", "library")
_EXODUS_FIELDS = ("id", "name", "website", "categories", "code_signatures", "network_signatures", "source")


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


@dataclass(frozen=True, slots=True)
class ExodusTracker:
    """One tracker of the Exodus Privacy database (ODbL 1.0; see ``sdks_exodus.yaml``)."""

    id: str
    name: str
    website: str | None
    categories: tuple[str, ...]
    code_signatures: tuple[str, ...]
    network_signatures: tuple[str, ...]


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
        if url is not None and (not isinstance(url, str) or not _URL_RE.match(url)):
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
        bad = [r for r in refs if not _URL_RE.match(r)]
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
        if not isinstance(e, dict) or set(e) != set(_EXODUS_FIELDS):
            raise ck.fail(f"{where}: must have exactly the keys {list(_EXODUS_FIELDS)}")
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
        out.append(ExodusTracker(
            id=tid,
            name=name,
            website=ck.opt_text(e["website"], "website", where),
            categories=ck.str_list(e["categories"], "categories", where),
            code_signatures=code,
            network_signatures=net,
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
    return _FILES[EXODUS_FILE].build(_read_text(EXODUS_FILE), _parse_exodus)


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
