"""The Exodus Privacy trackers in the scan (data: ``knowledge/data/sdks_exodus.yaml``, ODbL 1.0).

A tracker with a catalogue twin (``qingdan_id``) finds nothing itself: the catalogue's detection of
that SDK carries the tracker's name and link. A tracker with no twin is an SDK of its own (id
``exodus-<n>``) when its code signatures match code that neither the app nor the catalogue claims.

Exodus signatures are regular expressions searched in class names. Here each is read as what it
names: a Java package prefix, matched segment-wise (``com.tune`` is ``com.tune`` and below, not
``com.tunein``), and where a signature goes on to a class name (``com.adobe.mobile.Analytics``),
that package holding a class whose simple name starts so. Signatures that name no package
(``.LigatusManager``) are not used. Matching is per Java package through one prefix trie built
once per process, never per class and tracker.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from qingdan.apk.package import AppPackage
from qingdan.checks.namespaces import MAX_SAMPLES, ClassIndex, class_index, is_platform
from qingdan.checks.sdks import PrefixTrie, SdkDetection, SdkEvidence, _confidence
from qingdan.knowledge.sdks import (
    GENERIC_PACKAGE_PREFIXES,
    ExodusTracker,
    exodus_package_prefixes,
    exodus_sdks,
    load_exodus,
)

__all__ = ["exodus_detections", "exodus_trie", "name_twins", "tracker_of"]

_CLASS_SIG = re.compile(r"^((?:[a-z_][a-z0-9_]*\.)+)([A-Z][\w$]*)\.?$")


@dataclass(slots=True)
class _Index:
    trie: PrefixTrie  # package prefix → ids of the trackers with no catalogue twin
    # (package, tracker id) → simple-name prefixes: the tracker matches that package only through
    # one of those classes (signatures that name a class)
    class_parts: dict[tuple[str, str], list[str]]
    twins: dict[str, ExodusTracker]  # catalogue id → its Exodus tracker
    trackers: dict[str, ExodusTracker]


@functools.cache
def _index() -> _Index:
    trie = PrefixTrie()
    class_parts: dict[tuple[str, str], list[str]] = {}
    twins: dict[str, ExodusTracker] = {}
    for t in load_exodus():
        if t.qingdan_id is not None:
            twins.setdefault(t.qingdan_id, t)
            continue
        plain: set[str] = set()
        named: dict[str, list[str]] = {}
        for sig in t.code_signatures:
            m = _CLASS_SIG.match(sig)
            if m:
                named.setdefault(m.group(1).rstrip("."), []).append(m.group(2))
            else:
                plain.update(exodus_package_prefixes(ExodusTracker(t.id, t.name, None, (), (sig,), ())))
        for p in plain | set(named):
            if p.count(".") < 1 or p in GENERIC_PACKAGE_PREFIXES:
                continue
            trie.add(p, t.id)
            if p not in plain:
                class_parts[(p, t.id)] = named[p]
    return _Index(trie, class_parts, twins, {t.id: t for t in load_exodus()})


def tracker_of(sid: str) -> ExodusTracker | None:
    """The Exodus tracker of a catalogue SDK id (its twin) or of an ``exodus-<n>`` id."""
    idx = _index()
    return idx.twins.get(sid) or idx.trackers.get(sid)


def name_twins(detections: list[SdkDetection]) -> None:
    """Give each catalogue detection whose SDK Exodus also lists the tracker's name and link."""
    twins = _index().twins
    for d in detections:
        if d.exodus is None:
            d.exodus = twins.get(d.sdk.id)


def exodus_detections(pkg: AppPackage, known: Callable[[str], bool],
                      idx: ClassIndex | None = None) -> list[SdkDetection]:
    """The Exodus trackers (with no catalogue twin) whose code is in ``pkg``, as SDK detections.

    ``known(package)`` says whether the app or a catalogue entry already owns a Java package; such
    code is never matched again."""
    ex = _index()
    idx = idx if idx is not None else class_index(pkg)
    found: dict[str, SdkEvidence] = {}
    for package, n in idx.counts.items():
        if not package or is_platform(package) or known(package):
            continue
        ids, depth = ex.trie.longest(package)
        if not ids:
            continue
        prefix = ".".join(package.split(".")[:depth])
        for tid in ids:
            parts = ex.class_parts.get((prefix, tid))
            if parts is not None:
                if package != prefix:
                    continue
                hits = [c for c in idx.names if c.rpartition(".")[0] == package
                        and c.rpartition(".")[2].startswith(tuple(parts))]
                if not hits:
                    continue
            e = found.get(tid)
            if e is None:
                e = found[tid] = SdkEvidence()
            e.classes += n
            if prefix not in e.prefixes:
                e.prefixes.append(prefix)
            for c in idx.samples.get(package, ()):
                if len(e.sample_classes) < MAX_SAMPLES:
                    e.sample_classes.append(c)
            for src in sorted(idx.sources.get(package, ())):
                if src not in e.dex_sources:
                    e.dex_sources.append(src)
            break  # one tracker takes a package, the first in the file's order
    sdks = exodus_sdks()
    out = []
    for tid, e in found.items():
        conf = _confidence(e)
        if conf is not None:
            out.append(SdkDetection(sdks[tid], conf, e, None, ex.trackers[tid]))
    return out


def exodus_trie(detections: list[SdkDetection]) -> PrefixTrie:
    """The package prefixes of the Exodus-only detections: the code they own."""
    trie = PrefixTrie()
    for d in detections:
        for p in d.sdk.signatures.packages:
            trie.add(p, d.sdk.id)
    return trie
