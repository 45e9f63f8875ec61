"""Packer detection on the shared corpus: every packed app named with its packer, no other app called packed.

Ground truth: the corpus's ``packed/`` group (CORPUS.tsv says which packer packed each ``*-legu.apk``;
each has its unpacked twin beside it, which must not be called packed) and every other corpus app,
none of which is packed. Run from the repository root:

    python benchmarks/packing_accuracy.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "apks"
# corpus file → the packer that packed it (CORPUS.tsv, group "packed"); every other app: not packed
PACKED = {"packed/game2048-legu.apk": "tencent-legu", "packed/liferecord-legu.apk": "tencent-legu"}


def main() -> int:
    from qingdan.apk.errors import ApkError
    from qingdan.checks.scan import scan_path

    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}")
        return 2
    right = wrong_packer = missed = false_calls = unreadable = 0
    t0 = time.perf_counter()
    for path in sorted(CORPUS.rglob("*.apk")):
        rel = path.relative_to(CORPUS).as_posix()
        try:
            res = scan_path(path)
        except ApkError:
            unreadable += 1
            continue
        got = res.packing.packer.id if res.packing else None
        want = PACKED.get(rel)
        if want and got == want:
            right += 1
        elif want and got:
            wrong_packer += 1
            print(f"  wrong packer: {rel}: {got}, expected {want}")
        elif want:
            missed += 1
            print(f"  missed: {rel}: expected {want}")
        elif got:
            false_calls += 1
            print(f"  called packed: {rel}: {got}")
    n = sum(1 for p in CORPUS.rglob("*.apk")) - unreadable
    print(f"packed apps named with their packer: {right}/{len(PACKED)} (wrong packer {wrong_packer}, "
          f"missed {missed})  [target: all]")
    print(f"unpacked apps called packed: {false_calls}/{n - len(PACKED)}  [target: 0]  "
          f"({unreadable} unreadable packages skipped; {time.perf_counter() - t0:.1f} s)")
    return 0 if right == len(PACKED) and not false_calls else 1


if __name__ == "__main__":
    sys.exit(main())
