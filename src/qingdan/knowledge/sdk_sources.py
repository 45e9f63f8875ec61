"""Coverage of the public SDK signature sources by the catalogue, and its completeness.

Every signature of the public sources the catalogue was built from is either **matched** (the
catalogue ``sdks.yaml`` -- or, for Exodus, ``sdks_exodus.yaml`` -- recognises it, so a scan that meets
it names an SDK) or **excluded** with a one-line reason in ``data/sdk_source_exclusions.yaml``.
What is left is **uncovered**: a gap to close. The reference files are read from a folder the
caller names (the package itself never depends on them being present).

Sources and their signatures (``key`` is how an exclusion row names one):

``libchecker-v42`` (``libchecker_rules_v42.json``), key ``<type>:<name>``
    ``native_lib``: the library file name is in some entry's ``native_libs`` or fully matches one
    of its ``native_lib_patterns``. ``service``/``activity``/``receiver``/``provider``: the class
    name is in ``components`` or fully matches a ``component_patterns`` regex. ``intent_action``
    and ``static_lib`` (LibChecker files push actions and system static libraries under it):
    the name is in ``actions``. ``permission``/``metadata``: in ``permissions``/``meta_data``.
    LibChecker files a few native library names under a component type (Bangcle's
    ``libDexHelper-x86_64.so`` as a provider): a component rule whose name ends in ``.so`` matches
    as a native-library rule, or as the component it is filed as.
    ``dex_package``: package-prefix semantics, below. A *regex* rule (``is_regex``) matches
    when the catalogue holds the same regex (``(.*)`` and ``.*`` taken as equal) in the kind's
    ``*_patterns``, or -- for names -- when every sample name it describes (each ``(.*)`` filled
    with ``""``, ``"0"`` and ``"a_1.b"``, escapes removed) is recognised as above; a dex regex of
    the form ``a\\.b\\.(.*)`` is the package prefix ``a.b``.
``dcloud`` (``dcloud_uniapp_android-store.md``, the package column, split at ``、`` and ``,``) and
``catalog-sample`` (``sdk_catalog_sample.yaml``, its ``prefixes``), key: the prefix as written
    package-prefix semantics: with a trailing ``.`` removed, the prefix or one of its dotted
    ancestors is a catalogue ``packages`` prefix (a class under it is then attributed to that
    entry). A row with no package is keyed by its SDK name and can only be excluded.
``appscan`` (``appscan_sdk_prefixes.json``), key: the row's name as written
    AppScan searches its rows as substrings of class and manifest names; most are package
    prefixes, some are manifest names (components, meta-data keys, actions) or name suffixes
    starting with ``.``. A row matches when, with a leading ``.`` removed -- either alone or
    appended to a sample package ``com.example.app.`` --, it is recognised as a package prefix
    (as above) or as a component, meta-data key, action or permission name (as for LibChecker).
``exodus`` (``exodus_trackers.json``), key ``exodus-<id>``
    ``sdks_exodus.yaml`` holds the tracker with the same code signatures (split at ``|``), and
    one of them names a Java package the scan matches: a signature read up to its first segment
    that is not a lowercase package name (``com.adobe.mobile.Analytics`` -> ``com.adobe.mobile``)
    giving at least two segments and no generic prefix; one starting with ``.`` (a segment
    anywhere) or holding a regex escape names none (the scan's own reading,
    ``knowledge.sdks.exodus_package_prefixes``, is used where it exists). A tracker with no usable
    code signature can only be excluded.

This module imports nothing from other qingdan subpackages but ``knowledge``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.knowledge._data import KnowledgeFile
from qingdan.knowledge.sdks import GENERIC_PACKAGE_PREFIXES, ExodusTracker, Sdk, load_exodus, load_sdks

__all__ = [
    "EXCLUSIONS_FILE",
    "Completeness",
    "SCHEMA",
    "SOURCE_FILES",
    "SOURCES",
    "Exclusion",
    "SourceCoverage",
    "SourceSignature",
    "completeness",
    "coverage",
    "describe",
    "load_exclusions",
    "read_reference",
]

SCHEMA = "qingdan.knowledge.sdk_source_exclusions/1"
EXCLUSIONS_FILE = "data/sdk_source_exclusions.yaml"
#: The signature sources, each with its file under the reference folder.
SOURCE_FILES = {
    "libchecker-v42": "libchecker_rules_v42.json",
    "appscan": "appscan_sdk_prefixes.json",
    "exodus": "exodus_trackers.json",
    "dcloud": "dcloud_uniapp_android-store.md",
    "catalog-sample": "sdk_catalog_sample.yaml",
}
SOURCES = tuple(SOURCE_FILES)


@dataclass(frozen=True, slots=True)
class SourceSignature:
    """One signature of a public source."""

    source: str
    key: str  # unique within the source; exclusion rows name it
    # package | native_lib | component | action | permission | meta_data | any (one of these) | exodus | none
    kind: str
    value: str  # the name, prefix or regex (for exodus: the '|'-joined code signature)
    label: str  # the source's own name for the SDK
    regex: bool = False


@dataclass(frozen=True, slots=True)
class Exclusion:
    source: str
    key: str
    reason: str


@dataclass(slots=True)
class SourceCoverage:
    source: str
    matched: list[SourceSignature] = field(default_factory=list)
    excluded: list[SourceSignature] = field(default_factory=list)
    uncovered: list[SourceSignature] = field(default_factory=list)
    # exclusion rows that name no signature of the source, or one the catalogue matches anyway
    stale: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.matched) + len(self.excluded) + len(self.uncovered)

    @property
    def share(self) -> float:
        """Matched or excluded, as a share of all (1.0 for an empty source)."""
        return (len(self.matched) + len(self.excluded)) / self.total if self.total else 1.0


# -- the exclusions file ---------------------------------------------------------------------------

_FILE: KnowledgeFile[dict[tuple[str, str], Exclusion]] = KnowledgeFile(EXCLUSIONS_FILE, __file__)


def _read_text() -> str:
    return _FILE.read_text()


def _parse_exclusions(text: str) -> dict[tuple[str, str], Exclusion]:
    ck = _FILE.check
    doc = ck.load(text)
    sources = ck.header(doc, SCHEMA, source_fields=("title",))
    missing = [s for s in SOURCES if s not in sources]
    if missing or set(sources) - set(SOURCES):
        raise ck.fail(f"sources must describe exactly {list(SOURCES)}")
    raw = doc.get("exclusions")
    if not isinstance(raw, list):
        raise ck.fail("exclusions must be a list")
    out: dict[tuple[str, str], Exclusion] = {}
    for i, e in enumerate(raw):
        where = f"exclusions[{i}]"
        if not isinstance(e, dict) or set(e) != {"source", "key", "reason"}:
            raise ck.fail(f"{where}: must have exactly the keys source, key, reason")
        src = e["source"]
        if src not in SOURCES:
            raise ck.fail(f"{where}: source must be one of {list(SOURCES)}, got {src!r}")
        key = ck.text(e["key"], "key", where)
        where = f"{where} ({src} {key})"
        reason = ck.text(e["reason"], "reason", where)
        if "\n" in reason.strip():
            raise ck.fail(f"{where}: reason must be one line")
        if (src, key) in out:
            raise ck.fail(f"{where}: duplicate row")
        out[(src, key)] = Exclusion(src, key, reason.strip())
    return out


@functools.cache
def load_exclusions() -> dict[tuple[str, str], Exclusion]:
    """(source, key) -> the reason that signature is not in the catalogue. Cached: read-only."""
    return _FILE.build(_read_text(), _parse_exclusions)


# -- reading the reference files -------------------------------------------------------------------

_LC_KIND = {"native_lib": "native_lib", "service": "component", "activity": "component",
            "receiver": "component", "provider": "component", "intent_action": "action",
            "static_lib": "action", "permission": "permission", "metadata": "meta_data",
            "dex_package": "package"}
_DEX_REGEX = re.compile(r"^((?:[A-Za-z_$][\w$]*\\\.)*[A-Za-z_$][\w$]*)\\\.\(\.\*\)$")
_TD = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


def _libchecker(path: Path) -> list[SourceSignature]:
    out = []
    for r in json.loads(path.read_text("utf-8"))["rules"]:
        kind = _LC_KIND.get(r["type"])
        if kind is None:
            raise ValueError(f"{path}: unknown LibChecker rule type {r['type']!r}")
        name, regex = r["name"], bool(r["is_regex"])
        if kind == "package" and regex and (m := _DEX_REGEX.match(name)):
            name, regex = m.group(1).replace("\\.", "."), False
        key = f"{r['type']}:{r['name']}"
        out.append(SourceSignature("libchecker-v42", key, kind, name, r["label"], regex))
    return out


def _appscan(path: Path) -> list[SourceSignature]:
    out: dict[str, SourceSignature] = {}
    for r in json.loads(path.read_text("utf-8")):
        p = r["package_name"]
        out.setdefault(p, SourceSignature("appscan", p, "any", p, r["sdk_name"]))
    return list(out.values())


def _dcloud(path: Path) -> list[SourceSignature]:
    out: dict[str, SourceSignature] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", path.read_text("utf-8"), re.S):
        cells = [c.strip() for c in _TD.findall(row)]
        if len(cells) < 2:
            continue  # a header row
        name, packages = cells[0], [p.strip() for p in re.split(r"[、,，]", cells[1]) if p.strip()]
        for p in packages:
            out.setdefault(p, SourceSignature("dcloud", p, "package", p, name))
        if not packages:
            out.setdefault(name, SourceSignature("dcloud", name, "none", "", name))
    return list(out.values())


def _catalog_sample(path: Path) -> list[SourceSignature]:
    import yaml

    doc = yaml.safe_load(path.read_text("utf-8"))
    out: dict[str, SourceSignature] = {}
    for e in doc["sdks"]:
        for p in e["prefixes"]:
            out.setdefault(p, SourceSignature("catalog-sample", p, "package", p, e["sdk"]))
    return list(out.values())


def _exodus(path: Path) -> list[SourceSignature]:
    out = []
    for t in json.loads(path.read_text("utf-8"))["trackers"].values():
        code = (t.get("code_signature") or "").strip()
        kind = "exodus" if code else "none"
        out.append(SourceSignature("exodus", f"exodus-{t['id']}", kind, code, t["name"]))
    return out


_READERS = {"libchecker-v42": _libchecker, "appscan": _appscan, "exodus": _exodus, "dcloud": _dcloud,
            "catalog-sample": _catalog_sample}


def read_reference(folder: Path | str) -> dict[str, list[SourceSignature]]:
    """Every signature of every source, read from ``folder`` (the reference ``sdk/`` folder).
    Raises OSError when a file is missing, ValueError when one is not in the expected shape."""
    folder = Path(folder)
    out = {}
    for src, name in SOURCE_FILES.items():
        try:
            out[src] = _READERS[src](folder / name)
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{folder / name}: not in the expected shape ({exc!r})") from None
    return out


# -- matching --------------------------------------------------------------------------------------

_SAMPLES = ("", "0", "a_1.b")
_SAMPLE_PACKAGE = "com.example.app."  # what an AppScan row starting with '.' is appended to
_NAME_KINDS = ("component", "meta_data", "action", "permission")


class _Index:
    """The catalogue's signatures by kind, for exact lookups (patterns are tried one by one: the
    coverage is computed once per benchmark or test run, never per scan)."""

    def __init__(self, sdks: Iterable[Sdk], exodus: Iterable[ExodusTracker]) -> None:
        self.names: dict[str, set[str]] = {k: set() for k in ("package", "native_lib", "component", "action",
                                                                 "permission", "meta_data")}
        self.patterns: dict[str, list[re.Pattern[str]]] = {"native_lib": [], "component": []}
        self.pattern_text: dict[str, set[str]] = {"native_lib": set(), "component": set()}
        for s in sdks:
            sig = s.signatures
            self.names["package"].update(sig.packages)
            self.names["native_lib"].update(sig.native_libs)
            self.names["component"].update(sig.components)
            self.names["action"].update(sig.actions)
            self.names["permission"].update(sig.permissions)
            self.names["meta_data"].update(sig.meta_data)
            for kind, rxs in (("native_lib", sig.native_lib_patterns), ("component", sig.component_patterns)):
                for rx in rxs:
                    self.patterns[kind].append(re.compile(rx))
                    self.pattern_text[kind].add(_norm_rx(rx))
        self.exodus = {t.id: frozenset(t.code_signatures) for t in exodus if _exodus_packages(t)}

    def package(self, prefix: str) -> bool:
        parts = prefix.rstrip(".").split(".")
        return any(".".join(parts[:i]) in self.names["package"] for i in range(1, len(parts) + 1))

    def name(self, kind: str, name: str) -> bool:
        if name in self.names[kind]:
            return True
        return any(rx.fullmatch(name) for rx in self.patterns.get(kind, ()))

    def matches(self, sig: SourceSignature) -> bool:
        if sig.kind == "none":
            return False
        if sig.kind == "exodus":
            have = self.exodus.get(sig.key)
            return have is not None and have == frozenset(s for s in sig.value.split("|") if s)
        if sig.kind == "any":
            name = sig.value.lstrip(".")
            return any(self.package(n) or any(self.name(k, n) for k in _NAME_KINDS)
                       for n in (name, _SAMPLE_PACKAGE + name))
        if sig.kind == "package" and not sig.regex:
            return self.package(sig.value)
        if not sig.regex:
            if sig.kind == "component" and sig.value.endswith(".so") and self.name("native_lib", sig.value):
                return True  # a native library filed under a component type
            return self.name(sig.kind, sig.value)
        if _norm_rx(sig.value) in self.pattern_text.get(sig.kind, ()):
            return True
        samples = _samples(sig.value)
        if not samples:
            return False
        if sig.kind == "package":
            return all(self.package(s) for s in samples)
        return all(self.name(sig.kind, s) for s in samples)


_LOWER_SEGMENT = re.compile(r"[a-z_][a-z0-9_]*")


def _exodus_packages(t: ExodusTracker) -> tuple[str, ...]:
    """The Java packages the scan reads from a tracker's code signatures (see the module doc)."""
    from qingdan.knowledge import sdks

    scan_reading = getattr(sdks, "exodus_package_prefixes", None)  # the scan's own, where present
    if scan_reading is not None:
        return tuple(scan_reading(t))
    out = []
    for sig in t.code_signatures:
        if sig.startswith(".") or "\\" in sig:
            continue
        segs = []
        for seg in sig.rstrip(".").split("."):
            if not _LOWER_SEGMENT.fullmatch(seg):
                break
            segs.append(seg)
        p = ".".join(segs)
        if p.count(".") >= 1 and p not in GENERIC_PACKAGE_PREFIXES:
            out.append(p)
    return tuple(out)


