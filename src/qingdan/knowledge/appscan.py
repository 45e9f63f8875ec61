"""The 82 check items of AppScan mapped to qingdan's rules (``knowledge/data/appscan_items.yaml``).

AppScan is the tool China's testing labs and app makers use for the MIIT actions; a person marks each
item while the app runs. Each item here says whether qingdan decides it unattended (``auto``), covers
part of it (``partial``), could check it statically but does not yet (``open``), or cannot without the
running app or a person (``runtime``), with the rules involved and one line on why. Loaded once and
validated against the rule catalogue; a malformed file raises :class:`ValueError` naming the entry.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile
from qingdan.knowledge.rules import load_rules

__all__ = ["DATA_FILE", "SCHEMA", "STATUSES", "AppScanItem", "load_appscan_items"]

SCHEMA = "qingdan.knowledge.appscan/1"
DATA_FILE = "data/appscan_items.yaml"
STATUSES = ("auto", "partial", "open", "runtime")
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True, slots=True)
class AppScanItem:
    id: str
    n: int
    title: str
    type: str
    status: str
    rules: tuple[str, ...]
    why: str


_FILE: KnowledgeFile[Any] = KnowledgeFile(DATA_FILE, __file__)


def _read_text() -> str:
    return _FILE.read_text()


def _parse(text: str) -> tuple[AppScanItem, ...]:
    ck = _FILE.check
    doc = ck.load(text)
    ck.header(doc, SCHEMA, source_fields=("title", "licence"))
    raw = doc.get("items")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("items must be a non-empty list")
    rules = load_rules()
    out: list[AppScanItem] = []
    seen: set[str] = set()
    for i, e in enumerate(raw):
        where = f"items[{i}]"
        ck.entry(e, where, ("id", "n", "title", "type", "status", "rules", "why"))
        if not isinstance(e["id"], str) or not _ID_RE.match(e["id"]) or e["id"] in seen:
            raise ck.fail(f"{where}: id must be AppScan's 32-hex item id, once")
        seen.add(e["id"])
        if e["n"] != i + 1:
            raise ck.fail(f"{where}: n must be {i + 1} (the item's place in AppScan's list)")
        status = e["status"]
        if status not in STATUSES:
            raise ck.fail(f"{where}: status must be one of {STATUSES}")
        ids = ck.str_list(e["rules"], "rules", where)
        unknown = [r for r in ids if r not in rules]
        if unknown:
            raise ck.fail(f"{where}: rules {unknown} are not in the rule catalogue")
        if status in ("auto", "partial") and not ids:
            raise ck.fail(f"{where}: an {status} item names the rules that check it")
        if status in ("open", "runtime") and ids:
            raise ck.fail(f"{where}: an {status} item has no rule yet; make it partial or auto")
        title, kind = ck.text(e["title"], "title", where), ck.text(e["type"], "type", where)
        out.append(AppScanItem(e["id"], e["n"], title, kind, status, ids, ck.text(e["why"], "why", where)))
    return tuple(out)


@functools.cache
def load_appscan_items() -> tuple[AppScanItem, ...]:
    """The 82 items in AppScan's order (cached and shared: treat as read-only)."""
    return _FILE.build(_read_text(), _parse)
