"""Manifest signals many SDKs share (``knowledge/data/sdk_shared_signals.yaml``).

An intent action, permission or meta-data key that many SDKs (or apps with none) declare is
evidence for none of them alone: the scan never names an SDK from one, and never raises an SDK's
confidence with one. Signals listed by two or more catalogue entries count as shared too; the scan
computes those from the catalogue (``checks/sdks.py``).

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from qingdan.knowledge._data import DataChecker, KnowledgeFile

__all__ = ["SHARED_SIGNALS_FILE", "SHARED_SIGNAL_KINDS", "SharedSignal", "load_shared_signals"]

SHARED_SIGNALS_FILE = "data/sdk_shared_signals.yaml"
SHARED_SIGNALS_SCHEMA = "qingdan.knowledge.sdk_shared_signals/1"
#: Kinds of manifest signal an entry may name (the SdkSignatures field they come from).
SHARED_SIGNAL_KINDS = ("actions", "permissions", "meta_data")

_FILE: KnowledgeFile[dict] = KnowledgeFile(SHARED_SIGNALS_FILE, __file__, DataChecker)


def _read_text() -> str:
    return _FILE.read_text()


@dataclass(frozen=True, slots=True)
class SharedSignal:
    """A manifest signal many SDKs use (``INSTALL_REFERRER``, the C2DM actions): evidence that
    supports an SDK found otherwise, never enough to name one."""

    kind: str  # actions | permissions | meta_data
    name: str
    sources: tuple[str, ...]
    why: str


def _parse_shared(text: str) -> dict[tuple[str, str], SharedSignal]:
    ck = _FILE.check
    doc = ck.load(text)
    sources = ck.header(doc, SHARED_SIGNALS_SCHEMA)
    raw = doc.get("signals")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("signals must be a non-empty list")
    out: dict[tuple[str, str], SharedSignal] = {}
    for i, e in enumerate(raw):
        where = f"signals[{i}]"
        if not isinstance(e, dict) or set(e) != {"kind", "name", "sources", "why"}:
            raise ck.fail(f"{where}: must have exactly the keys kind, name, sources, why")
        if e["kind"] not in SHARED_SIGNAL_KINDS:
            raise ck.fail(f"{where}: kind must be one of {list(SHARED_SIGNAL_KINDS)}, got {e['kind']!r}")
        name = ck.text(e["name"], "name", where)
        srcs = ck.str_list(e["sources"], "sources", where, allow_empty=False)
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise ck.fail(f"{where}: source keys {unknown} are not defined in sources")
        if (e["kind"], name) in out:
            raise ck.fail(f"{where}: duplicate {e['kind']} {name!r}")
        out[(e["kind"], name)] = SharedSignal(e["kind"], name, srcs, ck.text(e["why"], "why", where))
    return out


@functools.cache
def load_shared_signals() -> dict[tuple[str, str], SharedSignal]:
    """The curated shared signals, keyed by (kind, name); kind is ``actions``, ``permissions`` or
    ``meta_data``. Signals listed by two or more catalogue SDKs count as shared too (the scan
    computes those from the catalogue)."""
    return _FILE.build(_read_text(), _parse_shared)
