"""How apps and SDKs wait for the user's agreement to the privacy policy.

Data file ``qingdan/knowledge/data/consent.yaml`` (package data): the methods that read a stored flag
and the key patterns that name the agreement (the app's own consent gate), and, per SDK of the
catalogue, the initialisation methods its compliance guide says to call only after the user agreed,
the calls it allows before, the switches that hand the user's answer to the SDK, and how to stop a
provider that initialises it at start-up. Loaded once per process and validated; a malformed file
raises :class:`ValueError` naming the file and the entry.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from qingdan.knowledge._data import KnowledgeFile, data_bytes
from qingdan.knowledge.sdks import load_sdks

__all__ = ["DATA_FILE", "SCHEMA", "ConsentKnowledge", "SdkConsent", "load_consent"]

SCHEMA = "qingdan.knowledge.consent/1"
DATA_FILE = "data/consent.yaml"
_METHOD_RE = re.compile(r"^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+\.(<init>|[A-Za-z_$][\w$]*)$")
_FIELDS = ("sdk", "init", "before_consent", "consent", "sources", "refs")
_OPTIONAL = ("autoinit", "note_zh")

Method = tuple[str, str]  # (class, method name)


@dataclass(frozen=True, slots=True)
class SdkConsent:
    sdk: str
    init: tuple[Method, ...]  # to be called only after the user agreed
    before_consent: tuple[Method, ...]  # allowed before
    consent: tuple[Method, ...]  # hand the user's answer to the SDK
    autoinit_provider: str | None
    off_zh: str | None
    off_en: str | None
    refs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ConsentKnowledge:
    flag_reads: tuple[Method, ...]
    flag_key_patterns: tuple[str, ...]
    sdks: dict[str, SdkConsent]


_FILE: KnowledgeFile[Any] = KnowledgeFile(DATA_FILE, __file__)


def _read_text() -> str:
    return _FILE.read_text()


def _methods(ck, value: Any, field: str, where: str) -> tuple[Method, ...]:
    ms = ck.str_list(value, field, where)
    bad = [m for m in ms if not _METHOD_RE.match(m)]
    if bad:
        raise ck.fail(f"{where}: {field} {bad!r} are not class.method names")
    return tuple((m.rsplit(".", 1)[0], m.rsplit(".", 1)[1]) for m in ms)


def _parse(text: str) -> ConsentKnowledge:
    ck = _FILE.check
    doc = ck.load(text)
    sources = ck.header(doc, SCHEMA, source_fields=("title", "licence"))
    fr = doc.get("flag_reads")
    if not isinstance(fr, dict):
        raise ck.fail("flag_reads must be a mapping with methods and sources")
    ck.entry(fr, "flag_reads", ("methods", "sources"))
    reads = _methods(ck, fr["methods"], "methods", "flag_reads")
    kp = doc.get("flag_key_patterns")
    if not isinstance(kp, dict):
        raise ck.fail("flag_key_patterns must be a mapping with patterns and why")
    ck.entry(kp, "flag_key_patterns", ("patterns", "why"))
    pats = ck.str_list(kp["patterns"], "patterns", "flag_key_patterns", allow_empty=False)
    ck.regexes(pats, "patterns", "flag_key_patterns")
    catalogue = load_sdks()
    out: dict[str, SdkConsent] = {}
    raw = doc.get("sdks")
    if not isinstance(raw, list) or not raw:
        raise ck.fail("sdks must be a non-empty list")
    for i, e in enumerate(raw):
        where = f"sdks[{i}]" + (f" ({e.get('sdk')})" if isinstance(e, dict) else "")
        ck.entry(e, where, _FIELDS, _OPTIONAL)
        sid = ck.text(e["sdk"], "sdk", where)
        if sid not in catalogue:
            raise ck.fail(f"{where}: sdk {sid!r} is not an id of the SDK catalogue (sdks.yaml)")
        if sid in out:
            raise ck.fail(f"{where}: sdk listed twice")
        _srcs, refs = ck.sources_and_refs(e, where, sources)
        auto = e.get("autoinit")
        provider = off_zh = off_en = None
        if auto is not None:
            ck.entry(auto, f"{where}.autoinit", ("provider", "off_zh", "off_en"))
            provider = ck.text(auto["provider"], "autoinit.provider", where)
            off_zh = ck.text(auto["off_zh"], "off_zh", where)
            off_en = ck.text(auto["off_en"], "off_en", where)
        out[sid] = SdkConsent(sid, _methods(ck, e["init"], "init", where),
                              _methods(ck, e["before_consent"], "before_consent", where),
                              _methods(ck, e["consent"], "consent", where), provider, off_zh, off_en, refs)
    return ConsentKnowledge(reads, pats, out)


@functools.cache
def load_consent() -> ConsentKnowledge:
    """The consent knowledge (cached and shared: treat as read-only)."""
    return _FILE.build(_read_text(), _parse, key_extra=hashlib.sha256(data_bytes("sdks.yaml")).digest())
