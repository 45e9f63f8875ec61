"""The privacy policy an app package bundles (assets/ or res/raw/), if it has one."""

from __future__ import annotations

from pathlib import Path

from qingdan.apk.package import read_package
from qingdan.apk.zipread import ZipArchive
from qingdan.policy.model import PolicyDoc
from qingdan.policy.read import MAX_POLICY_BYTES, read_policy_bytes

POLICY_ASSET = ("privacy", "policy", "隐私")  # words in the file name of a bundled policy
POLICY_SUFFIXES = (".html", ".htm", ".txt")


def bundled_policy(package: str | Path) -> PolicyDoc | None:
    """The policy bundled in the package (assets/ or res/raw/, named like privacy/policy/隐私,
    .html/.txt; a name with privacy/隐私 first), or None. Raises ``PolicyError``, ``OSError`` or
    an ``ApkError`` on a package or policy that cannot be read."""
    pkg = read_package(package)
    names = [a for a in pkg.assets if a.lower().endswith(POLICY_SUFFIXES)
             and any(k in a.lower().rsplit("/", 1)[-1] for k in POLICY_ASSET)]
    if not names:
        return None
    arc = ZipArchive.open(package)
    try:
        for name in sorted(names, key=lambda n: ("privacy" not in n.lower() and "隐私" not in n, n)):
            if name in arc:
                return read_policy_bytes(arc.read(name, max_size=MAX_POLICY_BYTES), f"{package}!{name}")
    finally:
        arc.close()
    return None
