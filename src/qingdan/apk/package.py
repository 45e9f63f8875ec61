"""Read an app package (.apk, or a .apks/.xapk split bundle) into an :class:`AppPackage`."""

from __future__ import annotations

import hashlib
import posixpath
import re
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.apk.arsc import ResourceTable, parse_arsc
from qingdan.apk.axml import parse_axml
from qingdan.apk.dex import DexFile
from qingdan.apk.errors import ApkError, LimitExceeded
from qingdan.apk.manifest import Manifest, build_manifest
from qingdan.apk.signing import SigningInfo, read_signing
from qingdan.apk.zipread import Limits, ZipArchive, ZipEntry

_TOP_DEX = re.compile(r"^classes(\d*)\.dex$")
_V1_BLOCK = re.compile(r"^META-INF/[^/]+\.(RSA|DSA|EC)$", re.IGNORECASE)
_CONTAINER_EXT = (".jar", ".zip", ".apk", ".dex", ".bin", ".dat")
_NOTABLE_ASSET = re.compile(
    r"(privacy|policy|agreement|隐私|协议|license|\.html?$|\.dex$|\.jar$|\.apk$|\.so$|\.js$|\.json$)",
    re.IGNORECASE,
)
MAX_NOTABLE_ASSETS = 200
# the files read as app packages (a folder scan, a batch upload of the review service)
PACKAGE_SUFFIXES = (".apk", ".apks", ".xapk")


@dataclass(slots=True)
class NativeLib:
    abi: str
    name: str
    size: int
    source: str  # the split it came from ('' = the base package)


@dataclass(slots=True)
class AppPackage:
    path: str
    kind: str  # apk | apks | xapk
    sha256: str
    size: int
    manifest: Manifest
    labels: dict[str, str]  # locale ('' default) → label
    signing: SigningInfo
    dex: list[DexFile]
    native_libs: list[NativeLib]
    assets: list[str]  # notable assets (policies, embedded code, configs)
    splits: list[str]
    entry_count: int
    warnings: list[str] = field(default_factory=list)

    @property
    def package(self) -> str:
        return self.manifest.package

    @property
    def label(self) -> str | None:
        return self.labels.get("") or self.manifest.label or next(iter(self.labels.values()), None)

    @property
    def dex_bytes(self) -> int:
        return sum(d.size for d in self.dex)

    def class_names(self) -> set[str]:
        out: set[str] = set()
        for d in self.dex:
            out.update(d.class_descriptors())
        return out


def _sha256(data) -> str:
    h = hashlib.sha256()
    mv = memoryview(data)
    for i in range(0, len(mv), 8 << 20):
        h.update(mv[i : i + (8 << 20)])
    return h.hexdigest()


def read_package(path: str | Path, limits: Limits | None = None, threads: int = 2) -> AppPackage:
    """Read a package from disk. Raises :class:`ApkError` with a one-line reason if unreadable."""
    p = Path(path)
    limits = limits or Limits()
    arc = ZipArchive.open(p, limits)
    try:
        sha = _sha256(arc.data)
        size = len(arc.data)
        kind = "apk"
        if "AndroidManifest.xml" not in arc:
            inner = [e for e in arc.order if e.name.lower().endswith(".apk") and arc.entries.get(e.name) is e]
            if not inner:
                raise ApkError("no AndroidManifest.xml (not an Android package)")
            kind = "xapk" if "manifest.json" in arc or p.suffix.lower() == ".xapk" else "apks"
            return _read_bundle(p, arc, inner, kind, sha, size, limits, threads)
        return _read_apk(str(p), arc, kind, sha, size, limits, threads, splits=[])
    finally:
        arc.close()


def _read_bundle(p, arc: ZipArchive, inner: list[ZipEntry], kind, sha, size, limits, threads):
    parts: list[tuple[str, ZipArchive]] = []
    warnings: list[str] = []
    for e in inner:
        try:
            sub = ZipArchive.from_bytes(arc.read_entry(e), e.name, limits)
        except ApkError as exc:
            warnings.append(f"split {e.name} unreadable: {exc}")
            continue
        if "AndroidManifest.xml" in sub:
            parts.append((e.name, sub))
    if not parts:
        raise ApkError("bundle has no readable split with a manifest")
    # the base split is the one whose manifest has no split="" attribute
    base_i = 0
    for i, (_name, sub) in enumerate(parts):
        try:
            root, _ = parse_axml(sub.read("AndroidManifest.xml"))
        except ApkError:
            continue
        if not root.get("split"):
            base_i = i
            break
    base_name, base = parts[base_i]
    pkg = _read_apk(str(p), base, kind, sha, size, limits, threads,
                    splits=[n for n, _ in parts], base_name=base_name)
    pkg.warnings[:0] = [*arc.warnings, *warnings]
    for name, sub in parts:
        if sub is base:
            continue
        dex_entries, nested = _code_entries(sub)
        pkg.dex.extend(_load_dex(sub, dex_entries, f"{name}!/", limits, threads, pkg.warnings))
        pkg.dex.extend(_nested_dex(sub, nested, f"{name}!/", limits, pkg.warnings, depth=1))
        pkg.native_libs.extend(_native_libs(sub, name))
        pkg.warnings.extend(f"{name}: {w}" for w in sub.warnings)
    return pkg


def _code_entries(arc: ZipArchive) -> tuple[list[ZipEntry], list[ZipEntry]]:
    top, nested = [], []
    for e in arc.order:
        if arc.entries.get(e.name) is not e:
            continue  # duplicate name: only the first counts, as on a device
        m = _TOP_DEX.match(e.name)
        if m:
            top.append(e)
        elif e.name.lower().endswith(_CONTAINER_EXT) and not e.name.startswith(("lib/", "META-INF/")) \
                and e.size > 0:
            nested.append(e)
    top.sort(key=lambda e: int(_TOP_DEX.match(e.name).group(1) or 1))
    return top, nested


