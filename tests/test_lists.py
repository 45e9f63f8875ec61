"""The double lists: declarations (every problem with line and column), draft, check, round trip."""

import json
import re

import jsonschema
import pytest
import yaml

from qingdan.checks.scan import scan_path
from qingdan.lists.check import check_lists
from qingdan.lists.declarations import ListsError, parse_lists
from qingdan.lists.draft import draft_yaml
from tests.conftest import CORPUS, ROOT, cli, needs_shared
from tests.support.apkbuilder import ClassDef, Invoke, Method, build_apk, build_dex, build_manifest

SCHEMA = json.loads((ROOT / "docs" / "schema" / "privacy-lists-1.json").read_text("utf-8"))
STR = "Ljava/lang/String;"

GOOD = """\
schema: qingdan.lists/1
app:
  name: 清单演示
  package: com.example.app
  operator: 示例科技有限公司
  contact: privacy@example.com
  policy_url: https://example.com/privacy
  updated: 2026-11-01
collected:
  - pi_type: imei
    purpose: 识别设备，防范账号被盗
    scenario: 登录时
    method: permission
    permission: android.permission.READ_PHONE_STATE
  - pi_type: 精确地理位置
    purpose: 推荐附近门店，仅在打开“附近”页面时获取
    scenario: 浏览附近门店
    method: permission
  - pi_type: imei
    purpose: 消息推送的设备识别
    scenario: 应用在后台接收推送时
    method: automatic
    collector: jpush
shared:
  - third_party: 极光推送
    company: 深圳市和讯华谷信息技术有限公司
    sdk: jpush
    pi_types: [imei, android_id]
    purpose: 向用户推送消息
    scenario: 接收推送通知
    method: sdk_local
    policy_url: https://www.jiguang.cn/license/privacy
"""


def test_good_file_loads_with_keys_resolved():
    dl = parse_lists(GOOD, "good.yaml")
    assert dl.app.name == "清单演示" and dl.app.updated == "2026-11-01"
    assert [c.pi_type for c in dl.collected] == ["imei", "precise_location", "imei"]  # Chinese name → key
    assert dl.collected[2].collector == "jpush"
    assert dl.shared[0].sdk == "jpush" and dl.shared[0].method == "sdk_local"
    assert dl.collected[1].pos.line == 15
    jsonschema.Draft202012Validator(SCHEMA).validate(
        yaml.safe_load(GOOD) | {"app": {**yaml.safe_load(GOOD)["app"], "updated": "2026-11-01"}})


def test_every_problem_at_once_with_line_and_column():
    bad = GOOD.replace("method: permission\n    permission", "method: by-permission\n    permission", 1)
    bad = bad.replace("pi_type: 精确地理位置", "pi_type: 没有这种信息")
    bad = bad.replace("    sdk: jpush\n", "    sdk: no-such-sdk\n")
    bad += "  - third_party: 重复\n    pi_types: []\n"
    bad = bad.replace("collected:\n",
                      "collected:\n  - pi_type: imei\n    scenario: x\n    method: automatic\n", 1)
    with pytest.raises(ListsError) as ei:
        parse_lists(bad, "bad.yaml")
    msgs = [(p.line, p.column, p.message) for p in ei.value.problems]
    text = str(ei.value)
    assert re.search(r"^bad\.yaml:10:5: collected\[0\]: missing purpose$", text, re.M)
    assert any("unknown PI type '没有这种信息'" in m for _, _, m in msgs)
    assert any("method must be one of" in m and "'by-permission'" in m for _, _, m in msgs)
    assert any("unknown SDK id 'no-such-sdk'" in m for _, _, m in msgs)
    assert any("pi_types must be a non-empty list" in m for _, _, m in msgs)
    assert len(msgs) >= 7
    assert msgs == sorted(msgs, key=lambda x: (x[0], x[1]))


