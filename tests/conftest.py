import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# knowledge caches of this test run stay out of the user's cache folder
os.environ.setdefault("QINGDAN_CACHE_DIR", str(Path(__import__("tempfile").mkdtemp(prefix="qingdan-cache-"))))
# the tests read the English output; a Chinese locale on the machine must not change it
os.environ.setdefault("QINGDAN_LANG", "en")
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "apks"

needs_shared = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")


def corpus_apks(include_edge: bool = True) -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*.apk") if include_edge or p.parent.name != "edge")


def cli(*args: str, env: dict | None = None, timeout: float = 60):
    """Run the installed CLI in a subprocess: (returncode, stdout, stderr)."""
    import subprocess

    e = dict(os.environ)
    e.pop("QINGDAN_DEBUG", None)
    if env:
        e.update(env)
    p = subprocess.run([sys.executable, "-m", "qingdan.cli", *args], capture_output=True, text=True,
                       timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr
