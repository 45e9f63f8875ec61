"""Every YAML file the package ships loads alike with and without libyaml; meta counts are checked.

PyYAML's pure-Python ``SafeLoader`` is stricter than libyaml's ``CSafeLoader`` in places (a ``?``
in a plain scalar inside ``[...]``, for one), and a machine whose PyYAML lacks libyaml has only
the former: the data must load there too, to the same values.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import qingdan
from qingdan import knowledge
from qingdan.knowledge import (
    _data,
    android,
    apis,
    app_types,
    appscan,
    consent,
    packers,
    permissions,
    pi,
    rules,
    sdk_sources,
    sdks,
)

PACKAGE = Path(qingdan.__file__).resolve().parent
SHIPPED_YAML = sorted(p for p in PACKAGE.rglob("*") if p.suffix in (".yaml", ".yml"))
KNOWLEDGE_MODULES = (android, apis, app_types, appscan, consent, packers, permissions, pi, rules, sdks,
                     sdk_sources)
DATA_FILES = sorted(p.name for p in (Path(knowledge.__file__).parent / "data").glob("*.yaml"))


def test_the_knowledge_data_files_are_among_them():
    names = {p.name for p in SHIPPED_YAML}
    assert DATA_FILES and set(DATA_FILES) <= names


@pytest.mark.parametrize("path", SHIPPED_YAML, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_loads_with_the_pure_python_safe_loader_to_the_same_data(path):
    raw = path.read_bytes()
    pure = yaml.load(raw, Loader=yaml.SafeLoader)  # noqa: S506 - safe loader
    assert pure is not None
    if hasattr(yaml, "CSafeLoader"):
        assert yaml.load(raw, Loader=yaml.CSafeLoader) == pure  # noqa: S506 - safe loader


def _clear_caches():
    for mod in KNOWLEDGE_MODULES:
        for value in vars(mod).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()


def _everything():
    return ([_data.load_yaml_data(name) for name in DATA_FILES], sdks.load_sdks(), sdks.load_exodus(),
            sdks.load_sdk_sources(), apis.load_sensitive_apis(), permissions.load_permissions(),
            pi.load_pi_types(), app_types.load_app_types(), rules.load_rules(), packers.load_packers(),
            packers.load_packer_sources(), sdk_sources.load_exclusions(), android.async_callbacks(),
            android.start_entries(), consent.load_consent(), appscan.load_appscan_items())


def test_loaders_fall_back_to_the_pure_loader_without_libyaml(monkeypatch, tmp_path):
    want = _everything()
    used = []
    real_load = yaml.load

    def load(stream, Loader):  # noqa: N803 - yaml's own argument name
        used.append(Loader)
        return real_load(stream, Loader=Loader)  # noqa: S506 - the loader under test is a safe one

    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)  # as on a PyYAML built without libyaml
    monkeypatch.setattr(yaml, "load", load)
    monkeypatch.setenv("QINGDAN_CACHE_DIR", str(tmp_path))  # an empty cache: every file is parsed
    _clear_caches()
    try:
        assert _data.yaml_loader() is yaml.SafeLoader
        assert _everything() == want
    finally:
        _clear_caches()
    assert used and set(used) == {yaml.SafeLoader}
    assert len(used) == len(DATA_FILES)  # each file parsed once (then from the cache)


def _doc(name: str) -> dict:
    return _data.load_yaml_data(name)


# Counts written into a file's meta, and what each must equal. A count nobody checks goes stale
# (sdks.yaml's meta.entries said 1014 for 1030 entries, and was dropped): a new one needs a line here.
META_COUNTS = {
    ("sdks_exodus.yaml", "trackers"): lambda d: len(d["trackers"]),
    ("app_types.yaml", "total_types"): lambda d: len(d["types"]),
    ("app_types.yaml", "types_without_necessary_pi"): lambda d: sum(1 for t in d["types"]
                                                                     if not t["necessary_pi"]),
}


def test_meta_counts_are_true_and_none_is_unchecked():
    found = set()
    for name in DATA_FILES:
        doc = _doc(name)
        for key, value in (doc.get("meta") or {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                found.add((name, key))
                check = META_COUNTS.get((name, key))
                assert check is not None, f"{name}: meta.{key} is a count no test checks"
                assert value == check(doc), f"{name}: meta.{key} = {value}, the data says {check(doc)}"
    assert found == set(META_COUNTS)
    assert "entries" not in _doc("sdks.yaml")["meta"]
