"""Completeness of the SDK catalogue's trust groups (payment, security, anti-fraud, crash/APM, network,
storage, hot-fix, framework) for the double lists: operator and country, and for Chinese SDKs PI types,
purpose and policy page."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.knowledge import sdks as cat  # noqa: E402

GROUPS = {"payment", "security", "anti_fraud", "crash_apm", "network", "storage", "hotfix", "framework"}
# SDKs whose operating company no public source we could read names (defunct payment aggregators, Bugtags).
OPERATOR_UNKNOWN = {"bx-pay", "base-bj-paysdk", "swwx-paymax", "bugtag"}


def test_every_sdk_of_the_trust_groups_names_its_operator_and_country():
    missing = sorted(s.id for s in cat.load_sdks().values()
                     if s.category in GROUPS and s.kind == "sdk" and not (s.company and s.country)
                     and s.id not in OPERATOR_UNKNOWN)
    assert not missing


def test_tingyun_is_found_by_its_agent_package():
    # the agent's classes live under com.networkbench.agent (com.networkbench.agent.impl.NBSAppAgent)
    assert "com.networkbench.agent" in cat.load_sdks()["networkbench"].signatures.packages


def test_new_trust_entries_have_verified_prefixes_and_sharing_list_facts():
    sdks = cat.load_sdks()
    prefixes = {"aliyun-waf-app-protection": "com.aliyun.TigerTally",
                "bangcle-everisk": "com.bangcle.everisk",
                "douyin-game-union-sdk": "com.bytedance.ttgame.tob",
                "aliyun-emas-apm": "com.aliyun.emas.apm",
                "aliyun-emas-tlog": "com.taobao.tao.log",
                "aliyun-arms-rum": "com.alibabacloud.rum"}
    for sid, prefix in prefixes.items():
        s = sdks[sid]
        assert prefix in s.signatures.packages, sid
        assert s.kind == "sdk" and s.country == "CN" and s.company, sid
        assert s.pi_types and s.purpose and s.policy_url and s.refs, sid
        assert "recalled" not in s.sources, sid


def test_chinese_trust_sdks_completed_from_vendor_pages():
    sdks = cat.load_sdks()
    for sid in ("tencent-legu", "tencent-turing", "baidu-sofire", "tencent-cos", "huawei-hms-core",
                "alibaba-yueying-crashsdk", "uc-u4-kernel", "tencent-tersafe"):
        s = sdks[sid]
        assert s.country == "CN" and s.pi_types and s.purpose and s.policy_url and s.refs, sid
        assert "sharing-lists" in s.sources, sid
