"""Precision and recall of policy analysis against tests/data/policy_labels.yaml, and its speed.

    .venv/bin/python benchmarks/policy_accuracy.py

Reads the real policies from ../shared (research data: never copied into the repository).
Prints precision and recall of PI-type mentions and of third-party mentions, and the time to
analyse a full policy (the VioDroid sample policy, 25 KB) once the tokenizer is loaded.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
POLICIES = SHARED / "corpus" / "policies"
FULL_POLICY = SHARED / "reference" / "policy" / "viodroid" / "C107228073-1.0.0.txt"
LABELS = ROOT / "tests" / "data" / "policy_labels.yaml"


def load_corpus_policy(name: str):
    """A corpus file → PolicyDoc (CA4P: drop the 'Apkid:' metadata line; Cainiao JSON: join its sentences)."""
    from qingdan.policy.read import parse_policy_text, read_policy_bytes

    path = POLICIES / name
    if path.suffix == ".json":
        items = json.loads(path.read_text("utf-8"))[1]
        return parse_policy_text("\n".join(x["orig-sentence"].strip() for x in items), str(path))
    text = re.sub(r"(<pre[^>]*>)Apkid:[^\n]*\n", r"\1", path.read_text("utf-8"), count=1)
    return read_policy_bytes(text.encode("utf-8"), str(path))


def score() -> dict:
    from qingdan.policy import extract_facts

    labels = yaml.safe_load(LABELS.read_text("utf-8"))
    pi = {"tp": 0, "fp": 0, "fn": 0}
    tp_ = {"tp": 0, "fp": 0, "found": 0, "labels": 0}
    detail = {}
    for name, lab in labels.items():
        facts = extract_facts(load_corpus_policy(name))
        pred = {m.pi_type for m in facts.pi_mentions}
        gold = set(lab.get("pi_types") or {})
        pi["tp"] += len(pred & gold)
        pi["fp"] += len(pred - gold)
        pi["fn"] += len(gold - pred)
        gold_tp = lab.get("third_parties") or []
        hit = [False] * len(gold_tp)
        wrong = []
        for t in facts.third_parties:
            ok = False
            for i, g in enumerate(gold_tp):
                if t.name in g["names"] or set(t.sdk_ids) & set(g["sdks"]):
                    hit[i] = ok = True
            tp_["tp" if ok else "fp"] += 1
            if not ok:
                wrong.append(t.name)
        tp_["found"] += sum(hit)
        tp_["labels"] += len(gold_tp)
        detail[name] = {"pi_fp": sorted(pred - gold), "pi_fn": sorted(gold - pred), "tp_fp": wrong,
                        "tp_fn": [g["names"][0] for g, h in zip(gold_tp, hit, strict=True) if not h]}

    def ratio(a: int, b: int) -> float:
        return a / b if b else 1.0

    return {
        "pi_precision": ratio(pi["tp"], pi["tp"] + pi["fp"]),
        "pi_recall": ratio(pi["tp"], pi["tp"] + pi["fn"]),
        "tp_precision": ratio(tp_["tp"], tp_["tp"] + tp_["fp"]),
        "tp_recall": ratio(tp_["found"], tp_["labels"]),
        "counts": {"pi": pi, "third_parties": tp_}, "detail": detail,
    }


def timing() -> tuple[float, float]:
    """(first call including tokenizer load, median of 5 warm runs) on the full policy, seconds."""
    from qingdan.policy import extract_facts, read_policy

    t0 = time.perf_counter()
    extract_facts(read_policy(FULL_POLICY))
    first = time.perf_counter() - t0
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        extract_facts(read_policy(FULL_POLICY))
        runs.append(time.perf_counter() - t0)
    return first, sorted(runs)[2]


def main() -> int:
    if not POLICIES.is_dir():
        print(f"shared corpus not found at {POLICIES}", file=sys.stderr)
        return 2
    first, warm = timing()
    s = score()
    print(f"PI types       precision {s['pi_precision']:.3f}  recall {s['pi_recall']:.3f}  "
          f"{s['counts']['pi']}")
    print(f"third parties  precision {s['tp_precision']:.3f}  recall {s['tp_recall']:.3f}  "
          f"{s['counts']['third_parties']}")
    print(f"full policy ({FULL_POLICY.name}, {FULL_POLICY.stat().st_size // 1024} KB): "
          f"{warm * 1000:.0f} ms warm, {first * 1000:.0f} ms first call (loads the jieba dictionary)")
    for name, d in s["detail"].items():
        if any(d.values()):
            print(f"  {name}: {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