def test_yaml_syntax_and_duplicates():
    with pytest.raises(ListsError, match=r"x\.yaml:\d+:\d+: not valid YAML"):
        parse_lists("schema: qingdan.lists/1\napp:\n  name: [unclosed\n", "x.yaml")
    dup = GOOD + "  - third_party: 极光推送\n    company: 深圳市和讯华谷信息技术有限公司\n    sdk: jpush\n" \
                 "    pi_types: [imei, android_id]\n    purpose: 向用户推送消息\n" \
                 "    scenario: 接收推送通知\n    method: sdk_local\n"
    with pytest.raises(ListsError, match="duplicate of the row at line 25"):
        parse_lists(dup, "d.yaml")
    with pytest.raises(ListsError, match="schema must be"):
        parse_lists(GOOD.replace("qingdan.lists/1", "qingdan.lists/9"), "s.yaml")
    with pytest.raises(ListsError, match="unknown field 'colour'"):
        parse_lists(GOOD.replace("    scenario: 登录时\n", "    scenario: 登录时\n    colour: red\n"),
                    "f.yaml")


def test_cli_lists_every_problem_and_exits_2(tmp_path):
    p = tmp_path / "privacy-lists.yaml"
    p.write_text(GOOD.replace("    purpose: 识别设备，防范账号被盗\n", "").replace("sdk: jpush", "sdk: nope"),
                 "utf-8")
    code, _, err = cli("lists", "check", str(p))
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2
    assert all(re.match(rf"^error: {re.escape(str(p))}:\d+:\d+: ", ln) for ln in lines)


# -- checks, each failing and passing ---------------------------------------------------------------


def jpush_app(tmp_path, name="a.apk", imei_in_app=True, location=False):
    imei = Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)
    loc = Invoke("Landroid/location/LocationManager;", "getLastKnownLocation", [STR],
                 "Landroid/location/Location;",
                 string_args={1: "gps"})
    classes = [ClassDef(f"Lcn/jpush/android/api/C{i};") for i in range(6)]
    classes.append(ClassDef("Lcn/jpush/android/api/Dev;", methods=[Method("m", invokes=[imei])]))
    app_invokes = ([imei] if imei_in_app else []) + ([loc] if location else [])
    classes.append(ClassDef("Lcom/example/app/Main;", methods=[Method("m", invokes=app_invokes)]))
    perms = ["android.permission.READ_PHONE_STATE"] + (["android.permission.ACCESS_FINE_LOCATION"]
                                                       if location else [])  # without it: no location
    man = build_manifest("com.example.app", label="T", permissions=perms)
    return scan_path(build_apk(tmp_path / name, man, [build_dex(classes)]))


def rules_of(findings):
    return sorted({(f.rule_id, f.owner, f.severity) for f in findings})


def test_clean_lists_pass(tmp_path):
    scan = jpush_app(tmp_path)
    assert [f for f in check_lists(parse_lists(GOOD), scan) if f.severity != "info"] == []


def test_todo_is_refused():
    fs = check_lists(parse_lists(GOOD.replace("scenario: 登录时", "scenario: TODO")))
    assert rules_of(fs) == [("lists.todo", "app", "block")]
    assert fs[0].evidence["line"] == 10


def test_sdk_found_but_not_declared(tmp_path):
    scan = jpush_app(tmp_path)
    no_share = GOOD[: GOOD.index("shared:")] + "shared: []\n"
    no_share = no_share.replace("    collector: jpush\n", "")
    no_share = no_share.replace("消息推送的设备识别", "消息推送的设备识别（应用）")
    fs = check_lists(parse_lists(no_share), scan)
    assert ("lists.sdk-undeclared", "jpush", "block") in rules_of(fs)
    assert ("lists.pi-undeclared", "jpush", "warn") in rules_of(fs)


def test_pi_collected_but_not_declared(tmp_path):
    scan = jpush_app(tmp_path, location=True)
    no_loc = GOOD.replace("  - pi_type: 精确地理位置\n    purpose: 推荐附近门店，仅在打开“附近”页面时获取\n"
                          "    scenario: 浏览附近门店\n    method: permission\n", "")
    fs = check_lists(parse_lists(no_loc), scan)
    found = {(f.rule_id, f.evidence.get("pi_type"), f.severity) for f in fs}
    assert ("lists.pi-undeclared", "precise_location", "block") in found  # sensitive: block
    assert not [f for f in check_lists(parse_lists(GOOD), scan) if f.rule_id == "lists.pi-undeclared"]


