"""Personal-information (PI) types: GB/T 35273-2020 category, sensitivity, synonyms.

The data lives in ``qingdan/knowledge/data/pi_types.yaml`` (package data). It is loaded once
per process and validated; a malformed file raises :class:`ValueError` naming the file and the
offending entry.

``sensitive`` is a string, not a bool: ``"true"`` (GB/T 35273-2020 B.1 or PIPL Art. 28 name it),
``"false"``, or ``"context"`` (depends on the processing activity; the entry's ``note`` says why).

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

__all__ = [
    "DATA_FILE",
    "SCHEMA",
    "SENSITIVE_VALUES",
    "PICategory",
    "PIType",
    "load_pi_categories",
    "load_pi_sources",
    "load_pi_types",
    "pi_type",
    "synonym_index",
]

SCHEMA = "qingdan.knowledge.pi/1"
#: Path of the data file relative to the ``qingdan.knowledge`` package.
DATA_FILE = "data/pi_types.yaml"
_FILE: KnowledgeFile[_Knowledge] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check
_fail = _CK.fail
_text = _CK.text
_str_list = _CK.str_list
SENSITIVE_VALUES = frozenset({"true", "false", "context"})
#: Permitted values of ``sensitive_basis``.
SENSITIVE_BASES = frozenset({"gbt35273-2020-b1", "gbt35273-2017-b1", "pipl-28", "gbt45574-2025"})
MAX_SYNONYMS = 15

_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FIDES_RE = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)*$")

_REQUIRED = ("key", "zh", "en", "category", "sensitive", "sensitive_basis", "synonyms", "fideslang",
             "sources")
_OPTIONAL = ("non_resettable", "note", "platforms")
PLATFORMS = frozenset({"android", "ios", "harmonyos"})


@dataclass(frozen=True, slots=True)
class PIType:
    """One kind of personal information (``imei``, ``precise_location`` ...)."""

    key: str
    zh: str
    en: str
    category: str
    sensitive: str  # "true" | "false" | "context"
    non_resettable: bool
    synonyms: tuple[str, ...]
    fideslang: str | None
    sources: tuple[str, ...]
    sensitive_basis: tuple[str, ...] = ()
    note: str | None = None
    platforms: tuple[str, ...] = ()  # where the type exists, when not every platform (idfa: ios)

    def on(self, platform: str) -> bool:
        """Whether an app of ``platform`` (``android``, ``ios``…) can hold this type at all."""
        return not self.platforms or platform in self.platforms

    @property
    def is_sensitive(self) -> bool:
        """True only for types the standards name as sensitive outright (not ``context``)."""
        return self.sensitive == "true"


@dataclass(frozen=True, slots=True)
class PICategory:
    """A GB/T 35273-2020 Annex A category."""

    key: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class _Knowledge:
    types: dict[str, PIType]
    categories: dict[str, PICategory]
    sources: dict[str, dict[str, Any]]


def _read_text() -> str:
    return _FILE.read_text()


def _parse(text: str) -> _Knowledge:
    doc = _CK.load(text)
    sources = _CK.header(doc, SCHEMA)

    raw_cats = doc.get("categories")
    if not isinstance(raw_cats, list) or not raw_cats:
        raise _fail("categories must be a non-empty list")
    categories: dict[str, PICategory] = {}
    for i, c in enumerate(raw_cats):
        where = f"categories[{i}]"
        if not isinstance(c, dict) or set(c) != {"key", "zh", "en"}:
            raise _fail(f"{where}: must have exactly the keys key, zh, en")
        key = _text(c["key"], "key", where)
        if key in categories:
            raise _fail(f"{where} ({key}): duplicate category")
        categories[key] = PICategory(key, _text(c["zh"], "zh", where), _text(c["en"], "en", where))

    raw = doc.get("pi_types")
    if not isinstance(raw, list) or not raw:
        raise _fail("pi_types must be a non-empty list")
    types: dict[str, PIType] = {}
    seen_synonyms: dict[str, str] = {}
    for i, e in enumerate(raw):
        label = e.get("key") if isinstance(e, dict) else None
        where = f"pi_types[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        if not isinstance(e, dict):
            raise _fail(f"{where}: entry must be a mapping")
        missing = [k for k in _REQUIRED if k not in e]
        if missing:
            raise _fail(f"{where}: missing keys {missing}")
        extra = sorted(set(e) - set(_REQUIRED) - set(_OPTIONAL))
        if extra:
            raise _fail(f"{where}: unknown keys {extra}")
        key = _text(e["key"], "key", where)
        if not _KEY_RE.match(key):
            raise _fail(f"{where}: key must be lower_snake_case")
        if key in types:
            raise _fail(f"{where}: duplicate key")
        category = e["category"]
        if category not in categories:
            raise _fail(f"{where}: category {category!r} is not in categories")
        # YAML reads true/false as bools; accept them and the quoted strings alike.
        sens = e["sensitive"]
        sensitive = ("true" if sens else "false") if isinstance(sens, bool) else sens
        if sensitive not in SENSITIVE_VALUES:
            raise _fail(f"{where}: sensitive must be true, false or context, got {sens!r}")
        basis = _str_list(e["sensitive_basis"], "sensitive_basis", where)
        bad = [b for b in basis if b not in SENSITIVE_BASES]
        if bad:
            raise _fail(f"{where}: sensitive_basis values {bad} are not among {sorted(SENSITIVE_BASES)}")
        note = e.get("note")
        if note is not None:
            note = _text(note, "note", where)
        if sensitive == "true" and not basis:
            raise _fail(f"{where}: a sensitive type must name its sensitive_basis")
        if sensitive == "false" and basis:
            raise _fail(f"{where}: a non-sensitive type must have an empty sensitive_basis")
        if sensitive == "context" and note is None:
            raise _fail(f"{where}: sensitive: context needs a note saying on what it depends")
        nr = e.get("non_resettable", False)
        if not isinstance(nr, bool):
            raise _fail(f"{where}: non_resettable must be true or false, got {nr!r}")
        synonyms = _str_list(e["synonyms"], "synonyms", where)
        if not synonyms or len(synonyms) > MAX_SYNONYMS:
            raise _fail(f"{where}: synonyms must list 1 to {MAX_SYNONYMS} words, got {len(synonyms)}")
        for s in synonyms:
            folded = s.strip().casefold()
            if folded in seen_synonyms:
                raise _fail(f"{where}: synonym {s!r} is already a synonym of {seen_synonyms[folded]!r}")
            seen_synonyms[folded] = key
        fides = e["fideslang"]
        if fides is not None and (not isinstance(fides, str) or not _FIDES_RE.match(fides)):
            raise _fail(f"{where}: fideslang must be a dotted fides_key or null, got {fides!r}")
        srcs = _str_list(e["sources"], "sources", where)
        if not srcs:
            raise _fail(f"{where}: sources must not be empty")
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise _fail(f"{where}: source keys {unknown} are not defined in sources")
        platforms = _str_list(e.get("platforms", []), "platforms", where)
        if not set(platforms) <= PLATFORMS:
            raise _fail(f"{where}: platforms must be among {sorted(PLATFORMS)}, got {list(platforms)}")
        types[key] = PIType(
            key=key,
            zh=_text(e["zh"], "zh", where),
            en=_text(e["en"], "en", where),
            category=category,
            sensitive=sensitive,
            non_resettable=nr,
            synonyms=synonyms,
            fideslang=fides,
            sources=srcs,
            sensitive_basis=basis,
            note=note,
            platforms=platforms,
        )
    return _Knowledge(types, categories, sources)


@functools.cache
def _knowledge() -> _Knowledge:
    return _FILE.build(_read_text(), _parse)


@functools.cache
def load_pi_types() -> dict[str, PIType]:
    """All PI types keyed by ``key``, in file order.

    The result is cached and shared between callers: treat it as read-only.
    """
    return _knowledge().types


def load_pi_categories() -> dict[str, PICategory]:
    """The GB/T 35273-2020 Annex A categories keyed by ``key``, in file order."""
    return dict(_knowledge().categories)


def load_pi_sources() -> dict[str, dict[str, Any]]:
    """The ``sources`` table of the knowledge file (key -> description)."""
    return {k: dict(v) for k, v in _knowledge().sources.items()}


def pi_type(key: str) -> PIType | None:
    """The PI type for ``key``, or ``None`` if the file does not define it."""
    return load_pi_types().get(key.strip())


@functools.cache
def synonym_index() -> dict[str, str]:
    """Case-folded synonym -> PI type key (each synonym belongs to exactly one type).

    Meant for policy-text matching, e.g. as a jieba user dictionary; cached, treat as read-only.
    """
    return {s.casefold(): t.key for t in load_pi_types().values() for s in t.synonyms}
