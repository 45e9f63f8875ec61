"""Scan speed and memory: qingdan vs androguard 4.1.4 ``AnalyzeAPK``, side by side.

Every app is run in a fresh process per tool, so peak memory (ru_maxrss) is that app's alone.
Times are measured inside the process around the work (interpreter start and imports excluded
for both tools). "inflate" is the bare cost of reading the package's dex bytes with zlib — the
floor any scanner pays. Run from the repository root:

    pip install -e '.[bench]'
    python benchmarks/scan_speed.py                 # corpus + a 50 MiB-dex synthetic app
    python benchmarks/scan_speed.py --skip-large    # corpus only
    python benchmarks/scan_speed.py --no-androguard # qingdan and inflate only

Prints a table and the ratios the project tracks (targets in brackets).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "apks"

WORKER = r"""
import json, sys, time, zipfile
tool, path = sys.argv[1], sys.argv[2]
if tool == "qingdan":
    from qingdan.checks.pipeline import analyze
    from qingdan.report.jsonreport import to_dict
    t = time.perf_counter()
    rep = to_dict(analyze(path)[0])  # the main job: read, detect SDKs and API uses, run the rules
    secs = time.perf_counter() - t
    extra = {"classes": rep["dex_totals"]["classes"], "call_sites": rep["dex_totals"]["call_sites"]}
elif tool == "androguard":
    from loguru import logger
    logger.remove()
    from androguard.misc import AnalyzeAPK
    t = time.perf_counter()
    a, d, dx = AnalyzeAPK(path)
    secs = time.perf_counter() - t
    extra = {"classes": sum(1 for _ in dx.get_classes() if not _.is_external())}
else:  # inflate: the bare cost of the dex bytes
    t = time.perf_counter()
    z = zipfile.ZipFile(path)
    n = 0
    for info in z.infolist():
        if info.filename.endswith(".dex"):
            n += len(z.read(info))
    secs = time.perf_counter() - t
    extra = {"dex_bytes": n}
# VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across fork+exec)
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"secs": secs, "rss_mib": hwm / 1024, **extra}))
"""


def run(tool: str, path: Path, timeout: float) -> dict | None:
    try:
        p = subprocess.run([sys.executable, "-c", WORKER, tool, str(path)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if p.returncode != 0:
        return {"error": (p.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--large-mib", type=float, default=50)
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--no-androguard", action="store_true")
    ap.add_argument("--timeout", type=float, default=1800)
    args = ap.parse_args()

    apps = sorted(p for p in args.corpus.rglob("*.apk")
                  if p.parent.name != "edge") if args.corpus.is_dir() else []
    large = None
    if not args.skip_large:
        large = Path(tempfile.mkdtemp()) / f"synthetic-{args.large_mib:g}MiB-dex.apk"
        # built in a child process, so this one stays small while it runs the others
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
                "from tests.support.apkbuilder import build_large_app; "
                "print(json.dumps(build_large_app(sys.argv[2], dex_mib=float(sys.argv[3]))))")
        out = subprocess.run([sys.executable, "-c", code, str(ROOT), str(large), str(args.large_mib)],
                             capture_output=True, text=True, check=True).stdout
        truth = json.loads(out.strip().splitlines()[-1])
        print(f"built {large.name}: {truth['total_dex_bytes'] / 2**20:.1f} MiB dex in "
              f"{len(truth['dex_names'])} files, {truth['total_classes']} classes", flush=True)
        apps.append(large)
    if not apps:
        print(f"no APKs found under {args.corpus}", file=sys.stderr)
        return 2

    tools = ["qingdan", "inflate"] + ([] if args.no_androguard else ["androguard"])
    hdr = f"{'app':44} {'dex MiB':>7} {'qingdan s':>9} {'inflate s':>9} {'q/infl':>6}"
    if "androguard" in tools:
        hdr += f" {'androguard s':>12} {'speedup':>7} {'q MiB':>6} {'ag MiB':>7}"
    else:
        hdr += f" {'q MiB':>6}"
    print(hdr)
    rows = []
    for app in apps:
        res = {t: run(t, app, args.timeout) for t in tools}
        q, inf, ag = res["qingdan"], res["inflate"], res.get("androguard")
        mib = (inf or {}).get("dex_bytes", 0) / 2**20
        name = (app.parent.name + "/" + app.name)[-44:] if app != large else app.name
        if "error" in q:
            print(f"{name:44} qingdan failed: {q['error']}")
            continue
        line = (f"{name:44} {mib:7.2f} {q['secs']:9.3f} {inf['secs']:9.3f}"
                f" {q['secs'] / max(inf['secs'], 1e-6):6.1f}")
        if ag is not None:
            if "error" in ag:
                line += f" {'(' + ag['error'][:30] + ')':>12}"
            else:
                line += (f" {ag['secs']:12.2f} {ag['secs'] / q['secs']:7.0f}"
                         f" {q['rss_mib']:6.0f} {ag['rss_mib']:7.0f}")
        else:
            line += f" {q['rss_mib']:6.0f}"
        print(line, flush=True)
        rows.append((app, mib, q, inf, ag))

    print()
    both = [r for r in rows if r[4] and "error" not in r[4]]
    corpus_rows = [r for r in rows if r[0] != large]
    if both:
        tq = sum(r[2]["secs"] for r in both)
        ta = sum(r[4]["secs"] for r in both)
        print(f"aggregate time, {len(both)} apps both tools read: qingdan {tq:.2f} s, androguard {ta:.1f} s "
              f"-> {ta / tq:.0f}x faster  [target >= 20x]")
        mem = [r[2]["rss_mib"] / r[4]["rss_mib"] for r in both]
        print(f"peak memory qingdan/androguard: max {max(mem):.2f}, mean {sum(mem) / len(mem):.2f}; "
              f"largest app {max(r[2]['rss_mib'] for r in both):.0f} MiB vs "
              f"{max(r[4]['rss_mib'] for r in both):.0f} MiB  [target <= 0.33]")
    if corpus_rows:
        tq = sum(r[2]["secs"] for r in corpus_rows)
        ti = sum(r[3]["secs"] for r in corpus_rows)
        print(f"corpus ({len(corpus_rows)} apps): qingdan {tq:.2f} s vs bare inflate {ti:.2f} s -> "
              f"{tq / ti:.1f}x  [target <= 10x]")
    for r in rows:
        if r[0] == large:
            print(f"synthetic {r[1]:.1f} MiB dex: qingdan {r[2]['secs']:.2f} s,"
                  f" {r[2]['rss_mib']:.0f} MiB peak [target <= 400 MiB]; bare inflate {r[3]['secs']:.2f} s"
                  f" -> {r[2]['secs'] / r[3]['secs']:.1f}x"
                  + (f"; androguard {r[4]['secs']:.1f} s, {r[4]['rss_mib']:.0f} MiB"
                     if r[4] and "error" not in r[4] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
