"""The 39 common app types of 《常见类型移动互联网应用程序必要个人信息范围规定》 (2021).

Data file: ``qingdan/knowledge/data/app_types.yaml``. Each type has the regulation's necessary
personal-information items (``necessary_text``, restated) and qingdan's mapping of them to PI type
keys of ``pi_types.yaml`` (``necessary_pi``). 13 types need no personal information at all for
their basic function service (``no_pi_needed``).

The file is loaded once per process and validated, including that every ``necessary_pi`` key is
defined in ``pi_types.yaml``; a malformed file raises :class:`ValueError` naming the file and the
offending entry.

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import DataChecker, KnowledgeFile

__all__ = [
    "DATA_FILE",
    "PI_FILE",
    "SCHEMA",
    "VERIFICATION_VALUES",
    "AppType",
    "find_app_type",
    "load_app_type_sources",
    "load_app_types",
    "user_provided_pi",
]

SCHEMA = "qingdan.knowledge.app-types/1"
#: Paths of the data files relative to the ``qingdan.knowledge`` package.
DATA_FILE = "data/app_types.yaml"
PI_FILE = "data/pi_types.yaml"
VERIFICATION_VALUES = ("confirmed", "partial", "recalled")

_FIELDS = ("no", "key", "zh", "en", "basic_function_zh", "necessary_text", "necessary_pi", "no_pi_needed",
           "verification", "sources")
_OPTIONAL = ("mapping_note", "verification_note")
_KEY_RE = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class AppType:
    """One app type of the regulation, with its necessary PI mapped to qingdan PI type keys."""

    no: int
    key: str
    zh: str
    en: str
    basic_function_zh: str
    necessary_text: tuple[str, ...]
    necessary_pi: frozenset[str]
    no_pi_needed: bool
    verification: str
    sources: tuple[str, ...]
    mapping_note: str | None = None
    verification_note: str | None = None

    @property
    def short_zh(self) -> str:
        """The Chinese name without the trailing 类 (网上购物类 -> 网上购物)."""
        return self.zh[:-1] if self.zh.endswith("类") else self.zh


@dataclass(frozen=True, slots=True)
class _Catalogue:
    types: dict[str, AppType]
    sources: dict[str, dict[str, Any]]
    lookup: dict[str, str]
    user_provided: frozenset[str] = frozenset()


class _Checker(DataChecker):
    """Values of this file are stripped of surrounding blanks."""

    def text(self, value: Any, field: str, where: str) -> str:
        return super().text(value, field, where).strip()

    def opt_text(self, value: Any, field: str, where: str) -> str | None:
        return None if value is None else self.text(value, field, where)

    def str_list(self, value: Any, field: str, where: str) -> tuple[str, ...]:
        return tuple(v.strip() for v in super().str_list(value, field, where))


_FILE: KnowledgeFile[_Catalogue] = KnowledgeFile(DATA_FILE, __file__, _Checker)
_PI_FILE: KnowledgeFile[Any] = KnowledgeFile(PI_FILE, __file__, _Checker)


def _pi_keys(raw: bytes) -> frozenset[str]:
    doc = _PI_FILE.check.load(raw)
    entries = doc.get("pi_types")
    if not isinstance(entries, list):
        raise _PI_FILE.check.fail("pi_types must be a list")
    return frozenset(e["key"] for e in entries if isinstance(e, dict) and isinstance(e.get("key"), str))


def _parse(raw: bytes, pi_raw: bytes) -> _Catalogue:
    ck = _FILE.check
    doc = ck.load(raw)
    sources = ck.header(doc, SCHEMA, source_fields=("title", "use"))
    raw_types = doc.get("types")
    if not isinstance(raw_types, list) or not raw_types:
        raise ck.fail("types must be a non-empty list")
    pi_keys = _pi_keys(pi_raw)
    provided = _user_provided(doc.get("user_provided"), pi_keys, sources)

    parsed: list[AppType] = []
    seen_no: dict[int, str] = {}
    seen_key: set[str] = set()
    seen_zh: set[str] = set()
    for i, e in enumerate(raw_types):
        label = e.get("key") if isinstance(e, dict) else None
        where = f"types[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        if not isinstance(e, dict):
            raise ck.fail(f"{where}: entry must be a mapping")
        if False in e and "no" not in e:  # an unquoted `no:` key reads as YAML 1.1 boolean false
            e = {("no" if k is False else k): v for k, v in e.items()}
        missing = [k for k in _FIELDS if k not in e]
        if missing:
            raise ck.fail(f"{where}: missing keys {missing}")
        extra = sorted(map(str, set(e) - set(_FIELDS) - set(_OPTIONAL)))
        if extra:
            raise ck.fail(f"{where}: unknown keys {extra}")
        no = e["no"]
        if isinstance(no, bool) or not isinstance(no, int) or no < 1:
            raise ck.fail(f"{where}: no must be a positive integer, got {no!r}")
        if no in seen_no:
            raise ck.fail(f"{where}: number {no} is already used by {seen_no[no]!r}")
        key = e["key"]
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ck.fail(f"{where}: key must be a lowercase snake_case slug, got {key!r}")
        if key in seen_key:
            raise ck.fail(f"{where}: duplicate key")
        zh = ck.text(e["zh"], "zh", where)
        if not zh.endswith("类") or len(zh) < 2:
            raise ck.fail(f"{where}: zh must be the type's Chinese name ending in 类, got {zh!r}")
        if zh in seen_zh:
            raise ck.fail(f"{where}: duplicate Chinese name {zh!r}")
        necessary_text = ck.str_list(e["necessary_text"], "necessary_text", where)
        necessary_pi = ck.str_list(e["necessary_pi"], "necessary_pi", where)
        unknown = [k for k in necessary_pi if k not in pi_keys]
        if unknown:
            raise ck.fail(f"{where}: necessary_pi keys {unknown} are not defined in {PI_FILE}")
        no_pi = e["no_pi_needed"]
        if not isinstance(no_pi, bool):
            raise ck.fail(f"{where}: no_pi_needed must be true or false")
        if no_pi and (necessary_pi or necessary_text):
            raise ck.fail(f"{where}: no_pi_needed is true but necessary_text/necessary_pi are not empty")
        if not no_pi and not (necessary_pi and necessary_text):
            raise ck.fail(f"{where}: no_pi_needed is false but necessary_text or necessary_pi is empty")
        verification = e["verification"]
        if verification not in VERIFICATION_VALUES:
            raise ck.fail(f"{where}: verification must be one of {list(VERIFICATION_VALUES)}, got "
                          f"{verification!r}")
        srcs = ck.str_list(e["sources"], "sources", where)
        if not srcs:
            raise ck.fail(f"{where}: sources must not be empty")
        undefined = [s for s in srcs if s not in sources]
        if undefined:
            raise ck.fail(f"{where}: source keys {undefined} are not defined in sources")
        seen_no[no] = key
        seen_key.add(key)
        seen_zh.add(zh)
        parsed.append(AppType(
            no=no,
            key=key,
            zh=zh,
            en=ck.text(e["en"], "en", where),
            basic_function_zh=ck.text(e["basic_function_zh"], "basic_function_zh", where),
            necessary_text=necessary_text,
            necessary_pi=frozenset(necessary_pi),
            no_pi_needed=no_pi,
            verification=verification,
            sources=srcs,
            mapping_note=ck.opt_text(e.get("mapping_note"), "mapping_note", where),
            verification_note=ck.opt_text(e.get("verification_note"), "verification_note", where),
        ))

    parsed.sort(key=lambda t: t.no)
    types = {t.key: t for t in parsed}
    lookup: dict[str, str] = {}
    for t in parsed:
        for alias in (t.key, str(t.no), t.zh, t.short_zh, t.en.casefold()):
            if alias in lookup and lookup[alias] != t.key:
                raise ck.fail(f"types ({t.key}): name {alias!r} also names {lookup[alias]!r}")
            lookup[alias] = t.key
    return _Catalogue(types, sources, lookup, provided)


def _user_provided(raw: Any, pi_keys: frozenset[str], sources: dict[str, Any]) -> frozenset[str]:
    ck = _FILE.check
    if not isinstance(raw, list) or not raw:
        raise ck.fail("user_provided must be a non-empty list")
    out = set()
    for i, e in enumerate(raw):
        where = f"user_provided[{i}]"
        ck.entry(e, where, ("pi", "why", "sources"))
        pi = ck.text(e["pi"], "pi", where)
        if pi not in pi_keys:
            raise ck.fail(f"{where}: pi {pi!r} is not defined in {PI_FILE}")
        ck.text(e["why"], "why", where)
        undefined = [s for s in ck.str_list(e["sources"], "sources", where) if s not in sources]
        if undefined:
            raise ck.fail(f"{where}: source keys {undefined} are not defined in sources")
        out.add(pi)
    return frozenset(out)


@functools.cache
def _catalogue() -> _Catalogue:
    pi_raw = _PI_FILE.raw()
    # the cache key covers both files: an edit to pi_types.yaml re-validates the mapping
    return _FILE.build(_FILE.raw(), lambda raw: _parse(raw, pi_raw), key_extra=b"\0" + pi_raw)


def load_app_types() -> dict[str, AppType]:
    """All 39 app types keyed by ``key``, ordered by their number in the regulation.

    The result is cached and shared between callers: treat it as read-only.
    """
    return _catalogue().types


def load_app_type_sources() -> dict[str, dict[str, Any]]:
    """The ``sources`` table of the data file (key -> title, url, use, ...)."""
    return {k: dict(v) for k, v in _catalogue().sources.items()}


def user_provided_pi() -> frozenset[str]:
    """PI types that a type's necessary items name but the user provides (or the service holds):
    no device permission serves them (``user_provided`` of the data file)."""
    return _catalogue().user_provided


def find_app_type(value: str | int) -> AppType | None:
    """The app type named by ``value``: its key (``online_shopping``), its number (``"6"``), its
    Chinese name with or without the trailing 类 (``网上购物类``, ``网上购物``) or its English name
    (case-insensitive). ``None`` when nothing matches."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not text:
        return None
    cat = _catalogue()
    hit = cat.lookup.get(text) or cat.lookup.get(text.casefold())
    if hit is None and text.isdigit():
        hit = cat.lookup.get(str(int(text)))  # "06"
    return cat.types[hit] if hit else None
