"""Permissions that gate personal information, and which of them an app holds.

Data file: ``qingdan/knowledge/data/permission_gates.yaml``. A *gate* is a permission without which
the platform returns no personal information from the APIs that need it: code that calls such an
API in an app holding none of the permissions the API's catalogue entry names is a capability,
not collection. The platform's compatibility grants (split permissions, implicit grants to old
target SDKs) count as held.

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

__all__ = ["DATA_FILE", "SCHEMA", "Gate", "gated_without", "held_permissions", "load_gates"]

SCHEMA = "qingdan.knowledge.permission-gates/1"
DATA_FILE = "data/permission_gates.yaml"
_FILE: KnowledgeFile[dict[str, Gate]] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check


@dataclass(frozen=True, slots=True)
class Gate:
    permission: str
    # (other permission or None, API level): held through the other permission when the app can run
    # below that level (minSdkVersion), or — other None — by every app targeting below it
    implied_by: tuple[tuple[str | None, int | None], ...]
    sources: tuple[str, ...]


def _level(value: Any, where: str) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return value
    raise _CK.fail(f"{where}: below_api must be a positive API level or null, got {value!r}")


def _parse(text: str) -> dict[str, Gate]:
    doc = _CK.load(text)
    sources = _CK.header(doc, SCHEMA)
    raw = doc.get("gates")
    if not isinstance(raw, list) or not raw:
        raise _CK.fail("gates must be a non-empty list")
    out: dict[str, Gate] = {}
    for i, e in enumerate(raw):
        where = f"gates[{i}]"
        _CK.entry(e, where, ("permission", "sources"), ("implied_by",))
        name = _CK.text(e["permission"], "permission", where)
        if name in out:
            raise _CK.fail(f"{where}: duplicate permission {name}")
        srcs = _CK.str_list(e["sources"], "sources", where)
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise _CK.fail(f"{where}: source keys {unknown} are not defined in sources")
        implied = []
        for j, imp in enumerate(e.get("implied_by") or []):
            w = f"{where}.implied_by[{j}]"
            _CK.entry(imp, w, ("permission", "below_api"))
            other = imp["permission"]
            if other is not None:
                other = _CK.text(other, "permission", w)
            level = _level(imp["below_api"], w)
            if other is None and level is None:
                raise _CK.fail(f"{w}: an implicit grant (permission null) needs below_api")
            implied.append((other, level))
        out[name] = Gate(name, tuple(implied), srcs)
    return out


@functools.cache
def load_gates() -> dict[str, Gate]:
    """Permission name → :class:`Gate`. Cached: treat as read-only."""
    return _FILE.build(_FILE.read_text(), _parse)


def held_permissions(requested: Iterable[tuple[str, int | None]], min_sdk: int, target_sdk: int) -> set[str]:
    """The permissions an app holds on some device it installs on: each ``(name, maxSdkVersion)``
    requested whose maxSdkVersion is not below ``min_sdk``, plus the gates the platform's
    compatibility grants give it."""
    held = {name for name, max_sdk in requested if max_sdk is None or max_sdk >= min_sdk}
    for g in list(load_gates().values()) * 2:  # twice: a grant may rest on another grant
        for other, below in g.implied_by:
            if other is None:
                if below is not None and target_sdk < below:
                    held.add(g.permission)
            elif other in held and (below is None or min_sdk < below):
                held.add(g.permission)
    return held


def gated_without(permissions: Iterable[str], held: set[str]) -> tuple[str, ...]:
    """The gating ``permissions`` of an API when the app holds none of them and every one is a gate
    (the API cannot return its data in this app); ``()`` otherwise."""
    perms = tuple(permissions)
    gates = load_gates()
    if not perms or any(p not in gates or p in held for p in perms):
        return ()
    return perms
