"""benchmarks/accuracy.py: packer detection scoring (tolerant of scans without ``packing``) and the
corpus labels' ``packer`` field."""

from __future__ import annotations

import importlib.util
import re
import sys
from types import SimpleNamespace

import pytest
import yaml

from tests.conftest import CORPUS, ROOT, needs_shared


@pytest.fixture(scope="module")
def acc():
    spec = importlib.util.spec_from_file_location("qingdan_accuracy_bench_packers",
                                                  ROOT / "benchmarks" / "accuracy.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


LABELS = {"apps": {
    "p/a-legu.apk": {"packer": "tencent-legu", "sdks": []},
    "p/b-legu.apk": {"packer": "tencent-legu", "sdks": []},
    "p/c-jiagu.apk": {"packer": "qihoo360-jiagu", "sdks": []},
    "p/a-unpacked.apk": {"sdks": []},
    "p/d.apk": {"sdks": []},
    "p/not-scanned.apk": {"packer": "tencent-legu"},
}}


def test_packers_scored_from_scan_results(acc):
    packing = SimpleNamespace
    results = {
        "p/a-legu.apk": SimpleNamespace(packing=packing(packer=SimpleNamespace(id="tencent-legu"))),
        "p/b-legu.apk": SimpleNamespace(packing=None),  # missed
        "p/c-jiagu.apk": SimpleNamespace(packing={"packer": "tencent-legu"}),  # wrong packer (dict form)
        "p/a-unpacked.apk": SimpleNamespace(packing=None),
        "p/d.apk": SimpleNamespace(packing=packing(packer="ijiami")),  # unpacked, called packed (id form)
    }
    t = acc.packer_accuracy(results, LABELS)
    assert t.measured and (t.packed, t.detected, t.unpacked) == (3, 1, 2)
    assert t.misses == ["p/b-legu.apk: tencent-legu reported as not packed",
                        "p/c-jiagu.apk: qihoo360-jiagu reported as tencent-legu"]
    assert t.false_alarms == ["p/d.apk: not packed, reported as ijiami"]


def test_scans_without_packing_are_not_measured(acc):
    results = {rel: SimpleNamespace(sdks=[]) for rel in LABELS["apps"] if rel != "p/not-scanned.apk"}
    t = acc.packer_accuracy(results, LABELS)
    assert not t.measured and t.packed == 3 and t.detected == 0 and not t.false_alarms


def test_catalogue_figures_print_without_scanning(acc, capsys):
    acc.print_catalogue(verbose=True)
    out = capsys.readouterr().out
    assert "completeness: kind sdk entries with company and country" in out
    assert "Chinese SDKs (CN, kind sdk) with PI types, purpose and policy URL" in out
    if acc.REFERENCE.is_dir():
        for source in ("libchecker-v42", "appscan", "exodus", "dcloud", "catalog-sample"):
            assert re.search(rf"^  {source} +\d+ signatures: +\d+ matched", out, re.M), out


def test_label_packers_are_slugs_and_packed_apps_hide_their_code():
    labels = yaml.safe_load((ROOT / "tests" / "data" / "corpus_labels.yaml").read_text("utf-8"))
    packed = {rel: lab["packer"] for rel, lab in labels["apps"].items() if "packer" in lab}
    assert packed, "the labels name no packed app"
    for rel, packer in packed.items():
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", packer), (rel, packer)
        # a packed app has no SDK whose code could be read: only the shell's
        assert not labels["apps"][rel]["sdks"], rel


@needs_shared
def test_every_packed_corpus_apk_is_labelled():
    labels = yaml.safe_load((ROOT / "tests" / "data" / "corpus_labels.yaml").read_text("utf-8"))["apps"]
    for apk in sorted((CORPUS / "packed").glob("*.apk")) + sorted((CORPUS / "store").glob("*.apk")):
        rel = f"{apk.parent.name}/{apk.name}"
        assert rel in labels, rel
        assert ("packer" in labels[rel]) == ("-unpacked" not in apk.name and apk.parent.name == "packed"), rel
