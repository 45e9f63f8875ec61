"""Read an app package (.apk, or a .apks/.xapk split bundle) into an :class:`AppPackage`."""

from __future__ import annotations

import hashlib
import posixpath
import re
import struct
import zlib
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
MAX_PAYLOADS = 200
# Files in assets/ whose first bytes are read to tell what they hold: extensions that promise code or
# an archive, and names without an extension (opaque blobs such as encrypted code).
_CODE_EXT = (".so", ".dex", ".jar", ".apk", ".zip", ".odex", ".oat", ".vdex")
_EXPECTED_KIND = {".so": "elf", ".dex": "dex", ".odex": "dex", ".jar": "zip", ".apk": "zip", ".zip": "zip"}
MIN_OPAQUE_SIZE = 1024  # an extensionless file in assets/ smaller than this is not worth a row
_MAGIC = (
    (b"\x7fELF", "elf"), (b"dex\n", "dex"), (b"cdex", "dex"), (b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"),
    (b"\x1f\x8b", "gzip"), (b"\x89PNG", "image"), (b"\xff\xd8\xff", "image"), (b"GIF8", "image"),
    (b"RIFF", "media"), (b"OggS", "media"), (b"ID3", "media"), (b"\x00\x00\x00\x18ftyp", "media"),
    (b"\x00\x00\x00\x20ftyp", "media"), (b"\x00\x01\x00\x00", "font"), (b"OTTO", "font"),
    (b"wOFF", "font"), (b"7z\xbc\xaf", "archive"), (b"BZh", "archive"), (b"\xfd7zXZ", "archive"),
    (b"SQLite format 3", "sqlite"),
)
# the files read as app packages (a folder scan, a batch upload of the review service)
PACKAGE_SUFFIXES = (".apk", ".apks", ".xapk")


@dataclass(slots=True)
class NativeLib:
    abi: str
    name: str
    size: int
    source: str  # the split it came from ('' = the base package)


@dataclass(slots=True)
class Payload:
    """A file where code usually is (``lib/``) that is not a native library, or a blob in ``assets/``
    that is code, or that its name says is code but whose bytes are something else (often encrypted).
    ``kind`` is what the first bytes say: elf, dex, zip, gzip, text, opaque (nothing recognised), …"""

    path: str
    size: int
    kind: str
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
    native_libs: list[NativeLib]  # ELF files under lib/<abi>/ only
    assets: list[str]  # notable assets (policies, embedded code, configs)
    splits: list[str]
    entry_count: int
    warnings: list[str] = field(default_factory=list)
    payloads: list[Payload] = field(default_factory=list)  # see Payload
    entry_names: tuple[str, ...] = ()  # every file name of the (base) archive, in archive order

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
        libs, payloads = _lib_files(sub, name)
        pkg.native_libs.extend(libs)
        pkg.payloads.extend(payloads + _asset_payloads(sub, name))
        del pkg.payloads[MAX_PAYLOADS:]
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


def _head(arc: ZipArchive, e: ZipEntry, n: int = 24) -> bytes | None:
    """The first ``n`` bytes of an entry, inflating no more than that; None when unreadable."""
    if e.flags & 0x1:
        return None
    try:
        start = arc.data_offset(e)
    except ApkError:
        return None  # a damaged local header: reading the entry would fail too
    raw = arc.data[start: start + min(e.compressed_size, 8192)]
    if e.method == 0 or (e.method != 8 and e.compressed_size == e.size):
        return bytes(raw[: min(n, e.size)])
    try:
        return zlib.decompressobj(-15).decompress(bytes(raw), n)
    except zlib.error:
        return None


def content_kind(head: bytes | None) -> str:
    """What the first bytes of a file say it is (elf, dex, zip, gzip, image, media, font, archive,
    sqlite, text, empty, opaque — nothing recognised — or unreadable)."""
    if head is None:
        return "unreadable"
    if not head:
        return "empty"
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at the end of the head is still text
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "opaque"
    return "text" if all(c.isprintable() or c in "\t\r\n" for c in text) else "opaque"


def _lib_files(arc: ZipArchive, source: str) -> tuple[list[NativeLib], list[Payload]]:
    """Files under ``lib/<abi>/``: the ELF ones are native libraries; the others are payloads."""
    libs, payloads = [], []
    for e in arc.order:
        parts = e.name.split("/")
        if len(parts) != 3 or parts[0] != "lib" or not parts[2] or arc.entries.get(e.name) is not e:
            continue
        kind = content_kind(_head(arc, e))
        if kind == "elf":
            libs.append(NativeLib(parts[1], parts[2], e.size, source))
        elif len(payloads) < MAX_PAYLOADS:
            payloads.append(Payload(e.name, e.size, kind, source))
    return libs, payloads


def _asset_payloads(arc: ZipArchive, source: str) -> list[Payload]:
    """Blobs in ``assets/``: code (ELF, dex), files whose extension promises code or an archive but
    whose bytes are something else, and opaque files without an extension."""
    out = []
    for e in arc.order:
        name = e.name
        if not name.startswith("assets/") or name.endswith("/") or arc.entries.get(name) is not e:
            continue
        base = posixpath.basename(name)
        ext = posixpath.splitext(base)[1].lower()
        if ext not in _CODE_EXT and (ext or e.size < MIN_OPAQUE_SIZE):
            continue
        kind = content_kind(_head(arc, e))
        expected = _EXPECTED_KIND.get(ext)
        if kind in ("elf", "dex") or (expected and kind != expected) or (not ext and kind == "opaque"):
            out.append(Payload(name, e.size, kind, source))
            if len(out) >= MAX_PAYLOADS:
                break
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
    libs, payloads = _lib_files(arc, base_name)
    payloads.extend(_asset_payloads(arc, base_name))
    return AppPackage(
        path=path, kind=kind, sha256=sha, size=size, manifest=man, labels=labels, signing=signing,
        dex=dex, native_libs=libs, assets=assets, splits=splits,
        entry_count=len(arc.order), warnings=[*arc.warnings, *warnings], payloads=payloads[:MAX_PAYLOADS],
        entry_names=tuple(e.name for e in arc.order),
    )
