"""resources.arsc: just enough of the resource table to resolve values such as the app label.

Handles the layouts real packages use: plain and 16-bit entry offsets, sparse types and compact
entries. Unknown or damaged chunks are skipped with a warning; lookups return ``None``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from qingdan.apk.axml import (
    TYPE_REFERENCE,
    TYPE_STRING,
    ResRef,
    StringPool,
    typed_value,
)
from qingdan.apk.errors import ApkError

RES_TABLE = 0x0002
RES_TABLE_PACKAGE = 0x0200
RES_TABLE_TYPE = 0x0201
RES_TABLE_TYPE_SPEC = 0x0202
RES_TABLE_LIBRARY = 0x0203

FLAG_COMPLEX = 0x0001
FLAG_COMPACT = 0x0008
TYPE_FLAG_SPARSE = 0x01
TYPE_FLAG_OFFSET16 = 0x02


@dataclass(slots=True)
class _TypeChunk:
    data: bytes
    start: int  # chunk start
    entries_start: int
    count: int
    flags: int
    index_off: int  # offset of the entry index table
    locale: str


@dataclass(slots=True)
class ResourceTable:
    strings: StringPool | None
    packages: dict[int, str] = field(default_factory=dict)
    # (pkg_id, type_id) -> chunks, default configuration first
    types: dict[tuple[int, int], list[_TypeChunk]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def resolve(self, rid: int, locale: str = "", depth: int = 0) -> object:
        """Value of resource ``rid`` in the default (or given) configuration, or None."""
        if depth > 8:
            return None
        chunks = self.types.get((rid >> 24, (rid >> 16) & 0xFF))
        if not chunks:
            return None
        idx = rid & 0xFFFF
        ordered = sorted(chunks, key=lambda c: (c.locale != locale, c.locale != ""))
        for ch in ordered:
            v = _lookup(ch, idx, self.strings)
            if v is None:
                continue
            if isinstance(v, ResRef):
                return self.resolve(v.id, locale, depth + 1)
            return v
        return None

    def locales_of(self, rid: int) -> dict[str, object]:
        """Every configuration's value of a string resource, keyed by locale ('' = default)."""
        out: dict[str, object] = {}
        for ch in self.types.get((rid >> 24, (rid >> 16) & 0xFF), []):
            v = _lookup(ch, rid & 0xFFFF, self.strings)
            if v is not None and not isinstance(v, ResRef) and ch.locale not in out:
                out[ch.locale] = v
        return out


def _lookup(ch: _TypeChunk, idx: int, strings: StringPool | None) -> object:
    d = ch.data
    if ch.flags & TYPE_FLAG_SPARSE:
        # sorted (uint16 index, uint16 offset/4) pairs; binary search
        lo, hi = 0, ch.count
        off = None
        while lo < hi:
            mid = (lo + hi) // 2
            i, o = struct.unpack_from("<HH", d, ch.index_off + 4 * mid)
            if i == idx:
                off = o * 4
                break
            if i < idx:
                lo = mid + 1
            else:
                hi = mid
        if off is None:
            return None
    else:
        if idx >= ch.count:
            return None
        if ch.flags & TYPE_FLAG_OFFSET16:
            (o,) = struct.unpack_from("<H", d, ch.index_off + 2 * idx)
            if o == 0xFFFF:
                return None
            off = o * 4
        else:
            (off,) = struct.unpack_from("<L", d, ch.index_off + 4 * idx)
            if off == 0xFFFFFFFF:
                return None
    p = ch.start + ch.entries_start + off
    if p + 8 > len(d):
        return None
    esize, eflags = struct.unpack_from("<HH", d, p)
    if eflags & FLAG_COMPACT:
        dtype = eflags >> 8
        (vdata,) = struct.unpack_from("<L", d, p + 4)
    elif eflags & FLAG_COMPLEX:
        return None  # a bag (style, array); not a plain value
    else:
        if p + esize + 8 > len(d):
            return None
        _vs, _r0, dtype, vdata = struct.unpack_from("<HBBL", d, p + esize)
    if dtype == TYPE_STRING:
        return strings.get(vdata) if strings is not None else None
    if dtype == TYPE_REFERENCE:
        return ResRef(vdata) if vdata else None
    return typed_value(strings, dtype, vdata, 0xFFFFFFFF) if strings is not None else vdata


def _locale(d: bytes, cfg: int, csize: int) -> str:
    if csize < 12:
        return ""
    lang = d[cfg + 8 : cfg + 10]
    country = d[cfg + 10 : cfg + 12]
    if lang == b"\0\0":
        return ""
    if lang[0] & 0x80:  # packed 3-letter code
        return "?"
    s = lang.decode("ascii", "replace")
    if country != b"\0\0" and not country[0] & 0x80:
        s += "-" + country.decode("ascii", "replace")
    return s


def parse_arsc(data: bytes) -> ResourceTable:
    n = len(data)
    if n < 12:
        raise ApkError("resources.arsc is empty or truncated")
    typ, hsize, _size = struct.unpack_from("<HHL", data, 0)
    if typ != RES_TABLE:
        raise ApkError(f"resources.arsc header type 0x{typ:04x} (expected 0x0002)")
    table = ResourceTable(strings=None)
    p = hsize if 12 <= hsize < n else 12
    while p + 8 <= n:
        ctype, chsize, csize = struct.unpack_from("<HHL", data, p)
        if csize < 8 or p + csize > n:
            table.warnings.append(f"resources.arsc chunk at {p} has bad size {csize}")
            break
        if ctype == 0x0001 and table.strings is None:
            try:
                table.strings = StringPool(data, p, p + csize)
            except ApkError as exc:
                table.warnings.append(f"resources.arsc: {exc}")
        elif ctype == RES_TABLE_PACKAGE:
            _package(data, p, chsize, csize, table)
        p += csize
    return table


def _package(d: bytes, p: int, hsize: int, size: int, table: ResourceTable) -> None:
    if p + 12 + 4 + 256 > len(d):
        table.warnings.append("resources.arsc package header truncated")
        return
    (pid,) = struct.unpack_from("<L", d, p + 8)
    name = d[p + 12 : p + 12 + 256].decode("utf-16-le", "replace").split("\0", 1)[0]
    table.packages[pid] = name
    q = p + hsize
    end = p + size
    while q + 8 <= end:
        ctype, chsize, csize = struct.unpack_from("<HHL", d, q)
        if csize < 8 or q + csize > end:
            table.warnings.append(f"resources.arsc chunk at {q} has bad size {csize}")
            return
        if ctype == RES_TABLE_TYPE and q + 20 <= end:
            tid, tflags, _res, count, estart = struct.unpack_from("<BBHLL", d, q + 8)
            (cfgsize,) = struct.unpack_from("<L", d, q + 20)
            locale = _locale(d, q + 20, cfgsize)
            ch = _TypeChunk(d, q, estart, count, tflags, q + chsize, locale)
            lst = table.types.setdefault((pid, tid), [])
            lst.append(ch)
        q += csize
