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
from pathlib import Path

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


def run_measured(*args, timeout=60):
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
    assert secs < 30  # a hang guard for hostile input (speed itself is measured in benchmarks/)
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
        args = (data, cd_off, cd_size, struct.unpack_from("<L", data, 88)[0],
                struct.unpack_from("<L", data, 56)[0],
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


# ------------------------------------------------------------------ CLI outputs and unreadable inputs

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.apk"
UI_DUMP = ("<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">"
           "<node text=\"\" resource-id=\"\" class=\"android.widget.FrameLayout\" package=\"com.ex\""
           " content-desc=\"\" clickable=\"false\" bounds=\"[0,0][1080,2340]\"></node></hierarchy>")
POLICY = "隐私政策\n我们收集您的设备信息（IMEI、Android ID）用于统计分析。联系我们：privacy@example.com\n"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Good inputs for every command that writes a file: each run below would write its output."""
    d = tmp_path_factory.mktemp("inputs")
    code, _, err = cli("lists", "draft", str(DEMO), "-o", str(d / "lists.yaml"))
    assert code == 0, err
    (d / "screen.xml").write_text(UI_DUMP, "utf-8")
    (d / "policy.txt").write_text(POLICY, "utf-8")
    (d / "apps").mkdir()
    (d / "apps" / "demo.apk").write_bytes(DEMO.read_bytes())
    return d


# (command line with OUT where the output goes, given the inputs folder)
OUTPUT_COMMANDS = {
    "scan --json": lambda i: ["scan", str(DEMO), "--json", "OUT"],
    "scan --html": lambda i: ["scan", str(DEMO), "--html", "OUT"],
    "scan folder --summary": lambda i: ["scan", str(i / "apps"), "-j", "1", "--summary", "OUT"],
    "diff --json": lambda i: ["diff", str(DEMO), str(DEMO), "--json", "OUT"],
    "lists draft -o": lambda i: ["lists", "draft", str(DEMO), "-o", "OUT", "--force"],
    "lists check --json": lambda i: ["lists", "check", str(i / "lists.yaml"), "--json", "OUT"],
    "lists render json": lambda i: ["lists", "render", str(i / "lists.yaml"), "-o", "OUT", "-f", "json",
                                    "--draft"],
    "lists render xlsx": lambda i: ["lists", "render", str(i / "lists.yaml"), "-o", "OUT", "-f", "xlsx",
                                    "--draft"],
    "lists render html": lambda i: ["lists", "render", str(i / "lists.yaml"), "-o", "OUT", "--draft"],
    "policy check --json": lambda i: ["policy", "check", str(i / "policy.txt"), "--json", "OUT"],
    "policy check --html": lambda i: ["policy", "check", str(i / "policy.txt"), "--html", "OUT"],
    "ui check --json": lambda i: ["ui", "check", str(i / "screen.xml"), "--json", "OUT"],
    "ui check --html": lambda i: ["ui", "check", str(i / "screen.xml"), "--html", "OUT"],
}


def _args(name, inputs, out):
    return [str(out) if a == "OUT" else a for a in OUTPUT_COMMANDS[name](inputs)]


def _special_files(tmp_path):
    """A FIFO, a Unix socket and (as root) a character device: none may become a regular file."""
    import socket
    import stat as st

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "out.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    sock.close()
    nodes = [(fifo, st.S_ISFIFO, "a FIFO"), (sock_path, st.S_ISSOCK, "a socket")]
    if os.geteuid() == 0:  # a device node of our own, never /dev/null itself
        dev = tmp_path / "out.dev"
        os.mknod(dev, 0o666 | st.S_IFCHR, os.makedev(1, 3))
        nodes.append((dev, st.S_ISCHR, "a device"))
    return nodes


@pytest.mark.parametrize("name", sorted(set(OUTPUT_COMMANDS) - {"scan --html", "policy check --html",
                                                                 "ui check --html"}))  # (with --json below)
def test_outputs_write_through_symlinks(name, inputs, tmp_path):
    real = tmp_path / "elsewhere" / "real.out"
    real.parent.mkdir()
    if name != "lists render html":
        real.write_text("old")
    else:  # a site folder qingdan wrote before
        assert cli(*_args(name, inputs, real))[0] == 0
    link = tmp_path / "link.out"
    link.symlink_to(real)
    args = _args(name, inputs, link)
    html = tmp_path / "elsewhere" / "real.html"
    if "--json" in args and name.split()[0] in ("scan", "policy", "ui"):  # --html in the same run
        html.write_text("old")
        (tmp_path / "link.html").symlink_to(html)
        args += ["--html", str(tmp_path / "link.html")]
    code, _, err = cli(*args)
    assert code in (0, 1), err
    assert link.is_symlink() and os.readlink(link) == str(real), "the symlink was replaced"
    if real.is_file():
        assert real.read_bytes() != b"old"
    else:
        assert (real / "index.html").is_file()
    if html.exists():
        assert (tmp_path / "link.html").is_symlink()
        assert html.read_text("utf-8").lower().startswith("<!doctype html>")
    assert {p.name for p in real.parent.iterdir()} <= {"real.out", "real.html"}  # no temp file left


def test_output_through_a_dangling_symlink_is_made_where_it_points(tmp_path):
    dangling = tmp_path / "r.json"
    target = tmp_path / "elsewhere" / "new.json"
    dangling.symlink_to(target)
    code, _, err = cli("scan", str(DEMO), "--json", str(dangling))
    assert code == 0, err
    assert dangling.is_symlink() and json.loads(target.read_text("utf-8"))["schema"] == "qingdan.report/1"


@pytest.mark.parametrize("name", sorted(OUTPUT_COMMANDS))
def test_outputs_refuse_fifos(name, inputs, tmp_path):
    _refused(name, inputs, _special_files(tmp_path)[:1])


@pytest.mark.parametrize("name", ["scan --json", "lists render json", "lists render html"])
def test_outputs_refuse_sockets_and_devices(name, inputs, tmp_path):
    _refused(name, inputs, _special_files(tmp_path)[1:])


def _refused(name, inputs, nodes):
    for node, is_kind, kind in nodes:
        code, _, err = cli(*_args(name, inputs, node), timeout=60)
        assert code == 2, (node, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {node}: "), err
        if name != "lists render html":
            assert f"is {kind}, not a regular file" in lines[0]
        assert is_kind(os.lstat(node).st_mode), f"{node} was replaced"


def test_symlink_to_a_fifo_is_refused_too(tmp_path):
    fifo = tmp_path / "p"
    os.mkfifo(fifo)
    link = tmp_path / "r.json"
    link.symlink_to(fifo)
    code, _, err = cli("scan", str(DEMO), "--json", str(link))
    assert code == 2 and err.strip() == f"error: {link}: is a FIFO, not a regular file; not written"
    assert link.is_symlink()


def _run(*args, prefix=(), umask=None):
    env = dict(os.environ)
    env.pop("QINGDAN_DEBUG", None)
    preexec = (lambda: os.umask(umask)) if umask is not None else None
    p = subprocess.run([*prefix, sys.executable, "-m", "qingdan.cli", *args], capture_output=True, text=True,
                       timeout=60, env=env, preexec_fn=preexec)
    return p.returncode, p.stdout, p.stderr


def _unprivileged() -> list[str]:
    """A command prefix under which file permissions hold: nothing as a user; as root, setpriv
    drops the capabilities that let root read and write anything (a chmod 000 file is readable
    to root otherwise)."""
    if os.geteuid() != 0:
        return []
    import shutil

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        if os.environ.get("CI") == "true":
            pytest.fail("setpriv (util-linux) is needed to test unreadable files as root")
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize("cmd", [
    ["scan", "IN"], ["diff", "IN", str(DEMO)], ["lists", "draft", "IN", "-o", "x.yaml"],
    ["lists", "check", "IN"], ["policy", "check", "IN"], ["policy", "check", "--app", "IN"],
    ["ui", "check", "IN"],
], ids=" ".join)
def test_unreadable_input_is_one_line_naming_it(cmd, tmp_path):
    locked = tmp_path / "locked.apk"
    locked.write_bytes(DEMO.read_bytes())
    locked.chmod(0)
    code, out, err = _run(*[str(locked) if a == "IN" else a for a in cmd], prefix=_unprivileged())
    assert code == 2
    assert err.strip() == f"error: {locked}: Permission denied" or (
        cmd[:2] == ["lists", "check"] and err.strip() == f"error: {locked}:1:1: Permission denied"), err
    assert "Usage" not in err + out


@pytest.mark.parametrize("cmd", [
    ["diff", "IN", str(DEMO)], ["lists", "draft", "IN", "-o", "x.yaml"], ["lists", "check", "IN"],
    ["lists", "render", "IN", "-o", "OUT"], ["policy", "check", "IN"], ["policy", "check", "--app", "IN"],
], ids=" ".join)
def test_folder_where_a_file_is_expected(cmd, tmp_path):
    folder = tmp_path / "some.apk"
    folder.mkdir()
    code, out, err = cli(*[str(folder) if a == "IN" else str(tmp_path / "o") if a == "OUT" else a
                           for a in cmd])
    assert code == 2
    assert err.strip() == f"error: {folder}: is a folder, not a file", err


def test_output_folder_problems_name_the_output(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for args in (["scan", str(DEMO), "--json", str(afile / "r.json")],
                 ["scan", str(DEMO), "--html", str(afile / "sub" / "r.html")],
                 ["diff", str(DEMO), str(DEMO), "--json", str(afile / "d.json")]):
        code, _, err = cli(*args)
        assert code == 2 and err.startswith(f"error: {args[-1]}: "), err
        assert str(DEMO) not in err
    # an unwritable folder (file permissions enforced, even for root)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "demo.apk").write_bytes(DEMO.read_bytes())
    prefix = _unprivileged()
    code, _, err = _run("scan", str(DEMO), "--json", str(ro / "r.json"), prefix=prefix)
    assert (code, err.strip()) == (2, f"error: {ro / 'r.json'}: Permission denied")
    code, _, err = _run("scan", str(DEMO), "--json", str(ro / "new" / "r.json"), prefix=prefix)
    assert (code, err.strip()) == (2, f"error: {ro / 'new' / 'r.json'}: Permission denied")
    code, out, _ = _run("scan", str(apps), "-j", "1", "--json", str(ro), prefix=prefix)
    assert code == 2 and f"error: {ro / 'demo.apk.json'}: Permission denied" in out
    assert sorted(ro.iterdir()) == []


def test_new_outputs_get_the_umask_mode_and_existing_ones_keep_theirs(tmp_path):
    new, kept, private = tmp_path / "new.json", tmp_path / "kept.json", tmp_path / "private.json"
    kept.write_text("x")
    kept.chmod(0o640)
    for path, umask in ((new, 0o022), (kept, 0o022), (private, 0o077)):
        code, _, err = _run("scan", str(DEMO), "--json", str(path), umask=umask)
        assert code == 0, err
    assert oct(os.stat(new).st_mode & 0o777) == oct(0o644)
    assert oct(os.stat(kept).st_mode & 0o777) == oct(0o640)
    assert oct(os.stat(private).st_mode & 0o777) == oct(0o600)
    site = tmp_path / "site"
    lists = tmp_path / "l.yaml"
    assert _run("lists", "draft", str(DEMO), "-o", str(lists), umask=0o022)[0] == 0
    assert _run("lists", "render", str(lists), "-o", str(site), "--draft", umask=0o022)[0] == 0
    assert oct(os.stat(site).st_mode & 0o777) == oct(0o755)
    assert oct(os.stat(site / "index.html").st_mode & 0o777) == oct(0o644)
    assert oct(os.stat(lists).st_mode & 0o777) == oct(0o644)


def test_write_atomic_unit(tmp_path, monkeypatch):
    from qingdan import _io

    p = tmp_path / "a" / "b.txt"
    assert _io.write_atomic(p, "一") == p and p.read_text("utf-8") == "一"
    _io.write_atomic(p, b"secret", private=True)
    assert os.stat(p).st_mode & 0o777 == 0o600
    # a failure while writing leaves the old file and no temporary one
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_io.os, "fsync", full)
    with pytest.raises(OSError, match="No space left") as exc:
        _io.write_atomic(p, "new")
    assert exc.value.filename == str(p)
    assert p.read_bytes() == b"secret" and sorted(x.name for x in p.parent.iterdir()) == ["b.txt"]
