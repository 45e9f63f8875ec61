"""Android's entry points and the framework callbacks that run without a user action.

Data file ``qingdan/knowledge/data/android_callbacks.yaml`` (package data): ``async`` lists framework
types (``java.lang.Runnable``, ``android.os.Handler`` …) with the callbacks that run once an app object
extending or implementing them is handed over; ``start_entries`` lists, per kind of component, the
methods Android calls when it starts the app's process. Methods are ``name(params)ret`` in JVM
notation. Loaded once per process and validated; a malformed file raises :class:`ValueError` naming the
file and the entry. This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

__all__ = ["DATA_FILE", "SCHEMA", "START_COMPONENTS", "StartEntry", "async_callbacks", "start_entries"]

SCHEMA = "qingdan.knowledge.android/1"
DATA_FILE = "data/android_callbacks.yaml"
START_COMPONENTS = ("application", "provider", "system-receiver", "launcher")
_JTYPE = r"\[*([ZBSCIJFD]|L[^;()]+;)"
_METHOD_RE = re.compile(rf"^(<init>|<clinit>|[A-Za-z_$][\w$]*)\(({_JTYPE})*\)(V|{_JTYPE})$")
_TYPE_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")


@dataclass(frozen=True, slots=True)
class StartEntry:
    component: str  # application | provider | system-receiver | launcher
    methods: tuple[tuple[str, str], ...]  # (name, signature)
    why: str


def split_method(m: str) -> tuple[str, str]:
    """``"onCreate(Landroid/os/Bundle;)V"`` → ``("onCreate", "(Landroid/os/Bundle;)V")``."""
    i = m.index("(")
    return m[:i], m[i:]


_FILE: KnowledgeFile[Any] = KnowledgeFile(DATA_FILE, __file__)


def _read_text() -> str:
    return _FILE.read_text()


def _methods(ck, value: Any, where: str) -> tuple[tuple[str, str], ...]:
    ms = ck.str_list(value, "methods", where, allow_empty=False)
    bad = [m for m in ms if not _METHOD_RE.match(m)]
    if bad:
        raise ck.fail(f"{where}: methods {bad!r} are not name(params)ret in JVM notation")
    return tuple(split_method(m) for m in ms)


def _common(ck, e: dict, where: str, sources: dict) -> None:
    ck.text(e["why"], "why", where)
    ck.sources_and_refs(e, where, sources)


def _parse(text: str) -> tuple[dict[str, tuple[tuple[str, str], ...]], tuple[StartEntry, ...]]:
    ck = _FILE.check
    doc = ck.load(text)
    sources = ck.header(doc, SCHEMA, source_fields=("title", "licence"))
    asyncs: dict[str, tuple[tuple[str, str], ...]] = {}
    raw = doc.get("async")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("async must be a non-empty list")
    for i, e in enumerate(raw):
        where = f"async[{i}]"
        ck.entry(e, where, ("type", "runs", "why", "sources", "refs"))
        t = ck.text(e["type"], "type", where)
        if not _TYPE_RE.match(t):
            raise ck.fail(f"{where}: type {t!r} is not a dotted Java class name")
        desc = "L" + t.replace(".", "/") + ";"
        if desc in asyncs:
            raise ck.fail(f"{where}: type {t} listed twice")
        asyncs[desc] = _methods(ck, e["runs"], where)
        _common(ck, e, where, sources)
    starts: list[StartEntry] = []
    raw = doc.get("start_entries")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("start_entries must be a non-empty list")
    for i, e in enumerate(raw):
        where = f"start_entries[{i}]"
        ck.entry(e, where, ("component", "methods", "why", "sources", "refs"))
        if e["component"] not in START_COMPONENTS or any(s.component == e["component"] for s in starts):
            raise ck.fail(f"{where}: component must be one of {START_COMPONENTS}, each once")
        _common(ck, e, where, sources)
        starts.append(StartEntry(e["component"], _methods(ck, e["methods"], where), e["why"]))
    return asyncs, tuple(starts)


@functools.cache
def _loaded():
    return _FILE.build(_read_text(), _parse)


def async_callbacks() -> dict[str, tuple[tuple[str, str], ...]]:
    """Framework type descriptor (``Ljava/lang/Runnable;``) → its callbacks (name, signature)."""
    return _loaded()[0]


def start_entries() -> dict[str, StartEntry]:
    """Component kind → the methods Android calls when it starts the process."""
    return {s.component: s for s in _loaded()[1]}
