"""The one Finding of every stage and the one rule registry (checks/findings.py)."""

import ast

import pytest

from qingdan.checks import findings as fnd
from qingdan.checks.findings import Finding, at_or_above, count_by_severity, rule, run_stage, stage_rules
from qingdan.knowledge.rules import load_rules
from tests.conftest import ROOT


def _stages_loaded() -> None:
    import qingdan.checks.rules  # noqa: F401
    import qingdan.lists.check  # noqa: F401
    import qingdan.policy.check  # noqa: F401
    import qingdan.review.store  # noqa: F401
    import qingdan.ui.check  # noqa: F401


def test_finding_from_a_rule_id_takes_the_catalogue_severity():
    f = Finding.of("sec.debuggable", "app", "zh", "en", attribute="x")
    assert f.rule is load_rules()["sec.debuggable"] and f.severity == f.rule.severity
    assert f.evidence == {"attribute": "x"} and not f.accepted
    assert Finding.of(f.rule, "app", "zh", "en", severity="info").severity == "info"


def test_counts_and_at_or_above_work_on_findings_and_report_rows():
    fs = [Finding.of("sec.debuggable", "app", "", "", severity=s) for s in ("block", "warn", "info", "warn")]
    fs[3].accepted = True
    rows = [f.to_dict() for f in fs]
    for xs in (fs, rows):
        assert count_by_severity(xs) == {"block": 1, "warn": 1, "info": 1, "accepted": 1}
        assert len(at_or_above(xs, "block")) == 1
        assert len(at_or_above(xs, "warn")) == 2  # the accepted warn is not open
        assert len(at_or_above(xs, "info")) == 3
    assert fs[1].at_or_above("warn") and not fs[2].at_or_above("warn")


def test_the_report_row_has_the_schema_fields():
    from qingdan.report.jsonreport import report_schema

    row = Finding.of("sec.debuggable", "app", "zh", "en").to_dict()
    schema = report_schema()
    finding = schema["properties"]["findings"]["items"]
    finding = schema["$defs"][finding["$ref"].rsplit("/", 1)[-1]] if "$ref" in finding else finding
    assert set(row) == set(finding["properties"])
    assert row["owner_name"] == "App" and row["refs"]
    short = Finding.of("sec.debuggable", "app", "zh", "en").short_dict()
    assert list(short) == ["rule", "severity", "owner", "message_zh", "message_en", "evidence"]


def test_every_catalogue_rule_has_exactly_one_registered_function():
    _stages_loaded()
    assert fnd.implemented_rules() == set(load_rules())
    by_stage = {s: set(stage_rules(s)) for s in fnd.STAGES}
    assert sum(len(v) for v in by_stage.values()) == len(load_rules())
    for rid in load_rules():
        assert rid in by_stage[fnd.stage_of(rid)]
    # the scan's rules run in catalogue order
    assert list(stage_rules("scan")) == [r for r in load_rules() if fnd.stage_of(r) == "scan"]


def test_a_rule_registered_twice_is_refused():
    _stages_loaded()
    with pytest.raises(ValueError, match="registered twice"):
        rule("sec.debuggable")(lambda r, ctx: [])


def test_the_registry_hands_the_rule_to_its_function(monkeypatch):
    seen = []
    monkeypatch.setattr(fnd, "_CHECKS", {})
    rule("review.signer-changed")(lambda r, ctx: seen.append((r.id, ctx)) or [Finding.of(r, "app", "", "")])
    rule("ui.no-close", each="rows")(lambda r, ctx, row: [Finding.of(r, "app", row, row)])
    assert [f.rule_id for f in run_stage("review", "ctx")] == ["review.signer-changed"]
    assert seen == [("review.signer-changed", "ctx")]

    class Ctx:
        rows = ("a", "b")

    assert [f.message_en for f in run_stage("ui", Ctx())] == ["a", "b"]


@pytest.mark.parametrize("stage", ["lists", "policy", "ui"])
def test_later_stages_do_not_import_the_scan_rules(stage):
    for path in (ROOT / "src" / "qingdan" / stage).glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert "qingdan.checks.rules" not in mods, path
