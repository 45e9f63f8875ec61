"""`lists draft`: a row needs evidence for that PI type from that owner (issue 16, point 6)."""

import pytest
import yaml

from qingdan.checks.scan import scan_path
from qingdan.lists.declarations import parse_lists
from qingdan.lists.draft import draft_yaml
from tests.conftest import CORPUS, needs_shared
from tests.support.apkbuilder import ClassDef, Invoke, Method, build_apk, build_dex, build_manifest

STR = "Ljava/lang/String;"
IMEI = Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)


def _app(tmp_path, permissions, classes=()):
    classes = [*classes, ClassDef("Lcom/example/app/Main;", methods=[Method("m")])]
    man = build_manifest("com.example.app", label="T", permissions=permissions)
    return scan_path(build_apk(tmp_path / "a.apk", man, [build_dex(classes)]))


def test_a_permission_alone_drafts_only_what_its_grant_gives(tmp_path):
    scan = _app(tmp_path, ["android.permission.CAMERA", "android.permission.READ_PHONE_STATE"])
    text = draft_yaml(scan)
    rows = {(c.pi_type, c.collector) for c in parse_lists(text).collected}
    # CAMERA gives pictures; face data needs face-recognition code, which this app does not have
    assert rows == {("photos_media", "app")}
    # READ_PHONE_STATE alone tells no identifier: a comment, no iccid/imei rows
    assert "permission android.permission.CAMERA is requested: its grant alone gives the app this" in text
    assert "not drafted: permission android.permission.CAMERA reaches face only through code" in text
    assert "permission android.permission.READ_PHONE_STATE reaches imei, meid, imsi, iccid" in text


def test_code_that_reads_the_type_still_makes_the_row(tmp_path):
    scan = _app(tmp_path, ["android.permission.READ_PHONE_STATE"],
                [ClassDef("Lcom/example/app/Dev;", methods=[Method("m", invokes=[IMEI])])])
    rows = {(c.pi_type, c.collector) for c in parse_lists(draft_yaml(scan)).collected}
    assert ("imei", "app") in rows and ("iccid", "app") not in rows


def test_sdk_rows_mark_seen_and_stated_types_and_leave_out_ios_ones(tmp_path):
    umeng = [ClassDef(f"Lcom/umeng/analytics/C{i};") for i in range(6)]
    umeng.append(ClassDef("Lcom/umeng/analytics/Dev;", methods=[Method("m", invokes=[IMEI])]))
    scan = _app(tmp_path, ["android.permission.READ_PHONE_STATE"], umeng)
    assert scan.sdk("umeng-analytics") is not None
    assert "idfa" in scan.sdk("umeng-analytics").sdk.pi_types  # the catalogue has it (its policy covers iOS)
    text = draft_yaml(scan)
    dl = parse_lists(text)
    row = next(s for s in dl.shared if s.sdk == "umeng-analytics")
    assert "idfa" not in row.pi_types and "idfv" not in row.pi_types  # Apple's identifiers: not on Android
    assert {"imei", "iccid"} <= set(row.pi_types)
    assert "      - imei   # seen: its code takes it in this app" in text
    assert "      - iccid   # its own policy states it (catalogue), not seen here" in text
    # the SDK's collected rows come from its code only: imei, not the catalogue's iccid
    assert {c.pi_type for c in dl.collected if c.collector == "umeng-analytics"} == {"imei", "meid"}
    assert "idfa" not in text
    assert yaml.safe_load(text)["shared"][0]["pi_types"] == row.pi_types


@needs_shared
def test_corpus_app_draft_has_no_face_from_camera_nor_ios_ids():
    scan = scan_path(CORPUS / "cn-sdk/xpush-xgdemo-2019.apk")
    assert any(p.name == "android.permission.CAMERA" for p in scan.permissions)
    dl = parse_lists(draft_yaml(scan))
    assert "face" not in {c.pi_type for c in dl.collected}
    assert not {"idfa", "idfv"} & {pi for s in dl.shared for pi in s.pi_types}


def test_alone_pi_types_must_be_among_the_permissions_pi_types(monkeypatch, tmp_path):
    from qingdan.knowledge import permissions as perms

    monkeypatch.setenv("QINGDAN_CACHE_DIR", str(tmp_path))
    doc = yaml.safe_load(perms._read_text())
    cam = next(e for e in doc["permissions"] if e["name"] == "android.permission.CAMERA")
    cam["alone_pi_types"] = ["photos_media", "imei"]
    monkeypatch.setattr(perms, "_read_text", lambda: yaml.safe_dump(doc, allow_unicode=True))
    perms._knowledge.cache_clear()
    perms.load_permissions.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"permissions\.yaml: .*CAMERA.*alone_pi_types \['imei'\]"):
            perms.load_permissions()
    finally:
        perms._knowledge.cache_clear()
        perms.load_permissions.cache_clear()
