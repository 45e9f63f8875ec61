"""The rule catalogue (``data/rules.yaml``): ids, severities, regulation clauses, fixes."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile

DATA_FILE = "rules.yaml"
SCHEMA = "qingdan.knowledge.rules/1"
SEVERITIES = ("block", "warn", "info")
_ID = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class Document:
    key: str
    zh: str
    en: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class RuleRef:
    doc: str  # a Document key
    item: str  # the clause, as the document numbers it


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    severity: str
    title_zh: str
    title_en: str
    refs: tuple[RuleRef, ...]
    checks_zh: str
    checks_en: str
    fix_zh: str
    fix_en: str

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class _Catalogue:
    rules: dict[str, Rule]
    documents: dict[str, Document]


_FILE: KnowledgeFile[_Catalogue] = KnowledgeFile(DATA_FILE, __file__)
_CK = _FILE.check
_fail = _CK.fail


def _text(v: Any, field: str, where: str) -> str:
    return _CK.text(v, field, where).strip()


def _parse(raw: bytes) -> _Catalogue:
    doc = _CK.load(raw)
    documents = _CK.header(doc, SCHEMA, sources_key="documents", source_fields=("zh", "en"))
    docs = {key: Document(key, _text(d.get("zh"), "zh", key), _text(d.get("en"), "en", key), d.get("url"))
            for key, d in documents.items()}
    rules: dict[str, Rule] = {}
    for i, e in enumerate(doc.get("rules") or []):
        where = f"rules[{i}]"
        if not isinstance(e, dict):
            raise _fail(f"{where}: must be a mapping")
        rid = _text(e.get("id"), "id", where)
        where = f"rule {rid}"
        if not _ID.match(rid):
            raise _fail(f"{where}: id must look like area.name")
        if rid in rules:
            raise _fail(f"{where}: duplicate id")
        if e.get("severity") not in SEVERITIES:
            raise _fail(f"{where}: severity must be one of {SEVERITIES}")
        refs = []
        for r in e.get("refs") or []:
            if not isinstance(r, dict) or r.get("doc") not in docs:
                raise _fail(f"{where}: every ref needs a doc defined under documents, got {r!r}")
            refs.append(RuleRef(r["doc"], _text(r.get("item"), "ref item", where)))
        if not refs:
            raise _fail(f"{where}: a rule must name the regulation clause it serves")
        rules[rid] = Rule(
            rid, e["severity"], _text(e.get("title_zh"), "title_zh", where),
            _text(e.get("title_en"), "title_en", where),
            tuple(refs), _text(e.get("checks_zh"), "checks_zh", where),
            _text(e.get("checks_en"), "checks_en", where),
            _text(e.get("fix_zh"), "fix_zh", where), _text(e.get("fix_en"), "fix_en", where),
        )
    return _Catalogue(rules, docs)


@functools.cache
def _catalogue() -> _Catalogue:
    return _FILE.build(_FILE.raw(), _parse)


def load_rules() -> dict[str, Rule]:
    """Every rule by id, in catalogue order (read-only, shared)."""
    return _catalogue().rules


def load_documents() -> dict[str, Document]:
    return _catalogue().documents


def rule(rule_id: str) -> Rule:
    return _catalogue().rules[rule_id]
