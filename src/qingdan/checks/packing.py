"""Packed apps (加固): which packer's shell an app carries, and what that leaves unseen.

A packed app's real code is encrypted and only decrypted on the device: a static scan sees the
packer's shell (a stub ``Application``, a native loader, payload files) and nothing of the app's own
code. The signals, from ``knowledge/data/packers.yaml``: the manifest's application class, the shell's
classes (the packer's catalogue entry, found by the SDK detector), native loaders (under ``lib/`` or
in ``assets/``) and payload files. A value the data marks ``weak`` counts only beside another one.

The shell's own copies of other SDKs (Legu ships a Bugly copy under ``com.tencent.bugly.legu`` and its
``libBugly.so``) are the packer's: their classes are under the packer's catalogue prefixes, and an SDK
detected from nothing but a native library the shell bundles is taken off the SDK list (noted in the
packing evidence). Manifest evidence (components, meta-data, permissions) is still used in full.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Any

from qingdan.apk.package import AppPackage
from qingdan.checks.findings import Finding, rule
from qingdan.checks.sdks import (
    APP,
    SdkDetection,
    _confidence,
    _is_own,
    _literal_prefix,
    own_namespaces,
    ranked,
)
from qingdan.knowledge.packers import Packer, load_packers
from qingdan.knowledge.rules import Rule

#: The sections of a report built from the code; a packed app's cover only the shell.
CODE_SECTIONS = ("sdks_from_code", "api_uses", "pi_from_code")


@dataclass(slots=True)
class PackingEvidence:
    kind: str  # application_class | shell_classes | native_lib | file | bundled_sdk
    name: str  # the class, library, file or SDK id
    detail: str = ""  # what matched (a pattern), a class count, …
    weak: bool = False  # counts only beside another signal


@dataclass(slots=True)
class Packing:
    """The packer whose shell an app carries, and why we think so."""

    packer: Packer
    evidence: list[PackingEvidence] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        p = self.packer
        return {
            "packer": p.id, "name": p.name, "name_zh": p.name_zh, "name_en": p.name_en,
            "company": p.company, "sdk": p.sdk, "unseen": list(CODE_SECTIONS),
            "evidence": [{"kind": e.kind, "name": e.name, "detail": e.detail, "weak": e.weak}
                         for e in self.evidence],
        }


@dataclass(slots=True)
class _Index:
    packers: dict[str, Packer]
    app_classes: dict[str, list[str]]
    native_libs: dict[str, list[str]]
    files: dict[str, list[str]]
    lib_res: list[tuple[str, re.Pattern[str], str, str]]  # (literal prefix, regex, pattern text, packer id)
    file_res: list[tuple[str, re.Pattern[str], str, str]]
    by_sdk: dict[str, str]  # catalogue id → packer id


_INDEX: _Index | None = None


def _index() -> _Index:
    global _INDEX
    if _INDEX is None:
        packers = load_packers()
        app: dict[str, list[str]] = {}
        libs: dict[str, list[str]] = {}
        files: dict[str, list[str]] = {}
        lib_res, file_res = [], []
        for p in packers.values():
            s = p.signatures
            for table, keys in ((app, s.application_classes), (libs, s.native_libs), (files, s.files)):
                for k in keys:
                    table.setdefault(k, []).append(p.id)
            lib_res.extend((_literal_prefix(rx), re.compile(rx), rx, p.id) for rx in s.native_lib_patterns)
            file_res.extend((_literal_prefix(rx), re.compile(rx), rx, p.id) for rx in s.file_patterns)
        by_sdk = {p.sdk: p.id for p in packers.values() if p.sdk}
        _INDEX = _Index(packers, app, libs, files, lib_res, file_res, by_sdk)
    return _INDEX


def _matches(name: str, exact: dict[str, list[str]], res) -> list[tuple[str, str]]:
    """(packer id, the signature value that matched) for ``name``."""
    out = [(pid, name) for pid in exact.get(name, ())]
    out += [(pid, text) for prefix, rx, text, pid in res if name.startswith(prefix) and rx.fullmatch(name)]
    return out


def detect_packing(pkg: AppPackage, detections: list[SdkDetection]) -> Packing | None:
    """The packer whose shell ``pkg`` carries (the best-supported one), or None."""
    idx = _index()
    found: dict[str, list[PackingEvidence]] = {}

    def add(pid: str, kind: str, name: str, value: str, detail: str = "") -> None:
        weak = value in idx.packers[pid].weak
        ev = found.setdefault(pid, [])
        if not any(e.kind == kind and e.name == name for e in ev):
            ev.append(PackingEvidence(kind, name, detail or (value if value != name else ""), weak))

    app_class = pkg.manifest.application_name
    if app_class:
        for pid, value in _matches(app_class, idx.app_classes, ()):
            add(pid, "application_class", app_class, value)
    for d in detections:
        pid = idx.by_sdk.get(d.sdk.id)
        if pid is not None and d.evidence.classes:
            add(pid, "shell_classes", ", ".join(d.evidence.prefixes), "",
                f"{d.evidence.classes} classes")
    for name in pkg.entry_names:
        if name.startswith(("lib/", "assets/")):
            base = posixpath.basename(name)
            if base.endswith(".so"):
                for pid, value in _matches(base, idx.native_libs, idx.lib_res):
                    add(pid, "native_lib", base, value)
        elif "/" in name:
            continue  # res/, META-INF/, kotlin/…: no packer leaves its payloads there
        for pid, value in _matches(name, idx.files, idx.file_res):
            add(pid, "file", name, value)
    best = None
    for pid, ev in found.items():
        strong = sum(1 for e in ev if not e.weak)
        if strong and (best is None or (strong, len(ev)) > best[0]):
            best = ((strong, len(ev)), pid)
    if best is None:
        return None
    pid = best[1]
    return Packing(idx.packers[pid], found[pid])


def absorb_shell_copies(packing: Packing, detections: list[SdkDetection]) -> list[SdkDetection]:
    """``detections`` without the SDKs seen only through native libraries the packer's shell bundles
    (Legu's ``libBugly.so``): those copies are the shell's. Each one taken off is noted in the
    packing evidence."""
    bundled = set(packing.packer.bundled_native_libs)
    if not bundled:
        return detections
    out = []
    for d in detections:
        e = d.evidence
        only_libs = e.native_libs and not (e.classes or e.components or e.declared_only or e.meta_data
                                           or e.actions or e.permissions)
        if only_libs and set(e.native_libs) <= bundled and d.sdk.id != packing.packer.sdk:
            packing.evidence.append(PackingEvidence("bundled_sdk", d.sdk.id, ", ".join(e.native_libs)))
            continue
        out.append(d)
    return out


def manifest_in_full(pkg: AppPackage, packing: Packing, detections: list[SdkDetection]) -> list[SdkDetection]:
    """In a packed app the classes of the manifest's components are encrypted, not missing: an SDK's
    component declared without code in the dex counts as live evidence (as in an app without code),
    unless it sits in the app's own namespace (a callback the app wrote). Confidence is re-rated and
    the list re-sorted as the detector sorts it."""
    own = own_namespaces(pkg)
    for d in detections:
        e = d.evidence
        if d.sdk.id == packing.packer.sdk:
            continue
        live = [c for c in e.declared_only if not _is_own(c.rpartition(".")[0], own, 1)]
        if not live:
            continue
        e.declared_only = [c for c in e.declared_only if c not in live]
        e.components.extend(c for c in live if c not in e.components)
        d.confidence = _confidence(e) or d.confidence
    return ranked(detections)


# -- the rule ---------------------------------------------------------------------------------------


def _evidence_text(p: Packing, n: int = 4) -> str:
    shown = [e for e in p.evidence if e.kind != "bundled_sdk"][:n]
    return ", ".join(e.name + (f" ({e.detail})" if e.kind == "shell_classes" else "") for e in shown)


@rule("sec.packed")
def _packed(r: Rule, ctx: Any) -> list[Finding]:
    p = ctx.result.packing
    if p is None:
        return []
    k = p.packer
    who = k.name_zh or k.name_en or k.id
    who_en = k.name_en or k.name_zh or k.id
    company = f"，{k.company}" if k.company else ""
    ev = _evidence_text(p)
    return [Finding.of(
        r, APP,
        f"应用经{who}{company}加固：真实代码已加密，静态检测只看到加固壳（{ev}）。"
        "基于代码的检测结果（从代码识别的 SDK、敏感 API 调用、代码收集的个人信息）只覆盖加固壳，"
        "不能说明应用本身做了什么；清单文件中的组件、meta-data 与权限仍完整检查。"
        "请提交未加固的构建进行检测与审核。",
        f"the app is packed with {who_en} ({k.id}): its real code is encrypted and a static scan sees "
        f"only the shell ({ev}). Code-based results (SDKs from code, sensitive API uses, PI collected "
        "by code) cover only the shell, not the app; manifest evidence (components, meta-data, "
        "permissions) is still checked in full. Ask for an unpacked build to check and review.",
        packer=k.id, packer_name=k.name, company=k.company, unseen=list(CODE_SECTIONS),
        signals=[e.kind + ": " + e.name for e in p.evidence])]
