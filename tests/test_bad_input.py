"""Bad input: a report with warnings, or exit 2 with one line `error: <file>: <reason>`.

Never a traceback, never more than 10 s or 500 MiB, never a partial write.
"""

import io
import json
import os
import random
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingdan.apk import dexscan_py
from qingdan.apk.dex import DexFile
from qingdan.apk.errors import ApkError, LimitExceeded
from qingdan.apk.package import read_package
from qingdan.apk.zipread import Limits, ZipArchive
from tests.conftest import CORPUS, cli, needs_shared
from tests.support.apkbuilder import ClassDef, Invoke, Method, build_apk, build_dex, build_manifest

try:
    from qingdan.apk import _dexscan
except ImportError:  # pragma: no cover
    _dexscan = None

# Runs the CLI and reports its own peak memory (KiB) on the fd named first — the child's, not pytest's.
_MEASURED = """
import os, sys
from qingdan.cli import main
fd = int(sys.argv[1])
sys.argv = ["qingdan"] + sys.argv[2:]
def report():
    # VmHWM is this process's own peak; ru_maxrss would carry pytest's peak across fork+exec
    hwm = next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    os.write(fd, hwm.encode())
import atexit; atexit.register(report)
main()
"""


def run_measured(*args, timeout=10):
    r, w = os.pipe()
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", _MEASURED, str(w), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, pass_fds=(w,))
    os.close(w)
    out, err = p.communicate(timeout=timeout)
    elapsed = time.monotonic() - t0
    rss = os.read(r, 64).decode() or "0"
    os.close(r)
    return p.returncode, out, err, elapsed, int(rss) / 1024


EDGE = sorted((CORPUS / "edge").glob("*.apk")) if (CORPUS / "edge").is_dir() else []


@needs_shared
@pytest.mark.parametrize("path", EDGE, ids=lambda p: p.name)
def test_edge_corpus(path, tmp_path):
    out = tmp_path / "r.json"
    code, stdout, stderr, secs, mib = run_measured("scan", str(path), "--json", str(out))
    assert "Traceback" not in stderr + stdout
    assert secs < 10
    assert mib < 500
    if code == 0:
        rep = json.loads(out.read_text("utf-8"))
        assert rep["schema"] == "qingdan.report/1"
        assert stderr == ""
    else:
        assert code == 2
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: "), stderr
        assert not out.exists(), "partial write after an error"


EXPECTED_EDGE = {
    # file: (exit code, a word that must appear in the warnings or the error)
    "git-lfs-pointer-olacabs.apk": (2, "not a zip"),
    "apksig-empty-unsigned.apk": (2, "AndroidManifest"),
    "apkinspector-minimal_SIZE_ExtraField.apk": (0, "misaligned"),
    "apkinspector-minimal_zero_sized_end_ns.apk": (0, "bad size"),
    "apkinspector-minimal_def_mod.apk": (0, "header type"),
    "apktool-issue1498-parent-dir-traversal.apk": (0, ".."),
    "apksig-v2-only-truncated-cd.apk": (0, "central directory size"),
    "apksig-v2-only-missing-classes.dex.apk": (0, "no classes.dex"),
    "mshopping-mandroid1-release-unsigned-2014.apk": (0, None),
}


@needs_shared
@pytest.mark.parametrize("name", sorted(EXPECTED_EDGE))
def test_edge_expected_outcomes(name, tmp_path):
    code, want = EXPECTED_EDGE[name]
    out = tmp_path / "r.json"
    rc, stdout, stderr = cli("scan", str(CORPUS / "edge" / name), "--json", str(out))
    assert rc == code, stderr
    if code == 0:
        rep = json.loads(out.read_text("utf-8"))
        if want:
            assert any(want in w for w in rep["warnings"]), rep["warnings"]
        if name.startswith("mshopping"):
            assert rep["signing"]["signed"] is False
    else:
        assert want in stderr


