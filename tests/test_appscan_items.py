"""AppScan's 82 check items mapped to qingdan's rules: the mapping is valid, complete, matches AppScan's own
list where the shared reference is present, and docs/appscan.md is current."""

import json
import re

import pytest

from qingdan.knowledge import appscan
from qingdan.knowledge.appscan import load_appscan_items
from qingdan.report.appscandoc import appscan_markdown
from tests.conftest import ROOT

SHARED_ITEMS = ROOT.parent / "shared" / "reference" / "regulation" / "appscan_check_items.js"


def test_every_item_once_with_a_status_and_a_reason():
    items = load_appscan_items()
    assert [i.n for i in items] == list(range(1, 83))
    assert len({i.id for i in items}) == 82
    assert all(i.why.strip() for i in items)
    auto = [i for i in items if i.status == "auto"]
    assert auto and all(i.rules for i in auto)


def test_docs_appscan_md_is_current():
    assert (ROOT / "docs" / "appscan.md").read_text("utf-8") == appscan_markdown(), \
        "regenerate: python -m qingdan.report.appscandoc > docs/appscan.md"


def test_docs_counts_match_the_items():
    text = appscan_markdown()
    for status in appscan.STATUSES:
        n = sum(i.status == status for i in load_appscan_items())
        assert f"| {status} | {n} |" in text


def test_an_unknown_rule_or_a_rule_on_a_runtime_item_is_refused(monkeypatch):
    good = appscan._read_text()
    bad = good.replace("rules: [policy.no-summary]", "rules: [policy.no-such-rule]", 1)
    assert bad != good
    with pytest.raises(ValueError, match="not in the rule catalogue"):
        appscan._parse(bad)
    runtime_with_rule = re.sub(r"(status: runtime\n    rules: )\[\]", r"\1[policy.no-summary]", good, count=1)
    assert runtime_with_rule != good
    with pytest.raises(ValueError, match="has no rule yet"):
        appscan._parse(runtime_with_rule)


@pytest.mark.skipif(not SHARED_ITEMS.is_file(), reason=f"AppScan's list not found at {SHARED_ITEMS}")
def test_ids_and_titles_match_appscan_own_list():
    s = SHARED_ITEMS.read_text("utf-8")
    body = s[s.index("const list = [") + len("const list = "):]
    body = body[:body.index("];") + 1]
    theirs = json.loads(re.sub(r'\\(?!["\\/bfnrtu])', r"\\\\", body))
    ours = load_appscan_items()
    want = [(t["id"], t["project"].strip(), t["type"]) for t in theirs]
    assert want == [(i.id, i.title, i.type) for i in ours]
