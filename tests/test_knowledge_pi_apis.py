"""Tests for the PI-type and sensitive-API knowledge files and their loaders."""

from __future__ import annotations

import glob
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.knowledge import apis, permissions, pi  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REF = SHARED / "reference"
TAXONOMY = REF / "regulation" / "pi_taxonomy.yaml"
FIDESLANG = REF / "regulation" / "fideslang_taxonomy.yaml"
SHARED_APIS = REF / "apis" / "sensitive_apis.json"
CAMILLE = REF / "apis" / "camille_hooks.json"
PRIVACYSENTRY = REF / "apis" / "privacysentry_proxied_apis.json"
SDK_MAP = REF / "apis" / "sdk-map-25.txt"
CP_MAP = REF / "apis" / "cp-map-25.txt"
APPSHARK = REF / "apis" / "appshark"

# APIs of the shared sensitive_apis.json deliberately not in sensitive_apis.yaml.
SHARED_API_EXCLUSIONS = {
    # Asking for a runtime permission collects nothing; the permission stage compares requested
    # with declared permissions, and the API that then reads the data has its own entry.
    ("android.app.Activity", "requestPermissions"),
    ("androidx.core.app.ActivityCompat", "requestPermissions"),
    # Writing to the clipboard does not collect personal information (reading it does: clipboard.read).
    ("android.content.ClipboardManager", "setPrimaryClip"),
}

# Hook tools watch the framework implementation class; our entries name the public API class
# that app code calls.
IMPL_CLASSES = {"android.app.ApplicationPackageManager": "android.content.pm.PackageManager"}

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _shared_yaml(path: Path) -> dict:
    if not path.is_file():
        pytest.skip(f"shared reference file not available: {path}")
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - safe loader


def _shared_json(path: Path) -> dict:
    if not path.is_file():
        pytest.skip(f"shared reference file not available: {path}")
    return json.loads(path.read_text(encoding="utf-8"))


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True, sort_keys=False)


# ----------------------------------------------------------------------------- PI types


def test_pi_types_load_and_cache():
    types = pi.load_pi_types()
    assert len(types) >= 86
    assert all(isinstance(v, pi.PIType) and v.key == k for k, v in types.items())
    assert pi.load_pi_types() is types
    assert pi.pi_type("imei") is types["imei"]
    assert pi.pi_type("no_such_type") is None


def test_pi_categories_are_annex_a():
    cats = pi.load_pi_categories()
    assert len(cats) == 13
    assert {t.category for t in pi.load_pi_types().values()} <= set(cats)
    shared = _shared_yaml(TAXONOMY)
    assert [c["key"] for c in shared["gbt35273_2020_annex_a"]] == list(cats)
    for c in shared["gbt35273_2020_annex_a"]:
        assert cats[c["key"]].zh == c["zh"]


def test_every_shared_pi_key_is_defined():
    shared = _shared_yaml(TAXONOMY)
    ours = pi.load_pi_types()
    missing = [t["key"] for t in shared["types"] if t["key"] not in ours]
    assert not missing
    for t in shared["types"]:
        o = ours[t["key"]]
        assert o.category == t["category"], t["key"]
        assert o.sensitive == str(t["sensitive"]).lower(), t["key"]
        assert o.fideslang == t["fideslang"], t["key"]


def test_sensitivity_values_and_basis():
    for t in pi.load_pi_types().values():
        assert t.sensitive in ("true", "false", "context"), t.key
        if t.sensitive == "true":
            assert t.sensitive_basis, t.key
            assert t.is_sensitive
        if t.sensitive == "context":
            assert t.note, t.key
    types = pi.load_pi_types()
    assert types["precise_location"].sensitive == "true"
    assert "pipl-28" in types["face"].sensitive_basis
    assert types["phone_number"].sensitive == "context"
    assert types["imei"].sensitive == "false"


