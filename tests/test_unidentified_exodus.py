"""Unidentified namespaces, shared manifest signals, Exodus trackers in the scan, drafted SDK purposes.

Every case is a package the test builds: the ground truth is what the test put in it.
"""

import jsonschema
import pytest

from qingdan.checks.namespaces import namespace_root
from qingdan.checks.scan import scan_path
from qingdan.knowledge import sdks as cat
from qingdan.knowledge.sdk_signals import load_shared_signals
from qingdan.lists.declarations import parse_lists
from qingdan.lists.draft import draft_yaml
from qingdan.report.html import render_html
from qingdan.report.jsonreport import report_schema, to_dict
from qingdan.report.summary import summary_lines
from tests.support.apkbuilder import (
    ClassDef,
    Component,
    IntentFilter,
    Invoke,
    Method,
    build_apk,
    build_dex,
    build_manifest,
)

STR = "Ljava/lang/String;"
IMEI = Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)


def scan(tmp_path, classes, components=(), meta=None, perms=(), name="t.apk"):
    man = build_manifest("com.example.app", label="T", components=list(components), app_meta_data=meta or {},
                         permissions=list(perms))
    return scan_path(build_apk(tmp_path / name, man, [build_dex(classes)]))


def classes(prefix, n, first="C"):
    return [ClassDef(f"L{prefix.replace('.', '/')}/{first}{i};") for i in range(n)]


# -- 1. unidentified namespaces ----------------------------------------------------------------------


@pytest.mark.parametrize(("package", "root"), [
    ("com.acme.widgets.internal", "com.acme.widgets"), ("io.reactivex.internal.operators", "io.reactivex"),
    ("retrofit.http", "retrofit"), ("u.aly", "u.aly"), ("com.google.android.exoplayer2.ui",
                                                        "com.google.android.exoplayer2"),
])
def test_namespace_roots(package, root):
    assert namespace_root(package) == root


def test_unidentified_lists_unknown_third_party_code_only(tmp_path):
    cls = [ClassDef("Lcom/example/app/Main;"), *classes("com.umeng.analytics.pro", 6),
           *classes("com.acme.widgets", 4), *classes("com.acme.widgets.internal", 4),
           *classes("io.foo.bar", 2), *classes("a.b", 3), *classes("androidx.core.app", 2)]
    r = scan(tmp_path, cls)
    got = [(g.namespace, g.classes) for g in r.unidentified]
    # not the app's, not Umeng's (catalogue), not obfuscated (a.b), not platform (androidx)
    assert got == [("com.acme.widgets", 8), ("io.foo", 2)]
    acme = r.unidentified[0]
    assert len(acme.sample_classes) == 5
    assert all(c.startswith("com.acme.widgets.") for c in acme.sample_classes)

    rep = to_dict(r)
    jsonschema.Draft202012Validator(report_schema()).validate(rep)
    assert rep["unidentified"][0] == {"namespace": "com.acme.widgets", "classes": 8,
                                      "sample_classes": acme.sample_classes}
    line = next(x for x in summary_lines(rep) if x.lstrip().startswith("unknown"))
    assert "com.acme.widgets (8)" in line and "io.foo (2)" in line
    html = render_html(rep)
    assert "Unidentified third-party code (2)" in html and "com.acme.widgets" in html


# -- 2. shared signals -------------------------------------------------------------------------------


def receiver(action):
    return Component("receiver", "com.example.app.Receiver", exported=True,
                     intent_filters=[IntentFilter([action])])


@pytest.mark.parametrize(("action", "sdk"), [
    ("com.android.vending.INSTALL_REFERRER", "firebase-analytics"),
    ("com.google.android.c2dm.intent.RECEIVE", "firebase"),
])
def test_a_shared_action_alone_names_no_sdk(tmp_path, action, sdk):
    r = scan(tmp_path, [ClassDef("Lcom/example/app/Receiver;")], [receiver(action)])
    assert r.sdk(sdk) is None


def test_a_signal_two_catalogue_sdks_list_names_neither(tmp_path):
    r = scan(tmp_path, [ClassDef("Lcom/example/app/Main;")], meta={"com.amap.api.v2.apikey": "k"})
    assert not [d.sdk.id for d in r.sdks if d.sdk.id.startswith("amap")]


def test_a_shared_signal_supports_but_does_not_raise_confidence(tmp_path):
    # three classes of Firebase Analytics: a stub (low); the shared referrer action does not lift it
    r = scan(tmp_path, [*classes("com.google.firebase.analytics", 3), ClassDef("Lcom/example/app/Receiver;")],
             [receiver("com.android.vending.INSTALL_REFERRER")])
    d = r.sdk("firebase-analytics")
    assert d is not None and d.confidence == "low"
    assert d.evidence.supporting == ["com.android.vending.INSTALL_REFERRER"]
    assert to_dict(r)["sdks"][0]["evidence"]["supporting"] == ["com.android.vending.INSTALL_REFERRER"]


