"""Media groups of the SDK catalogue (sdks.yaml: video_audio, ocr_face, speech, live, game, ar_vr, image,
utility, other) for issue 15: the code roots learnt from public code name their SDK in a scan of a package
the tests build, every SDK names its operator and country, and the entries completed from vendor pages
carry PI types, purpose and policy page."""

from __future__ import annotations

import pytest

from qingdan.knowledge import sdks as cat
from tests.support.catalogue import found_sdks

GROUPS = {"video_audio", "ocr_face", "speech", "live", "game", "ar_vr", "image", "utility", "other"}
# SDKs whose operating company no public source we could read names.
OPERATOR_UNKNOWN = {"swwx-facesdk", "pgyersdk"}


def _sdks(tmp_path, package: str) -> set[str]:
    # SDKs and libraries alike: a few roots (the Meishe engine) belong to kind-library entries
    return found_sdks(tmp_path, package, libraries=True)


@pytest.mark.parametrize(("package", "sdk"), [
    ("com.bytedance.speech.speechengine", "volcengine-speech"),
    ("com.tencent.taisdk", "tencent-tai"),
    ("com.iflytek.aikit.core", "iflytek-aikit"),
    ("com.ss.avframework.livestreamv2", "volcengine-live"),
    ("com.ss.videoarch.liveplayer", "volcengine-live"),
    ("im.zego.effects", "zego-effects"),
    ("com.ss.android.bytedcert", "volcengine-identity"),
    ("com.tencent.cloud.libqcloudtts", "tencent-tts"),
    ("com.tencent.tcic", "tencent-lcic"),
    ("im.zego.minigameengine", "zego-minigame"),
    ("im.zego.zegowhiteboard", "zego-whiteboard"),
    ("com.herewhite.sdk", "agora-whiteboard"),
    ("com.ss.ugc.android.editor", "volcengine-video-editor"),
    ("com.emas.hybrid", "aliyun-emas-hybrid"),
    ("com.sensetime.stmobile", "sensetime-effects"),
    ("com.arcsoft.face", "arcsoft-arcface"),
    ("com.baijiayun.livecore", "baijiayun-live"),
    ("com.plv.livescenes", "polyv-live-scenes"),
    ("com.ksyun.media.streamer", "ksyun-media"),
    ("com.tencent.ocr.sdk", "tencent-ocr"),
    ("com.baidu.rtc", "baidu-rtc"),
    ("com.volcengine.cloudgame", "volcengine-cloudgame"),
    ("com.tencent.tmfmini.sdk", "tencent-tcmpp"),
    ("com.tencent.tcgsdk.api", "tencent-cloudgame"),
    ("com.baidu.cloud.mediastream", "baidu-cloud-live"),
    ("com.baidu.recorder.api", "baidu-cloud-live"),  # the historic LSS live SDK
    ("com.bytedance.labcv.effectsdk", "volcengine-effects"),
    ("com.bytedance.live.sdk.player", "volcengine-corp-live"),
    ("com.faceunity.core", "faceunity-nama"),
    ("com.baidu.ar", "baidu-dumix"),
    ("com.alibaba.idst.nui", "aliyun-nls"),
    ("com.volcengine.cloudphone", "volcengine-cloud-phone"),
    ("com.meicam.sdk", "meishe-sdk"),
    ("com.huawei.hiar", "huawei-ar-engine"),
    ("com.tencent.xmagic", "tencent-effect"),
    ("com.tencent.cloud.huiyansdkface", "tencent-faceid"),
    ("com.alibaba.security.realidentity", "alibaba-realidentity"),
    ("com.pili.pldroid.player", "pldroidplayer"),
    ("com.aliyun.svideosdk.editor", "aliyun-ugsv"),
    ("com.tencent.ugc", "tencent-cloud-ugsv"),
    ("com.baidu.idl.face", "baidu-face"),
    ("com.dtf.face", "alibaba-finance-realperson"),
    ("com.microquation.linkedme", "linkedme"),
    ("com.iflytek.aiui", "aiui"),
    ("cn.easyar", "easyar"),
    ("com.tencent.gcloud.voice", "tencent-gvoice"),
    ("com.huawei.hms.mlsdk", "huawei-ml-kit"),
])
def test_media_sdk_packages_name_their_sdk(tmp_path, package, sdk):
    assert sdk in _sdks(tmp_path, package)


def test_every_sdk_of_the_media_groups_names_its_operator_and_country():
    missing = sorted(s.id for s in cat.load_sdks().values()
                     if s.category in GROUPS and s.kind == "sdk" and not (s.company and s.country)
                     and s.id not in OPERATOR_UNKNOWN)
    assert not missing


def test_media_sdks_completed_from_vendor_pages():
    sdks = cat.load_sdks()
    for sid in ("volcengine-speech", "tencent-tai", "iflytek-aikit", "volcengine-live", "zego-effects",
                "volcengine-identity", "tencent-tts", "tencent-lcic",
                "agora-whiteboard",
                "volcengine-video-editor", "aliyun-emas-hybrid", "volcengine-effects", "tencent-youtu",
                "tencent-copyrighted-music", "iflytek-spark", "volcengine-corp-live"):
        s = sdks[sid]
        assert s.kind == "sdk" and s.country == "CN" and s.company, sid
        assert s.pi_types and s.purpose and s.policy_url and s.refs, sid
