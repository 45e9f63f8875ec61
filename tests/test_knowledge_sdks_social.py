"""Catalogue completeness for the push, login/share, payment, one-click-login, IM, customer-service and live
groups of sdks.yaml (issue 15, "Completeness for the lists"): operators, purposes, provenance, kinds, and the
package prefixes of SDK generations and channel SDKs that apps carry for years."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.checks.sdks import catalogue  # noqa: E402
from qingdan.knowledge.sdks import load_sdks  # noqa: E402

GROUPS = {"push", "login_share", "payment", "one_click_login", "im", "customer_service", "live"}
# kind: sdk entries of these groups whose operator no public source named (left null rather than guessed).
NO_KNOWN_OPERATOR = {
    "ixintui-push", "livepush", "lightspeed-push", "bx-pay", "base-bj-paysdk", "swwx-paymax",
    "xiaoneng-ntalker",
}
# The phone-vendor push channels and the big push services: every field of a sharing-list row.
PUSH_ROWS = ["huawei-push", "honor-push", "xiaomi-push", "oppo-push", "vivo-push", "meizu-push", "jpush",
             "getui-push", "aliyun-push"]


def _group_sdks():
    return [s for s in load_sdks().values() if s.category in GROUPS]


def test_every_service_sdk_of_the_groups_names_its_operator_and_country():
    missing = sorted(s.id for s in _group_sdks()
                     if s.kind == "sdk" and not (s.company and s.country) and s.id not in NO_KNOWN_OPERATOR)
    assert not missing
    # the exemption list stays honest: an entry that gains an operator leaves it
    sdks = load_sdks()
    assert not [i for i in NO_KNOWN_OPERATOR if i in sdks and sdks[i].company]


def test_every_service_sdk_of_the_groups_states_its_purpose():
    assert not sorted(s.id for s in _group_sdks() if s.kind == "sdk" and not s.purpose)


@pytest.mark.parametrize("sid", PUSH_ROWS)
def test_push_channel_rows_are_complete_and_cite_their_pages(sid):
    s = load_sdks()[sid]
    assert s.company and s.country == "CN" and s.pi_types and s.purpose and s.policy_url
    assert s.refs and "sharing-lists" in s.sources


def test_facts_taken_from_sharing_lists_name_the_pages_read():
    assert not sorted(s.id for s in _group_sdks() if "sharing-lists" in s.sources and not s.refs)


@pytest.mark.parametrize("sid", ["pjsip", "linphone", "smack", "mobileimsdk", "livekit", "librtmp",
                                 "share-plus", "trust-wallet-core"])
def test_open_source_realtime_and_plugin_code_is_a_library(sid):
    assert load_sdks()[sid].kind == "library"


@pytest.mark.parametrize(("package", "sid"), [
    # older generations of SDKs the catalogue already knew
    ("com.igexin.slavesdk", "getui-push"),
    ("com.weibo.net", "weibo-sdk"),
    ("com.weibo.sdk.android", "weibo-sdk"),
    ("com.umeng.socom", "umeng-share"),
    ("com.renren.api.connect.android", "renn-rennsdk-oauth"),
    ("com.baidu.frontia.api", "baidu-push"),
    ("com.tencent.feedback.eup", "tencent-feedback"),
    # channel (联运) login/payment SDKs and IM/live/customer-service SDKs new to the catalogue
    ("com.nearme.game.sdk", "oppo-game-sdk"),
    ("com.huawei.hms.jos.games", "huawei-jos-game"),
    ("cn.uc.gamesdk.open", "uc-9game-sdk"),
    ("com.tencent.ysdk.api", "tencent-ysdk"),
    ("io.agora.rtm", "agora-rtm"),
    ("im.zego.zim.callback", "zego-zim"),
    ("cn.jpush.im.android.api", "jiguang-jmessage"),
    ("com.netease.nis.quicklogin.helper", "netease-yidun-quicklogin"),
    ("cn.udesk.activity", "udesk-sdk"),
    ("com.hyphenate.helpdesk.easeui", "easemob-helpdesk"),
    ("com.qiniu.pili.droid.streaming", "qiniu-pili-streaming"),
])
def test_package_resolves_to_its_sdk(package, sid):
    ids, _ = catalogue().trie.longest(package)
    assert ids == [sid]


def test_hms_app_update_client_is_not_taken_for_the_game_sdk():
    # com.huawei.hms.jos also holds the AppUpdateClient every HMS app may carry; only .games is the game SDK
    ids, _ = catalogue().trie.longest("com.huawei.hms.jos")
    assert "huawei-jos-game" not in ids
