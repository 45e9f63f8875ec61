"""Tests for the SDK catalogue (sdks.yaml), the separate Exodus file (sdks_exodus.yaml) and their loader."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.knowledge import sdks as cat  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TAXONOMY = SHARED / "reference" / "regulation" / "pi_taxonomy.yaml"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

ALLOWED_CATEGORIES = {
    "push", "analytics", "ads", "maps_location", "payment", "login_share", "crash_apm", "one_click_login",
    "im", "anti_fraud", "customer_service", "hotfix", "network", "image", "ui", "video_audio", "ar_vr",
    "game", "security", "storage", "ocr_face", "speech", "live", "utility", "framework", "other",
}
# Independent of the loader's own list: prefixes that would match half the world.
FORBIDDEN_PREFIXES = {
    "com", "cn", "org", "net", "io", "android", "androidx", "java", "javax", "kotlin", "kotlinx",
    "com.google", "com.google.android", "com.google.android.gms", "com.android", "org.apache", "org.json",
    "com.tencent", "com.tencent.mm", "com.alibaba", "com.alipay", "com.taobao", "com.baidu", "com.huawei",
    "com.xiaomi", "com.facebook", "com.umeng", "com.bytedance", "com.ss.android", "com.sina", "com.netease",
}
# Package prefixes two SDKs may both list on purpose (none at present).
DELIBERATELY_SHARED_PREFIXES: set[str] = set()

# Chinese SDKs the catalogue must describe completely (company, PI types, policy URL).
MUST_BE_COMPLETE = [
    "jpush", "jiguang-jverification", "jiguang-jcore", "jiguang-janalytics", "umeng-common",
    "umeng-analytics", "umeng-push", "umeng-share", "umeng-apm", "umeng-verify", "getui-push",
    "tencent-bugly", "tencent-bugly-upgrade", "tencent-mta", "tencent-tpns", "tencent-qq-connect",
    "wechat-opensdk", "wechat-pay", "tencent-gdt", "tencent-tbs", "tencent-map", "tencent-location",
    "weibo-sdk", "alipay-sdk", "alibaba-utdid", "aliyun-push", "alibaba-sophix", "aliyun-oss", "amap-map3d",
    "amap-map2d", "amap-location", "baidu-map", "baidu-location", "baidu-mobstat", "baidu-mobads", "pangle",
    "kuaishou-ads", "mob-sharesdk", "mob-mobpush", "mob-moblink", "mob-smssdk", "xiaomi-push", "huawei-push",
    "huawei-account", "huawei-analytics", "oppo-push", "vivo-push", "meizu-push", "honor-push", "cmic-auth",
    "cucc-auth", "ctcc-auth", "shanyan", "netease-yunxin-im", "rongcloud-im", "easemob-im", "tencent-im",
    "agora-rtc", "qiniu", "iflytek-msc", "sensorsdata", "growingio", "talkingdata", "shumei", "tongdun",
    "geetest", "volcengine-datafinder",
]
# Present (with at least a company) even where a policy URL could not be confirmed.
MUST_EXIST = ["youmi-ads", "xiaomi-mimo-ads", "sobot", "unionpay", "tencent-tinker", "msa-oaid",
              "thinkingdata"]


def _raw() -> dict:
    return yaml.load(cat._read_text(cat.DATA_FILE), Loader=_LOADER)  # noqa: S506 - safe loader


def _raw_exodus() -> dict:
    return yaml.load(cat._read_text(cat.EXODUS_FILE), Loader=_LOADER)  # noqa: S506 - safe loader


def _complete(s: cat.Sdk) -> bool:
    return bool(s.company and s.pi_types and s.policy_url)


@pytest.fixture
def fresh_cache():
    for f in (cat._catalogue, cat.load_sdks, cat.load_exodus):
        f.cache_clear()
    yield
    for f in (cat._catalogue, cat.load_sdks, cat.load_exodus):
        f.cache_clear()


# ------------------------------------------------------------------ loading


def test_file_loads_and_is_cached():
    table = cat.load_sdks()
    assert table and all(isinstance(v, cat.Sdk) for v in table.values())
    assert cat.load_sdks() is table
    assert all(k == v.id for k, v in table.items())


def test_loads_are_cached_in_process_and_on_disk(fresh_cache, monkeypatch, tmp_path):
    """Parsed once per process, and built once per data version across processes (load time itself
    is measured in benchmarks/knowledge_load.py, not asserted here)."""
    from qingdan.knowledge import _data

    monkeypatch.setenv("QINGDAN_CACHE_DIR", str(tmp_path))
    calls = {"yaml": 0, "catalogue": 0, "exodus": 0}

    def counting(key, real):
        def wrapper(*args, **kwargs):
            calls[key] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(yaml, "load", counting("yaml", yaml.load))
    monkeypatch.setattr(cat, "_parse_catalogue", counting("catalogue", cat._parse_catalogue))
    monkeypatch.setattr(cat, "_parse_exodus", counting("exodus", cat._parse_exodus))
    first = (cat.load_sdks(), cat.load_exodus())
    assert calls == {"yaml": 2, "catalogue": 1, "exodus": 1}
    assert (cat.load_sdks(), cat.load_exodus()) == first
    assert calls == {"yaml": 2, "catalogue": 1, "exodus": 1}  # the process's cache
    for f in (cat._catalogue, cat.load_sdks, cat.load_exodus):
        f.cache_clear()  # as in a new process
    assert (cat.load_sdks(), cat.load_exodus()) == first
    assert calls == {"yaml": 2, "catalogue": 1, "exodus": 1}  # built objects from the disk cache
    assert len(list(tmp_path.glob("sdks-built-*.pickle"))) == 1
    assert _data.cache_dir() == tmp_path


def test_schema_tag():
    assert _raw()["meta"]["schema"] == cat.SCHEMA == "qingdan.knowledge.sdks/1"


def test_name_property():
    table = cat.load_sdks()
    assert table["jpush"].name == "极光推送"
    western = next(s for s in table.values() if s.name_zh is None)
    assert western.name == western.name_en


# ------------------------------------------------------------------ targets


def test_counts_meet_targets():
    table = cat.load_sdks()
    cn = [s for s in table.values() if s.country == "CN"]
    complete_cn = [s for s in cn if _complete(s)]
    assert len(table) >= 500
    assert len(cn) >= 200
    assert len(complete_cn) >= 60


@pytest.mark.parametrize("sid", MUST_BE_COMPLETE)
def test_key_chinese_sdks_complete(sid):
    s = cat.load_sdks()[sid]
    assert s.country == "CN"
    assert _complete(s), sid
    assert any(getattr(s.signatures, k) for k in cat.SIGNATURE_KINDS), sid


@pytest.mark.parametrize("sid", MUST_EXIST)
def test_other_key_sdks_present(sid):
    s = cat.load_sdks()[sid]
    assert (s.company or s.company_en) and s.country == "CN"


# ------------------------------------------------------------------ integrity


def test_ids_unique_and_slugs():
    ids = [e["id"] for e in _raw()["sdks"]]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z0-9][a-z0-9-]*", i) for i in ids)


def test_categories_allowed():
    assert set(cat.CATEGORIES) == ALLOWED_CATEGORIES
    assert {s.category for s in cat.load_sdks().values()} <= ALLOWED_CATEGORIES


def test_pi_types_in_taxonomy():
    if not TAXONOMY.is_file():
        pytest.skip(f"shared PI taxonomy not available at {TAXONOMY}")
    keys = {t["key"] for t in yaml.safe_load(TAXONOMY.read_text(encoding="utf-8"))["types"]}
    bad = {s.id: sorted(set(s.pi_types) - keys) for s in cat.load_sdks().values() if set(s.pi_types) - keys}
    assert not bad


def test_every_source_key_defined_and_described():
    raw = _raw()
    sources = raw["sources"]
    used = {k for e in raw["sdks"] for k in e["sources"]}
    assert used <= set(sources)
    assert all(e["sources"] for e in raw["sdks"])
    for key in ("libchecker-v42", "appscan"):
        assert sources[key]["licence"] == "Apache-2.0" and sources[key]["commit"]
    assert "vendor-policy" in sources and "recalled" in sources


def test_unverified_entries_say_why():
    for s in cat.load_sdks().values():
        assert s.verified == ("recalled" not in s.sources), s.id


def test_no_generic_package_prefix():
    assert FORBIDDEN_PREFIXES <= cat.GENERIC_PACKAGE_PREFIXES
    bad = [(s.id, p) for s in cat.load_sdks().values() for p in s.signatures.packages
           if p in FORBIDDEN_PREFIXES]
    assert not bad


def test_package_prefixes_well_formed():
    for s in cat.load_sdks().values():
        for p in s.signatures.packages:
            assert re.fullmatch(r"[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*", p), (s.id, p)


def test_no_package_prefix_claimed_twice():
    owners: dict[str, list[str]] = {}
    for s in cat.load_sdks().values():
        for p in s.signatures.packages:
            owners.setdefault(p, []).append(s.id)
    dup = {p: ids for p, ids in owners.items() if len(ids) > 1 and p not in DELIBERATELY_SHARED_PREFIXES}
    assert not dup
    assert DELIBERATELY_SHARED_PREFIXES == set(cat.SHARED_PACKAGE_PREFIXES)


def test_no_component_or_native_lib_claimed_twice():
    for kind in ("components", "native_libs", "component_patterns", "native_lib_patterns"):
        seen: dict[str, str] = {}
        for s in cat.load_sdks().values():
            for v in getattr(s.signatures, kind):
                assert v not in seen, (kind, v, seen.get(v), s.id)
                seen[v] = s.id


def test_regexes_compile():
    for s in cat.load_sdks().values():
        for rx in s.signatures.component_patterns + s.signatures.native_lib_patterns:
            re.compile(rx)
    for t in cat.load_exodus():
        for rx in t.code_signatures + t.network_signatures:
            re.compile(rx)


def test_every_entry_has_a_signature_and_urls_are_http():
    for s in cat.load_sdks().values():
        assert any(getattr(s.signatures, k) for k in cat.SIGNATURE_KINDS), s.id
        assert s.policy_url is None or s.policy_url.startswith(("http://", "https://")), s.id
        assert s.country is None or re.fullmatch(r"[A-Z]{2}", s.country), s.id


# ------------------------------------------------------------------ spot checks


def test_spot_jpush():
    s = cat.load_sdks()["jpush"]
    assert "cn.jpush.android" in s.signatures.packages
    assert s.company == "深圳市和讯华谷信息技术有限公司"
    assert s.category == "push"
    assert "JPUSH_APPKEY" in s.signatures.meta_data


def test_spot_umeng_analytics():
    s = cat.load_sdks()["umeng-analytics"]
    assert "UMENG_APPKEY" in s.signatures.meta_data
    assert "com.umeng.analytics" in s.signatures.packages
    assert s.category == "analytics"


def test_spot_amap_location():
    s = cat.load_sdks()["amap-location"]
    assert "com.amap.api.location" in s.signatures.packages
    assert "com.amap.api.v2.apikey" in s.signatures.meta_data
    assert s.category == "maps_location"


def test_spot_more():
    t = cat.load_sdks()
    assert "com.tencent.bugly" in t["tencent-bugly"].signatures.packages
    assert "com.igexin.sdk" in t["getui-push"].signatures.packages
    assert "com.tencent.mm.opensdk" in t["wechat-opensdk"].signatures.packages
    assert "com.bytedance.sdk.openadsdk" in t["pangle"].signatures.packages
    assert "cn.sharesdk" in t["mob-sharesdk"].signatures.packages
    assert t["alipay-sdk"].company == "支付宝（中国）网络技术有限公司"
    assert "com.qq.e" in t["tencent-gdt"].signatures.packages
    assert t["facebook-sdk"].country == "US"


# ------------------------------------------------------------------ search


def test_search_by_text_and_category():
    ids = [s.id for s in cat.search_sdks("umeng")]
    assert {"umeng-common", "umeng-analytics", "umeng-push", "umeng-share"} <= set(ids)
    assert [s.id for s in cat.search_sdks("和讯华谷")][:1] == ["jpush"]
    assert "jpush" in {s.id for s in cat.search_sdks("CN.JPUSH")}  # package prefix, case-insensitive
    push = cat.search_sdks(category="push")
    assert push and all(s.category == "push" for s in push)
    assert {s.id for s in cat.search_sdks("友盟", category="push")} == {"umeng-push"}
    assert len(cat.search_sdks()) == len(cat.load_sdks())
    with pytest.raises(ValueError):
        cat.search_sdks(category="nope")


# ------------------------------------------------------------------ Exodus (ODbL, separate file)


def test_exodus_separate_and_attributed():
    raw_text = cat._read_text(cat.EXODUS_FILE)
    head = raw_text[:1500]
    assert "ODbL" in head and "Exodus Privacy" in head and "https://reports.exodus-privacy.eu.org" in head
    doc = _raw_exodus()
    assert doc["meta"]["licence"] == "ODbL-1.0"
    assert cat.EXODUS_FILE != cat.DATA_FILE
    trackers = cat.load_exodus()
    assert len(trackers) >= 400
    assert all(t.id.startswith("exodus-") for t in trackers)
    assert len({t.id for t in trackers}) == len(trackers)
    assert all(e["source"] == "exodus" for e in doc["trackers"])
    # nothing from Exodus is mixed into the Apache-2.0 catalogue
    main = _raw()
    assert "exodus" not in main["sources"]
    assert not any(e["id"].startswith("exodus-") for e in main["sdks"])


def test_exodus_known_tracker():
    by_name = {t.name: t for t in cat.load_exodus()}
    fb = [t for n, t in by_name.items() if n.startswith("Facebook")]
    assert fb and any(any("com.facebook" in s for s in t.code_signatures) for t in fb)


# ------------------------------------------------------------------ malformed data


def _dump(doc: dict) -> str:
    return yaml.dump(doc, Dumper=_DUMPER, allow_unicode=True)


def _expect_error(doc: dict, *needles: str):
    with pytest.raises(ValueError) as exc:
        cat._parse_catalogue(_dump(doc))
    msg = str(exc.value)
    assert "sdks.yaml" in msg
    for n in needles:
        assert n in msg, msg


def test_malformed_bad_category():
    doc = _raw()
    doc["sdks"][0]["category"] = "spyware"
    _expect_error(doc, doc["sdks"][0]["id"], "category")


def test_malformed_generic_prefix():
    doc = _raw()
    doc["sdks"][1]["signatures"].setdefault("packages", []).append("com.tencent")
    _expect_error(doc, doc["sdks"][1]["id"], "com.tencent")


def test_malformed_duplicate_prefix():
    doc = _raw()
    doc["sdks"][2]["signatures"].setdefault("packages", []).append("cn.jpush.android")
    _expect_error(doc, doc["sdks"][2]["id"], "cn.jpush.android")


def test_malformed_unknown_source_and_bad_regex_and_dup_id():
    doc = _raw()
    doc["sdks"][3]["sources"] = ["nowhere"]
    _expect_error(doc, doc["sdks"][3]["id"], "nowhere")
    doc = _raw()
    doc["sdks"][4]["signatures"]["component_patterns"] = ["(unclosed"]
    _expect_error(doc, doc["sdks"][4]["id"], "regular expression")
    doc = _raw()
    doc["sdks"][5]["id"] = doc["sdks"][6]["id"]
    _expect_error(doc, "duplicate id")


def test_malformed_missing_key_and_not_yaml():
    doc = _raw()
    del doc["sdks"][7]["policy_url"]
    _expect_error(doc, doc["sdks"][7]["id"], "policy_url")
    with pytest.raises(ValueError, match="sdks.yaml"):
        cat._parse_catalogue("sdks: [\n")
    doc = _raw()
    doc["meta"]["schema"] = "other/1"
    _expect_error(doc, "meta.schema")


def test_malformed_exodus():
    doc = _raw_exodus()
    doc["trackers"][0]["code_signatures"] = ["(bad"]
    with pytest.raises(ValueError, match=r"sdks_exodus\.yaml.*exodus-"):
        cat._parse_exodus(_dump(doc))
    doc = _raw_exodus()
    doc["meta"]["licence"] = "Apache-2.0"
    with pytest.raises(ValueError, match="ODbL"):
        cat._parse_exodus(_dump(doc))
