"""Engagement SDKs the catalogue (sdks.yaml: push, analytics, login/share, one-click login, maps and
location, IM, customer service) learnt for issue 15: each new package names its SDK in a scan of a
package the tests build, a nested prefix leaves its parent's code to the parent, and the new Chinese
entries carry what the double lists need (operator, PI types, purpose, policy page)."""

from __future__ import annotations

import pytest

from qingdan.knowledge import sdks as cat
from tests.support.catalogue import found_sdks, scan_package_classes


def _sdks(tmp_path, package: str) -> set[str]:
    return found_sdks(tmp_path, package)


@pytest.mark.parametrize(("package", "sdk"), [
    # new SDKs
    ("com.umeng.umlink", "umeng-ulink"),
    ("cn.jiguang.joperate.api", "jiguang-joperate"),
    ("cn.jiguang.jmlinksdk.api", "jiguang-jmlink"),
    ("com.quick.qt.commonsdk", "aliyun-quick-tracking"),
    ("com.baidu.mobads.action", "baidu-action"),
    ("com.alibaba.sdk.android.man", "aliyun-man"),
    ("com.xiaomi.mistatistic.sdk", "xiaomi-mistat"),
    ("com.reyun.sdk", "reyun-game"),
    ("com.sensorsdata.sf.core", "sensorsdata-sf"),
    ("com.sensorsdata.abtest.core", "sensorsdata-abtest"),
    ("com.huawei.agconnect.applinking", "huawei-applinking"),
    ("com.huawei.hms.maps.model", "huawei-map-kit"),
    ("com.huawei.hms.site.api", "huawei-site-kit"),
    ("com.huawei.hms.kit.awareness", "huawei-awareness"),
    ("com.qxwz.sdk.core", "qxwz-location"),
    ("com.baidu.geofence", "baidu-geofence"),
    ("com.baidu.pano.platform", "baidu-pano"),
    ("com.tencent.navix.api", "tencent-navi"),
    ("com.google.android.libraries.places.api", "google-places"),
    ("com.sensoro.beacon.kit", "sensoro-beacon"),
    ("com.alipay.share.sdk.openapi", "alipay-share"),
    ("com.hihonor.cloudservice.support.account.request", "honor-account"),
    ("com.ss.android.larksso", "lark-sso"),
    ("com.android.dingtalk.openauth", "dingtalk-auth"),
    ("com.huawei.agconnect.auth", "huawei-agc-auth"),
    ("im.zego.zpns", "zego-zpns"),
    ("com.tencent.qcloud.tim.push", "tencent-timpush"),
    ("com.huawei.agconnect.appmessaging", "huawei-appmessaging"),
    ("com.mob.imsdk", "mob-mobim"),
    ("com.alibaba.mobileim", "alibaba-openim"),
    ("cn.xiaoneng.uiapi", "xiaoneng-ntalker"),
    ("com.helpshift.support", "helpshift"),
    # second pass (d5-engage2)
    ("com.getui.gs.sdk", "getui-ido"),
    ("com.getui.gis.sdk", "getui-ginsight"),
    ("com.alicom.fusion.auth.numberauth", "aliyun-fusion-auth"),
    ("com.bytedance.im.core.api", "volcengine-im"),
    ("com.qiniu.droid.imsdk", "qiniu-im"),
    ("cn.jpush.sms.listener", "jiguang-jsms"),
    ("com.geetest.onepassv2.listener", "geetest-onelogin"),  # OnePass ships inside the OneLogin SDK
    ("com.tencent.lbssearch.object.param", "tencent-map"),
    ("com.bytedance.push.notification", "volcengine-push"),
    ("com.netease.yunxin.kit.chatkit.ui", "netease-yunxin-im"),  # Yunxin IM UIKit
    ("com.netease.yunxin.kit.conversationkit.ui", "netease-yunxin-im"),
    ("com.netease.yunxin.kit.contactkit.ui", "netease-yunxin-im"),
    ("com.netease.yunxin.kit.teamkit.ui", "netease-yunxin-im"),
    ("com.sobot.online.adapter", "sobot"),  # Sobot agent-side online SDK
    # obfuscated internals of the map SDKs, shared by their products
    ("com.amap.api.col.p0003sl", "amap-sdk"),
    ("com.amap.api.col.s", "amap-sdk"),
    ("com.baidu.mapsdkplatform.comapi.map", "baidu-map"),
    ("com.baidu.mapsdkvi", "baidu-map"),
    ("com.baidu.platform.core.route", "baidu-map"),  # map search module
    ("com.tencent.mapsdk.internal", "tencent-map"),
    ("com.autonavi.tbt", "amap-navi"),  # AMap navigation engine
    # SDK internals outside the catalogued roots
    ("com.tencent.qimei.strategy.terminal", "tencent-qimei"),
    ("com.uyumao.sdk", "umeng-analytics"),
    ("com.umeng.vt.diff", "umeng-analytics"),  # U-App visual tracking
    ("com.umeng.ccg", "umeng-common"),  # common cloud-config switches
    # code roots of SDKs the catalogue knew only by a manifest component
    ("com.xingin.xhssharesdk.core", "xiaohongshu-share"),
    ("com.bilibili.lib.accountoauth", "bilibili-oauth"),
    ("com.platform.account.oauth.web", "heytap-account-oauth"),
    ("com.heytap.usercenter.accountsdk.utils", "heytap-account-sdk"),
    ("com.alipay.android.shareassist.ui", "mpaas-share"),
    ("cn.nubia.neopush.sdk", "nubia-push"),
    ("com.huawei.hms.dtm", "huawei-dtm"),
    ("com.huawei.caas.messageservice", "huawei-caas"),
    ("com.mapbox.android.telemetry", "mapbox-mobile-events"),
    ("com.auth0.android.provider", "auth0-sdk"),
    # roots named by the SDKs' own manifest components, outside their catalogued packages
    ("com.huawei.android.hms.tpns", "tencent-tpns"),
    ("com.ss.android.push.daemon", "volcengine-push"),
    ("com.ss.android.message.sswo", "volcengine-push"),
    ("com.bytedance.mapplog.collector", "volcengine-datafinder"),
    ("com.bytedance.bdtracker", "volcengine-datafinder"),  # AppLog's obfuscated core
    ("com.bytedance.dr.impl", "volcengine-datafinder"),  # AppLog's device-identifier readers
    ("com.xiaomi.accountsdk.diagnosis.ui", "xiaomi-account-oauth"),
    ("io.rong.common.rlog", "rongcloud-im"),
    ("io.rong.message", "rongcloud-im"),
    ("io.rong.sticker.businesslogic", "rongcloud-im"),  # IMKit plugins sit under the io.rong root
    ("io.rong.callkit", "rongcloud-call"),  # the nested call-kit root keeps its code
    ("c.t.m.g", "tencent-location"),  # the location SDK's obfuscated package
    ("com.autonavi.ae.gmap.gloverlay", "amap-sdk"),  # AMap map engine
    ("com.huawei.location.lite.common.util", "huawei-location-kit"),  # Location Kit internals
    ("com.huawei.hms.support.account.request", "huawei-account"),  # Account Kit 5 API
    ("com.hyphenate", "easemob-im"),  # EMCallBack & co. sit in the root package
    ("com.hyphenate.helpdesk.model", "easemob-helpdesk"),  # the nested helpdesk root keeps its code
    ("com.netease.nim.uikit.business.session", "netease-yunxin-im"),
    ("com.sobot.network.http", "sobot"),
    ("com.sobot.pictureframe", "sobot"),
    ("com.hihonor.push.framework.aidl", "honor-push"),
    ("com.alibaba.analytics.core.config", "alibaba-ut-analytics"),
    ("zendesk.chat", "zendesk-sdk"),
    ("io.intercom.android.sdk", "intercom"),
    # packages of SDKs the catalogue already had: other generations and internals
    ("com.analysys", "eguan-drivermonitor"),  # Analysys (易观) SDK's current package
    ("com.unicom.online.account.kernel", "cucc-auth"),  # China Unicom's current auth SDK
    ("cn.com.chinatelecom.gateway.lib", "ctcc-auth"),  # China Telecom's earlier auth SDK
    ("com.bytedance.sdk.open.aweme.authorize", "douyin-opensdk"),
    ("com.ali.auth.third.ui", "alibaba-baichuan-auth"),
    ("com.baidu.platform.comapi.map", "baidu-map"),
    ("com.xiaomi.channel.commonutils.logger", "xiaomi-push"),
    ("com.xiaomi.clientreport.data", "xiaomi-push"),
    ("com.meizu.cloud.pushinternal", "meizu-push"),
    ("com.vivo.vms", "vivo-push"),
    ("com.tencent.qcloud.tim.uikit.modules.chat", "tencent-im"),
])
def test_engagement_sdk_packages_name_their_sdk(tmp_path, package, sdk):
    assert sdk in _sdks(tmp_path, package)


