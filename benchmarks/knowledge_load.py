"""How long loading the knowledge catalogues takes in a new process (what every scan pays first).

Each figure is the median of several fresh interpreters, timed inside the process around the
loader calls only (interpreter start and imports excluded):

* cold  -- an empty cache folder: YAML parsed (libyaml where PyYAML has it), entries validated;
* warm  -- the cache that a first run leaves (QINGDAN_CACHE_DIR): no YAML is parsed;
* pure  -- cold, with PyYAML's pure-Python loader, as on a machine whose PyYAML lacks libyaml.

    python benchmarks/knowledge_load.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

WORKER = r"""
import sys, time
if sys.argv[1] == "pure":
    import yaml
    if hasattr(yaml, "CSafeLoader"):
        del yaml.CSafeLoader
from qingdan.knowledge import apis, app_types, permissions, pi, rules, sdks
t0 = time.perf_counter()
sdks.load_sdks(); sdks.load_exodus(); apis.load_sensitive_apis(); permissions.load_permissions()
pi.load_pi_types(); app_types.load_app_types(); rules.load_rules()
t1 = time.perf_counter()
print(f"{(t1 - t0) * 1000:.1f}")
"""


def run(mode: str, cache: str) -> float:
    env = dict(os.environ, QINGDAN_CACHE_DIR=cache)
    out = subprocess.run([sys.executable, "-c", WORKER, mode], capture_output=True, text=True, env=env,
                         check=True)
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rows = []
    for mode in ("cold", "warm", "pure"):
        times = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as cache:
                if mode == "warm":
                    run("cold", cache)  # leaves the cache behind
                times.append(run("pure" if mode == "pure" else "cold", cache))
        rows.append((mode, statistics.median(times), min(times), max(times)))
    print(f"{'load':6} {'median ms':>10} {'min':>8} {'max':>8}"
          f"   (all catalogues, {args.runs} processes each)")
    for mode, med, lo, hi in rows:
        print(f"{mode:6} {med:10.1f} {lo:8.1f} {hi:8.1f}")


if __name__ == "__main__":
    main()