def test_synonyms():
    types = pi.load_pi_types()
    for t in types.values():
        assert 4 <= len(t.synonyms) <= 15, (t.key, len(t.synonyms))
        assert all(s == s.strip() for s in t.synonyms), t.key
    # every sensitive (and context-dependent) type can be matched in policy text
    for t in types.values():
        if t.sensitive != "false":
            assert t.synonyms, t.key
    index = pi.synonym_index()
    assert sum(len(t.synonyms) for t in types.values()) == len(index)  # no synonym in two types
    assert index["imei"] == "imei"
    assert index["剪贴板"] == "clipboard"
    assert index["经纬度"] == "precise_location"


def test_non_resettable_only_on_device_identifiers():
    types = pi.load_pi_types()
    flagged = {k for k, t in types.items() if t.non_resettable}
    assert {"imei", "meid", "imsi", "iccid", "serial_number", "mac_address"} <= flagged
    assert not flagged & {"android_id", "oaid", "idfa", "gaid"}
    assert all(types[k].category == "device" for k in flagged)


def test_pi_sources_defined():
    srcs = pi.load_pi_sources()
    for t in pi.load_pi_types().values():
        assert t.sources and set(t.sources) <= set(srcs), t.key
    assert "CC BY 4.0" in srcs["fideslang-3.1.4"]["licence"]


def test_fideslang_keys_exist():
    doc = _shared_yaml(FIDESLANG)
    keys = {c["fides_key"] for c in doc["data_category"]}
    bad = {t.key: t.fideslang for t in pi.load_pi_types().values() if t.fideslang and t.fideslang not in keys}
    assert not bad


def test_permission_pi_types_are_defined():
    types = pi.load_pi_types()
    bad = {p.name: sorted(set(p.pi_types) - set(types)) for p in permissions.load_permissions().values()
           if set(p.pi_types) - set(types)}
    assert not bad


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["pi_types"][0].update(category="nowhere"), "category 'nowhere'"),
        (lambda d: d["pi_types"][0].update(sensitive="maybe"), "sensitive must be"),
        (lambda d: d["pi_types"][1].update(synonyms=[]), "synonyms must list"),
        (lambda d: d["pi_types"][1].update(synonyms=["姓名"]), "already a synonym"),
        (lambda d: d["pi_types"][0].update(sources=["nope"]), "not defined in sources"),
        (lambda d: d["pi_types"][0].pop("zh"), "missing keys"),
        (lambda d: d["pi_types"][0].update(sensitive=True, sensitive_basis=[]), "sensitive_basis"),
        (lambda d: d["meta"].update(schema="other/1"), "meta.schema"),
    ],
)
def test_pi_malformed_data_names_file_and_entry(mutate, expected):
    doc = yaml.load(pi._read_text(), Loader=_LOADER)  # noqa: S506 - safe loader
    mutate(doc)
    with pytest.raises(ValueError) as err:
        pi._parse(_dump(doc))
    msg = str(err.value)
    assert "pi_types.yaml" in msg and expected in msg
    if "pi_types[" in msg:
        assert "(name)" in msg or "(nickname)" in msg


# ----------------------------------------------------------------------------- sensitive APIs


def test_apis_load_and_cache():
    table = apis.load_sensitive_apis()
    assert len(table) >= 90
    assert apis.load_sensitive_apis() is table
    assert all(isinstance(a, apis.SensitiveApi) for a in table)
    ids = [a.id for a in table]
    assert len(ids) == len(set(ids))


def test_api_pi_types_and_sources_defined():
    types = pi.load_pi_types()
    srcs = apis.load_api_sources()
    for a in apis.load_sensitive_apis():
        assert a.pi_types and set(a.pi_types) <= set(types), a.id
        assert a.sources and set(a.sources) <= set(srcs), a.id


def test_api_shapes():
    for a in apis.load_sensitive_apis():
        assert a.kind in apis.KINDS, a.id
        if a.kind == "content_uri":
            assert a.cls is None and not a.members and a.uris, a.id
            assert all(u.startswith("content://") for u in a.uris), a.id
        else:
            assert apis.is_java_class_name(a.cls), a.id
            assert "/" not in a.cls and not a.cls.startswith("L"), a.id
            assert a.members and not a.uris, a.id
            assert all(re.match(r"^[A-Za-z_$][\w$]*$", m) for m in a.members), a.id