def _norm_rx(rx: str) -> str:
    return rx.replace("(.*)", ".*")


def _samples(rx: str) -> list[str]:
    """Names a simple regex (literal text, ``\\.`` escapes, ``(.*)`` / ``.*`` wildcards) describes,
    or [] for any other regex."""
    body = _norm_rx(rx)
    parts = body.split(".*")
    lits = []
    for p in parts:
        lit = re.sub(r"\\(.)", r"\1", p)
        if re.search(r"[\\^$*+?{}\[\]|()]", p.replace("\\.", "")):
            return []
        lits.append(lit)
    return [fill.join(lits) for fill in _SAMPLES]


def coverage(reference: dict[str, list[SourceSignature]], sdks: Iterable[Sdk] | None = None,
             exodus: Iterable[ExodusTracker] | None = None,
             exclusions: dict[tuple[str, str], Exclusion] | None = None) -> dict[str, SourceCoverage]:
    """Per source: which signatures the catalogue matches, which are excluded, which are uncovered.
    Defaults: the shipped catalogue, Exodus file and exclusions."""
    idx = _Index(load_sdks().values() if sdks is None else sdks, load_exodus() if exodus is None else exodus)
    exclusions = load_exclusions() if exclusions is None else exclusions
    out: dict[str, SourceCoverage] = {}
    for src, sigs in reference.items():
        cov = out[src] = SourceCoverage(src)
        keys = set()
        for sig in sigs:
            keys.add(sig.key)
            if idx.matches(sig):
                cov.matched.append(sig)
                if (src, sig.key) in exclusions:
                    cov.stale.append(f"{sig.key}: excluded but the catalogue matches it")
            elif (src, sig.key) in exclusions:
                cov.excluded.append(sig)
            else:
                cov.uncovered.append(sig)
        cov.stale += [f"{k}: no such signature in the source"
                      for s, k in exclusions if s == src and k not in keys]
    return out


