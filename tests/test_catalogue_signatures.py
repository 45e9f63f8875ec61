"""Signatures the coverage work added to the catalogue (sdks.yaml), on packages the tests build:
each names its SDK in a scan, and code shared with another artifact names nothing."""

from __future__ import annotations

import pytest

from qingdan.checks.scan import scan_path
from tests.support.apkbuilder import ClassDef, build_apk, build_dex, build_manifest


def _scan(tmp_path, classes: list[str]):
    man = build_manifest("com.example.app", label="T")
    defs = [ClassDef("L" + c.replace(".", "/") + ";") for c in ["com.example.app.Main", *classes]]
    return scan_path(build_apk(tmp_path / "t.apk", man, [build_dex(defs)]))


def _many(package: str, n: int = 6) -> list[str]:
    return [f"{package}.C{i}" for i in range(n)]


@pytest.mark.parametrize("classes, sdk", [
    # Getui's obfuscated internals sit beside com.igexin.sdk, under its root
    (_many("com.igexin.b.a"), "getui-push"),
    # MSA OAID: com.bun.lib / com.bun.miitmdid / com.bun.supplier, all under com.bun
    (_many("com.bun.lib"), "msa-oaid"),
    # Umeng APM's EFS code: com.efs.sdk and its (obfuscated) siblings under com.efs
    (_many("com.efs.a"), "umeng-apm"),
    # UC's crash SDK (岳鹰), bundled by Umeng APM
    (_many("com.uc.crashsdk"), "alibaba-yueying-crashsdk"),
    # Google's auth artifact: Smart Lock credentials and Identity Services
    (_many("com.google.android.gms.auth.api.credentials"), "google-sign-in"),
    (_many("com.google.android.gms.auth.api.identity"), "google-sign-in"),
])
def test_added_signatures_name_their_sdk(tmp_path, classes, sdk):
    r = _scan(tmp_path, classes)
    assert sdk in {d.sdk.id for d in r.sdks if d.confidence != "low"}


def test_play_services_base_sign_in_classes_are_not_google_sign_in(tmp_path):
    # play-services-base ships GoogleSignInAccount / GoogleSignInOptions (and internal.Storage) for
    # GoogleApiClient: that package alone is no evidence of the sign-in artifact
    base = ["com.google.android.gms.auth.api.signin." + n for n in (
        "GoogleSignInAccount", "GoogleSignInOptions", "GoogleSignInOptions$Builder",
        "GoogleSignInOptionsExtension", "HashAccumulator")]
    base += _many("com.google.android.gms.auth.api.signin.internal")
    r = _scan(tmp_path, base + _many("com.google.android.gms.common"))
    assert "google-sign-in" not in {d.sdk.id for d in r.sdks}


@pytest.mark.parametrize(("package", "owner"), [
    ("io.reactivex.internal.operators", "rxjava"),  # RxJava 2 (RxJava 1 is rx.*)
    ("rx.internal", "rxjava"),
    ("org.greenrobot.eventbus", "eventbus"),
    ("butterknife", "butter-knife"),
    ("com.umeng.qq.handler", "umeng-share"),  # Umeng Share's platform adapters
    ("org.jetbrains.annotations", "jetbrains-annotations"),
    ("com.chad.library.adapter.base", "brvah"),
])
def test_common_namespaces_seen_unidentified_in_store_builds_are_catalogued(package, owner):
    from qingdan.checks.sdks import catalogue

    ids, _depth = catalogue().trie.longest(package)
    assert ids and ids[0] == owner


@pytest.mark.parametrize(("package", "owner"), [
    ("com.czhj.sdk.common", "sigmob"),  # Sigmob's own integration guide keeps com.czhj.**
    ("com.tencent.beacon.event", "tencent-beacon"),
    ("com.adjust.sdk", "adjust"),
    ("com.beizi.fusion.ads", "beizi-ads"),
    ("com.tencent.trtc", "tencent-trtc"),
    ("com.ss.bytertc.engine", "volcengine-rtc"),
    ("im.zego.zegoexpress.entity", "zego-express"),
    ("com.dingxiang.mobile.risk", "dingxiang-risk"),
])
def test_sdks_known_by_their_code_roots_as_well_as_their_native_libraries(package, owner):
    from qingdan.checks.sdks import catalogue

    ids, _depth = catalogue().trie.longest(package)
    assert ids and ids[0] == owner