def test_api_permissions_are_known():
    perms = permissions.load_permissions()
    unknown = {(a.id, p) for a in apis.load_sensitive_apis() for p in a.permissions if p not in perms}
    assert not unknown


def test_non_resettable_apis_return_non_resettable_types():
    types = pi.load_pi_types()
    for a in apis.load_sensitive_apis():
        if a.non_resettable:
            assert all(types[t].non_resettable for t in a.pi_types), a.id


def _entries(cls: str, member: str) -> list[apis.SensitiveApi]:
    return [a for a in apis.apis_by_class().get(cls, ()) if member in a.members and a.kind == "method"]


def test_android_id_needs_argument():
    for cls in ("android.provider.Settings$Secure", "android.provider.Settings$System"):
        entries = _entries(cls, "getString")
        assert entries
        android_id = [a for a in entries if "android_id" in a.pi_types]
        assert android_id
        for a in entries:  # no unconditional getString entry: most calls read other settings
            assert a.args is not None and a.args.string_any, a.id
        for a in android_id:
            assert "android_id" in a.args.string_any
            assert a.args.matches(["android_id"]) and not a.args.matches(["screen_brightness"])


def test_key_entries():
    imei = _entries("android.telephony.TelephonyManager", "getDeviceId")
    assert imei and imei[0].non_resettable and "imei" in imei[0].pi_types
    assert imei[0].permission == "android.permission.READ_PHONE_STATE"
    pkg = _entries("android.content.pm.PackageManager", "getPackageInfo")
    assert pkg and all(a.weak for a in pkg)
    installed = _entries("android.content.pm.PackageManager", "getInstalledPackages")
    assert installed and not installed[0].weak
    ro = [a for a in apis.load_sensitive_apis() if a.kind == "reflection_name"
          and a.cls == "android.os.SystemProperties"]
    assert ro and "ro.serialno" in ro[0].args.string_any
    fields = [a for a in apis.apis_by_class()["android.provider.ContactsContract$Contacts"]
              if a.kind == "field"]
    assert fields and "CONTENT_URI" in fields[0].members
    build = [a for a in apis.apis_by_class()["android.os.Build"] if "MODEL" in a.members]
    assert build and build[0].weak and build[0].kind == "field"
    assert apis.sensitive_api("telephony.imei") is not None
    assert apis.sensitive_api("nope.nope") is None


def test_descriptor():
    assert apis.descriptor("android.provider.Settings$Secure") == "Landroid/provider/Settings$Secure;"
    assert apis.descriptor("java.net.NetworkInterface") == "Ljava/net/NetworkInterface;"
    assert apis.sensitive_api("telephony.imei").descriptor == "Landroid/telephony/TelephonyManager;"
    with pytest.raises(ValueError):
        apis.descriptor("Landroid/os/Build;")


def test_match_content_uri():
    ids = {a.id for a in apis.match_content_uri("content://sms/inbox")}
    assert "cp.sms" in ids
    assert ({a.id for a in apis.match_content_uri("content://com.android.contacts/data/phones")}
            == {"cp.contacts"})
    assert apis.match_content_uri("content://smsx") == ()
    assert apis.match_content_uri("content://com.example.provider/items") == ()
    assert "cp.media" in {a.id for a in apis.match_content_uri("content://media/external/images/media")}


def test_shared_sensitive_apis_are_covered():
    doc = _shared_json(SHARED_APIS)
    covered: set[tuple[str, str]] = set()
    for a in apis.load_sensitive_apis():
        covered.update((a.cls, m) for m in a.members)
        covered.update((u, "ContentResolver.query") for u in a.uris)
    missing = [(x["class_or_uri"], x["member"]) for x in doc["apis"]
               if (x["class_or_uri"], x["member"]) not in covered
               and (x["class_or_uri"], x["member"]) not in SHARED_API_EXCLUSIONS]
    assert not missing
    stale = [p for p in SHARED_API_EXCLUSIONS if p in covered]
    assert not stale
    # the argument filters of the shared file are kept
    for x in doc["apis"]:
        if x.get("arg_filter"):
            entries = [a for a in _entries(x["class_or_uri"], x["member"]) if a.args]
            assert any(set(x["arg_filter"]) <= set(a.args.string_any) for a in entries), x


