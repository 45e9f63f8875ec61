"""Catch-all purposes for sensitive PI are knowledge data, matched as patterns (issue 16, point 7)."""

import pytest
import yaml

from qingdan.knowledge import vague_purposes as vp
from qingdan.lists.check import check_lists
from qingdan.lists.declarations import parse_lists
from tests.test_lists import GOOD

PURPOSE = "推荐附近门店，仅在打开“附近”页面时获取"  # the precise-location row of GOOD


def _flagged(purpose: str) -> list:
    assert PURPOSE in GOOD
    fs = check_lists(parse_lists(GOOD.replace(PURPOSE, purpose)))
    return [f for f in fs if f.rule_id == "lists.sensitive-no-purpose"]


@pytest.mark.parametrize("purpose", [
    "提升服务质量", "业务需要", "为了更好地为您服务", "改善产品", "提升用户体验", "优化服务",
    "为了提升服务质量和用户体验。", "研发新产品", "improve our services", "Business needs",
])
def test_catch_all_purposes_for_precise_location_are_refused(purpose):
    [f] = _flagged(purpose)
    assert f.severity == "block" and f.evidence["phrases"]
    # each phrase carries its source keys from the knowledge file
    assert f.evidence["sources"] and set(f.evidence["sources"]) <= set(vp.load_sources())


@pytest.mark.parametrize("purpose", [
    "推荐附近门店，仅在打开“附近”页面时获取", "推荐附近门店，提升服务质量", "用于导航路线规划",
])
def test_a_purpose_that_names_the_function_passes(purpose):
    assert _flagged(purpose) == []


def test_every_phrase_names_a_known_source_and_the_regulator_documents_are_among_them():
    phrases = vp.load_vague_phrases()
    sources = vp.load_sources()
    assert phrases and all(set(p.sources) <= set(sources) for p in phrases)
    assert {"cac-191-2019", "gbt35273-2020-5.3", "tc260-app-self-assessment-2020"} <= set(sources)


def test_a_malformed_phrase_names_the_file_and_the_entry(monkeypatch, tmp_path):
    monkeypatch.setenv("QINGDAN_CACHE_DIR", str(tmp_path))
    doc = yaml.safe_load(vp._read_text())
    doc["phrases"][1]["pattern"] = "(unclosed"
    monkeypatch.setattr(vp, "_read_text", lambda: yaml.safe_dump(doc, allow_unicode=True))
    vp._knowledge.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"vague_purposes\.yaml: phrases\[1\] \(user-experience\)"):
            vp.load_vague_phrases()
    finally:
        vp._knowledge.cache_clear()
