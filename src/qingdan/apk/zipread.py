"""A small, defensive zip reader shaped after how Android itself reads an APK.

Android's installer trusts the *central directory*: names, sizes and compression methods come
from there, and a local header is only used to find where an entry's data starts. Tampered
packages exploit the gap between that and desktop zip tools (wrong local sizes, odd compression
methods, garbage before the end record). This reader follows the central directory, records
what is odd as warnings, and enforces size and ratio limits before inflating anything.
Nothing is ever written to disk, so traversal names (``../x``) are only reported.
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from qingdan.apk.errors import ApkError, LimitExceeded

EOCD_SIG = b"PK\x05\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"
ZIP64_EOCD_SIG = b"PK\x06\x06"
CD_SIG = b"PK\x01\x02"
LOCAL_SIG = b"PK\x03\x04"
_CD = struct.Struct("<4s6H3L5H2L")  # central directory file header, 46 bytes
_EOCD = struct.Struct("<4s4H2LH")  # 22 bytes
_LOCAL = struct.Struct("<4s5H3L2H")  # 30 bytes


@dataclass(slots=True)
class Limits:
    """Safety limits applied while reading a package (bytes unless said otherwise)."""

    max_entries: int = 200_000
    max_entry_size: int = 512 * 1024 * 1024  # one inflated entry
    max_total_inflated: int = 2 * 1024 * 1024 * 1024  # all entries read from one archive
    max_ratio: int = 200  # inflated/compressed, checked for entries above ratio_floor
    ratio_floor: int = 16 * 1024 * 1024
    max_nesting: int = 2  # zip inside zip (jar in assets, split in .apks)


@dataclass(slots=True)
class ZipEntry:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    local_offset: int
    index: int


@dataclass(slots=True)
class ZipArchive:
    """Central-directory view of a zip held in memory or memory-mapped."""

    source: str
    data: bytes | mmap.mmap | memoryview
    entries: dict[str, ZipEntry]
    order: list[ZipEntry]
    cd_offset: int
    comment: bytes
    limits: Limits
    warnings: list[str] = field(default_factory=list)
    _inflated_total: int = 0

    # -- construction -------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str], limits: Limits | None = None) -> ZipArchive:
        p = Path(path)
        try:
            size = p.stat().st_size
            if size == 0:
                raise ApkError("empty file")
            with open(p, "rb") as fh:
                data: bytes | mmap.mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise ApkError(exc.strerror or str(exc)) from None
        return cls.from_bytes(data, source=str(p), limits=limits)

    @classmethod
    def from_bytes(
        cls, data: bytes | mmap.mmap | memoryview, source: str, limits: Limits | None = None
    ) -> ZipArchive:
        limits = limits or Limits()
        n = len(data)
        if n < 22:
            raise ApkError(f"not a zip archive ({n} bytes)")
        head = bytes(data[:4])
        warnings: list[str] = []
        tail_start = max(0, n - (0xFFFF + 22))
        tail = bytes(data[tail_start:])
        pos = tail.rfind(EOCD_SIG)
        eocd = None
        # Walk candidates from the end: the real record is the one whose comment length fits.
        while pos >= 0:
            if pos + 22 <= len(tail):
                rec = _EOCD.unpack_from(tail, pos)
                if pos + 22 + rec[7] <= len(tail):
                    eocd = (tail_start + pos, rec)
                    break
            pos = tail.rfind(EOCD_SIG, 0, pos)
        if eocd is None:
            if head[:2] != b"PK":
                raise ApkError("not a zip archive (no end of central directory record)")
            raise ApkError("truncated zip: end of central directory record not found")
        eocd_pos, (_, disk, cd_disk, n_disk, n_total, cd_size, cd_off, clen) = eocd
        comment = bytes(data[eocd_pos + 22 : eocd_pos + 22 + clen])
        if eocd_pos + 22 + clen != n:
            warnings.append(f"{n - (eocd_pos + 22 + clen)} bytes after the end record")
        if disk != 0 or cd_disk != 0 or n_disk != n_total:
            warnings.append("multi-disk fields set in the end record")
        # zip64
        if 0xFFFFFFFF in (cd_size, cd_off) or n_total == 0xFFFF:
            loc = eocd_pos - 20
            if loc >= 0 and bytes(data[loc : loc + 4]) == ZIP64_LOCATOR_SIG:
                (z64_off,) = struct.unpack_from("<Q", data, loc + 8)
                if 0 <= z64_off <= n - 56 and bytes(data[z64_off : z64_off + 4]) == ZIP64_EOCD_SIG:
                    n_total, cd_size, cd_off = struct.unpack_from("<QQQ", data, z64_off + 32)
                    eocd_pos = z64_off
        if n_total > limits.max_entries:
            raise LimitExceeded(f"{n_total} entries declared (limit {limits.max_entries})")
        delta = 0  # added to every local header offset (data prepended to the archive)
        at_cd = cd_off + 4 <= n and bytes(data[cd_off : cd_off + 4]) == CD_SIG
        real = eocd_pos - cd_size
        if at_cd and cd_off + cd_size > eocd_pos:
            warnings.append(
                f"central directory size {cd_size} overruns the end record by "
                f"{cd_off + cd_size - eocd_pos} bytes (Android refuses this package)")
            cd_size = eocd_pos - cd_off
        elif not at_cd and n_total and real >= 0 and bytes(data[real : real + 4]) == CD_SIG:
            # Data prepended (a self-extractor stub, or junk): the central directory ends where
            # the end record starts, and every offset is shifted by the same amount.
            delta = real - cd_off
            warnings.append(f"{delta} bytes before the archive; offsets shifted" if delta > 0
                            else f"central directory offset {cd_off} is wrong; found it at {real}")
            cd_off = real
        elif not at_cd and n_total:
            raise ApkError("truncated zip: central directory lies outside the file")
        elif cd_off + cd_size < eocd_pos:
            warnings.append(f"{eocd_pos - cd_off - cd_size} bytes between central directory and end record")

        entries: dict[str, ZipEntry] = {}
        order: list[ZipEntry] = []
        p = cd_off
        end = cd_off + cd_size
        odd_names = 0
        for i in range(n_total):
            if p + 46 > end:
                warnings.append(f"central directory truncated after {i} of {n_total} entries")
                break
            if bytes(data[p : p + 4]) != CD_SIG:
                # A lying length in the previous record (a known tampering trick): resync on
                # the nearest record signature close by.
                win = bytes(data[max(cd_off, p - 32) : min(end, p + 32)])
                hits = [k for k in range(len(win) - 3) if win[k : k + 4] == CD_SIG]
                if not hits:
                    warnings.append(f"bad central directory record at entry {i}; stopped there")
                    break
                q = max(cd_off, p - 32) + min(hits, key=lambda k: abs(max(cd_off, p - 32) + k - p))
                warnings.append(f"central directory record {i} misaligned by {q - p} bytes (lying length "
                                "field)")
                p = q
                if p + 46 > end:
                    break
            (sig, _made, _need, flags, method, _t, _d, crc, csize, usize, nlen, xlen, mlen,
             _dstart, _iattr, _eattr, loff) = _CD.unpack_from(data, p)
            raw = bytes(data[p + 46 : p + 46 + nlen])
            extra = bytes(data[p + 46 + nlen : p + 46 + nlen + xlen])
            p += 46 + nlen + xlen + mlen
            if p > end:
                warnings.append(f"central directory entry {i} runs past its end")
                break
            if 0xFFFFFFFF in (csize, usize, loff):
                usize, csize, loff = _zip64_extra(extra, usize, csize, loff)
            name = _decode_name(raw)
            if "\x00" in name or name.startswith("/") or ".." in name.split("/"):
                odd_names += 1
            e = ZipEntry(name, method, flags, crc, csize, usize, loff + delta, i)
            if name in entries:
                warnings.append(f"duplicate entry {name!r}; the first is used")
            else:
                entries[name] = e
            order.append(e)
        if odd_names:
            bad = [e.name for e in order if "\x00" in e.name or e.name.startswith("/")
                   or ".." in e.name.split("/")]
            warnings.append(
                f"{odd_names} entry name(s) with NUL, absolute or '..' parts (e.g. {bad[0]!r}); nothing is "
                "extracted"
            )
        arc = cls(source, data, entries, order, cd_offset=cd_off, comment=comment,
                  limits=limits, warnings=warnings)
        return arc

    # -- reading ---------------------------------------------------------------------------
    def names(self) -> list[str]:
        return [e.name for e in self.order]

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def data_offset(self, e: ZipEntry) -> int:
        data = self.data
        lo = e.local_offset
        if lo < 0 or lo + 30 > len(data) or bytes(data[lo : lo + 4]) != LOCAL_SIG:
            raise ApkError(f"{e.name}: local header missing at offset {lo}")
        (_sig, _need, lflags, lmethod, _t, _d, _crc, _cs, _us, nlen, xlen) = _LOCAL.unpack_from(data, lo)
        if lmethod != e.method:
            self._warn_once(f"{e.name}: compression method {lmethod} in local header, {e.method} in central "
                            "directory")
        return lo + 30 + nlen + xlen

    def read(self, name: str, max_size: int | None = None) -> bytes:
        e = self.entries.get(name)
        if e is None:
            raise ApkError(f"no entry {name!r}")
        return self.read_entry(e, max_size)

    def read_entry(self, e: ZipEntry, max_size: int | None = None) -> bytes:
        lim = self.limits
        cap = min(max_size or lim.max_entry_size, lim.max_entry_size)
        if e.size > cap:
            raise LimitExceeded(f"{e.name}: declared size {e.size} exceeds limit {cap}")
        if e.flags & 0x1:
            raise ApkError(f"{e.name}: entry is encrypted")
        start = self.data_offset(e)
        end = start + e.compressed_size
        if end > len(self.data):
            raise ApkError(f"{e.name}: data runs past the end of the file")
        raw = self.data[start:end]
        method = e.method
        if method not in (0, 8):
            # Android treats an unknown method as stored when the sizes agree.
            self._warn_once(f"{e.name}: unknown compression method {method}, read as "
                            + ("stored" if e.compressed_size == e.size else "deflate"))
            method = 0 if e.compressed_size == e.size else 8
        if method == 0:
            out = bytes(raw[: e.size]) if e.size <= e.compressed_size else bytes(raw)
        else:
            if e.size > lim.ratio_floor and e.size > lim.max_ratio * max(e.compressed_size, 1):
                raise LimitExceeded(
                    f"{e.name}: compression ratio {e.size // max(e.compressed_size, 1)}:1 exceeds "
                    f"{lim.max_ratio}:1")
            want = max(e.size, 0)
            d = zlib.decompressobj(-15)
            try:
                # Inflate at most what was declared (+1 byte to notice a lie).
                out = d.decompress(raw, want + 1 if want else cap + 1)
            except zlib.error as exc:
                raise ApkError(f"{e.name}: corrupt deflate data ({exc})") from None
            if len(out) > want:
                if want == 0 and len(out) <= cap:
                    out += d.decompress(d.unconsumed_tail, cap + 1 - len(out)) if d.unconsumed_tail else b""
                    if len(out) > cap:
                        raise LimitExceeded(f"{e.name}: inflates past limit {cap}")
                    self._warn_once(f"{e.name}: declared size 0, inflated {len(out)} bytes")
                else:
                    self._warn_once(f"{e.name}: inflates to more than its declared {want} bytes; cut there")
                    out = out[:want]
            elif len(out) < want:
                self._warn_once(f"{e.name}: inflated {len(out)} of {want} declared bytes")
        self._inflated_total += len(out)
        if self._inflated_total > lim.max_total_inflated:
            raise LimitExceeded(f"total inflated size exceeds {lim.max_total_inflated} bytes")
        return out

    def _warn_once(self, msg: str) -> None:
        if msg not in self.warnings:
            self.warnings.append(msg)

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            try:
                self.data.close()
            except BufferError:  # a memoryview still refers to it; GC will close it
                pass


def _decode_name(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def _zip64_extra(extra: bytes, usize: int, csize: int, loff: int) -> tuple[int, int, int]:
    p = 0
    while p + 4 <= len(extra):
        tag, ln = struct.unpack_from("<HH", extra, p)
        body = extra[p + 4 : p + 4 + ln]
        if tag == 0x0001:
            q = 0
            vals = []
            while q + 8 <= len(body):
                vals.append(struct.unpack_from("<Q", body, q)[0])
                q += 8
            it = iter(vals)
            if usize == 0xFFFFFFFF:
                usize = next(it, usize)
            if csize == 0xFFFFFFFF:
                csize = next(it, csize)
            if loff == 0xFFFFFFFF:
                loff = next(it, loff)
            break
        p += 4 + ln
    return usize, csize, loff
