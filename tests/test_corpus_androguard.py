"""qingdan's reading of real apps equals androguard 4.1.4's, app by app."""

import logging

import pytest

from qingdan.apk.dex import java_name
from qingdan.apk.package import read_package
from tests.conftest import CORPUS, corpus_apks, needs_shared

pytestmark = needs_shared

androguard = pytest.importorskip("androguard", reason="androguard (dev extra) not installed")
from androguard.core.apk import APK  # noqa: E402
from androguard.core.dex import DEX  # noqa: E402

logging.getLogger("androguard").setLevel(logging.ERROR)
try:
    from loguru import logger

    logger.remove()
except ImportError:  # pragma: no cover
    pass


def _ag(path):
    try:
        return APK(str(path))
    except Exception:  # noqa: BLE001 - androguard cannot read it: nothing to compare
        return None


@pytest.mark.parametrize("path", corpus_apks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_manifest_matches_androguard(path):
    a = _ag(path)
    if a is None or not a.get_package():
        pytest.skip("androguard cannot parse this package")
    pkg = read_package(path)
    m = pkg.manifest
    assert m.package == a.get_package()
    # androguard leaves out <uses-permission-sdk-23>; qingdan keeps them, marked sdk23
    assert {p.name for p in m.uses_permissions if not p.sdk23} == set(a.get_permissions())
    for kind, names in (("activity", a.get_activities()), ("service", a.get_services()),
                        ("receiver", a.get_receivers()), ("provider", a.get_providers())):
        ours = {c.name for c in m.components if c.kind == kind
                or (kind == "activity" and c.kind == "activity-alias")}
        assert ours >= set(names), f"{kind}s missing: {set(names) - ours}"
        if kind != "activity":
            assert ours == set(names)
    if a.get_androidversion_code():
        assert str(m.version_code) == str(a.get_androidversion_code())


@pytest.mark.parametrize("path", corpus_apks(include_edge=False), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_classes_match_androguard(path):
    a = _ag(path)
    if a is None:
        pytest.skip("androguard cannot parse this package")
    pkg = read_package(path)
    top = [d for d in pkg.dex if "!/" not in d.source and d.source.startswith("classes")]
    theirs = set()
    for raw in a.get_all_dex():
        theirs.update(c.get_name() for c in DEX(raw).get_classes())
    ours = set()
    for d in top:
        ours.update(d.class_descriptors())
    assert ours == theirs
    assert len(ours) > 0


CALLSITE_APPS = [
    "cn-app/getactivity-androidproject-2019.apk",
    "cn-sdk/jpush-tutorial-demo-debug.apk",
    "droidbench/Reflection_Reflection1.apk",
    "iccbench/icc_explicit_src_sink.apk",
]


@pytest.mark.parametrize("rel", CALLSITE_APPS)
def test_call_sites_match_androguard_xrefs(rel):
    """Every (caller class → callee method) edge androguard's xrefs know, qingdan knows, and back."""
    from androguard.misc import AnalyzeAPK

    path = CORPUS / rel
    _, _, dx = AnalyzeAPK(str(path))
    theirs = set()
    for ma in dx.get_methods():
        if ma.is_external():
            continue
        m = ma.get_method()
        caller = java_name(m.get_class_name())
        for _cls, callee, _off in ma.get_xref_to():
            theirs.add((caller, f"{callee.class_name}->{callee.name}{callee.descriptor.replace(' ', '')}"))
    ours = set()
    for d in read_package(path).dex:
        for cls, callees in d.callees_by_class().items():
            # androguard names a call on an array type ([LFoo;->clone()) by its element class
            # and has no edge at all for calls on primitive arrays ([I->clone()), which qingdan keeps
            ours.update((cls, c.lstrip("[")) for c in callees if not c.lstrip("[")[1:3] == "->")
    assert theirs, "androguard found no xrefs"
    missing = theirs - ours
    extra = ours - theirs
    assert not missing, f"{len(missing)} androguard edges not found, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} edges androguard does not have, e.g. {sorted(extra)[:3]}"
