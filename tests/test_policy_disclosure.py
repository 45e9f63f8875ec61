"""Issue 16, points 10-12: what a policy's words disclose.

10. A permission mention needs the permission's object (存储权限, 读写手机存储, 相册), not a verb (存储 in
    "如何收集、存储、共享"); the words live in knowledge/data/policy_terms.yaml.
11. SDKs the policy names that the app does not contain are stale (and a mismatch of the four-way
    row); PI and parties the policy names that the lists do not are mismatches too. The expected
    four-way table of every shared policy sample, paired with a fixture app and lists built here, is
    written out cell by cell.
12. A vendor name (友盟) discloses the vendor's SDKs only when nothing says which product; that state
    is "disclosed by vendor name", distinct from naming the product (友盟统计, or 友盟 next to 统计).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qingdan.checks.scan import scan_path
from qingdan.knowledge.policy_terms import load_policy_terms
from qingdan.lists.declarations import parse_lists
from qingdan.policy import extract_facts
from qingdan.policy.check import check_policy, compare
from qingdan.policy.read import parse_policy_text
from qingdan.policy.render import render_comparison
from tests.conftest import CORPUS, cli
from tests.support.apkbuilder import ClassDef, Component, Invoke, Method, build_apk, build_dex, build_manifest

POLICIES = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "policies"
needs_policies = pytest.mark.skipif(not POLICIES.is_dir(),
                                    reason=f"shared policy corpus not found at {POLICIES}")
STR = "Ljava/lang/String;"
IMEI = Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
LOCATION = Invoke("Landroid/location/LocationManager;", "getLastKnownLocation", [STR],
                  "Landroid/location/Location;", string_args={1: "network"})
UMENG_ANALYTICS = ("com.umeng.analytics", "com.umeng.commonsdk")
UMENG_SHARE = ("com.umeng.socialize",)
QQ_CONNECT = ("com.tencent.connect.auth", "com.tencent.tauth")


def facts_of(text: str):
    return extract_facts(parse_policy_text(text, "t.txt"))


def build_app(path: Path, package: str, permissions: list[str], sdk_packages=(), app_calls=(),
              activities=()):
    """An app whose own class makes ``app_calls``, with six classes under each SDK package."""
    classes = [ClassDef(f"L{p.replace('.', '/')}/C{i};") for p in sdk_packages for i in range(6)]
    main = ClassDef(f"L{package.replace('.', '/')}/Main;", methods=[Method("m", invokes=list(app_calls))])
    classes.append(main)
    man = build_manifest(package, label="T", permissions=permissions,
                         components=[Component("activity", a) for a in activities])
    return scan_path(build_apk(path, man, [build_dex(classes)]))


def table(cmp_) -> dict:
    """The four-way table as {(kind, key): (declared, detected, disclosed, observed, mismatches)}:
    a cell is None (view not given), "-" (absent), "Y" (present) or "Yv" (disclosed by vendor name)."""
    def mark(c):
        return None if c is None else ("Y" + ("v" if c.by == "vendor" else "")) if c.present else "-"
    return {(r.kind, r.key): (*(mark(r.cells[v]) for v in ("declared", "detected", "disclosed", "observed")),
                              r.mismatches) for r in cmp_.rows}


# -- 10. a permission mention names the permission's object -----------------------------------------


@pytest.mark.parametrize(("text", "mentioned"), [
    ("我们详细制订了涵盖如何收集、存储、共享和保护用户信息的隐私政策。", set()),
    ("我们会将信息存储在中华人民共和国境内，存储期限为六个月。", set()),
    ("我们读取并存储您的信息。", set()),
    ("Bugly 用于定位崩溃问题。", set()),
    ("为了保存图片，我们会申请读写手机存储权限。", {"storage"}),
    ("我们需要访问您的相册，用于上传头像。", {"storage"}),
    ("弹窗申请存储卡读取权限，用来作为本产品的数据源。", {"storage"}),
    ("为了推荐附近门店，我们会申请位置权限。", {"location"}),
])
def test_a_permission_mention_needs_its_object(text, mentioned):
    f = facts_of(text)
    assert {p.permission for p in f.permissions if p.mentioned} == mentioned
    assert all(p.purpose_stated for p in f.permissions if p.mentioned)


def test_the_permission_words_are_knowledge_data():
    objects = load_policy_terms().permission_objects
    assert set(objects) == {"location", "contacts", "storage", "camera", "microphone", "phone", "calendar",
                            "sms", "call_log"}
    assert objects["storage"].search("读写手机存储") and not objects["storage"].search("收集、存储、共享")


def test_a_verb_gives_not_mentioned_rather_than_no_purpose(tmp_path):
    scan = build_app(tmp_path / "a.apk", "com.example.app", ["android.permission.WRITE_EXTERNAL_STORAGE"])
    fs = [f for f in check_policy(facts_of("本政策说明我们如何收集、存储、共享和保护您的信息。"), scan)
          if f.rule_id == "policy.permission-no-purpose"]
    assert [(f.evidence["permission"], f.message_en.endswith("not mentioned in the policy")) for f in fs] == [
        ("storage", True)]
    assert fs[0].evidence["evidence"] == []


# -- 12. vendor names -------------------------------------------------------------------------------


def parties(text: str) -> dict[str, tuple[str, list[str]]]:
    return {t.name: (t.named_by, t.sdk_ids) for t in facts_of(text).third_parties}


def test_a_product_name_discloses_that_sdk_only():
    assert parties("我们使用了友盟统计。") == {"友盟统计": ("product", ["umeng-analytics"])}
    got = parties("我们接入了友盟+ U-App。")
    assert got["友盟+"][0] == "product" and "umeng-share" not in got["友盟+"][1]
    assert "umeng-analytics" in got["友盟+"][1]


def test_a_vendor_name_is_resolved_by_the_product_words_around_it():
    got = parties("我们接入了阿里巴巴旗下（友盟）数据统计SDK，该SDK会收集手机型号。")
    assert set(got) == {"友盟"}  # 阿里巴巴 is the parent company here, not a party
    assert got["友盟"][0] == "product" and "umeng-analytics" in got["友盟"][1]
    assert "umeng-share" not in got["友盟"][1] and "umeng-push" not in got["友盟"][1]
    assert parties("为方便分享，我们接入了友盟的SDK。")["友盟"] == ("product", ["umeng-share"])
    got = parties("我们接入了微信和支付宝支付SDK。")
    assert got["微信"] == ("product", ["wechat-pay"]) and got["支付宝"][0] == "product"
    assert "alipay-sdk" in got["支付宝"][1]


def test_a_bare_vendor_name_discloses_every_sdk_of_the_vendor_by_vendor_name():
    named_by, ids = parties("我们使用了友盟的服务。")["友盟"]
    assert named_by == "vendor" and {"umeng-analytics", "umeng-share", "umeng-push"} <= set(ids)


@pytest.fixture(scope="module")
def umeng_app(tmp_path_factory):
    return build_app(tmp_path_factory.mktemp("umeng") / "u.apk", "com.example.app", [],
                     UMENG_ANALYTICS + UMENG_SHARE)


def test_four_way_rows_of_a_product_and_of_a_vendor_name(umeng_app):
    product = facts_of("为了统计分析，我们接入了友盟统计SDK。")
    assert table(compare(product, umeng_app)) == {
        ("third_party", "umeng-analytics"): (None, "Y", "Y", None, []),
        ("third_party", "umeng-common"): (None, "Y", "Y", None, []),  # the base of every Umeng SDK
        ("third_party", "umeng-share"): (None, "Y", "-", None, ["detected but not disclosed in the policy"]),
    }
    assert [f.owner for f in check_policy(product, umeng_app) if f.rule_id == "policy.sdk-undisclosed"] == [
        "umeng-share"]
    vendor = facts_of("我们使用了友盟的服务。")
    cmp_ = compare(vendor, umeng_app)
    assert table(cmp_) == {
        ("third_party", "umeng-analytics"): (None, "Y", "Yv", None, []),
        ("third_party", "umeng-common"): (None, "Y", "Yv", None, []),
        ("third_party", "umeng-share"): (None, "Y", "Yv", None, []),
    }
    assert not [f for f in check_policy(vendor, umeng_app) if f.rule_id.startswith("policy.sdk-")]
    assert "by vendor name" in render_comparison(cmp_)


def test_a_vendor_name_alone_is_not_a_stale_sdk(tmp_path):
    scan = build_app(tmp_path / "a.apk", "com.example.app", [], QQ_CONNECT)
    fs = check_policy(facts_of("我们使用了友盟的服务。我们接入了友盟推送。"), scan)
    assert [f.owner for f in fs if f.rule_id == "policy.sdk-stale"] == ["umeng-push"]
    # nor a row of its own: 腾讯 may be the operator, a cloud service, a payment channel…
    lists = parse_lists(LISTS_0527)
    rows = table(compare(facts_of("本指引由腾讯提供。"), scan, lists))
    assert [k for k in rows if k[0] == "third_party"] == [("third_party", "tencent-qq-connect"),
                                                         ("third_party", "umeng-analytics"),
                                                         ("third_party", "umeng-common")]
    assert rows[("third_party", "tencent-qq-connect")] == (
        "-", "Y", "Yv", None, ["embedded but not declared in the lists"])


# -- 11. stale SDKs, and every cell of the shared policies' four-way tables -------------------------


def load_policy(name: str):
    import benchmarks.policy_accuracy as bench

    return extract_facts(bench.load_corpus_policy(name))


LISTS_0527 = """\
schema: qingdan.lists/1
app: {name: 多开分身, package: com.bly.dkplat, operator: 示例科技有限公司, contact: privacy@example.com,
      policy_url: https://example.com/privacy, updated: 2026-11-01}
collected:
  - {pi_type: imei, purpose: 识别会员, scenario: 打开应用时, method: permission}
  - {pi_type: device_model, purpose: 解决分身兼容问题, scenario: 打开应用时, method: automatic}
shared:
  - {third_party: 友盟统计, company: 友盟同欣（北京）科技有限公司, sdk: umeng-analytics,
     pi_types: [device_model, imei], purpose: 统计分析, scenario: 使用应用时, method: sdk_local}
"""
NOT_IN_LISTS = ["disclosed in the policy but not declared in the lists"]
STALE = ["named in the policy but not found in the app", "named in the policy but not declared in the lists"]


@needs_policies
def test_four_way_table_of_policy_0527(tmp_path):
    """多开分身: Umeng statistics and QQ share in the app, WeChat only as a declared callback activity;
    the policy also names WeChat and Alipay payment, which the app does not contain."""
    scan = build_app(tmp_path / "dk.apk", "com.bly.dkplat",
                     ["android.permission.READ_PHONE_STATE", "android.permission.WRITE_EXTERNAL_STORAGE"],
                     UMENG_ANALYTICS + QQ_CONNECT, [IMEI], ["com.bly.dkplat.wxapi.WXEntryActivity"])
    facts = load_policy("raw_data_0527.html")
    observed = {"imei": {"app"}, "device_model": {"umeng-analytics"}}
    cmp_ = compare(facts, scan, parse_lists(LISTS_0527), observed)
    assert table(cmp_) == {
        ("pi", "click_log"): ("-", "-", "Y", "-", NOT_IN_LISTS),
        ("pi", "device_model"): ("Y", "-", "Y", "Y", []),
        ("pi", "imei"): ("Y", "Y", "Y", "Y", []),
        ("pi", "ip_address"): ("-", "-", "Y", "-", NOT_IN_LISTS),
        ("pi", "meid"): ("-", "Y", "Y", "-", ["collected but not declared in the lists"]),
        ("pi", "order_info"): ("-", "-", "Y", "-", NOT_IN_LISTS),
        ("pi", "os_version"): ("-", "-", "Y", "-", NOT_IN_LISTS),
        ("pi", "payment_info"): ("-", "-", "Y", "-", NOT_IN_LISTS),
        ("third_party", "alipay-sdk"): ("-", "-", "Y", "-", STALE),
        ("third_party", "tencent-qq-connect"): ("-", "Y", "Y", "-",
                                                ["embedded but not declared in the lists"]),
        ("third_party", "umeng-analytics"): ("Y", "Y", "Y", "Y", []),
        ("third_party", "umeng-common"): ("Y", "Y", "Y", "-", []),
        ("third_party", "wechat-opensdk"): ("-", "-", "Y", "-", STALE),
        ("third_party", "wechat-pay"): ("-", "-", "Y", "-", STALE),
    }
    wx = next(r for r in cmp_.rows if r.key == "wechat-opensdk")
    assert wx.cells["detected"].evidence == ["only a trace: declared_only (no code)"]
    fs = check_policy(facts, scan, parse_lists(LISTS_0527), observed, comparison=cmp_)
    assert sorted(f.owner for f in fs if f.rule_id == "policy.sdk-stale") == ["alipay-sdk", "wechat-opensdk",
                                                                               "wechat-pay"]
    assert [f.evidence["permission"] for f in fs
            if f.rule_id == "policy.permission-no-purpose"] == ["storage"]
    assert not [f for f in fs if f.rule_id in ("policy.sdk-undisclosed", "policy.pi-undisclosed")]


@needs_policies
def test_four_way_table_of_policy_0539(tmp_path):
    """A weather app: the policy explains the storage permission and nothing about location."""
    scan = build_app(tmp_path / "wf.apk", "com.blulioncn.weather_forecast",
                     ["android.permission.READ_EXTERNAL_STORAGE", "android.permission.ACCESS_FINE_LOCATION"],
                     app_calls=[LOCATION])
    head = LISTS_0527.split("collected:")[0].replace("com.bly.dkplat", "com.blulioncn.weather_forecast")
    rows = "".join(f"  - {{pi_type: {k}, purpose: 显示天气, scenario: 打开首页时, method: permission}}\n"
                   for k in ("precise_location", "coarse_location"))
    lists = parse_lists(head + "collected:\n" + rows + "shared: []\n")
    facts = load_policy("raw_data_0539.html")
    cmp_ = compare(facts, scan, lists)
    undisclosed = ["declared but not disclosed in the policy", "detected but not disclosed in the policy"]
    assert table(cmp_) == {
        ("pi", "coarse_location"): ("Y", "Y", "-", None, undisclosed),
        ("pi", "precise_location"): ("Y", "Y", "-", None, undisclosed),
    }
    fs = check_policy(facts, scan, lists, comparison=cmp_)
    assert [f.evidence["permission"] for f in fs
            if f.rule_id == "policy.permission-no-purpose"] == ["location"]


@needs_policies
def test_four_way_table_of_the_cainiao_policy():
    """No scan: the lists against the policy and a ledger. Every PI type the policy names and the
    lists do not is a mismatch, not "consistent"."""
    lists = parse_lists("""\
schema: qingdan.lists/1
app: {name: 菜鸟, package: com.cainiao.wireless, operator: 示例网络科技有限公司, contact: privacy@example.com,
      policy_url: https://example.com/privacy, updated: 2026-11-01}
collected:
  - {pi_type: name, purpose: 寄件, scenario: 寄件时, method: provided}
  - {pi_type: phone_number, purpose: 寄件, scenario: 寄件时, method: provided}
  - {pi_type: address, purpose: 寄件, scenario: 寄件时, method: provided}
shared:
  - {third_party: 菜鸟驿站, company: 菜鸟驿站, pi_types: [name, phone_number, address], purpose: 包裹代收,
     scenario: 取件时, method: api_transfer}
""")
    facts = load_policy("cainiao_菜鸟裹裹.json")
    cmp_ = compare(facts, None, lists, {"name": {"app"}, "address": {"菜鸟驿站"}})
    only_policy = ("-", None, "Y", "-", NOT_IN_LISTS)
    assert table(cmp_) == {
        **{("pi", k): only_policy for k in ("account_id", "birthday", "browsing_history", "cookie",
                                             "device_model", "email", "gender", "id_card_number", "imei",
                                             "ip_address", "network_info", "os_version", "precise_location",
                                             "user_content")},
        ("pi", "address"): ("Y", None, "Y", "Y", []),
        ("pi", "name"): ("Y", None, "Y", "Y", []),
        ("pi", "phone_number"): ("Y", None, "Y", "-", []),
        ("third_party", "菜鸟驿站"): ("Y", None, "Y", "Y", []),
    }


@needs_policies
@pytest.mark.skipif(not (CORPUS / "cn-app" / "getactivity-androidproject-2019.apk").is_file(),
                    reason="corpus app not found")
def test_policy_0527_against_the_corpus_app(tmp_path):
    """The corpus app with Umeng statistics and share, Bugly and QQ (labels: tests/data/corpus_labels.yaml),
    checked from the command line: the SDKs the policy names and the app lacks are stale; Umeng share,
    which the policy's "友盟 数据统计" does not name, is undisclosed."""
    import json

    app = CORPUS / "cn-app" / "getactivity-androidproject-2019.apk"
    code, out, err = cli("policy", "check", str(POLICIES / "raw_data_0527.html"), "--app", str(app),
                         "--json", str(tmp_path / "p.json"))
    assert code == 1, err
    data = json.loads((tmp_path / "p.json").read_text("utf-8"))
    rows = {r["key"]: r for r in data["comparison"] if r["kind"] == "third_party"}
    got = {k: (r["cells"]["detected"]["present"], r["cells"]["disclosed"]["present"], r["mismatches"])
           for k, r in rows.items()}
    stale = (False, True, ["named in the policy but not found in the app"])
    assert got == {"alipay-sdk": stale, "wechat-opensdk": stale, "wechat-pay": stale,
                   "tencent-bugly": (True, False, ["detected but not disclosed in the policy"]),
                   "umeng-share": (True, False, ["detected but not disclosed in the policy"]),
                   "tencent-qq-connect": (True, True, []), "umeng-analytics": (True, True, []),
                   "umeng-common": (True, True, [])}
    found = {(f["rule"], f["owner"]) for f in data["findings"] if f["rule"].startswith("policy.sdk-")}
    assert found == {("policy.sdk-stale", "alipay-sdk"), ("policy.sdk-stale", "wechat-opensdk"),
                     ("policy.sdk-stale", "wechat-pay"), ("policy.sdk-undisclosed", "tencent-bugly"),
                     ("policy.sdk-undisclosed", "umeng-share")}
    storage = next(f for f in data["findings"] if f["rule"] == "policy.permission-no-purpose"
                   and f["evidence"]["permission"] == "storage")
    assert "not mentioned" in storage["message_en"]


def test_a_name_inside_an_address_is_no_mention(tmp_path):
    """qq.com in an e-mail address, umeng.com in a link: no SDK named, so nothing stale."""
    text = "客服邮箱：2960401314@qq.com。友盟统计的政策见 https://www.umeng.com/page/policy 。"
    assert parties(text) == {"友盟统计": ("product", ["umeng-analytics"])}
    scan = build_app(tmp_path / "a.apk", "com.example.app", [], UMENG_ANALYTICS)
    assert not [f for f in check_policy(facts_of(text), scan) if f.rule_id == "policy.sdk-stale"]


def test_a_malformed_terms_file_names_the_file_and_the_entry():
    from qingdan.knowledge import policy_terms as pt

    text = pt._read_text()
    with pytest.raises(ValueError, match=r"policy_terms\.yaml: brands\[\d+\]: source 'nope' is not a key"):
        pt._parse(text.replace("source: umeng-common", "source: nope"))
    with pytest.raises(ValueError, match=r"permission_objects\[\d+\]: permission must be"):
        pt._parse(text.replace("  - permission: sms\n", "  - permission: sms_\n"))
