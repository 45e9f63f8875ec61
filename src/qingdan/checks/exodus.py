"""The Exodus Privacy trackers in the scan (data: ``knowledge/data/sdks_exodus.yaml``, ODbL 1.0).

Exodus signatures match only code that neither the app nor the catalogue claims. A tracker with a
catalogue twin (``qingdan_id``) reports under the twin's id: the catalogue's detection of that SDK
carries the tracker's name and link, and takes the tracker's code if the catalogue's prefixes miss
it. A tracker with no twin is an SDK of its own (id ``exodus-<n>``).

Exodus signatures are regular expressions searched in class names. Here each is read as what it
names: a Java package prefix, matched segment-wise (``com.tune`` is ``com.tune`` and below, not
``com.tunein``), and where a signature goes on to a class name (``com.adobe.mobile.Analytics``),
that package holding a class whose simple name starts so. Signatures that name no package
(``.LigatusManager``) are not used. Matching is per Java package through one prefix trie built
once per process, never per class and tracker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from qingdan.apk.package import AppPackage
from qingdan.checks.namespaces import MAX_SAMPLES, ClassIndex, is_platform
from qingdan.checks.sdks import PrefixTrie, SdkDetection, SdkEvidence, _confidence, catalogue
from qingdan.knowledge.sdks import (
    ExodusTracker,
    exodus_sdks,
    load_exodus,
)

__all__ = ["exodus_detections", "name_twins", "tracker_of"]


@dataclass(slots=True)
class _Index:
    trie: PrefixTrie  # package prefix → tracker ids
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
    trackers = load_exodus()
    for t in trackers:
        if t.qingdan_id is not None:
            twins.setdefault(t.qingdan_id, t)
        for p in t.packages:
            trie.add(p, t.id)
        for p, names in t.class_parts:
            class_parts[(p, t.id)] = list(names)
    return _Index(trie, class_parts, twins, {t.id: t for t in trackers})


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


def exodus_detections(pkg: AppPackage, known: Callable[[str], bool], found: list[SdkDetection],
                      idx: ClassIndex | None = None) -> list[SdkDetection]:
    """SDKs that Exodus trackers find in code no one else claims, as new detections.

    ``known(package)`` says whether the app or a catalogue entry already owns a Java package; such
    code is never matched again. A tracker with a catalogue twin adds its code to the twin's
    detection in ``found`` (or makes one under the twin's catalogue id); a tracker with none
    becomes an SDK of its own (``exodus-<n>``)."""
    ex = _index()
    idx = idx if idx is not None else ClassIndex(pkg)
    cat = catalogue().sdks
    by_id = {d.sdk.id: d for d in found}
    hits: dict[str, tuple[ExodusTracker, SdkEvidence]] = {}  # SDK id → its tracker, new code evidence
    for package, n in idx.packages.items():
        if not package or is_platform(package) or known(package):
            continue
        ids, depth = ex.trie.longest(package)
        if not ids:
            continue
        prefix = ".".join(package.split(".")[:depth])
        for tid in ids:
            parts = ex.class_parts.get((prefix, tid))
            if parts is not None:
                if package != prefix or not any(
                        c.rpartition(".")[0] == package and c.rpartition(".")[2].startswith(tuple(parts))
                        for c in idx.classes(package)):
                    continue
            t = ex.trackers[tid]
            sid = t.qingdan_id if t.qingdan_id in cat else tid
            e = hits.setdefault(sid, (t, SdkEvidence()))[1]
            e.classes += n
            if prefix not in e.prefixes:
                e.prefixes.append(prefix)
            for c in idx.samples(package):
                if len(e.sample_classes) < MAX_SAMPLES:
                    e.sample_classes.append(c)
            for src in idx.sources(package):
                if src not in e.dex_sources:
                    e.dex_sources.append(src)
            break  # one tracker takes a package, the first in the file's order
    out = []
    for sid, (t, e) in hits.items():
        d = by_id.get(sid)
        if d is not None:  # the catalogue found this SDK already: the tracker's code is its too
            _merge(d.evidence, e)
            d.confidence = _confidence(d.evidence) or d.confidence
            continue
        conf = _confidence(e)
        if conf is not None:
            out.append(SdkDetection(cat.get(sid) or exodus_sdks()[sid], conf, e, None, t))
    return out


def _merge(into: SdkEvidence, e: SdkEvidence) -> None:
    into.classes += e.classes
    into.prefixes += [p for p in e.prefixes if p not in into.prefixes]
    into.sample_classes += e.sample_classes[:max(0, MAX_SAMPLES - len(into.sample_classes))]
    into.dex_sources += [s for s in e.dex_sources if s not in into.dex_sources]