def _zip(files: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for k, v in files.items():
            z.writestr(k, v)
    return buf.getvalue()


def test_zip_bomb_is_refused_before_inflating():
    big = b"\0" * (64 << 20)
    data = _zip({"AndroidManifest.xml": big})
    arc = ZipArchive.from_bytes(data, "bomb.apk")
    with pytest.raises(LimitExceeded, match="ratio"):
        arc.read("AndroidManifest.xml")


def test_declared_size_lie_is_cut_at_the_declared_size():
    data = bytearray(_zip({"a.txt": b"x" * 10000}))
    # central directory: set the uncompressed size of a.txt to 100
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<L", data, cd + 24, 100)
    arc = ZipArchive.from_bytes(bytes(data), "lie.apk")
    assert len(arc.read("a.txt")) == 100
    assert any("more than its declared" in w for w in arc.warnings)


def test_entry_size_limit():
    arc = ZipArchive.from_bytes(_zip({"a": b"y" * 5000}), "x", Limits(max_entry_size=1000))
    with pytest.raises(LimitExceeded):
        arc.read("a")


def test_garbage_before_and_after(tmp_path):
    man = build_manifest("a.b", label="x")
    apk = build_apk(tmp_path / "a.apk", man, [build_dex([ClassDef("La/b/C;")])]).read_bytes()
    prefixed = tmp_path / "prefixed.apk"
    prefixed.write_bytes(b"GARBAGE" * 100 + apk + b"trailing")
    pkg = read_package(prefixed)
    assert pkg.package == "a.b"
    assert any("offset" in w or "after the end record" in w for w in pkg.warnings)


def test_unknown_compression_method_stored(tmp_path):
    data = bytearray(_zip({"AndroidManifest.xml": build_manifest("a.b", label="x")}, zipfile.ZIP_STORED))
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<H", data, cd + 10, 0x63)  # central directory method := 99
    struct.pack_into("<H", data, 8, 0x63)  # local header too
    p = tmp_path / "m.apk"
    p.write_bytes(bytes(data))
    pkg = read_package(p)
    assert pkg.package == "a.b"
    assert any("unknown compression method 99" in w for w in pkg.warnings)


def test_nul_and_traversal_names_reported_never_written(tmp_path):
    files = {"AndroidManifest.xml": build_manifest("a.b", label="x"), "../../evil.sh": b"rm -rf /",
             "/abs/path": b"x", "assets/a\0b": b"x"}
    p = tmp_path / "t.apk"
    p.write_bytes(_zip(files))
    pkg = read_package(p)
    assert any("nothing is extracted" in w for w in pkg.warnings)
    assert not (tmp_path.parent / "evil.sh").exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t.apk"]


def test_not_a_zip_and_empty(tmp_path):
    for content, word in ((b"", "empty"), (b"hello world, not a zip" * 3, "not a zip"),
                          (b"PK\x03\x04" + b"\0" * 40, "truncated")):
        p = tmp_path / "x.apk"
        p.write_bytes(content)
        with pytest.raises(ApkError, match=word):
            read_package(p)


def test_cli_error_line_and_no_partial_write(tmp_path):
    bad = tmp_path / "bad.apk"
    bad.write_bytes(b"nope")
    out = tmp_path / "out.json"
    html = tmp_path / "out.html"
    code, stdout, stderr = cli("scan", str(bad), "--json", str(out), "--html", str(html))
    assert code == 2
    assert stderr.strip() == f"error: {bad}: not a zip archive (4 bytes)"
    assert not out.exists() and not html.exists()
    code, _, stderr = cli("scan", str(tmp_path / "missing.apk"))
    assert code == 2 and stderr.strip().endswith("no such file or folder")


def _fuzz_dex() -> bytes:
    return build_dex([
        ClassDef("Lf/A;", methods=[
            Method("a", invokes=[Invoke("Landroid/provider/Settings$Secure;", "getString",
                                        ["Landroid/content/ContentResolver;", "Ljava/lang/String;"],
                                        "Ljava/lang/String;", kind="static", string_args={1: "android_id"})],
                   payload=True),
            Method("b", invokes=[Invoke("Lf/B;", "c", ["I"] * 6, kind="static", range=True)]),
        ]),
        ClassDef("Lf/B;", methods=[Method("c", params=["I"] * 6, static=True)]),
    ])


FUZZ_DEX = _fuzz_dex()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(FUZZ_DEX) - 1), st.integers(0, 255)), min_size=1, max_size=12))
def test_fuzzed_dex_never_crashes_and_scanners_agree(edits):
    data = bytearray(FUZZ_DEX)
    for pos, val in edits:
        data[pos] = val
    data = bytes(data)
    try:
        d = DexFile(data)
    except ApkError:
        return
    for i in range(min(d.n_strings, 50)):
        d.string(i)
    list(d.call_sites())
    if _dexscan is not None:
        cd_size, cd_off = struct.unpack_from("<LL", data, 96)
        args = (data, cd_off, cd_size, struct.unpack_from("<L", data, 88)[0], struct.unpack_from("<L", data, 56)[0],
                struct.unpack_from("<L", data, 80)[0])
        try:
            c = _dexscan.scan(*args)
        except ValueError:
            with pytest.raises(ValueError):
                dexscan_py.scan(*args)
        else:
            assert c == dexscan_py.scan(*args)


def test_random_mutations_of_a_package(tmp_path):
    """Flip bytes all over a real package: only ApkError may come out, and quickly."""
    man = build_manifest("a.b", label="x", permissions=["android.permission.CAMERA"])
    base = build_apk(tmp_path / "a.apk", man, [FUZZ_DEX], sign=True).read_bytes()
    rng = random.Random(1234)
    p = tmp_path / "m.apk"
    t0 = time.monotonic()
    for _ in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[: rng.randrange(len(data))]
        p.write_bytes(bytes(data))
        try:
            read_package(p)
        except ApkError:
            pass
    assert time.monotonic() - t0 < 60


def test_corrupt_deflate_stream(tmp_path):
    raw = zlib.compress(b"x" * 1000)[2:-4]
    data = bytearray(_zip({"AndroidManifest.xml": b"x" * 1000}))
    i = data.find(raw[:8])
    data[i + 2 : i + 6] = b"\xff\xff\xff\xff"
    arc = ZipArchive.from_bytes(bytes(data), "c.apk")
    try:
        arc.read("AndroidManifest.xml")
    except ApkError as exc:
        assert "AndroidManifest.xml" in str(exc)
