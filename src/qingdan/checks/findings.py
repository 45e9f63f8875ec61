"""One :class:`Finding` for every stage (scan, lists, policy, UI, review) and one way to register a rule.

A finding is made from its catalogue rule (``knowledge/data/rules.yaml``), which gives its default
severity, title, regulation clauses and fix. A stage's checks are plain functions, one per rule id,
registered with ``@rule("area.name")``; the registry hands each its :class:`Rule`, so the id is
written once. A rule's stage is the area of its id (``lists.*``, ``policy.*``, ``ui.*``,
``review.*``; every other area is the scan's). Adding a rule: one YAML entry, one function, its two
tests.

Severity helpers work on findings and on their dict form (the rows of a JSON report) alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from qingdan.knowledge.rules import SEVERITIES, Rule, load_documents, load_rules

# SEVERITIES, most severe first: block, warn, info
SEVERITY_RANK = {s: i for i, s in enumerate(reversed(SEVERITIES))}  # info 0, warn 1, block 2
SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}  # sort key, most severe first: block 0
#: A rule's stage is its area when the area is one of these; every other area is the scan's.
STAGES = ("scan", "lists", "policy", "ui", "review")


@dataclass(slots=True)
class Finding:
    rule: Rule
    severity: str
    owner: str  # "app" or an SDK id
    message_zh: str
    message_en: str
    evidence: dict[str, Any] = field(default_factory=dict)
    accepted: bool = False
    accepted_reason: str | None = None

    @classmethod
    def of(cls, rule: Rule | str, owner: str, zh: str, en: str, severity: str | None = None,
           **evidence: Any) -> Finding:
        """A finding of ``rule`` (a :class:`Rule` or its id), at the rule's severity unless given."""
        r = load_rules()[rule] if isinstance(rule, str) else rule
        return cls(r, severity or r.severity, owner, zh, en, evidence)

    @property
    def rule_id(self) -> str:
        return self.rule.id

    def at_or_above(self, level: str) -> bool:
        return SEVERITY_RANK[self.severity] >= SEVERITY_RANK[level]

    def to_dict(self, scan: Any = None) -> dict[str, Any]:
        """The finding as a JSON report row; ``scan`` (a ScanResult) names the SDK that owns it."""
        docs = load_documents()
        d = scan.sdk(self.owner) if scan is not None else None
        lib = scan.library(self.owner) if scan is not None and d is None else None
        r = self.rule
        name = (d or lib).sdk.name if d or lib else ("App" if self.owner == "app" else self.owner)
        kind = scan.owner_kind(self.owner) if scan is not None else "app" if self.owner == "app" else None
        return {
            "rule": r.id, "severity": self.severity, "title_zh": r.title_zh, "title_en": r.title_en,
            "owner": self.owner, "owner_name": name, "owner_kind": kind,
            "company": d.sdk.company if d else None,
            "message_zh": self.message_zh, "message_en": self.message_en, "evidence": self.evidence,
            "refs": [{"doc": ref.doc, "doc_zh": docs[ref.doc].zh, "doc_en": docs[ref.doc].en,
                      "item": ref.item} for ref in r.refs],
            "fix_zh": r.fix_zh, "fix_en": r.fix_en,
            "accepted": self.accepted, "accepted_reason": self.accepted_reason,
        }


    def short_dict(self) -> dict[str, Any]:
        """The row of the ``lists check``/``policy check``/``ui check`` JSON outputs."""
        return {"rule": self.rule.id, "severity": self.severity, "owner": self.owner,
                "message_zh": self.message_zh, "message_en": self.message_en, "evidence": self.evidence}


def finding_dict(scan: Any, f: Finding) -> dict[str, Any]:
    """``f.to_dict(scan)``: a finding of any stage serialised as the JSON report does."""
    return f.to_dict(scan)


def _severity(f: Finding | dict[str, Any]) -> str:
    return f["severity"] if isinstance(f, dict) else f.severity


def _accepted(f: Finding | dict[str, Any]) -> bool:
    return bool(f["accepted"] if isinstance(f, dict) else f.accepted)


def at_or_above(findings: Iterable[Finding | dict[str, Any]], level: str) -> list:
    """The open (not accepted) findings at or above ``level`` (findings or their dict form)."""
    floor = SEVERITY_RANK[level]
    return [f for f in findings if not _accepted(f) and SEVERITY_RANK[_severity(f)] >= floor]


def count_by_severity(findings: Iterable[Finding | dict[str, Any]]) -> dict[str, int]:
    """``{"block", "warn", "info", "accepted"}`` counts: accepted findings count once, as accepted."""
    out = dict.fromkeys((*SEVERITIES, "accepted"), 0)
    for f in findings:
        out["accepted" if _accepted(f) else _severity(f)] += 1
    return out


# -- the rule registry ------------------------------------------------------------------------------

Check = Callable[..., Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class RuleCheck:
    id: str
    fn: Check
    each: str | None  # None: fn(rule, ctx); else fn(rule, ctx, item) for every item of ctx.<each>

    @property
    def rule(self) -> Rule:
        return load_rules()[self.id]


_CHECKS: dict[str, RuleCheck] = {}


def stage_of(rule_id: str) -> str:
    area = rule_id.split(".", 1)[0]
    return area if area in STAGES else "scan"


def rule(rule_id: str, each: str | None = None) -> Callable[[Check], Check]:
    """Register ``fn(rule, ctx) -> findings`` as the check of ``rule_id``. With ``each="rows"``,
    ``fn(rule, ctx, row)`` runs on every item of ``ctx.rows``, after the stage's other checks."""
    def deco(fn: Check) -> Check:
        if rule_id in _CHECKS:
            raise ValueError(f"rule {rule_id} is registered twice")
        _CHECKS[rule_id] = RuleCheck(rule_id, fn, each)
        return fn

    return deco


def stage_rules(stage: str) -> tuple[str, ...]:
    """The ids of a stage's registered rules, in registration order."""
    return tuple(rid for rid in _CHECKS if stage_of(rid) == stage)


def implemented_rules() -> set[str]:
    """Every rule with a registered check (of the stages imported so far)."""
    return set(_CHECKS)


def run_stage(stage: str, ctx: Any, only: Iterable[str] | None = None) -> list[Finding]:
    """A stage's checks in registration order (``only``: a subset of ids); per-item checks last,
    item by item."""
    wanted = set(only) if only is not None else None
    checks = [c for rid, c in _CHECKS.items()
              if stage_of(rid) == stage and (wanted is None or rid in wanted)]
    out: list[Finding] = []
    for c in checks:
        if c.each is None:
            out.extend(c.fn(c.rule, ctx))
    per_item = [c for c in checks if c.each is not None]
    for attr in dict.fromkeys(c.each for c in per_item):
        for item in getattr(ctx, attr):
            for c in per_item:
                if c.each == attr:
                    out.extend(c.fn(c.rule, ctx, item))
    return out
