"""Tests for the app-type knowledge (app_types.yaml: the 39 types of the 2021 necessary-PI rules)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.knowledge import app_types as at  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "qingdan" / "knowledge" / "data"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_TYPES = SHARED / "reference" / "regulation" / "app_types_necessary_info.yaml"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NO_PI_NUMBERS = {21, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38}


def _yaml(path: Path):
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 - safe loader


def _no(entry: dict) -> int:
    """The type number; an unquoted `no:` key (as in the shared file) reads as YAML 1.1 false."""
    return entry["no"] if "no" in entry else entry[False]


@pytest.fixture(scope="module")
def types() -> dict[str, at.AppType]:
    return at.load_app_types()


def test_39_types_numbered_1_to_39(types):
    assert len(types) == 39
    assert [t.no for t in types.values()] == list(range(1, 40))  # unique, contiguous, ordered
    assert len({t.key for t in types.values()}) == 39
    assert len({t.zh for t in types.values()}) == 39
    assert all(k == t.key for k, t in types.items())


def test_13_types_need_no_pi(types):
    none = [t for t in types.values() if t.no_pi_needed]
    assert len(none) == 13
    assert {t.no for t in none} == NO_PI_NUMBERS
    for t in none:
        assert t.necessary_pi == frozenset() and t.necessary_text == ()
    for t in types.values():
        if not t.no_pi_needed:
            assert t.necessary_pi and t.necessary_text, t.key


def test_necessary_pi_keys_are_defined():
    pi_keys = {e["key"] for e in _yaml(DATA / "pi_types.yaml")["pi_types"]}
    for t in at.load_app_types().values():
        assert t.necessary_pi <= pi_keys, (t.key, sorted(t.necessary_pi - pi_keys))


def test_sources_defined_and_fields_valid(types):
    sources = at.load_app_type_sources()
    assert "cac-necessary-pi-2021" in sources and "qingdan-mapping" in sources
    assert sources["cac-necessary-pi-2021"]["url"].startswith("http://www.cac.gov.cn/")
    for t in types.values():
        assert t.sources and set(t.sources) <= set(sources), t.key
        assert t.verification in at.VERIFICATION_VALUES
        assert t.zh.endswith("类") and t.en and t.basic_function_zh
    meta = _yaml(DATA / "app_types.yaml")["meta"]
    assert meta["schema"] == at.SCHEMA
    assert meta["effective"] == "2021-05-01"
    assert "verify" in meta["doc_no_note"]


def test_location_types_cover_both_location_keys(types):
    for key in ("map_navigation", "ride_hailing", "car_use"):
        assert {"precise_location", "coarse_location"} <= types[key].necessary_pi, key
    assert "trajectory" in types["ride_hailing"].necessary_pi
    assert "trajectory" in types["map_navigation"].necessary_pi


def test_location_permissions_inside_navigation_set(types):
    """Every location permission's PI types fall inside the map/navigation and ride-hailing sets."""
    perms = {p["name"]: p for p in _yaml(DATA / "permissions.yaml")["permissions"]}
    for name in ("android.permission.ACCESS_FINE_LOCATION", "android.permission.ACCESS_COARSE_LOCATION",
                 "android.permission.ACCESS_BACKGROUND_LOCATION"):
        pi = set(perms[name]["pi_types"])
        assert pi, name
        for key in ("map_navigation", "ride_hailing"):
            assert pi <= types[key].necessary_pi, (name, key)


def test_spot_checks(types):
    assert "precise_location" in types["map_navigation"].necessary_pi
    assert {"phone_number", "friend_list", "account_id"} <= types["instant_messaging"].necessary_pi
    assert "address_book" not in types["instant_messaging"].necessary_pi
    assert {"name", "address", "phone_number", "payment_info"} <= types["online_shopping"].necessary_pi
    assert types["online_shopping"].necessary_pi == types["food_delivery"].necessary_pi
    assert {"name", "id_card_number", "bank_card"} <= types["online_payment"].necessary_pi
    assert {"gender", "age", "marital_status"} <= types["dating"].necessary_pi
    assert "drivers_license" in types["car_use"].necessary_pi
    assert "id_card_photo" in types["mobile_banking"].necessary_pi
    assert "medical_record" in types["medical_consultation"].necessary_pi
    assert "lodging_info" in types["hotel"].necessary_pi
    assert types["online_community"].necessary_pi == {"phone_number"}
    for key in ("browser", "input_method", "short_video", "utility_tools"):
        assert types[key].no_pi_needed and not types[key].necessary_pi
    # no location in the necessary set of shopping, delivery, ticketing
    for key in ("online_shopping", "food_delivery", "transport_ticketing"):
        assert not {"precise_location", "coarse_location"} & types[key].necessary_pi, key