def describe(sig: SourceSignature) -> str:
    """One line for a report: the key and the source's label."""
    return f"{sig.key}  ({sig.label})"


# -- completeness of the catalogue for the double lists -------------------------------------------


@dataclass(frozen=True, slots=True)
class Completeness:
    sdks: int  # kind: sdk entries
    sdks_with_company: int  # ... with company and country
    cn_sdks: int  # kind: sdk, country CN
    cn_complete: int  # ... with PI types, purpose and policy URL
    libraries: int
    libraries_with_maintainer: int  # company (the maintainer organisation) set

    @staticmethod
    def share(part: int, whole: int) -> float:
        return part / whole if whole else 1.0


def completeness(sdks: Iterable[Sdk] | None = None) -> Completeness:
    """How far the catalogue can fill the sharing list: companies, and the Chinese SDKs' PI types,
    purpose and policy URL (issue 15's target: at least 400 complete Chinese SDKs)."""
    entries = list(load_sdks().values() if sdks is None else sdks)
    sdk = [s for s in entries if s.kind == "sdk"]
    cn = [s for s in sdk if s.country == "CN"]
    libs = [s for s in entries if s.kind == "library"]
    return Completeness(
        sdks=len(sdk),
        sdks_with_company=sum(1 for s in sdk if s.company and s.country),
        cn_sdks=len(cn),
        cn_complete=sum(1 for s in cn if s.pi_types and s.purpose and s.policy_url),
        libraries=len(libs),
        libraries_with_maintainer=sum(1 for s in libs if s.company),
    )
