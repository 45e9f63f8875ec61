"""Ad and analytics SDKs of the catalogue: older generations and networks qingdan must recognise.

Store reviewers meet apps that still carry SDKs from ten years ago; their code must be attributed
to the SDK (not the app) whichever generation of the SDK's package names it uses.
"""

import pytest

from qingdan.checks.scan import scan_path
from qingdan.knowledge.sdks import load_sdks
from tests.support.apkbuilder import ClassDef, Invoke, Method, build_apk, build_dex, build_manifest

STR = "Ljava/lang/String;"

# class package (a real one of the SDK generation) -> catalogue entry that must own it
GENERATIONS = {
    "com.mobclick.android": "umeng-analytics",      # Umeng before the com.umeng rename (~2012)
    "u.aly": "umeng-analytics",                     # Umeng Analytics 5.x internals
    "com.admob.android.ads": "google-admob",         # AdMob before Google's SDK
    "com.google.ads": "google-admob",                # Google AdMob Ads SDK 4.x-6.x
    "cn.domob.android.ads": "domob-ads",
    "com.waps": "waps-offerwall",
    "com.adwo.adsdk": "adwo-ads",
    "com.wooboo.adlib_android": "wooboo-ads",
    "com.kyview.adapters": "adview-mediation",
    "com.adsmogo.adview": "adsmogo-mediation",
    "com.mobisage.android": "mobisage-ads",
    "com.mintegral.msdk.out": "mintegral",
    "com.mbridge.msdk.out": "mintegral",
    "com.bytedance.msdk.api": "gromore",
    "com.windmill.sdk": "sigmob-tobid",
    "com.vivo.mobilead.unified": "vivo-ads",
    "com.hihonor.adsdk.base": "honor-ads",
    "com.jd.ad.sdk.imp": "jd-ads",
    "com.reyun.tracking.sdk": "reyun-trackingio",
    "com.fm.openinstall": "openinstall",
    "com.kuguo.ad": "kuguo-ads",                     # 2011-2014 offer walls and push ads
    "com.nd.dianjin.activity": "dianjin-offerwall",
    "com.winad.android.wall": "winad-ads",
    "net.miidi.ad.wall": "midi-offerwall",
    "net.midi.wall.sdk": "midi-offerwall",
    "com.dianle": "dianle-offerwall",
}


def _imei() -> Invoke:
    return Invoke("Landroid/telephony/TelephonyManager;", "getDeviceId", ret=STR)


@pytest.mark.parametrize(("package", "sid"), sorted(GENERATIONS.items()))
def test_generation_prefix_in_catalogue(package, sid):
    sdk = load_sdks()[sid]
    assert any(package == p or package.startswith(p + ".") for p in sdk.signatures.packages)
    assert sdk.kind == "sdk" and (sdk.company or sdk.company_en) and sdk.country


def test_old_generations_detected_and_own_their_calls(tmp_path):
    classes = [ClassDef("Lcom/example/app/Main;")]
    for package in ("com.mobclick.android", "com.admob.android.ads", "cn.domob.android.ads", "com.waps"):
        slash = package.replace(".", "/")
        classes += [ClassDef(f"L{slash}/C{i};") for i in range(6)]
        classes.append(ClassDef(f"L{slash}/Agent;", methods=[Method("id", ret=STR, invokes=[_imei()])]))
    man = build_manifest("com.example.app", label="T", permissions=["android.permission.READ_PHONE_STATE"])
    r = scan_path(build_apk(tmp_path / "old.apk", man, [build_dex(classes)]))
    for sid in ("umeng-analytics", "google-admob", "domob-ads", "waps-offerwall"):
        assert r.sdk(sid) is not None, sid
    owners = {u.owner for u in r.api_uses if u.callee.endswith("getDeviceId")}
    assert owners == {"umeng-analytics", "google-admob", "domob-ads", "waps-offerwall"}
    assert "app" not in {c.owner for c in r.pi_summary["imei"]}


def test_every_ad_and_analytics_sdk_names_its_country():
    sdks = [s for s in load_sdks().values() if s.category in ("ads", "analytics") and s.kind == "sdk"]
    assert len(sdks) >= 90
    assert all(s.country for s in sdks), [s.id for s in sdks if not s.country]
    # Google, Firebase and Meta SDKs name their legal entity
    for sid in ("google-admob", "firebase-analytics", "google-analytics", "facebook-audience-network"):
        assert load_sdks()[sid].company in ("Google LLC", "Meta Platforms, Inc.")