def test_shared_signal_list_names_its_sources():
    shared = load_shared_signals()
    assert ("actions", "com.android.vending.INSTALL_REFERRER") in shared
    assert all(s.sources and s.why for s in shared.values())


# -- 3. Exodus trackers in the scan ------------------------------------------------------------------


def test_a_tracker_with_no_catalogue_twin_is_reported_and_owns_its_code(tmp_path):
    cls = [ClassDef("Lcom/example/app/Main;"), *classes("com.pushwoosh.internal", 6),
           ClassDef("Lcom/pushwoosh/Device;", methods=[Method("id", ret=STR, invokes=[IMEI])])]
    r = scan(tmp_path, cls, perms=["android.permission.READ_PHONE_STATE"])
    d = r.sdk("exodus-39")
    assert d is not None and d.confidence == "medium" and d.evidence.classes == 7
    assert d.sdk.name == "Pushwoosh" and d.sdk.company and d.exodus.url.endswith("/trackers/39/")
    assert {u.owner for u in r.api_uses if u.api.id.startswith("telephony")} == {"exodus-39"}
    assert not r.unidentified
    rep = to_dict(r)
    jsonschema.Draft202012Validator(report_schema()).validate(rep)
    row = next(s for s in rep["sdks"] if s["id"] == "exodus-39")
    assert row["source"] == "exodus" and row["exodus"] == {
        "id": "exodus-39", "name": "Pushwoosh", "url": "https://reports.exodus-privacy.eu.org/en/trackers/39/",
        "attribution": "Exodus Privacy (ODbL)"}
    assert any("exodus-39" in x and "Exodus Privacy (ODbL)" in x for x in summary_lines(rep))
    assert "https://reports.exodus-privacy.eu.org/en/trackers/39/" in render_html(rep)


def test_a_draft_with_an_exodus_only_sdk_loads(tmp_path):
    r = scan(tmp_path, [ClassDef("Lcom/example/app/Main;"), *classes("com.pushwoosh.internal", 6)])
    text = draft_yaml(r)
    assert "sdk: exodus-39" in text
    dl = parse_lists(text)  # a draft loads (its TODOs are for `lists check` to refuse)
    assert "exodus-39" in {s.sdk for s in dl.shared}


def test_a_catalogue_detection_carries_its_exodus_twin(tmp_path):
    r = scan(tmp_path, [*classes("com.umeng.analytics.pro", 6)])
    d = r.sdk("umeng-analytics")
    assert d.exodus is not None and d.exodus.id == "exodus-119"
    assert not [x for x in r.sdks if x.sdk.id.startswith("exodus-")]  # no duplicate


def test_a_twin_tracker_finds_code_the_catalogue_prefixes_miss(tmp_path):
    # the catalogue knows Adjust only by its native library; Exodus knows its Java package
    r = scan(tmp_path, [*classes("com.adjust.sdk", 6)])
    d = r.sdk("adjust")
    assert d is not None and d.confidence == "medium" and d.exodus.id == "exodus-52"
    assert not r.unidentified and r.sdk("exodus-52") is None


def test_a_class_signature_needs_that_class(tmp_path):
    # Foresee's signature is com.foresee.sdk.ForeSee: the package alone is not enough
    without = scan(tmp_path, classes("com.foresee.sdk", 6, first="Other"), name="a.apk")
    assert without.sdk("exodus-149") is None
    assert [g.namespace for g in without.unidentified] == ["com.foresee.sdk"]
    with_it = scan(tmp_path, classes("com.foresee.sdk", 6, first="ForeSee"), name="b.apk")
    assert with_it.sdk("exodus-149") is not None and not with_it.unidentified


def test_exodus_additions_are_consistent():
    trackers = cat.load_exodus()
    sdks = cat.load_sdks()
    twins = [t for t in trackers if t.qingdan_id]
    assert len(twins) >= 40 and all(t.qingdan_id in sdks for t in twins)
    assert all(t.company for t in trackers if not t.qingdan_id)
    assert all(t.id not in sdks for t in trackers)


# -- 4. drafted purpose ------------------------------------------------------------------------------


def test_draft_suggests_the_catalogue_purpose(tmp_path):
    assert cat.load_sdks()["jpush"].purpose
    r = scan(tmp_path, [*classes("cn.jpush.android.service", 6), *classes("com.umeng.analytics.pro", 6)])
    text = draft_yaml(r)
    jpush_row = text[text.index("sdk: jpush"):].split("- third_party")[0]
    purpose = next(x for x in jpush_row.splitlines() if x.strip().startswith("purpose:"))
    assert cat.load_sdks()["jpush"].purpose in purpose and "confirm" in purpose
    umeng_row = text[text.index("sdk: umeng-analytics"):].split("- third_party")[0]
    if not cat.load_sdks()["umeng-analytics"].purpose:
        assert 'purpose: "TODO"' in umeng_row
