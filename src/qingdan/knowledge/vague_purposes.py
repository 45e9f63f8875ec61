"""Catch-all purpose phrases (提升服务质量, 业务需要 …) that name no business function.

The data lives in ``qingdan/knowledge/data/vague_purposes.yaml``: each phrase a regular expression
with the sources that name it (《App违法违规收集使用个人信息行为认定方法》, GB/T 35273-2020 5.3, TC260
guidance). :func:`vague_phrases` tells which phrases a purpose uses and whether anything concrete is
left beside them. The file is loaded once per process and validated; a malformed file raises
:class:`ValueError` naming the file and the offending entry.

This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

__all__ = ["DATA_FILE", "SCHEMA", "VaguePhrase", "is_catch_all", "load_vague_phrases", "vague_phrases"]

SCHEMA = "qingdan.knowledge.vague-purposes/1"
DATA_FILE = "data/vague_purposes.yaml"
_FILE: KnowledgeFile[_Knowledge] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check
_FIELDS = ("id", "zh", "pattern", "sources", "verified")


@dataclass(frozen=True, slots=True)
class VaguePhrase:
    id: str
    zh: str
    pattern: str
    sources: tuple[str, ...]
    verified: bool


@dataclass(frozen=True, slots=True)
class _Knowledge:
    phrases: tuple[VaguePhrase, ...]
    any_phrase: re.Pattern  # every phrase in one alternation: one pass per purpose
    filler: re.Pattern
    sources: dict[str, dict[str, Any]]


def _read_text() -> str:
    return _FILE.read_text()


def _compile(rx: str, where: str) -> re.Pattern:
    _CK.regexes((rx,), "pattern", where)
    return re.compile(rx, re.I)


def _parse(text: str) -> _Knowledge:
    doc = _CK.load(text)
    sources = _CK.header(doc, SCHEMA)
    raw = doc.get("phrases")
    if not isinstance(raw, list) or not raw:
        raise _CK.fail("phrases must be a non-empty list")
    phrases: list[VaguePhrase] = []
    seen: set[str] = set()
    for i, e in enumerate(raw):
        where = f"phrases[{i}]"
        _CK.entry(e, where, _FIELDS)
        pid = _CK.slug_id(e["id"], where, seen)
        seen.add(pid)
        where = f"{where} ({pid})"
        srcs = _CK.str_list(e["sources"], "sources", where, allow_empty=False)
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise _CK.fail(f"{where}: source keys {unknown} are not defined in sources")
        pattern = _CK.text(e["pattern"], "pattern", where)
        _compile(pattern, where)
        phrases.append(VaguePhrase(pid, _CK.text(e["zh"], "zh", where), pattern, srcs,
                                   _CK.boolean(e["verified"], "verified", where)))
    filler = _compile(_CK.text(doc.get("filler"), "filler", "filler"), "filler")
    fsrcs = _CK.str_list(doc.get("filler_sources"), "filler_sources", "filler", allow_empty=False)
    if any(s not in sources for s in fsrcs):
        raise _CK.fail("filler_sources: every key must be defined in sources")
    any_phrase = re.compile("|".join(f"(?:{p.pattern})" for p in phrases), re.I)
    return _Knowledge(tuple(phrases), any_phrase, filler, sources)


@functools.cache
def _knowledge() -> _Knowledge:
    return _FILE.build(_read_text(), _parse)


def load_vague_phrases() -> tuple[VaguePhrase, ...]:
    """Every phrase of the file, in file order."""
    return _knowledge().phrases


def load_sources() -> dict[str, dict[str, Any]]:
    return {k: dict(v) for k, v in _knowledge().sources.items()}


def vague_phrases(purpose: str) -> list[VaguePhrase]:
    """The phrases ``purpose`` uses (in file order); empty when it uses none."""
    k = _knowledge()
    if not k.any_phrase.search(purpose):
        return []
    return [p for p in k.phrases if re.search(p.pattern, purpose, re.I)]


def is_catch_all(purpose: str) -> bool:
    """True when ``purpose`` is made of catch-all phrases only: it uses one, and nothing but
    connecting words is left once they are taken out."""
    k = _knowledge()
    if not k.any_phrase.search(purpose):
        return False
    rest = k.filler.sub("", k.any_phrase.sub("", purpose))
    return not rest.strip()