@pytest.mark.parametrize(("package", "lib"), [
    # open-source libraries of these groups known only by a manifest component before
    ("org.altbeacon.beacon.service", "android-beacon-library"),
    ("net.openid.appauth", "appauth"),
    ("dev.fluttercommunity.plus.share", "share-plus"),
    ("org.altbeacon.bluetooth", "android-beacon-library"),
])
def test_engagement_library_packages_name_their_library(tmp_path, package, lib):
    r = scan_package_classes(tmp_path, package)
    assert lib in {d.sdk.id for d in r.libraries}


@pytest.mark.parametrize(("package", "parent", "child"), [
    # nested prefixes: the parent's own code is not taken by the child SDK
    ("com.baidu.mobads.production", "baidu-mobads", "baidu-action"),
    ("cn.jiguang.api", "jiguang-jcore", "jiguang-joperate"),
    ("com.tencent.qcloud.tuikit.timcommon", "tencent-im", "tencent-timpush"),
    ("com.hyphenate.chat", "easemob-im", "easemob-helpdesk"),
    ("io.rong.imlib", "rongcloud-im", "rongcloud-call"),
])
def test_nested_prefix_leaves_the_parent_sdk_its_code(tmp_path, package, parent, child):
    found = _sdks(tmp_path, package)
    assert parent in found
    assert child not in found