def _load_dex(arc, entries, prefix, limits, threads, warnings) -> list[DexFile]:
    def one(e: ZipEntry) -> DexFile | str:
        try:
            return DexFile(arc.read_entry(e), prefix + e.name)
        except ApkError as exc:
            return f"{prefix}{e.name}: {exc}" if not str(exc).startswith(prefix + e.name) else str(exc)

    if threads > 1 and len(entries) > 1:
        with ThreadPoolExecutor(threads) as ex:
            results = list(ex.map(one, entries))
    else:
        results = [one(e) for e in entries]
    out = []
    for r in results:
        if isinstance(r, str):
            warnings.append(f"dex unreadable: {r}")
        else:
            warnings.extend(r.warnings)
            out.append(r)
    return out


def _nested_dex(arc, entries, prefix, limits: Limits, warnings, depth: int) -> list[DexFile]:
    """Dex hidden in the package: raw .dex files, or jars/zips/apks holding classes*.dex."""
    out: list[DexFile] = []
    if depth > limits.max_nesting:
        return out
    for e in entries:
        try:
            head = arc.read_entry(e, max_size=limits.max_entry_size)
        except LimitExceeded as exc:
            warnings.append(f"{prefix}{e.name}: {exc}")
            continue
        except ApkError:
            continue
        if head[:4] == b"dex\n":
            try:
                d = DexFile(head, prefix + e.name)
                warnings.extend(d.warnings)
                out.append(d)
            except ApkError as exc:
                warnings.append(str(exc))
        elif head[:2] == b"PK":
            try:
                sub = ZipArchive.from_bytes(head, prefix + e.name, limits)
            except ApkError:
                continue
            dex_entries = [x for x in sub.order if x.name.lower().endswith(".dex")
                           and sub.entries.get(x.name) is x]
            inner_containers = [x for x in sub.order if x.name.lower().endswith((".jar", ".zip", ".apk"))]
            if dex_entries:
                out.extend(_load_dex(sub, dex_entries, f"{prefix}{e.name}!/", limits, 1, warnings))
            if inner_containers:
                out.extend(_nested_dex(sub, inner_containers, f"{prefix}{e.name}!/", limits, warnings,
                                       depth + 1))
    return out


def _native_libs(arc: ZipArchive, source: str) -> list[NativeLib]:
    out = []
    for e in arc.order:
        parts = e.name.split("/")
        if len(parts) == 3 and parts[0] == "lib" and parts[2]:
            out.append(NativeLib(parts[1], parts[2], e.size, source))
    return out


def _read_apk(path, arc: ZipArchive, kind, sha, size, limits, threads, splits, base_name="") -> AppPackage:
    warnings: list[str] = []  # the archive's own warnings are added last, once every read is done
    try:
        root, w = parse_axml(arc.read("AndroidManifest.xml", max_size=32 << 20))
    except ApkError as exc:
        raise ApkError(f"AndroidManifest.xml: {exc}") from None
    warnings.extend(f"AndroidManifest.xml: {x}" for x in w)
    table: ResourceTable | None = None
    if "resources.arsc" in arc:
        try:
            table = parse_arsc(arc.read("resources.arsc", max_size=256 << 20))
            warnings.extend(f"resources.arsc: {x}" for x in table.warnings)
        except ApkError as exc:
            warnings.append(f"resources.arsc: {exc}")

    def resolve(rid: int) -> object:
        if table is None:
            return None
        try:
            return table.resolve(rid)
        except (IndexError, ValueError, TypeError, UnicodeDecodeError, struct.error):
            return None

    man = build_manifest(root, resolve)
    warnings.extend(f"AndroidManifest.xml: {x}" for x in man.warnings)
    labels: dict[str, str] = {}
    if man.label_ref is not None and table is not None:
        try:
            labels = {k: str(v) for k, v in table.locales_of(man.label_ref).items()}
        except Exception:  # noqa: BLE001 - a damaged table only costs the label
            labels = {}
        if man.label_ref is not None and not labels:
            warnings.append(f"label {man.label_ref:#010x} not found in resources.arsc")
    elif man.label:
        labels = {"": man.label}

    v1_blocks = {}
    for e in arc.order:
        if _V1_BLOCK.match(e.name):
            try:
                v1_blocks[e.name] = arc.read_entry(e, max_size=4 << 20)
            except ApkError as exc:
                warnings.append(f"{e.name}: {exc}")
    signing = read_signing(arc.data, arc.cd_offset, v1_blocks)
    warnings.extend(signing.warnings)

    prefix = f"{base_name}!/" if base_name else ""
    dex_entries, nested = _code_entries(arc)
    if not dex_entries and not nested:
        warnings.append("no classes.dex: the package carries no code")
    dex = _load_dex(arc, dex_entries, prefix, limits, threads, warnings)
    dex.extend(_nested_dex(arc, nested, prefix, limits, warnings, depth=1))
    assets = []
    for e in arc.order:
        if e.name.startswith(("assets/", "res/raw/")) and _NOTABLE_ASSET.search(posixpath.basename(e.name)):
            assets.append(e.name)
            if len(assets) >= MAX_NOTABLE_ASSETS:
                break
    return AppPackage(
        path=path, kind=kind, sha256=sha, size=size, manifest=man, labels=labels, signing=signing,
        dex=dex, native_libs=_native_libs(arc, base_name), assets=assets, splits=splits,
        entry_count=len(arc.order), warnings=[*arc.warnings, *warnings],
    )
