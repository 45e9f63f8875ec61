"""What a scan names for an app whose only other code is six classes under one Java package: the
catalogue tests' probe."""

from __future__ import annotations

from qingdan.checks.scan import ScanResult, scan_path
from tests.support.apkbuilder import ClassDef, build_apk, build_dex, build_manifest


def scan_package_classes(tmp_path, package: str) -> ScanResult:
    man = build_manifest("com.example.app", label="T")
    names = ["com.example.app.Main", *(f"{package}.C{i}" for i in range(6))]
    defs = [ClassDef("L" + c.replace(".", "/") + ";") for c in names]
    return scan_path(build_apk(tmp_path / "t.apk", man, [build_dex(defs)]))


def found_sdks(tmp_path, package: str, libraries: bool = False) -> set[str]:
    """Ids of the SDKs (and, with ``libraries``, the libraries) the scan names above low confidence."""
    r = scan_package_classes(tmp_path, package)
    return {d.sdk.id for d in (*r.sdks, *(r.libraries if libraries else ())) if d.confidence != "low"}