NEW_CHINESE_COMPLETE = [
    "umeng-ulink", "jiguang-joperate", "aliyun-quick-tracking", "baidu-action", "aliyun-man", "xiaomi-mistat",
    "sensorsdata-sf", "sensorsdata-abtest", "huawei-applinking", "huawei-map-kit", "huawei-site-kit",
    "huawei-awareness", "baidu-geofence", "baidu-pano", "tencent-navi", "alipay-share", "lark-sso",
    "dingtalk-auth", "huawei-agc-auth", "zego-zpns", "tencent-timpush", "huawei-appmessaging", "mob-mobim",
    # entries of these groups completed from vendor pages and sharing lists
    "huawei-dtm", "solarengine", "xiaohongshu-share", "jd-kepler", "sogou-passportsdk", "baidu-ufosdk",
    "baidu-imsdk", "taobao-top-sdk", "alibaba-baichuan-auth",
    # second pass (d5-engage2)
    "getui-ido", "getui-ginsight", "aliyun-fusion-auth", "volcengine-im", "qiniu-im", "jiguang-jsms",
]


@pytest.mark.parametrize("sid", NEW_CHINESE_COMPLETE)
def test_new_and_completed_chinese_sdks_are_complete_for_the_lists(sid):
    s = cat.load_sdks()[sid]
    assert s.kind == "sdk" and s.country == "CN" and s.company
    assert s.pi_types and s.purpose and s.policy_url


def test_operators_filled_in_the_engagement_groups():
    sdks = cat.load_sdks()
    assert sdks["sdklm-shoumeng"].company == "武汉手盟网络科技有限公司"
    assert sdks["mpaas-share"].company and sdks["alibaba-baichuan-auth"].company
    assert sdks["honor-account"].company == sdks["honor-push"].company
