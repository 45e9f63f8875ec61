"""Ad SDK packages the catalogue (sdks.yaml, group ads) learnt for issue 15: each names its SDK in a
scan of a package the tests build, and a nested prefix does not take a sibling SDK's code."""

from __future__ import annotations

import pytest

from tests.support.catalogue import found_sdks


def _sdks(tmp_path, package: str) -> set[str]:
    return found_sdks(tmp_path, package)


@pytest.mark.parametrize(("package", "sdk"), [
    ("com.tencent.klevin.ads", "tencent-klevin"),
    ("com.qumeng.advlib.core", "qumeng-ads"),
    ("com.iclicash.advlib.core", "qumeng-ads"),  # the Qutoutiao ad SDK's earlier package
    ("com.mcto.sspsdk", "iqiyi-ads"),
    ("com.tapsdk.tapad", "taptap-ads"),
    ("com.tradplus.ads.base", "tradplus"),
    ("cn.admobiletop.adsuyi", "adsuyi"),
    ("com.umeng.union", "umeng-union"),
    ("cn.vlion.ad.inland.base", "menta-vlion-ads"),
    ("com.anythink.core.api", "anythink"),
    ("com.huawei.openalliance.ad", "huawei-ads-kit"),
    ("com.heytap.msp.mobad.api", "oppo-ads"),
    ("com.opos.mobad.service", "oppo-ads"),
    ("com.alimm.tanx.core", "alibaba-tanx"),
    ("com.shu.priory", "iflytek-ads"),  # the current generation of iFLYTEK's ad SDK
    ("com.xiaomi.ad.mediation", "xiaomi-mimo-ads"),
    ("com.mercury.sdk.core", "bayescom-mercury"),
    ("com.bayescom.admore.core", "bayescom-mercury"),
    ("biz.beizi.adn.core", "beizi-ads"),  # BeiZi's ASNP package, named in AdScope AMPS' adapter constants
    ("com.maplehaze.adsdk.base", "maplehaze-ads"),
    ("com.zhaixin.advert", "zhaixin-ads"),
    ("com.ptg.adsdk.lib", "mediaprime-ptg-ads"),
    ("com.fancy.adsdk.lib", "mediaprime-ptg-ads"),
    ("com.kaijia.adsdk.center", "kaijia-ads"),
    ("com.qubian.mob.utils", "qbmob-ads"),
    ("com.youdao.sdk.nativeads", "youdao-zhixuan-ads"),
    ("com.alibaba.sdk.android.cloudcode", "aliyun-cloudcode-ads"),
    ("com.sogou.feedads.api", "sogou-feedads"),
    ("com.qhad.ads.sdk.adcore", "qihoo360-ads"),
    ("com.ak.android.engine.nav", "qihoo360-ads"),
])
def test_ad_sdk_packages_name_their_sdk(tmp_path, package, sdk):
    assert sdk in _sdks(tmp_path, package)


def test_oppo_ads_prefix_leaves_oppo_push_code_to_oppo_push(tmp_path):
    # com.heytap.msp.mobad sits under OPPO Push's com.heytap.msp: push code stays push
    found = _sdks(tmp_path, "com.heytap.msp.push.service")
    assert "oppo-push" in found
    assert "oppo-ads" not in found
