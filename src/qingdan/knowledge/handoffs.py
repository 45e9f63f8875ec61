"""User-initiated hand-offs: the other apps an SDK opens when the user asks it to pay, log in,
share or navigate (``qingdan/knowledge/data/handoffs.yaml``).

Such a start is the user's own request, not the associated start (关联启动) of one app waking
another in the background. The file is loaded once per process and validated; a malformed file
raises :class:`ValueError` naming the file and the offending entry.

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from qingdan.knowledge._data import KnowledgeFile

__all__ = ["DATA_FILE", "KINDS", "SCHEMA", "HandOff", "handoffs_of", "load_handoffs"]

SCHEMA = "qingdan.knowledge.handoffs/1"
DATA_FILE = "data/handoffs.yaml"
KINDS = ("payment", "login", "share", "navigation")
_STARTS = frozenset({"startActivity", "startActivities", "bindService"})
_PACKAGE_RE = re.compile(r"^[A-Za-z][\w]*(\.[A-Za-z_][\w]*)+$")
_FILE: KnowledgeFile[tuple[HandOff, ...]] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check


@dataclass(frozen=True, slots=True)
class HandOff:
    kind: str  # payment | login | share | navigation
    sdks: tuple[str, ...]
    targets: frozenset[str]
    starts: frozenset[str]
    sources: tuple[str, ...]


def _parse(text: str) -> tuple[HandOff, ...]:
    doc = _CK.load(text)
    sources = _CK.header(doc, SCHEMA)
    raw = doc.get("handoffs")
    if not isinstance(raw, list) or not raw:
        raise _CK.fail("handoffs must be a non-empty list")
    out = []
    for i, e in enumerate(raw):
        where = f"handoffs[{i}]"
        _CK.entry(e, where, ("kind", "sdks", "targets", "starts", "sources"))
        if e["kind"] not in KINDS:
            raise _CK.fail(f"{where}: kind must be one of {list(KINDS)}, got {e['kind']!r}")
        targets = _CK.str_list(e["targets"], "targets", where)
        bad = [t for t in targets if not _PACKAGE_RE.match(t)]
        if bad:
            raise _CK.fail(f"{where}: targets must be package names, got {bad}")
        starts = _CK.str_list(e["starts"], "starts", where)
        if not set(starts) <= _STARTS:
            raise _CK.fail(f"{where}: starts must be among {sorted(_STARTS)}, got {list(starts)}")
        srcs = _CK.str_list(e["sources"], "sources", where)
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise _CK.fail(f"{where}: source keys {unknown} are not defined in sources")
        out.append(HandOff(e["kind"], _CK.str_list(e["sdks"], "sdks", where), frozenset(targets),
                           frozenset(starts), srcs))
    return tuple(out)


@functools.cache
def load_handoffs() -> tuple[HandOff, ...]:
    """Every entry, in file order. Cached: treat as read-only."""
    return _FILE.build(_FILE.read_text(), _parse)


@functools.cache
def _by_sdk() -> dict[str, tuple[HandOff, ...]]:
    out: dict[str, list[HandOff]] = {}
    for h in load_handoffs():
        for sid in h.sdks:
            out.setdefault(sid, []).append(h)
    return {k: tuple(v) for k, v in out.items()}


def handoffs_of(sdk_id: str) -> tuple[HandOff, ...]:
    """The hand-offs the SDK ``sdk_id`` makes (empty for any other owner)."""
    return _by_sdk().get(sdk_id, ())
