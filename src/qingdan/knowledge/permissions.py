"""Android permission knowledge: protection level, group, Chinese name and PI types.

The data lives in ``qingdan/knowledge/data/permissions.yaml`` (package data). It is loaded
once per process and validated; a malformed file raises :class:`ValueError` naming the
file and the offending entry.

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

__all__ = [
    "DATA_FILE",
    "PROTECTION_LEVELS",
    "SCHEMA",
    "PermissionGroup",
    "PermissionInfo",
    "load_permission_groups",
    "load_permissions",
    "load_sources",
    "permission_info",
    "protection_level",
]

SCHEMA = "qingdan.knowledge.permissions/1"
#: Path of the data file relative to the ``qingdan.knowledge`` package.
DATA_FILE = "data/permissions.yaml"
_FILE: KnowledgeFile[_Knowledge] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check
_fail = _CK.fail
_text = _CK.text
_str_list = _CK.str_list
PROTECTION_LEVELS = frozenset({"dangerous", "normal", "signature", "special"})
UNKNOWN = "unknown"


_REQUIRED = ("name", "protection", "group", "zh", "en", "added", "deprecated", "pi_types", "source")
_OPTIONAL = ("note", "alone_pi_types")


@dataclass(frozen=True, slots=True)
class PermissionInfo:
    """One Android permission as described in the knowledge file."""

    name: str
    protection: str
    group: str | None
    zh: str
    en: str
    added: int | None
    deprecated: int | None
    pi_types: tuple[str, ...]
    sources: tuple[str, ...]
    note: str | None = None
    # the part of pi_types the permission alone is evidence of (the file's alone_pi_types_meaning)
    alone_pi_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PermissionGroup:
    """A user-facing runtime permission group (e.g. ``LOCATION``)."""

    name: str
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class _Knowledge:
    permissions: dict[str, PermissionInfo]
    groups: dict[str, PermissionGroup]
    sources: dict[str, dict[str, Any]]


def _read_text() -> str:
    return _FILE.read_text()


def _opt_int(value: Any, field: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _fail(f"{where}: {field} must be a positive integer or null, got {value!r}")
    return value


def _parse(text: str | bytes) -> _Knowledge:
    doc = _CK.load(text)
    sources = _CK.header(doc, SCHEMA)

    raw_groups = doc.get("permission_groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise _fail("permission_groups must be a non-empty list")
    groups: dict[str, PermissionGroup] = {}
    for i, g in enumerate(raw_groups):
        where = f"permission_groups[{i}]"
        if not isinstance(g, dict) or set(g) != {"name", "zh", "en"}:
            raise _fail(f"{where}: must have exactly the keys name, zh, en")
        name = _text(g["name"], "name", where)
        if name in groups:
            raise _fail(f"{where} ({name}): duplicate group")
        groups[name] = PermissionGroup(name, _text(g["zh"], "zh", where), _text(g["en"], "en", where))

    raw = doc.get("permissions")
    if not isinstance(raw, list) or not raw:
        raise _fail("permissions must be a non-empty list")
    perms: dict[str, PermissionInfo] = {}
    for i, e in enumerate(raw):
        label = e.get("name") if isinstance(e, dict) else None
        where = f"permissions[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        if not isinstance(e, dict):
            raise _fail(f"{where}: entry must be a mapping")
        missing = [k for k in _REQUIRED if k not in e]
        if missing:
            raise _fail(f"{where}: missing keys {missing}")
        extra = sorted(set(e) - set(_REQUIRED) - set(_OPTIONAL))
        if extra:
            raise _fail(f"{where}: unknown keys {extra}")
        name = _text(e["name"], "name", where)
        if name in perms:
            raise _fail(f"{where}: duplicate permission name")
        protection = e["protection"]
        if protection not in PROTECTION_LEVELS:
            raise _fail(f"{where}: protection must be one of {sorted(PROTECTION_LEVELS)}, got {protection!r}")
        group = e["group"]
        if group is not None and group not in groups:
            raise _fail(f"{where}: group {group!r} is not in permission_groups")
        srcs = _str_list(e["source"], "source", where, allow_scalar=True)
        if not srcs:
            raise _fail(f"{where}: source must not be empty")
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise _fail(f"{where}: source keys {unknown} are not defined in sources")
        note = e.get("note")
        if note is not None:
            note = _text(note, "note", where)
        added = _opt_int(e["added"], "added", where)
        deprecated = _opt_int(e["deprecated"], "deprecated", where)
        if added is not None and deprecated is not None and deprecated < added:
            raise _fail(f"{where}: deprecated ({deprecated}) is before added ({added})")
        pi_types = _str_list(e["pi_types"], "pi_types", where)
        alone = _str_list(e.get("alone_pi_types", []), "alone_pi_types", where)
        if not set(alone) <= set(pi_types):
            raise _fail(f"{where}: alone_pi_types {sorted(set(alone) - set(pi_types))} are not in pi_types")
        perms[name] = PermissionInfo(
            name=name,
            protection=protection,
            group=group,
            zh=_text(e["zh"], "zh", where),
            en=_text(e["en"], "en", where),
            added=added,
            deprecated=deprecated,
            pi_types=pi_types,
            sources=srcs,
            note=note,
            alone_pi_types=alone,
        )
    return _Knowledge(perms, groups, sources)


@functools.cache
def _knowledge() -> _Knowledge:
    return _FILE.build(_read_text(), _parse)


@functools.cache
def load_permissions() -> dict[str, PermissionInfo]:
    """All permissions in the knowledge file, keyed by full permission name.

    The result is cached and shared between callers: treat it as read-only.
    """
    return _knowledge().permissions


def load_permission_groups() -> dict[str, PermissionGroup]:
    """Runtime permission groups (``LOCATION`` ...) with their Chinese and English names."""
    return dict(_knowledge().groups)


def load_sources() -> dict[str, dict[str, Any]]:
    """The ``sources`` table of the knowledge file (key -> description)."""
    return {k: dict(v) for k, v in _knowledge().sources.items()}


def permission_info(name: str) -> PermissionInfo | None:
    """The entry for a permission name, or ``None`` if the file does not know it."""
    return load_permissions().get(name.strip())


def protection_level(name: str) -> str:
    """``dangerous``, ``normal``, ``signature`` or ``special``; ``unknown`` for names not in
    the file (typically an app's or SDK's own custom permission)."""
    info = permission_info(name)
    return info.protection if info is not None else UNKNOWN
