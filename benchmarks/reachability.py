"""Reachability on the leak benchmarks, and what the call graph costs.

Ground truth: ``tests/data/sensitive_sources.yaml`` (the sources of the DroidBench 3.0, ICC-Bench and
UBCBench apps in ``../shared/corpus``, restated from their ``GROUND_TRUTH.tsv``). Their sources sit in
lifecycle methods and callbacks; the figure is the share of direct sources whose calling method the
graph reaches from the app's entry points (components, their callbacks, objects created on the way).
Benchmarks that test a *disabled* component (InactiveActivity) still count: the manifest keeps the
component, and qingdan reports code reachable from every component it declares.

Cost: CPU seconds of ``scan`` and of the call-graph analysis (``scan --consent``) over the Chinese
corpus apps and the store build, side by side (``time.process_time``, so other load on the machine
does not count).

    python benchmarks/reachability.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "apks"
SOURCES = ROOT / "tests" / "data" / "sensitive_sources.yaml"


def main() -> int:
    from qingdan.apk.package import read_package
    from qingdan.checks.consent import analyse
    from qingdan.checks.scan import SYSTEM_START_ACTIONS, scan_package

    if not CORPUS.is_dir():
        print(f"shared corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    start = frozenset(SYSTEM_START_ACTIONS)
    data = yaml.safe_load(SOURCES.read_text("utf-8"))
    reached = total = 0
    missed: list[str] = []
    for rel, sources in sorted(data["apps"].items()):
        path = CORPUS / rel
        if not path.is_file():
            continue
        res = scan_package(read_package(path), consent=True)
        for s in sources:
            if s.get("how") != "direct":
                continue
            total += 1
            sites = [(site.caller_class, site.caller_method) for u in res.api_uses if u.callee == s["api"]
                     for site in u.sites]
            if any(x in res.consent.reachable for x in sites):
                reached += 1
            else:
                missed.append(f"{rel}: {s['api']} ({'no call site' if not sites else 'not reached'})")
    print(f"leak-benchmark sources reached from entry points: {reached}/{total} "
          f"({reached / total:.3f})  [target >= 0.95]" if total else "no benchmark apps found")
    for m in missed:
        print(f"  missed  {m}")
    apps = sorted(CORPUS.glob("cn-*/*.apk")) + sorted(CORPUS.glob("store/*.apk"))
    t_scan = t_graph = 0.0
    for p in apps:
        pkg = read_package(p)
        t = time.process_time()
        scan_package(pkg)
        t_scan += time.process_time() - t
        pkg = read_package(p)
        t = time.process_time()
        analyse(pkg, start)
        t_graph += time.process_time() - t
    print(f"cost over {len(apps)} Chinese corpus apps (CPU s): scan {t_scan:.2f}, call graph + searches "
          f"{t_graph:.2f} (+{100 * t_graph / t_scan:.0f} % of scan)  [target <= +10 %]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
