"""Completeness of the SDK catalogue's device-side groups (maps, crash/APM, hot-fix, anti-fraud, security,
OCR/face, speech, AR/VR, video/audio, game) for the double lists: who runs each SDK, and what it is."""

from __future__ import annotations

import sys
from pathlib import Path

try:
    import qingdan  # noqa: F401
except ImportError:  # running from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from qingdan.knowledge import sdks as cat  # noqa: E402

GROUPS = {"maps_location", "crash_apm", "hotfix", "anti_fraud", "security", "ocr_face", "speech", "ar_vr",
          "video_audio", "game"}
# Packer entries (and any *-jiagu entry) belong to the packing work.
# OPERATOR_UNKNOWN: SDKs whose operator no public source names yet.
PACKERS = {"bangcle-jiagu", "qihoo360-jiagu", "tencent-legu", "ijiami", "baidu-jiagu", "cfca-jiagu",
           "naga-jiagu", "dingxiang-jiagu"}
OPERATOR_UNKNOWN = {"bugtag", "ibank", "swwx-facesdk"}


def _group_sdks():
    return [s for s in cat.load_sdks().values()
            if s.category in GROUPS and s.kind == "sdk"
            and s.id not in PACKERS and not s.id.endswith("-jiagu")]


def test_every_sdk_of_the_device_groups_names_its_operator_and_country():
    missing = sorted(s.id for s in _group_sdks()
                     if not (s.company and s.country) and s.id not in OPERATOR_UNKNOWN)
    assert not missing


def test_chinese_sdks_of_the_device_groups_state_a_purpose():
    missing = sorted(s.id for s in _group_sdks()
                     if s.country == "CN" and not s.purpose and s.id not in OPERATOR_UNKNOWN)
    assert not missing


def test_entries_read_from_public_pages_say_which_pages():
    for s in cat.load_sdks().values():
        if s.category in GROUPS and "sharing-lists" in s.sources:
            assert s.refs, f"{s.id}: source sharing-lists without refs"


def test_cloud_media_and_game_channel_sdks_are_sdks_and_open_source_code_is_library():
    sdks = cat.load_sdks()
    for sid in ("tencent-trtc", "zego-express", "volcengine-rtc", "pldroidplayer", "xiaomi-game-sdk",
                "vivo-game-sdk", "tencent-msdk", "tapsdk", "tencent-tinker"):
        assert sdks[sid].kind == "sdk", sid
    for sid in ("iqiyi-xcrash", "tencent-matrix", "kuaishou-koom", "acra", "breakpad", "wireguard", "openvpn",
                "rootbeer", "tesseract", "vosk", "maplibre-native"):
        assert sdks[sid].kind == "library", sid


def test_well_known_chinese_sdks_are_complete_for_the_sharing_list():
    sdks = cat.load_sdks()
    for sid in ("amap-location", "baidu-location", "tencent-location", "tencent-bugly", "shumei", "tongdun",
                "netease-yidun", "megvii-faceid", "iflytek-msc", "baidu-speech", "agora-rtc", "tencent-trtc"):
        s = sdks[sid]
        assert s.company and s.pi_types and s.purpose and s.policy_url, sid


def test_second_wave_device_entries_have_verified_prefixes_and_facts():
    sdks = cat.load_sdks()
    prefixes = {"tencent-qapm": "com.tencent.qapmsdk", "crasheye": "com.xsj.crasheye",
                "huawei-agc-apm": "com.huawei.agconnect.apms", "aispeech": "com.aispeech",
                "dingxiang-risk": "com.dx.mobile.risk", "shuzilm-trusted-id": "cn.shuzilm.core",
                "volcengine-device-security": "com.volcengine.mobsecBiz",
                "aliyun-device-risk": "net.security.device.api",
                "aliyun-emas-apm": "com.alibaba.motu.crashreporter"}
    for sid, prefix in prefixes.items():
        assert prefix in sdks[sid].signatures.packages, sid
    qapm = sdks["tencent-qapm"]
    assert qapm.pi_types and qapm.purpose and qapm.policy_url and "recalled" not in qapm.sources
    for sid in ("tencent-qapm", "volcengine-device-security", "huawei-location-kit", "aliyun-device-risk"):
        assert sdks[sid].company and sdks[sid].pi_types and sdks[sid].purpose and sdks[sid].policy_url, sid
    assert sdks["alibaba-andfix"].kind == "library"
    assert sdks["ibank"].company
