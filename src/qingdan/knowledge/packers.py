"""Android packers (加固): names, operating company, and the signatures that give a shell away.

Data file ``qingdan/knowledge/data/packers.yaml`` (package data). A packed app carries a shell (a stub
``Application`` class, a native loader, encrypted payloads in ``assets/`` or ``lib/``) and keeps its
real code encrypted: a scan then sees only the shell. Each packer names the catalogue entry
(``sdks.yaml``) whose package prefixes are the shell's code, and the shell's own copies of other SDKs
(``bundled``: Legu's ``com.tencent.bugly.legu``), which are the packer's code, never the app's.

Signature semantics (``meta.signature_kinds`` in the data file): ``application_classes``,
``native_libs`` and ``files`` are exact names (a native library by its file name, under ``lib/<abi>/``
or in ``assets/``; a file by its archive path); ``native_lib_patterns`` and ``file_patterns`` are
regular expressions matched against the whole name (``re.fullmatch``). Values listed in ``weak`` count
only beside another signature of the same packer.

Loaded once per process and validated; a malformed file raises :class:`ValueError` naming the file and
the entry. This module imports nothing from other qingdan subpackages.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import URL_RE, KnowledgeFile, data_bytes
from qingdan.knowledge.sdks import load_sdks

__all__ = ["DATA_FILE", "SCHEMA", "SIGNATURE_KINDS", "Packer", "PackerSignatures", "load_packer_sources",
           "load_packers", "packer_application_classes"]

SCHEMA = "qingdan.knowledge.packers/1"
DATA_FILE = "data/packers.yaml"
SIGNATURE_KINDS = ("application_classes", "native_libs", "native_lib_patterns", "files", "file_patterns")
_FIELDS = ("id", "name_zh", "name_en", "company", "company_en", "country", "sdk", "signatures", "sources")
_OPTIONAL = ("weak", "bundled", "verified", "refs")
_CLASS_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+$")


@dataclass(frozen=True, slots=True)
class PackerSignatures:
    application_classes: tuple[str, ...] = ()
    native_libs: tuple[str, ...] = ()
    native_lib_patterns: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    file_patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Packer:
    """One packer: who runs it and how its shell shows in an APK."""

    id: str
    name_zh: str | None
    name_en: str | None
    company: str | None
    company_en: str | None
    country: str | None
    sdk: str | None  # the catalogue entry whose package prefixes are the shell's code
    signatures: PackerSignatures
    weak: frozenset[str]  # signature values that count only beside another one
    bundled_packages: tuple[str, ...]  # the shell's own copies of other SDKs' code
    bundled_native_libs: tuple[str, ...]
    sources: tuple[str, ...]
    verified: bool = True
    refs: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.name_zh or self.name_en or self.id


def _read_text() -> str:
    return _FILE.read_text()


_FILE: KnowledgeFile[Any] = KnowledgeFile(DATA_FILE, __file__)


def _parse(text: str) -> tuple[dict[str, Packer], dict[str, dict[str, Any]]]:
    ck = _FILE.check
    doc = ck.load(text)
    sources = ck.header(doc, SCHEMA, source_fields=("title", "licence"))
    raw = doc.get("packers")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("packers must be a non-empty list")
    catalogue = load_sdks()
    out: dict[str, Packer] = {}
    for i, e in enumerate(raw):
        label = e.get("id") if isinstance(e, dict) else None
        where = f"packers[{i}]" + (f" ({label})" if isinstance(label, str) else "")
        ck.entry(e, where, _FIELDS, _OPTIONAL)
        pid = ck.slug_id(e["id"], where, out)
        name_zh, name_en = ck.names(e, where)
        country = ck.country(e["country"], where)
        sdk = ck.opt_text(e["sdk"], "sdk", where)
        if sdk is not None and sdk not in catalogue:
            raise ck.fail(f"{where}: sdk {sdk!r} is not an id of the SDK catalogue (sdks.yaml)")
        sig_raw = e["signatures"]
        if not isinstance(sig_raw, dict) or not sig_raw:
            raise ck.fail(f"{where}: signatures must be a non-empty mapping")
        unknown = sorted(set(sig_raw) - set(SIGNATURE_KINDS))
        if unknown:
            raise ck.fail(f"{where}: unknown signature kinds {unknown}")
        sig = PackerSignatures(**{k: ck.str_list(sig_raw.get(k, []), f"signatures.{k}", where)
                                  for k in SIGNATURE_KINDS})
        bad = [c for c in sig.application_classes if not _CLASS_RE.match(c)]
        if bad:
            raise ck.fail(f"{where}: application_classes {bad!r} are not dotted Java class names")
        ck.regexes(sig.native_lib_patterns, "signatures.native_lib_patterns", where)
        ck.regexes(sig.file_patterns, "signatures.file_patterns", where)
        every = {v for k in SIGNATURE_KINDS for v in getattr(sig, k)}
        weak = ck.str_list(e.get("weak", []), "weak", where)
        stray = [w for w in weak if w not in every]
        if stray:
            raise ck.fail(f"{where}: weak values {stray!r} are not among its signatures")
        if every and set(weak) == every:
            raise ck.fail(f"{where}: every signature is weak: the packer could never be named")
        bundled = e.get("bundled") or {}
        if not isinstance(bundled, dict) or set(bundled) - {"packages", "native_libs"}:
            raise ck.fail(f"{where}: bundled must be a mapping with packages and/or native_libs")
        bundled_pkgs = ck.str_list(bundled.get("packages", []), "bundled.packages", where)
        own = set(catalogue[sdk].signatures.packages) if sdk else set()
        if set(bundled_pkgs) - own:
            raise ck.fail(f"{where}: bundled.packages {sorted(set(bundled_pkgs) - own)} must be package "
                          f"prefixes of its sdk entry {sdk!r}, so that their code is the packer's")
        srcs = ck.str_list(e["sources"], "sources", where, allow_empty=False)
        unknown = [s for s in srcs if s not in sources]
        if unknown:
            raise ck.fail(f"{where}: source keys {unknown} are not defined in sources")
        verified = ck.boolean(e.get("verified", True), "verified", where)
        if "recalled" in srcs and verified:
            raise ck.fail(f"{where}: an entry citing the recalled source must say verified: false")
        refs = ck.str_list(e.get("refs", []), "refs", where)
        if any(not URL_RE.match(r) for r in refs):
            raise ck.fail(f"{where}: refs must be http(s) URLs, got {refs!r}")
        out[pid] = Packer(
            id=pid, name_zh=name_zh, name_en=name_en,
            company=ck.opt_text(e["company"], "company", where),
            company_en=ck.opt_text(e["company_en"], "company_en", where),
            country=country, sdk=sdk, signatures=sig, weak=frozenset(weak),
            bundled_packages=bundled_pkgs,
            bundled_native_libs=ck.str_list(bundled.get("native_libs", []), "bundled.native_libs", where),
            sources=srcs, verified=verified, refs=refs,
        )
    return out, sources


@functools.cache
def _loaded() -> tuple[dict[str, Packer], dict[str, dict[str, Any]]]:
    # the catalogue the ``sdk`` ids are checked against is part of the cache key
    return _FILE.build(_read_text(), _parse, key_extra=hashlib.sha256(data_bytes("sdks.yaml")).digest())


def load_packers() -> dict[str, Packer]:
    """Every packer, keyed by id, in file order (cached and shared: treat as read-only)."""
    return _loaded()[0]


@functools.cache
def packer_application_classes() -> frozenset[str]:
    """Every packer's stub Application class names (the shell's, never the app's namespace)."""
    return frozenset(c for p in load_packers().values() for c in p.signatures.application_classes)


def load_packer_sources() -> dict[str, dict[str, Any]]:
    """The ``sources`` table of the packer file."""
    return {k: dict(v) for k, v in _loaded()[1].items()}
