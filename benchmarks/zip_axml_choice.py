"""Why qingdan reads zip and binary XML itself: apkInspector vs qingdan on the same packages.

For every corpus APK (edge cases included): time to list the central directory and decode
AndroidManifest.xml, and whether each reader got a manifest out of the package at all.

    python benchmarks/zip_axml_choice.py
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "apks"


def ours(path: Path) -> str:
    from qingdan.apk.axml import parse_axml
    from qingdan.apk.zipread import ZipArchive

    arc = ZipArchive.open(path)
    root, _ = parse_axml(arc.read("AndroidManifest.xml"))
    return str(root.get("package"))


def theirs(path: Path) -> str:
    from apkInspector.axml import get_manifest
    from apkInspector.headers import ZipEntry

    with open(path, "rb") as fh:
        data = io.BytesIO(fh.read())
    z = ZipEntry.parse(data)
    man = z.read("AndroidManifest.xml")
    xml = get_manifest(io.BytesIO(man))
    return "package=" in xml and "ok" or "no package"


def main() -> int:
    import contextlib

    apps = sorted(CORPUS.rglob("*.apk"))
    res = {"qingdan": [0.0, 0], "apkInspector": [0.0, 0]}
    for app in apps:
        for name, fn in (("qingdan", ours), ("apkInspector", theirs)):
            t = time.perf_counter()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    fn(app)
                ok = True
            except Exception:  # noqa: BLE001 - counting failures is the point
                ok = False
            res[name][0] += time.perf_counter() - t
            res[name][1] += ok
    for name, (secs, ok) in res.items():
        print(f"{name:13} {secs:7.3f} s for {len(apps)} packages, manifest read from {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