def _reference_listings() -> dict[str, set]:
    """(class, member) pairs or URIs each tool listing names, from the shared reference files."""
    shared = _shared_json(SHARED_APIS)["apis"]
    out: dict[str, set] = {k: set()
                           for k in ("qingdan-sensitive-apis", "camille", "privacysentry", "axplorer",
                                     "appshark")}
    tool_key = {"camille": "camille", "privacysentry": "privacysentry", "appshark": "appshark",
                "axplorer_sdk_map_25": "axplorer", "axplorer_cp_map_25": "axplorer"}
    for x in shared:
        pair = (x["class_or_uri"], x["member"])
        out["qingdan-sensitive-apis"].add(pair)
        for k in x["sources"]:
            if k in tool_key:
                out[tool_key[k]].add(pair)
    for h in _shared_json(CAMILLE)["hooks"]:
        out["camille"].add((IMPL_CLASSES.get(h["class"], h["class"]), h["method"]))
    for p in _shared_json(PRIVACYSENTRY)["proxied_apis"]:
        out["privacysentry"].add((p["class"].replace("Settings.", "Settings$").rsplit(".", 1)[-1],
                                  p["member"]))
    for line in SDK_MAP.read_text(encoding="utf-8").splitlines():
        m = re.match(r"([\w.$]+)\.(\w+)\(", line)
        if m:
            out["axplorer"].add((m.group(1), m.group(2)))
    for line in CP_MAP.read_text(encoding="utf-8").splitlines():
        m = re.search(r"(content://[\w.\-]+)", line)
        if m:
            out["axplorer"].add(m.group(1))
    for f in glob.glob(str(APPSHARK / "*.json")):
        for m in re.finditer(r"<([\w.$]+): \* (\w+)", Path(f).read_text(encoding="utf-8")):
            out["appshark"].add((m.group(1), m.group(2)))
    return out


def test_reference_source_claims_are_backed():
    """An entry that names a reference tool as a source lists an API that tool really names."""
    listings = _reference_listings()
    for a in apis.load_sensitive_apis():
        if a.kind == "content_uri":
            names: set = {(u, "ContentResolver.query") for u in a.uris}
            names |= set(a.uris) | {u.rsplit("/", 1)[0] for u in a.uris}
        else:
            names = {(a.cls, m) for m in a.members}
            names |= {(a.cls.rsplit(".", 1)[-1], m) for m in a.members}
        for src in set(a.sources) & set(listings):
            assert names & listings[src], (a.id, src)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["apis"][0].update(kind="call"), "kind must be"),
        (lambda d: d["apis"][0].update({"class": "android/telephony/TelephonyManager"}), "Java class name"),
        (lambda d: d["apis"][0].update(methods=[]), "must not be empty"),
        (lambda d: d["apis"][0].update(sources=["nope"]), "not defined in sources"),
        (lambda d: d["apis"][0].update(args={"string": ["x"]}), "string_any"),
        (lambda d: d["apis"][0].update(permission="READ_PHONE_STATE"), "full permission name"),
        (lambda d: d["apis"][0].update(weak="yes"), "weak must be"),
        (lambda d: d["apis"][1].update(id=d["apis"][0]["id"]), "duplicate id"),
        (lambda d: d["apis"][0].pop("pi_types"), "missing keys"),
    ],
)
def test_apis_malformed_data_names_file_and_entry(mutate, expected):
    doc = yaml.load(apis._read_text(), Loader=_LOADER)  # noqa: S506 - safe loader
    first = doc["apis"][0]["id"]
    mutate(doc)
    with pytest.raises(ValueError) as err:
        apis._parse(_dump(doc))
    msg = str(err.value)
    assert "sensitive_apis.yaml" in msg and expected in msg
    assert f"({first})" in msg or "apis[0]" in msg
