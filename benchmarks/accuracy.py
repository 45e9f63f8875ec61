"""Accuracy of SDK detection and sensitive-source detection on the shared corpus, and how far the
SDK catalogue covers the public signature sources and can fill the double lists.

Ground truth: ``tests/data/corpus_labels.yaml`` (SDKs and packer per app, verified by hand from
evidence) and ``tests/data/sensitive_sources.yaml`` (leak-benchmark sources from GROUND_TRUTH.tsv).
An Exodus-style class-name match (every tracker's code signature searched over the class names, as
the Exodus tool does) runs over the same apps for comparison.

Catalogue figures (no scan needed): **coverage** -- for each public signature source under
``../shared/reference/sdk`` the signatures the catalogue matches, those excluded with a reason in
``sdk_source_exclusions.yaml`` and those uncovered (target: 100 % matched or excluded; semantics in
``qingdan/knowledge/sdk_sources.py``) -- and **completeness** -- ``kind: sdk`` entries with company
and country, Chinese SDKs with PI types, purpose and policy URL (target >= 400), libraries with a
maintainer.

    python benchmarks/accuracy.py                  # prints the figures
    python benchmarks/accuracy.py --verbose        # and every miss / false alarm / uncovered signature
    python benchmarks/accuracy.py --catalogue-only # coverage and completeness only (no scans)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "apks"
REFERENCE = ROOT.parent / "shared" / "reference" / "sdk"
LABELS = ROOT / "tests" / "data" / "corpus_labels.yaml"
SOURCES = ROOT / "tests" / "data" / "sensitive_sources.yaml"


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def sdk_accuracy(results: dict, labels: dict) -> Tally:
    t = Tally()
    for rel, lab in labels["apps"].items():
        r = results.get(rel)
        if r is None:
            continue
        want = set(lab.get("sdks") or [])
        ignore = set(lab.get("ambiguous") or [])
        got = {d.sdk.id for d in r.sdks if d.confidence != "low"}
        t.tp += len(want & got)
        for x in sorted(got - want - ignore):
            t.fp += 1
            t.false_alarms.append(f"{rel}: {x}")
        for x in sorted(want - got):
            t.fn += 1
            t.misses.append(f"{rel}: {x}")
    return t


def source_accuracy(results: dict, truth: dict) -> tuple[Tally, Tally]:
    """(direct sources found directly, reflective sources flagged possible)."""
    direct, reflective = Tally(), Tally()
    for rel, items in truth["apps"].items():
        r = results.get(rel)
        if r is None:
            continue
        seen = {(u.callee, u.certainty) for u in r.api_uses}
        for it in items:
            tally = direct if it["how"] == "direct" else reflective
            if it["how"] == "direct":
                ok = (it["api"], "direct") in seen
            else:
                member = it["api"].rsplit(".", 1)[1]
                ok = any(c == "possible" and f'"{member}"' in callee for callee, c in seen) or \
                    (it["api"], "direct") in seen
            if ok:
                tally.tp += 1
            else:
                tally.fn += 1
                tally.misses.append(f"{rel}: {it['api']} ({it['how']})")
    return direct, reflective


@dataclass
class PackerTally:
    measured: bool = False  # the scan reports packing at all (ScanResult.packing)
    packed: int = 0  # labelled packed apps
    detected: int = 0  # ... reported packed with their packer
    unpacked: int = 0  # labelled unpacked apps
    misses: list[str] = field(default_factory=list)  # packed app not reported, or with another packer
    false_alarms: list[str] = field(default_factory=list)  # unpacked app reported packed


def _packer_of(result) -> str | None:
    """The packer id a scan reports: ``result.packing`` is None or has ``packer`` (an id, or a
    packer object with an ``id``)."""
    packing = getattr(result, "packing", None)
    if packing is None:
        return None
    packer = packing.get("packer") if isinstance(packing, dict) else getattr(packing, "packer", None)
    return getattr(packer, "id", packer)


def packer_accuracy(results: dict, labels: dict) -> PackerTally:
    """Every labelled-packed app reported with its packer; no other labelled app reported packed.
    Tolerates a ScanResult without ``packing`` (then ``measured`` is False)."""
    t = PackerTally()
    for rel, lab in labels["apps"].items():
        r = results.get(rel)
        if r is None:
            continue
        t.measured = t.measured or hasattr(r, "packing")
        want, got = lab.get("packer"), _packer_of(r)
        if want:
            t.packed += 1
            if got == want:
                t.detected += 1
            else:
                t.misses.append(f"{rel}: {want} reported as {got or 'not packed'}")
        else:
            t.unpacked += 1
            if got:
                t.false_alarms.append(f"{rel}: not packed, reported as {got}")
    return t


def print_catalogue(verbose: bool) -> None:
    """Coverage of the public signature sources and completeness of the catalogue."""
    from qingdan.knowledge.sdk_sources import Completeness, completeness, coverage, describe, read_reference

    if REFERENCE.is_dir():
        cov = coverage(read_reference(REFERENCE))
        print("coverage of the public signature sources (matched + excluded with a reason; target 100 %):")
        for c in cov.values():
            print(f"  {c.source:<15} {c.total:>5} signatures: {len(c.matched):>5} matched, "
                  f"{len(c.excluded):>3} excluded, {len(c.uncovered):>3} uncovered  {100 * c.share:5.1f} %")
        if verbose:
            for c in cov.values():
                for row in [describe(s) for s in c.uncovered] + c.stale:
                    print(f"    {c.source}: {row}")
    else:
        print(f"coverage: reference sources not found at {REFERENCE}")
    m = completeness()
    pct = Completeness.share
    print(f"completeness: kind sdk entries with company and country {m.sdks_with_company}/{m.sdks} "
          f"({100 * pct(m.sdks_with_company, m.sdks):.1f} %)  [target 100 %]")
    print(f"  Chinese SDKs (CN, kind sdk) with PI types, purpose and policy URL: {m.cn_complete}/{m.cn_sdks} "
          f"({100 * pct(m.cn_complete, m.cn_sdks):.1f} %)  [target >= 400]")
    print(f"  libraries with a maintainer: {m.libraries_with_maintainer}/{m.libraries} "
          f"({100 * pct(m.libraries_with_maintainer, m.libraries):.1f} %)")


def exodus_comparison(results: dict) -> tuple[int, int, list[str]]:
    """(trackers the Exodus-style match finds, of those also found by qingdan, misses)."""
    from qingdan.checks.sdks import exodus_matches

    found = total = 0
    misses = []
    for rel, r in results.items():
        every = r.owners  # SDKs and libraries own their code
        for tracker, classes in exodus_matches(r.package).items():
            total += 1
            if any(every.kind(every.owner(c)) in ("sdk", "library") for c in classes):
                found += 1
            else:
                misses.append(f"{rel}: {tracker} (e.g. {classes[0]})")
    return total, found, misses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--catalogue-only", action="store_true", help="coverage and completeness only (no scans)")
    args = ap.parse_args()
    print_catalogue(args.verbose)
    if args.catalogue_only:
        return 0
    if not CORPUS.is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    from qingdan.checks.scan import scan_path

    labels = yaml.safe_load(LABELS.read_text("utf-8"))
    truth = yaml.safe_load(SOURCES.read_text("utf-8"))
    rels = sorted(set(labels["apps"]) | set(truth["apps"]))
    results = {rel: scan_path(CORPUS / rel) for rel in rels if (CORPUS / rel).is_file()}

    s = sdk_accuracy(results, labels)
    print(f"SDK detection over {len(labels['apps'])} labelled apps: precision {s.precision:.3f} "
          f"recall {s.recall:.3f} (tp {s.tp}, fp {s.fp}, fn {s.fn})  [target >= 0.98 / 0.98]")
    d, rf = source_accuracy(results, truth)
    print(f"sensitive sources, direct calls: recall {d.recall:.3f} ({d.tp}/{d.tp + d.fn})  [target >= 0.95]")
    print(f"sensitive sources, reflective:   flagged possible {rf.tp}/{rf.tp + rf.fn}")
    pk = packer_accuracy(results, labels)
    if pk.measured:
        print(f"packers: {pk.detected}/{pk.packed} packed apps detected with their packer, "
              f"{len(pk.false_alarms)} of {pk.unpacked} unpacked apps called packed  [target: all / 0]")
    else:
        print(f"packers: not measured (the scan reports no `packing`); {pk.packed} labelled packed apps")
    total, found, ex_miss = exodus_comparison(results)
    print(f"Exodus-style class match: {total} tracker hits over the same apps; qingdan finds {found} of them "
          f"[target: all]")
    if args.verbose:
        for title, rows in (("SDK misses", s.misses), ("SDK false alarms", s.false_alarms),
                            ("packer misses", pk.misses if pk.measured else []),
                            ("packer false alarms", pk.false_alarms),
                            ("source misses", d.misses + rf.misses), ("Exodus-only", ex_miss)):
            if rows:
                print(f"\n{title}:")
                for row in rows:
                    print("  " + row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
