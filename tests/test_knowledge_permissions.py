"""Tests for the Android permission knowledge file and its loader."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.knowledge import permissions as perms  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TAXONOMY = SHARED / "reference" / "regulation" / "pi_taxonomy.yaml"
PERMISSION_MAP = SHARED / "reference" / "regulation" / "permission_map.yaml"

# The shared map names ADD_VOICEMAIL with the android.permission prefix; the real constant
# value (Manifest.permission.ADD_VOICEMAIL) is in the com.android.voicemail namespace.
MAP_NAME_FIXES = {"android.permission.ADD_VOICEMAIL": "com.android.voicemail.permission.ADD_VOICEMAIL"}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _raw() -> dict:
    return yaml.load(perms._read_text(), Loader=_LOADER)  # noqa: S506 - safe loader


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True)


def _shared(path: Path) -> dict:
    if not path.is_file():
        pytest.skip(f"shared reference file not available: {path}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture
def fresh_cache():
    perms._knowledge.cache_clear()
    perms.load_permissions.cache_clear()
    yield
    perms._knowledge.cache_clear()
    perms.load_permissions.cache_clear()


def test_file_loads():
    table = perms.load_permissions()
    assert table
    assert all(isinstance(v, perms.PermissionInfo) for v in table.values())
    assert perms.load_permissions() is table  # cached


def test_schema_tag():
    assert _raw()["meta"]["schema"] == perms.SCHEMA == "qingdan.knowledge.permissions/1"


def test_at_least_180_entries():
    assert len(perms.load_permissions()) >= 180


def test_names_unique():
    names = [e["name"] for e in _raw()["permissions"]]
    assert len(names) == len(set(names))


def test_protection_in_allowed_set():
    allowed = {"dangerous", "normal", "signature", "special"}
    assert {p.protection for p in perms.load_permissions().values()} <= allowed


def test_sources_defined():
    raw = _raw()
    defined = set(raw["sources"])
    for key in ("android-manifest-permission-ref", "qingdan-permission-map", "tc260-2020-59", "vendor-docs"):
        assert key in defined
    for e in raw["permissions"]:
        src = e["source"] if isinstance(e["source"], list) else [e["source"]]
        assert src and set(src) <= defined, e["name"]


def test_groups_defined_and_only_on_runtime_permissions():
    groups = perms.load_permission_groups()
    assert {"LOCATION", "PHONE", "CAMERA", "MICROPHONE", "STORAGE", "SMS"} <= set(groups)
    for p in perms.load_permissions().values():
        if p.group is not None:
            assert p.group in groups, p.name
            assert p.protection == "dangerous", p.name


def test_pi_types_exist_in_taxonomy():
    if not TAXONOMY.is_file():
        pytest.skip(f"shared PI taxonomy not available at {TAXONOMY}")
    keys = {t["key"] for t in _shared(TAXONOMY)["types"]}
    bad = {
        p.name: sorted(set(p.pi_types) - keys)
        for p in perms.load_permissions().values()
        if set(p.pi_types) - keys
    }
    assert not bad


@pytest.mark.parametrize(
    ("name", "protection", "added"),
    [
        ("android.permission.READ_PHONE_STATE", "dangerous", 1),
        ("android.permission.INTERNET", "normal", 1),
        ("android.permission.SYSTEM_ALERT_WINDOW", "special", 1),
        ("android.permission.READ_LOGS", "signature", 1),
        ("android.permission.ACCESS_BACKGROUND_LOCATION", "dangerous", 29),
        ("android.permission.POST_NOTIFICATIONS", "dangerous", 33),
        ("android.permission.QUERY_ALL_PACKAGES", "normal", 30),
        ("android.permission.MANAGE_EXTERNAL_STORAGE", "special", 30),
        ("android.permission.PACKAGE_USAGE_STATS", "special", 23),
        ("android.permission.REQUEST_INSTALL_PACKAGES", "special", 23),
        ("android.permission.WRITE_SETTINGS", "special", 1),
        ("android.permission.SCHEDULE_EXACT_ALARM", "special", 31),
        ("android.permission.BIND_ACCESSIBILITY_SERVICE", "signature", 16),
        ("android.permission.READ_MEDIA_VISUAL_USER_SELECTED", "dangerous", 34),
        ("com.android.launcher.permission.INSTALL_SHORTCUT", "normal", 19),
    ],
)
def test_well_known_facts(name, protection, added):
    info = perms.permission_info(name)
    assert info is not None
    assert info.protection == protection
    assert info.added == added
    assert perms.protection_level(name) == protection


def test_specific_details():
    rps = perms.permission_info("android.permission.READ_PHONE_STATE")
    assert rps.group == "PHONE" and "imei" in rps.pi_types
    qap = perms.permission_info("android.permission.QUERY_ALL_PACKAGES")
    assert qap.note and "Play" in qap.note  # normal, but restricted by Google Play
    assert perms.permission_info("android.permission.GET_TASKS").deprecated == 21
    assert perms.permission_info("android.permission.PROCESS_OUTGOING_CALLS").deprecated == 29
    assert perms.permission_info("android.permission.INTERNET").pi_types == ()


def test_vendor_permissions_present():
    for name in (
        "com.huawei.android.launcher.permission.CHANGE_BADGE",
        "com.google.android.c2dm.permission.RECEIVE",
        "com.google.android.gms.permission.AD_ID",
        "com.android.launcher.permission.INSTALL_SHORTCUT",
    ):
        assert perms.protection_level(name) in {"normal", "signature"}, name


def test_unknown_permission():
    assert perms.permission_info("com.example.app.permission.C2D_MESSAGE") is None
    assert perms.protection_level("com.example.app.permission.C2D_MESSAGE") == "unknown"


def test_shared_permission_map_agrees():
    rows = _shared(PERMISSION_MAP)["android_permissions"]
    assert len(rows) == 48
    table = perms.load_permissions()
    for row in rows:
        name = MAP_NAME_FIXES.get(row["permission"], row["permission"])
        info = table.get(name)
        assert info is not None, name
        assert set(info.pi_types) == set(row["pi_types"]), name
        assert info.zh == row["zh"], name
        assert "qingdan-permission-map" in info.sources, name
        # the map writes e.g. "special (appop)" or "signature|privileged"
        assert info.protection == row["protection"].split()[0].split("|")[0], name


def test_malformed_file_names_file_and_entry(monkeypatch, fresh_cache):
    doc = _raw()
    doc["permissions"][3]["protection"] = "bogus"
    bad_name = doc["permissions"][3]["name"]
    monkeypatch.setattr(perms, "_read_text", lambda: _dump(doc))
    with pytest.raises(ValueError) as exc:
        perms.load_permissions()
    assert "permissions.yaml" in str(exc.value)
    assert bad_name in str(exc.value)


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["permissions"][0].pop("zh"), "missing keys"),
        (lambda d: d["permissions"][0].__setitem__("source", "no-such-source"), "not defined in sources"),
        (lambda d: d["permissions"][0].__setitem__("group", "NOPE"), "not in permission_groups"),
        (lambda d: d["permissions"].append(dict(d["permissions"][0])), "duplicate"),
        (lambda d: d["permissions"][0].__setitem__("added", "one"), "added"),
        (lambda d: d["meta"].__setitem__("schema", "other/1"), "meta.schema"),
    ],
)
def test_malformed_variants(monkeypatch, fresh_cache, mutate, needle):
    doc = _raw()
    mutate(doc)
    monkeypatch.setattr(perms, "_read_text", lambda: _dump(doc))
    with pytest.raises(ValueError, match="permissions.yaml") as exc:
        perms.load_permissions()
    assert needle in str(exc.value)


def test_not_yaml(monkeypatch, fresh_cache):
    monkeypatch.setattr(perms, "_read_text", lambda: "permissions: [unclosed")
    with pytest.raises(ValueError, match="permissions.yaml"):
        perms.load_permissions()