def test_stale_rows(tmp_path):
    scan = jpush_app(tmp_path, imei_in_app=False)
    extra = GOOD + ("  - third_party: 友盟统计\n    company: 友盟同欣（北京）科技有限公司\n"
                    "    sdk: umeng-analytics\n"
                    "    pi_types: [android_id]\n    purpose: 统计分析\n    scenario: 使用应用时\n"
                    "    method: sdk_local\n")
    fs = check_lists(parse_lists(extra), scan)
    assert ("lists.stale-row", "umeng-analytics", "warn") in rules_of(fs)
    # the app's own IMEI row: declared automatic/permission, no code use found → noted (info)
    assert any(f.rule_id == "lists.stale-row" and f.evidence.get("pi_type") == "imei" and f.severity == "info"
               for f in fs)


def test_sensitive_purpose_must_be_specific():
    vague = GOOD.replace("推荐附近门店，仅在打开“附近”页面时获取", "提升用户体验")
    fs = check_lists(parse_lists(vague))
    assert rules_of(fs) == [("lists.sensitive-no-purpose", "app", "block")]
    assert check_lists(parse_lists(GOOD)) == []


# -- draft → fill → check → render ------------------------------------------------------------------


def fill(text: str) -> str:
    n = iter(range(1, 10_000))
    # code no one is known for: the person names the collector (here: the app)
    text = text.replace('collector: "TODO"', "collector: app")
    return re.sub(r'"TODO"',
                  lambda m: json.dumps(f"具体说明第{next(n)}项的业务功能与必要性", ensure_ascii=False),
                  text) \
        .replace("policy_url: \"具体", "policy_url: \"https://example.com/p?x=具体")


@needs_shared
def test_round_trip_on_a_corpus_app(tmp_path):
    apk = CORPUS / "cn-app/getactivity-androidproject-2019.apk"
    out = tmp_path / "privacy-lists.yaml"
    code, stdout, err = cli("lists", "draft", str(apk), "-o", str(out))
    assert code == 0, err
    text = out.read_text("utf-8")
    assert "TODO" in text and "sdk: umeng-analytics" in text and "友盟同欣（北京）科技有限公司" in text
    assert "# " in text  # evidence comments
    # the draft loads, and check refuses it for its TODOs
    code, stdout, _ = cli("lists", "check", str(out), str(apk))
    assert code == 1 and "lists.todo" in stdout
    # a person fills the TODOs: then it passes against the same app
    out.write_text(fill(text), "utf-8")
    code, stdout, err = cli("lists", "check", str(out), str(apk))
    assert code == 0, stdout + err
    assert "0 block" in stdout
    doc = yaml.safe_load(out.read_text("utf-8"))
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    # and renders
    site = tmp_path / "site"
    code, stdout, err = cli("lists", "render", str(out), "-o", str(site))
    assert code == 0, err
    page = (site / "index.html").read_text("utf-8")
    assert "友盟同欣（北京）科技有限公司" in page
    code, _, err = cli("lists", "render", str(out), "-o", str(tmp_path / "l.json"), "--format", "json")
    assert code == 0, err
    data = json.loads((tmp_path / "l.json").read_text("utf-8"))
    assert data["schema"] == "qingdan.lists/1" and len(data["shared"]) == len(doc["shared"])


def test_draft_refuses_to_overwrite(tmp_path):
    out = tmp_path / "privacy-lists.yaml"
    out.write_text("keep me", "utf-8")
    code, _, err = cli("lists", "draft", str(ROOT / "examples" / "demo.apk"), "-o", str(out))
    assert code == 2 and "exists" in err and out.read_text("utf-8") == "keep me"


def test_draft_rows_follow_the_scan(tmp_path):
    scan = jpush_app(tmp_path)
    text = draft_yaml(scan)
    dl = parse_lists(text)
    assert {(c.pi_type, c.collector) for c in dl.collected} >= {("imei", "app"), ("imei", "jpush")}
    assert [s.sdk for s in dl.shared] == ["jpush"]
    assert dl.shared[0].company == "深圳市和讯华谷信息技术有限公司"
