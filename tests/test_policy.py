"""Privacy-policy analysis: reading (encodings, HTML, tables, <pre>), facts, every policy rule failing
and passing, the four-way comparison and its page, the CLI, the real corpus and the accuracy targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qingdan.lists.declarations import parse_lists
from qingdan.policy import PolicyError, extract_facts, read_policy, read_policy_bytes
from qingdan.policy.check import POLICY_RULES, check_policy, compare
from qingdan.policy.read import parse_policy_text
from qingdan.policy.render import render_comparison
from tests.conftest import ROOT, cli

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
POLICIES = SHARED / "corpus" / "policies"
needs_policies = pytest.mark.skipif(not POLICIES.is_dir(),
                                    reason=f"shared policy corpus not found at {POLICIES}")
DEMO = ROOT / "examples" / "demo.apk"

GOOD = """<!DOCTYPE html><html><head><title>隐私政策</title><style>p{}</style></head><body>
<h1>清单演示隐私政策</h1>
<p>更新日期：2026年11月1日　版本：V2.1</p>
<h2>隐私政策摘要</h2>
<p>我们收集设备信息和位置信息用于推送与附近门店推荐。</p>
<h2>一、我们如何收集和使用您的个人信息</h2>
<p>为了识别设备、防范账号被盗，我们会收集IMEI、MEID、Android ID、OAID、MAC地址、设备型号、操作系统版本、\
IP地址、网络信息与WiFi信息。</p>
<p>为了实现粘贴口令功能，我们会读取剪切板内容。为了推荐相关服务，我们会获取应用安装列表。</p>
<table>
<tr><th>权限</th><th>使用目的</th></tr>
<tr><td>位置权限</td><td>用于推荐附近门店，获取精确位置或大致位置</td></tr>
<tr><td>相机权限</td><td>用于扫码</td></tr>
<tr><td>通讯录权限</td><td>用于邀请好友</td></tr>
<tr><td>存储权限（相册）</td><td>用于上传头像</td></tr>
<tr><td>电话权限（读取设备信息）</td><td>用于识别设备，保障账号安全</td></tr>
</table>
<h2>二、第三方SDK</h2>
<table>
<tr><th>第三方名称</th><th>运营方</th><th>收集的个人信息</th><th>使用目的</th><th>共享方式</th></tr>
<tr><td>极光推送 JPush</td><td>深圳市和讯华谷信息技术有限公司</td>\
<td>设备型号、Android ID、OAID、IP地址</td><td>消息推送</td><td>SDK本机采集</td></tr>
<tr><td>友盟统计</td><td>友盟同欣（北京）科技有限公司</td><td>MAC地址、应用安装列表</td><td>统计分析</td><td>SDK本机采集</td></tr>
<tr><td>友盟推送 com.umeng.message</td><td>友盟同欣（北京）科技有限公司</td>\
<td>IMEI、IMSI</td><td>消息推送</td><td>SDK本机采集</td></tr>
</table>
<p>您可以在“我的-设置-隐私”中查看<a href="https://example.com/collected">已收集个人信息清单</a>与<a href="https://example.com/shared">第三方共享个人信息清单</a>。</p>
<h2>三、您的权利</h2>
<p>您可以查阅、更正、删除您的个人信息，可以撤回同意，也可以在“设置-账号安全”中注销账号。</p>
<p>我们将在15个工作日内回复您的请求。</p>
<h2>四、存储期限与安全措施</h2>
<p>您的个人信息存储于中华人民共和国境内，存储期限为实现目的所必需的最短时间；我们采用加密等安全措施。</p>
<p>我们使用Cookie及同类技术。我们不会将您的信息传输至境外。</p>
<h2>五、未成年人保护</h2><p>未满14周岁的儿童须由监护人同意。</p>
<h2>六、联系我们</h2>
<p>运营者：示例科技有限公司，注册地址：北京市海淀区示例路1号。</p>
<p>邮箱：privacy@example.com，客服热线：400-123-4567。</p>
</body></html>"""

BAD = "本应用会收集您的位置信息和通讯录。\n如有问题请与我们联系。\n"

LISTS = """\
schema: qingdan.lists/1
app: {name: 清单演示, package: com.example.app, operator: 示例科技有限公司, contact: privacy@example.com,
      policy_url: https://example.com/privacy, updated: 2026-11-01}
collected:
  - {pi_type: imei, purpose: 识别设备, scenario: 登录时, method: permission}
  - {pi_type: 身份证号码, purpose: 实名认证, scenario: 实名认证时, method: provided}
shared:
  - {third_party: 顺丰速运, company: 顺丰速运有限公司, pi_types: [address], \
purpose: 配送, scenario: 下单, method: api_transfer}
"""


def facts_of(text: str, source: str = "t.html"):
    return extract_facts(parse_policy_text(text, source))


def rules_of(findings) -> set[str]:
    return {f.rule_id for f in findings}


@pytest.fixture(scope="module")
def demo_scan():
    from qingdan.checks.scan import scan_path

    return scan_path(DEMO)


# -- reading ------------------------------------------------------------------------------------


def test_gbk_file_is_decoded(tmp_path):
    p = tmp_path / "gbk.txt"
    p.write_bytes("隐私政策摘要\n我们会收集您的手机号码，用于登录。\n".encode("gbk"))
    doc = read_policy(p)
    assert doc.encoding == "gb18030" and "手机号码" in doc.text
    assert "phone_number" in extract_facts(doc).pi_types


def test_utf8_with_and_without_bom(tmp_path):
    for name, raw in (("bom.txt", b"\xef\xbb\xbf" + "我们收集您的邮箱。".encode()),
                      ("plain.txt", "我们收集您的邮箱。".encode())):
        p = tmp_path / name
        p.write_bytes(raw)
        doc = read_policy(p)
        assert doc.text.startswith("我们") and "email" in extract_facts(doc).pi_types
    assert read_policy(tmp_path / "bom.txt").encoding == "utf-8-sig"


def test_bad_input_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError):
        read_policy_bytes(b"", "empty")
    with pytest.raises(PolicyError):
        read_policy_bytes(b"\x00\x01\x02\x03binary", "bin")
    with pytest.raises(PolicyError):
        read_policy_bytes(b"abc\xff\xff\xff", "junk")


def test_html_tables_keep_rows_as_one_unit():
    doc = parse_policy_text(GOOD)
    assert doc.kind == "html"
    rows = [s for s in doc.sentences if s.is_row]
    assert "极光推送 JPush | 深圳市和讯华谷信息技术有限公司 | " \
        "设备型号、Android ID、OAID、IP地址 | 消息推送 | SDK本机采集" in [r.text for r in rows]
    assert "p{}" not in doc.text and "隐私政策</title>" not in doc.text  # style and head skipped
    assert any(h.text == "隐私政策摘要" for h in doc.headings)
    assert [(link.text, link.href) for link in doc.links][0] == ("已收集个人信息清单",
                                                                 "https://example.com/collected")


def test_text_inside_pre_keeps_its_lines():
    doc = parse_policy_text("<html><body><pre>一、收集的信息\n"
                            "我们收集IMEI。为了推送，我们收集OAID。\n"
                            "</pre></body></html>")
    assert doc.kind == "pre"
    assert [s.text for s in doc.sentences] == ["一、收集的信息", "我们收集IMEI。", "为了推送，我们收集OAID。"]
    assert doc.sentences[1].heading == "一、收集的信息"


def test_sentences_split_on_chinese_and_english_punctuation():
    doc = parse_policy_text("我们收集IMEI。你同意吗？是的！We collect data. Really?\n")
    assert [s.text for s in doc.sentences] == ["我们收集IMEI。", "你同意吗？", "是的！", "We collect data.",
                                               "Really?"]


# -- facts --------------------------------------------------------------------------------------


def test_facts_of_a_complete_policy():
    f = facts_of(GOOD)
    assert f.summary.present and f.summary.heading == "隐私政策摘要" and f.summary.evidence
    assert {"imei", "meid", "android_id", "oaid", "mac_address", "clipboard", "installed_apps",
            "precise_location",
            "coarse_location"} <= f.pi_types
    assert all(p.purpose_stated for p in f.permissions
               if p.permission in ("location", "camera", "contacts", "storage"))
    jp = next(t for t in f.third_parties if "jpush" in t.sdk_ids)
    assert jp.source == "table" and jp.company == "深圳市和讯华谷信息技术有限公司"
    assert {"device_model", "android_id", "oaid", "ip_address"} <= set(jp.pi_types)
    assert jp.purpose == "消息推送" and jp.sharing_method == "SDK本机采集"
    assert "umeng-push" in next(t for t in f.third_parties if t.name.startswith("友盟推送")).sdk_ids
    assert f.contact.company == "示例科技有限公司" and f.contact.emails == ["privacy@example.com"]
    assert f.contact.hotline == "400-123-4567" and f.contact.address.startswith("北京市海淀区")
    assert {r.right for r in f.rights} == {"access", "correct", "delete", "withdraw", "deregister"}
    assert f.response_time == "15个工作日"
    assert (f.lists_links.collected and f.lists_links.shared
            and "https://example.com/shared" in f.lists_links.urls)
    assert f.updated == "2026年11月1日" and f.version == "2.1"
    assert {s.key for s in f.sections if s.present} == {"retention", "security", "cookies", "minors",
                                                        "withdrawal",
                                                       "cross_border"}
    # every fact carries supporting sentences
    assert all(m.evidence.text for m in f.pi_mentions) and f.contact.evidence and f.rights[0].evidence


def test_negated_mentions_are_not_disclosures():
    f = facts_of("我们收集IMEI，但不包含您的账号和密码。")
    assert "imei" in f.pi_types and "account_id" not in f.pi_types
    assert {m.pi_type for m in f.pi_mentions if m.negated} == {"account_id", "password"}


def test_field_labels_and_jurisdictions_are_not_pi():
    f = facts_of("公司名称：示例科技有限公司\n信息可能传送至您所在国家/地区。\n")
    assert f.pi_types == set()


def test_facts_json_matches_the_published_schema():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "schema" / "policy-facts-1.json").read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    for text in (GOOD, BAD):
        jsonschema.validate(json.loads(json.dumps(facts_of(text).to_dict())), schema)


# -- checks -------------------------------------------------------------------------------------


def test_a_complete_policy_passes_every_check_against_the_demo_app(demo_scan):
    f = facts_of(GOOD)
    fs = check_policy(f, demo_scan, policy_text=parse_policy_text(GOOD).text)
    assert [(x.rule_id, x.message_en) for x in fs] == []


def test_a_bare_policy_fails_the_policy_only_checks():
    assert rules_of(check_policy(facts_of(BAD))) == {"policy.no-summary", "policy.no-deregistration",
                                                     "policy.no-contact", "policy.no-lists-link"}


def test_permission_without_purpose(demo_scan):
    fs = [x for x in check_policy(facts_of(BAD), demo_scan) if x.rule_id == "policy.permission-no-purpose"]
    by = {x.evidence["permission"]: x for x in fs}
    assert set(by) == {"location", "camera", "contacts", "storage", "phone"}
    assert ("mentioned without a purpose" in by["location"].message_en
            and "not mentioned" in by["camera"].message_en)
    assert all(x.severity == "block" for x in fs)


def test_pi_undisclosed_from_scan_lists_and_ledger(demo_scan):
    dl = parse_lists(LISTS)
    fs = check_policy(facts_of(GOOD), demo_scan, dl, observed={"bank_card": {"app"}})
    pi = {x.evidence["pi_type"]: x for x in fs if x.rule_id == "policy.pi-undisclosed"}
    assert set(pi) == {"id_card_number", "address", "bank_card"}
    assert pi["id_card_number"].severity == "block" and pi["id_card_number"].evidence["views"] == ["declared"]
    assert pi["bank_card"].evidence["views"] == ["observed"] and pi["address"].severity == "warn"
    # detected only
    fs = check_policy(facts_of(BAD), demo_scan)
    assert "imei" in {x.evidence["pi_type"] for x in fs if x.rule_id == "policy.pi-undisclosed"}


def test_sdk_undisclosed_and_stale(demo_scan):
    fs = check_policy(facts_of(BAD), demo_scan)
    assert {x.owner for x in fs if x.rule_id == "policy.sdk-undisclosed"} == {"jpush", "umeng-analytics",
                                                                              "umeng-push",
                                                                             "jiguang-jcore"}
    stale = facts_of(GOOD.replace("友盟统计</td>", "友盟统计</td>").replace("</table>\n<p>您可以",
                                                                         "<tr><td>个推推送</td><td>每日互动股份有限公司</td>"
                                                                         "<td>IMEI</td><td>推送</td><td>SDK</td></tr></table>\n<p>您可以"))
    fs = check_policy(stale, demo_scan)
    assert [x.owner.split("-")[0] for x in fs if x.rule_id == "policy.sdk-stale"] == ["getui"]
    assert "policy.sdk-stale" not in rules_of(check_policy(facts_of(GOOD), demo_scan))


def test_third_party_undisclosed():
    dl = parse_lists(LISTS)
    assert [x.evidence["third_party"] for x in check_policy(facts_of(GOOD), lists=dl)
            if x.rule_id == "policy.third-party-undisclosed"] == ["顺丰速运"]
    ok = GOOD.replace("</body>", "<p>为完成配送，我们会向顺丰速运提供您的收货地址和身份证号码。</p></body>")
    f = facts_of(ok)
    fs = check_policy(f, lists=dl, policy_text=parse_policy_text(ok).text)
    assert ("policy.third-party-undisclosed" not in rules_of(fs)
            and "policy.pi-undisclosed" not in rules_of(fs))


def test_each_rule_fails_somewhere_and_passes_on_the_good_policy(demo_scan):
    dl = parse_lists(LISTS)
    failing = rules_of(check_policy(facts_of(BAD), demo_scan, dl))
    stale = facts_of("<table><tr><th>第三方SDK名称</th></tr><tr><td>个推推送</td></tr></table>")
    failing |= rules_of(check_policy(stale, demo_scan))
    assert failing == set(POLICY_RULES)


# -- four-way comparison ------------------------------------------------------------------------


def test_four_way_comparison_rows_and_page(demo_scan):
    dl = parse_lists(LISTS)
    cmp_ = compare(facts_of(GOOD), demo_scan, dl, observed={"imei": {"app", "jpush"}, "bank_card": {"app"}})
    rows = {(r.kind, r.key): r for r in cmp_.rows}
    imei = rows[("pi", "imei")]
    assert (all(imei.cells[v].present for v in ("declared", "detected", "disclosed", "observed"))
            and not imei.mismatches)
    assert rows[("pi", "bank_card")].mismatches == ["observed but not disclosed in the policy",
                                                    "collected but not declared in the lists"]
    assert "embedded but not declared in the lists" in rows[("third_party", "umeng-analytics")].mismatches
    html = render_comparison(cmp_, "<script>alert(1)</script>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "MISMATCH" in html and "<details>" in html and "default-src 'none'" in html
    assert html.count("<table>") == 1


def test_comparison_without_ledger_shows_not_available():
    cmp_ = compare(facts_of(GOOD))
    assert cmp_.views == {"declared": False, "detected": False, "disclosed": True, "observed": False}
    assert all(r.cells["observed"] is None for r in cmp_.rows)
    assert "n/a" in render_comparison(cmp_)


# -- CLI ----------------------------------------------------------------------------------------


def test_cli_exit_codes_and_outputs(tmp_path):
    good = tmp_path / "good.html"
    good.write_text(GOOD, "utf-8")
    code, out, err = cli("policy", "check", str(good), "--json", str(tmp_path / "p.json"), "--html",
                         str(tmp_path / "p.html"))
    assert code == 0, out + err
    data = json.loads((tmp_path / "p.json").read_text("utf-8"))
    assert data["facts"]["schema"] == "qingdan.policy-facts/1" and data["findings"] == []
    assert "四方一致性" in (tmp_path / "p.html").read_text("utf-8")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(BAD.encode("gbk"))
    code, out, _ = cli("policy", "check", str(bad))  # no-deregistration is block
    assert code == 1 and "policy.no-deregistration" in out and "policy.no-summary" in out
    warn_only = tmp_path / "warn.html"
    warn_only.write_text(GOOD.replace("<h2>隐私政策摘要</h2>", ""), "utf-8")
    code, out, _ = cli("policy", "check", str(warn_only))  # only a warn finding, default --fail-on block
    assert code == 0 and "policy.no-summary" in out
    code, _, _ = cli("policy", "check", str(warn_only), "--fail-on", "warn")
    assert code == 1
    code, _, err = cli("policy", "check", str(tmp_path / "missing.html"))
    assert code == 2 and err.strip().startswith("error: ") and len(err.strip().splitlines()) == 1
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    code, _, err = cli("policy", "check", str(empty))
    assert code == 2 and err.strip() == f"error: {empty}: empty file"


def test_cli_with_app_uses_scan(tmp_path):
    good = tmp_path / "good.html"
    good.write_text(GOOD.replace("<tr><td>相机权限</td><td>用于扫码</td></tr>", ""), "utf-8")
    code, out, _ = cli("policy", "check", str(good), "--app", str(DEMO))
    assert code == 1 and "policy.permission-no-purpose" in out and "camera" in out
    code, _, err = cli("policy", "check", "--app", str(DEMO))
    assert code == 2 and "no privacy policy bundled" in err


# -- the real corpus and the accuracy targets ---------------------------------------------------


@needs_policies
def test_real_ca4p_policies():
    import benchmarks.policy_accuracy as bench

    f = extract_facts(bench.load_corpus_policy("raw_data_0527.html"))
    assert {"imei", "device_model", "ip_address"} <= f.pi_types
    assert {"umeng-analytics", "alipay-sdk", "tencent-qq-connect"} <= f.sdk_ids
    assert not f.summary.present and f.right("deregister") is None
    f = extract_facts(bench.load_corpus_policy("raw_data_0539.html"))
    assert f.contact.company == "徐州蓝狮子软件科技有限公司" and f.contact.phones == ["17712998978"]
    assert f.permission("storage").purpose_stated  # "存储卡读取权限，用来用作本产品的数据源"
    f = extract_facts(bench.load_corpus_policy("cainiao_菜鸟裹裹.json"))
    assert [t.name for t in f.third_parties] == ["菜鸟驿站"]
    assert f.section("cookies").present and f.section("cross_border").present


@needs_policies
def test_accuracy_targets():
    import benchmarks.policy_accuracy as bench

    s = bench.score()
    assert s["pi_precision"] >= 0.9 and s["pi_recall"] >= 0.85, s
    assert s["tp_precision"] >= 0.9 and s["tp_recall"] >= 0.85, s


@pytest.mark.skipif(not (SHARED / "reference" / "policy" / "viodroid").is_dir(),
                    reason="viodroid reference data not found")
def test_full_policy_read_twice_alike():
    # speed is measured in benchmarks/policy_accuracy.py, not asserted here
    path = SHARED / "reference" / "policy" / "viodroid" / "C107228073-1.0.0.txt"
    first = extract_facts(read_policy(path))  # loads the tokenizer
    f = extract_facts(read_policy(path))
    assert f.pi_types == first.pi_types
    assert {"precise_location", "address_book", "imei"} <= f.pi_types and f.right("deregister")


@pytest.mark.skipif(not (SHARED / "reference" / "policy" / "viodroid").is_dir(),
                    reason="viodroid reference data not found")
def test_viodroid_labelled_sentences_read_as_one_policy():
    import csv

    path = SHARED / "reference" / "policy" / "viodroid" / "labelled_dataset.head400.csv"
    with path.open(encoding="utf-8") as fh:
        text = "\n".join(row[0] for row in csv.reader(fh) if row)
    f = facts_of(text, "viodroid")
    assert f.sentence_count >= 300 and len(f.pi_types) >= 10


def test_cli_observed_view_from_the_ledger(tmp_path):
    """Events recorded in a real ledger (SQLite file) become the 'observed' column."""
    import datetime as dt
    import os

    from qingdan.db.engine import make_engine, migrate
    from qingdan.ledger.crypto import KeyRing
    from qingdan.ledger.store import Ledger
    from tests.support.ledger import KEY1, lists

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    engine = make_engine(url)
    migrate(engine)
    led = Ledger(engine, KeyRing(KEY1))
    app_id = led.create_app("鲜到家", lists())
    now = dt.datetime.now(dt.UTC)
    led.ingest(app_id, None, [
        {"idempotency_key": "e1", "user_ref": "u1", "kind": "collected", "pi_type": "bank_card",
         "purpose": "支付",
         "scenario": "下单", "source": "app", "value": None, "occurred_at": now}])
    assert led.observed(app_id) == {"bank_card": {"app"}}
    good = tmp_path / "good.html"
    good.write_text(GOOD, "utf-8")
    env = {"QINGDAN_DATABASE_URL": url, "QINGDAN_LEDGER_KEYS": KEY1}
    code, out, err = cli("policy", "check", str(good), "--ledger-app", app_id, "--json",
                         str(tmp_path / "p.json"),
                         "--fail-on", "warn", env=env)
    data = json.loads((tmp_path / "p.json").read_text("utf-8"))
    row = next(r for r in data["comparison"] if r["key"] == "bank_card")
    assert row["cells"]["observed"]["present"] is True
    assert "observed but not disclosed in the policy" in row["mismatches"]
    code, _, err = cli("policy", "check", str(good), "--ledger-app", "app_nope", env=env)
    assert code == 2 and "no app 'app_nope'" in err
    assert os.path.exists(tmp_path / "ledger.db")


def test_policy_bundled_in_the_package_is_used(tmp_path):
    """No policy file given: the one the app ships in assets/ is read (GBK here, as old apps do)."""
    from tests.support.apkbuilder import ClassDef, build_apk, build_dex, build_manifest

    man = build_manifest("com.example.app", label="T")
    apk = build_apk(tmp_path / "a.apk", man, [build_dex([ClassDef("Lcom/example/app/Main;")])],
                    files={"assets/privacy_policy.html": GOOD.encode("gbk", "replace"),
                           "assets/config.json": b"{}"})
    code, out, err = cli("policy", "check", "--app", str(apk), "--json", str(tmp_path / "p.json"))
    assert code in (0, 1), err
    assert "assets/privacy_policy.html" in out.splitlines()[0]
    data = json.loads((tmp_path / "p.json").read_text("utf-8"))
    assert data["facts"]["summary"]["present"] is True
    # an app that ships no policy: a clear one-line error
    bare = build_apk(tmp_path / "b.apk", man, [build_dex([ClassDef("Lcom/example/app/Main;")])])
    code, _, err = cli("policy", "check", "--app", str(bare))
    assert code == 2 and "no privacy policy bundled" in err