@pytest.mark.parametrize("value", ["online_shopping", "6", 6, "06", " 6 ", "网上购物类", "网上购物",
                                   "Online shopping",
                                   "ONLINE_SHOPPING"])
def test_find_app_type(value):
    t = at.find_app_type(value)
    assert t is not None and t.key == "online_shopping" and t.no == 6


def test_find_app_type_other_types():
    assert at.find_app_type("1").key == "map_navigation"
    assert at.find_app_type("39").key == "performance_ticketing"
    assert at.find_app_type("即时通信").key == "instant_messaging"
    assert at.find_app_type("浏览器类").key == "browser"
    assert at.find_app_type("instant_messaging").zh == "即时通信类"


@pytest.mark.parametrize("value", ["", "  ", "0", "40", "不存在类", "类", "shopping", None, True, 6.0])
def test_find_app_type_unknown(value):
    assert at.find_app_type(value) is None


def test_result_types(types):
    t = types["ride_hailing"]
    assert isinstance(t.necessary_pi, frozenset)
    assert isinstance(t.necessary_text, tuple) and isinstance(t.sources, tuple)
    with pytest.raises(AttributeError):
        t.key = "x"  # frozen


@pytest.mark.skipif(not SHARED_TYPES.is_file(), reason=f"shared reference not found at {SHARED_TYPES}")
def test_matches_shared_reference(types):
    shared = _yaml(SHARED_TYPES)["types"]
    assert [(_no(e), e["key"], e["zh"]) for e in shared] == [(t.no, t.key, t.zh) for t in types.values()]
    for e in shared:
        t = types[e["key"]]
        assert t.necessary_text == tuple(e["necessary_pi"]), t.key
        assert t.no_pi_needed == bool(e.get("no_pi_required", False)), t.key
        assert t.basic_function_zh == e["basic_function"], t.key
        # verification carried over: plain values equal, mixed ones become "partial"
        if e["verification"] in ("confirmed", "recalled"):
            assert t.verification == e["verification"], t.key
        else:
            assert t.verification in ("partial", "confirmed"), t.key


# ---------------------------------------------------------------- malformed data


def _good_doc() -> dict:
    return _yaml(DATA / "app_types.yaml")


def _parse(doc: dict):
    raw = yaml.safe_dump(doc, allow_unicode=True).encode("utf-8")
    return at._parse(raw, (DATA / "pi_types.yaml").read_bytes())


def test_good_doc_parses():
    cat = _parse(_good_doc())
    assert len(cat.types) == 39


def test_unquoted_no_key_accepted():
    text = (DATA / "app_types.yaml").read_text(encoding="utf-8").replace('- "no": ', "- no: ")
    cat = at._parse(text.encode("utf-8"), (DATA / "pi_types.yaml").read_bytes())
    assert [t.no for t in cat.types.values()] == list(range(1, 40))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["types"][5].update(necessary_pi=["phone_number", "no_such_pi"]), "no_such_pi"),
    (lambda d: d["types"][5].update({"no": 1}), "already used"),
    (lambda d: d["types"][5].update({"no": "6"}), "positive integer"),
    (lambda d: d["types"][5].update(key="map_navigation"), "duplicate key"),
    (lambda d: d["types"][5].update(key="Online Shopping"), "slug"),
    (lambda d: d["types"][5].pop("zh"), "missing keys"),
    (lambda d: d["types"][5].update(extra=1), "unknown keys"),
    (lambda d: d["types"][5].update(no_pi_needed=True), "no_pi_needed is true"),
    (lambda d: d["types"][20].update(no_pi_needed=False), "no_pi_needed is false"),
    (lambda d: d["types"][5].update(verification="maybe"), "verification"),
    (lambda d: d["types"][5].update(sources=["nowhere"]), "not defined in sources"),
    (lambda d: d["types"][5].update(zh="网上购物"), "ending in 类"),
    (lambda d: d["types"][5].update(necessary_text="注册用户移动电话号码"), "list of non-empty strings"),
    (lambda d: d["meta"].update(schema="x"), "meta.schema"),
])
def test_malformed_data_names_file_and_entry(mutate, message):
    doc = _good_doc()
    mutate(doc)
    with pytest.raises(ValueError) as exc:
        _parse(doc)
    text = str(exc.value)
    assert "app_types.yaml" in text and message in text
    if "meta" not in message:
        assert "types[" in text


def test_invalid_yaml_names_file():
    with pytest.raises(ValueError, match="app_types.yaml"):
        at._parse(b"types: [unclosed", (DATA / "pi_types.yaml").read_bytes())
