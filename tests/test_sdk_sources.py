"""Coverage of the public SDK signature sources (knowledge/sdk_sources.py, sdk_source_exclusions.yaml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from qingdan.knowledge import sdk_sources as src
from qingdan.knowledge.sdks import ExodusTracker, Sdk, SdkSignatures

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "sdk"
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(),
                                     reason=f"reference sources not found at {REFERENCE}")


def _sdk(sid: str, **sig) -> Sdk:
    return Sdk(id=sid, name_zh=None, name_en=sid, company=None, company_en=None, country=None,
               category="other", signatures=SdkSignatures(**{k: tuple(v) for k, v in sig.items()}),
               pi_types=(), policy_url=None, sources=("recalled",))


CATALOGUE = [
    _sdk("push", packages=["com.vendor.push"], components=["com.vendor.push.Service"],
         actions=["com.vendor.push.RECEIVE"], meta_data=["VENDOR_KEY"]),
    _sdk("map", native_libs=["libmap.so"], native_lib_patterns=[r"libmap_v\d+\.so"],
         component_patterns=[r"(?:.+\.)?vapi\.EntryActivity", r"com\.vendor\.plugin\..*"]),
]
EXODUS = [ExodusTracker("exodus-7", "Tracker", None, (), ("com.tracker.", "com.other."), ()),
          ExodusTracker("exodus-11", "Segment only", None, (), (".segment.",), ()),
          ExodusTracker("exodus-12", "Generic root", None, (), ("com.baidu.BaiduMap",), ()),
          ExodusTracker("exodus-13", "Class", None, (), ("com.vendor.mobile.Analytics", ".Other"), ())]


def sig(source: str, key: str, kind: str, value: str, regex: bool = False) -> src.SourceSignature:
    return src.SourceSignature(source, key, kind, value, "label", regex)


def _cov(sigs, exclusions=None):
    ref: dict[str, list] = {}
    for s in sigs:
        ref.setdefault(s.source, []).append(s)
    return src.coverage(ref, CATALOGUE, EXODUS, exclusions or {})


@pytest.mark.parametrize("s, matched", [
    # package prefixes: the prefix or an ancestor is a catalogue prefix; a trailing dot is ignored
    (sig("dcloud", "a", "package", "com.vendor.push"), True),
    (sig("dcloud", "a", "package", "com.vendor.push.internal."), True),
    (sig("dcloud", "a", "package", "com.vendor"), False),  # shorter than the catalogue's prefix
    (sig("dcloud", "a", "package", "com.vendor.pushx"), False),  # segment-wise, not a string prefix
    # names of the kind, exact or through the kind's patterns
    (sig("libchecker-v42", "a", "native_lib", "libmap.so"), True),
    (sig("libchecker-v42", "a", "native_lib", "libmap_v12.so"), True),
    (sig("libchecker-v42", "a", "native_lib", "libmap_vx.so"), False),
    (sig("libchecker-v42", "a", "component", "com.vendor.push.Service"), True),
    (sig("libchecker-v42", "a", "component", "com.vendor.push.Other"), False),  # not a component of it
    (sig("libchecker-v42", "a", "component", "libmap.so"), True),  # a native library filed as a component
    (sig("libchecker-v42", "a", "component", "libother.so"), False),
    (sig("libchecker-v42", "a", "action", "com.vendor.push.RECEIVE"), True),
    (sig("libchecker-v42", "a", "action", "VENDOR_KEY"), False),  # a meta-data key is not an action
    # regex rules: the same regex, or every sample name it describes is recognised
    (sig("libchecker-v42", "a", "component", r"com\.vendor\.plugin\.(.*)", True), True),
    (sig("libchecker-v42", "a", "component", r"com\.vendor\.(.*)", True), False),
    (sig("libchecker-v42", "a", "native_lib", r"libmap_v(.*)\.so", True), False),  # 'libmap_v.so' is not
    (sig("libchecker-v42", "a", "package", r"com\.vendor\.push\.(.*)", True), True),
    # AppScan rows: any name kind, a leading dot read as a suffix of some package
    (sig("appscan", "a", "any", "VENDOR_KEY"), True),
    (sig("appscan", "a", "any", ".vapi.EntryActivity"), True),
    (sig("appscan", "a", "any", "com.vendor.push."), True),
    (sig("appscan", "a", "any", ".Unknown"), False),
    # Exodus: the same code signatures in sdks_exodus.yaml; none at all can only be excluded
    (sig("exodus", "exodus-7", "exodus", "com.other.|com.tracker."), True),
    (sig("exodus", "exodus-7", "exodus", "com.tracker."), False),
    (sig("exodus", "exodus-8", "exodus", "com.tracker."), False),
    (sig("exodus", "exodus-9", "none", ""), False),
    # ... and one of them names a package the scan matches (not a bare segment, not a generic root)
    (sig("exodus", "exodus-11", "exodus", ".segment."), False),
    (sig("exodus", "exodus-12", "exodus", "com.baidu.BaiduMap"), False),
    (sig("exodus", "exodus-13", "exodus", "com.vendor.mobile.Analytics|.Other"), True),
])
def test_matching_semantics(s, matched):
    cov = _cov([s])[s.source]
    assert (cov.matched == [s]) is matched
    assert (cov.uncovered == [s]) is not matched


def test_excluded_and_stale_rows():
    a = sig("dcloud", "com.vendor", "package", "com.vendor")
    b = sig("dcloud", "com.vendor.push", "package", "com.vendor.push")
    ex = {(s, k): src.Exclusion(s, k, "why") for s, k in
          (("dcloud", "com.vendor"), ("dcloud", "com.vendor.push"), ("dcloud", "com.gone"))}
    cov = _cov([a, b], ex)["dcloud"]
    assert cov.excluded == [a] and cov.matched == [b] and not cov.uncovered
    assert cov.share == 1.0 and cov.total == 2
    assert sorted(cov.stale) == ["com.gone: no such signature in the source",
                                 "com.vendor.push: excluded but the catalogue matches it"]


def test_reference_readers(tmp_path):
    (tmp_path / "libchecker_rules_v42.json").write_text(json.dumps({"rules": [
        {"name": "libx.so", "label": "X", "type": "native_lib", "is_regex": False, "regex_name": None},
        {"name": r"okio\.(.*)", "label": "Okio", "type": "dex_package", "is_regex": True, "regex_name": "r"},
    ]}))
    (tmp_path / "appscan_sdk_prefixes.json").write_text(json.dumps(
        [{"sdk_name": "甲", "package_name": "com.a."}, {"sdk_name": "甲", "package_name": "com.a."}]))
    (tmp_path / "exodus_trackers.json").write_text(json.dumps({"trackers": {
        "3": {"id": 3, "name": "T", "code_signature": "com.t.|com.u."},
        "4": {"id": 4, "name": "N", "code_signature": ""}}}))
    (tmp_path / "dcloud_uniapp_android-store.md").write_text(
        "<table><tr><th>名称</th></tr><tr>\n<td>甲</td>\n<td>com.a、com.b, com.c</td></tr>"
        "<tr><td>乙</td><td></td></tr></table>")
    (tmp_path / "sdk_catalog_sample.yaml").write_text("sdks:\n  - {sdk: 甲, prefixes: [com.a, com.d]}\n")
    ref = src.read_reference(tmp_path)
    lc = ref["libchecker-v42"]
    assert [(s.key, s.kind, s.value, s.regex) for s in lc] == [
        ("native_lib:libx.so", "native_lib", "libx.so", False),
        (r"dex_package:okio\.(.*)", "package", "okio", False)]
    assert [s.key for s in ref["appscan"]] == ["com.a."]
    assert [(s.key, s.kind, s.value) for s in ref["exodus"]] == [
        ("exodus-3", "exodus", "com.t.|com.u."), ("exodus-4", "none", "")]
    assert [s.key for s in ref["dcloud"]] == ["com.a", "com.b", "com.c", "乙"]
    assert [s.key for s in ref["catalog-sample"]] == ["com.a", "com.d"]
    (tmp_path / "appscan_sdk_prefixes.json").write_text(json.dumps({"not": "rows"}))
    with pytest.raises(ValueError, match="appscan_sdk_prefixes.json"):
        src.read_reference(tmp_path)


# -- the shipped exclusions file -------------------------------------------------------------------


def _raw() -> dict:
    return yaml.safe_load(src._read_text())


def test_exclusions_load_with_one_line_reasons():
    rows = src.load_exclusions()
    assert rows and all(isinstance(e, src.Exclusion) for e in rows.values())
    assert {e.source for e in rows.values()} <= set(src.SOURCES)
    assert all(e.reason and "\n" not in e.reason for e in rows.values())


@pytest.mark.parametrize("change, needle", [
    (lambda d: d["exclusions"].append({"source": "nowhere", "key": "x", "reason": "r"}), "nowhere"),
    (lambda d: d["exclusions"].append({"source": "appscan", "key": "x"}), "source, key, reason"),
    (lambda d: d["exclusions"].append({"source": "appscan", "key": "x", "reason": " "}), "reason"),
    (lambda d: d["exclusions"].append(dict(d["exclusions"][0])), "duplicate"),
    (lambda d: d["sources"].pop("dcloud"), "sources"),
    (lambda d: d["meta"].update(schema="x/1"), "meta.schema"),
])
def test_malformed_exclusions_name_the_file(change, needle):
    doc = _raw()
    change(doc)
    with pytest.raises(ValueError) as exc:
        src._parse_exclusions(yaml.safe_dump(doc, allow_unicode=True))
    assert "sdk_source_exclusions.yaml" in str(exc.value) and needle in str(exc.value)


# -- the real sources ------------------------------------------------------------------------------


@needs_reference
def test_every_source_signature_is_matched_or_excluded():
    ref = src.read_reference(REFERENCE)
    assert len(ref["libchecker-v42"]) == 2499 and len(ref["exodus"]) == 432
    cov = src.coverage(ref)
    for name, c in cov.items():
        assert not c.uncovered, f"{name}: {len(c.uncovered)} uncovered, e.g. " + \
            "; ".join(src.describe(s) for s in c.uncovered[:10])
        assert not c.stale, f"{name}: stale exclusion rows {c.stale}"
        assert c.share == 1.0


# -- completeness ----------------------------------------------------------------------------------


def _entry(sid, kind="sdk", country="CN", company="某公司", pi=("android_id",), purpose="消息推送",
           url="https://example.com/privacy") -> Sdk:
    return Sdk(id=sid, name_zh=sid, name_en=None, company=company, company_en=None, country=country,
               category="push", signatures=SdkSignatures(packages=(f"com.{sid}",)), pi_types=tuple(pi),
               policy_url=url, sources=("recalled",), kind=kind, purpose=purpose)


def test_completeness_counts():
    m = src.completeness([
        _entry("a"),  # complete Chinese SDK
        _entry("b", purpose=None),  # Chinese SDK without purpose
        _entry("c", pi=()),  # ... without PI types
        _entry("d", url=None),  # ... without policy URL
        _entry("e", country="US"),  # complete, but not Chinese
        _entry("f", company=None, country=None),  # no company
        _entry("g", kind="library", company=None, country=None),
        _entry("h", kind="library", company="Square", country="US"),
    ])
    assert (m.sdks, m.sdks_with_company, m.cn_sdks, m.cn_complete) == (6, 5, 4, 1)
    assert (m.libraries, m.libraries_with_maintainer) == (2, 1)
    assert src.Completeness.share(1, 4) == 0.25 and src.Completeness.share(0, 0) == 1.0


def test_completeness_of_the_shipped_catalogue_is_consistent():
    m = src.completeness()
    assert 0 < m.sdks_with_company <= m.sdks and 0 <= m.cn_complete <= m.cn_sdks <= m.sdks
    assert m.libraries_with_maintainer <= m.libraries and m.sdks + m.libraries == len(src.load_sdks())
