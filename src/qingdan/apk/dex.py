"""DEX reader: tables read in place, strings decoded on demand, call sites from the C scanner.

Nothing is materialised per method or per string up front. The id tables are memoryviews over
the file; the dex format keeps strings, types and method ids sorted, so lookups by name are
binary searches. Call sites come from :mod:`qingdan.apk._dexscan` (C, GIL released) or its
pure-Python twin as a flat ``array('I')`` of ``(caller, callee, string1, string2)`` records,
de-duplicated per calling method.
"""

from __future__ import annotations

import struct
import sys
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from qingdan.apk.errors import ApkError

try:  # the compiled scanner; fall back to the pure-Python twin
    from qingdan.apk import _dexscan as _scanner  # type: ignore[attr-defined]

    SCANNER = "c"
except ImportError:  # pragma: no cover - exercised where no compiler was available
    from qingdan.apk import dexscan_py as _scanner  # type: ignore[no-redef]

    SCANNER = "python"

NO_STRING = 0xFFFFFFFF
_HEADER = struct.Struct("<8sL20s20L")
if sys.byteorder != "little":  # pragma: no cover
    raise ImportError("qingdan's dex reader needs a little-endian machine")


@dataclass(frozen=True, slots=True)
class CallSite:
    caller_class: str  # Java name, e.g. com.example.Foo
    caller_method: str
    callee_class: str
    callee_method: str
    callee_sig: str  # (Ljava/lang/String;)V
    strings: tuple[str, ...]  # constant strings passed as arguments (at most two)


def java_name(descriptor: str) -> str:
    """``Lcom/foo/Bar;`` → ``com.foo.Bar``; arrays and primitives are returned as they are."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor


def _read_uleb(d: bytes, p: int) -> tuple[int, int]:
    r = 0
    for i in range(5):
        c = d[p]
        p += 1
        r |= (c & 0x7F) << (7 * i)
        if not c & 0x80:
            return r, p
    raise ValueError("bad uleb128")


def _skip_value(d: bytes, q: int, vtype: int, varg: int, depth: int = 0) -> int:
    """Offset after one encoded_value (nested arrays and annotations included)."""
    if depth > 16:
        raise ValueError("encoded value nested too deep")
    if vtype in (0x1E, 0x1F):  # null, boolean: no payload
        return q
    if vtype == 0x1C:  # array
        n, q = _read_uleb(d, q)
        for _ in range(min(n, 1 << 16)):
            t = d[q]
            q = _skip_value(d, q + 1, t & 0x1F, t >> 5, depth + 1)
        return q
    if vtype == 0x1D:  # annotation
        _type, q = _read_uleb(d, q)
        n, q = _read_uleb(d, q)
        for _ in range(min(n, 1 << 16)):
            _name, q = _read_uleb(d, q)
            t = d[q]
            q = _skip_value(d, q + 1, t & 0x1F, t >> 5, depth + 1)
        return q
    return q + varg + 1


def _mutf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Modified UTF-8: NUL as C0 80, supplementary characters as surrogate pairs.
    try:
        s = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:  # not MUTF-8 either: a damaged or hostile string
        return raw.decode("utf-8", "replace")
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


class DexFile:
    """One dex file. ``source`` says where it came from (``classes2.dex``, ``assets/a.jar!/classes.dex``)."""

    def __init__(self, data: bytes, source: str = "classes.dex") -> None:
        self.source = source
        self.data = data
        self.size = len(data)
        self.warnings: list[str] = []
        n = len(data)
        if n < 112:
            raise ApkError(f"{source}: dex header truncated ({n} bytes)")
        h = _HEADER.unpack_from(data, 0)
        magic = h[0]
        if magic[:4] != b"dex\n" or magic[7:8] != b"\0":
            raise ApkError(f"{source}: not a dex file (magic {magic[:8]!r})")
        self.version = magic[4:7].decode("ascii", "replace")
        self.checksum = h[1]
        (file_size, _header_size, endian, _ls, _lo, _map, s_sz, s_off, t_sz, t_off, p_sz, p_off,
         f_sz, f_off, m_sz, m_off, c_sz, c_off, _d_sz, _d_off) = h[3:]
        if endian != 0x12345678:
            raise ApkError(f"{source}: big-endian or damaged dex (endian tag 0x{endian:08x})")
        if file_size != n and self.version < "041":
            self.warnings.append(f"{source}: header says {file_size} bytes, file has {n}")

        def table(off: int, count: int, item: int, what: str) -> memoryview:
            if count == 0:
                return memoryview(b"").cast("I")
            if off <= 0 or count > (n - off) // item or off + count * item > n:
                raise ApkError(f"{source}: {what} table ({count} x {item} bytes at {off}) lies outside the "
                               "file")
            return memoryview(data)[off : off + count * item].cast("I")

        self._string_ids = table(s_off, s_sz, 4, "string_ids")
        self._type_ids = table(t_off, t_sz, 4, "type_ids")
        self._proto_ids = table(p_off, p_sz, 12, "proto_ids")
        self._method_ids = table(m_off, m_sz, 8, "method_ids")
        self._field_ids = table(f_off, f_sz, 8, "field_ids")
        self._class_defs = table(c_off, c_sz, 32, "class_defs")
        self.n_strings, self.n_types, self.n_protos = s_sz, t_sz, p_sz
        self.n_fields, self.n_methods, self.n_classes = f_sz, m_sz, c_sz
        self._strings: dict[int, str] = {}
        self._class_names: dict[int, str] = {}
        self._type_names: list[str] | None = None
        try:
            calls, starts, marks, fields, counters, err = _scanner.scan(data, c_off, c_sz, m_sz, s_sz, f_sz)
        except ValueError as exc:
            raise ApkError(f"{source}: {exc}") from None
        self.calls = array("I")
        self.calls.frombytes(calls)
        self._class_call_start = array("I")
        self._class_call_start.frombytes(starts)
        self._string_marks = marks
        self.field_reads = array("I")  # flat (caller method, field id) pairs: static field reads
        self.field_reads.frombytes(fields)
        self.n_defined_methods, self.n_code_methods, self.n_code_units, bad = counters
        if bad:
            self.warnings.append(f"{source}: {bad} class(es) with damaged code skipped ({err})")

    # -- strings and types -------------------------------------------------------------------
    def string(self, i: int) -> str:
        s = self._strings.get(i)
        if s is not None:
            return s
        if not 0 <= i < self.n_strings:
            return ""
        d = self.data
        p = self._string_ids[i]
        # skip the uleb128 utf16 length
        for _ in range(5):
            if p >= len(d):
                return ""
            c = d[p]
            p += 1
            if not c & 0x80:
                break
        end = d.find(b"\0", p)
        if end < 0:
            end = len(d)
        s = _mutf8(d[p:end])
        self._strings[i] = s
        return s

    def find_string(self, s: str) -> int:
        """Index of string ``s`` (binary search over the sorted table), or -1."""
        lo, hi = 0, self.n_strings
        key = s.encode("utf-16-be", "surrogatepass")
        while lo < hi:
            mid = (lo + hi) // 2
            v = self.string(mid).encode("utf-16-be", "surrogatepass")
            if v == key:
                return mid
            if v < key:
                lo = mid + 1
            else:
                hi = mid
        return -1

    def type_name(self, i: int) -> str:
        if not 0 <= i < self.n_types:
            return ""
        return self.string(self._type_ids[i])

    def find_type(self, descriptor: str) -> int:
        si = self.find_string(descriptor)
        if si < 0:
            return -1
        t = self._type_ids
        lo, hi = 0, self.n_types
        while lo < hi:
            mid = (lo + hi) // 2
            v = t[mid]
            if v == si:
                return mid
            if v < si:
                lo = mid + 1
            else:
                hi = mid
        return -1

    def const_string_indices(self) -> Iterator[int]:
        """Indices of every string loaded by const-string somewhere in the code."""
        marks = self._string_marks
        for byte_i, byte in enumerate(marks):
            if byte:
                for bit in range(8):
                    if byte >> bit & 1:
                        yield byte_i * 8 + bit

    @property
    def n_const_strings(self) -> int:
        return sum(bin(b).count("1") for b in self._string_marks)

    # -- classes and methods -----------------------------------------------------------------
    def class_descriptors(self) -> list[str]:
        cd = self._class_defs
        return [self.type_name(cd[8 * i]) for i in range(self.n_classes)]

    def method_ref(self, i: int) -> tuple[str, str, int]:
        """(class descriptor, method name, proto index) of method id ``i``."""
        if not 0 <= i < self.n_methods:  # a damaged class_data can name any index
            return "", "", -1
        w = self._method_ids[2 * i]
        return self.type_name(w & 0xFFFF), self.string(self._method_ids[2 * i + 1]), w >> 16

    def proto_sig(self, p: int) -> str:
        if not 0 <= p < self.n_protos:
            return "()?"
        _shorty, ret, params_off = self._proto_ids[3 * p : 3 * p + 3]
        params = []
        d = self.data
        if params_off and params_off + 4 <= len(d):
            (cnt,) = struct.unpack_from("<L", d, params_off)
            cnt = min(cnt, (len(d) - params_off - 4) // 2, 255)
            params = [self.type_name(t) for t in struct.unpack_from(f"<{cnt}H", d, params_off + 4)]
        return f"({''.join(params)}){self.type_name(ret)}"

    def method_sig(self, i: int) -> str:
        cls, name, proto = self.method_ref(i)
        return f"{cls}->{name}{self.proto_sig(proto)}"

    def find_methods(self, class_descriptor: str, name: str) -> list[int]:
        """Method ids of ``class_descriptor->name`` (every overload)."""
        ti = self.find_type(class_descriptor)
        ni = self.find_string(name)
        if ti < 0 or ni < 0:
            return []
        m = self._method_ids
        # method_ids are sorted by (class, name, proto): find the class/name run.
        lo, hi = 0, self.n_methods
        while lo < hi:
            mid = (lo + hi) // 2
            key = (m[2 * mid] & 0xFFFF, m[2 * mid + 1])
            if key < (ti, ni):
                lo = mid + 1
            else:
                hi = mid
        out = []
        while lo < self.n_methods and (m[2 * lo] & 0xFFFF) == ti and m[2 * lo + 1] == ni:
            out.append(lo)
            lo += 1
        return out

    def field_ref(self, i: int) -> tuple[str, str, str]:
        """(class descriptor, field name, type descriptor) of field id ``i``."""
        if not 0 <= i < self.n_fields:
            return "", "", ""
        w = self._field_ids[2 * i]
        return self.type_name(w & 0xFFFF), self.string(self._field_ids[2 * i + 1]), self.type_name(w >> 16)

    def find_fields(self, class_descriptor: str, name: str) -> list[int]:
        """Field ids of ``class_descriptor.name`` (field_ids are sorted by class, name, type)."""
        ti = self.find_type(class_descriptor)
        ni = self.find_string(name)
        if ti < 0 or ni < 0:
            return []
        f = self._field_ids
        lo, hi = 0, self.n_fields
        while lo < hi:
            mid = (lo + hi) // 2
            if ((f[2 * mid] & 0xFFFF), f[2 * mid + 1]) < (ti, ni):
                lo = mid + 1
            else:
                hi = mid
        out = []
        while lo < self.n_fields and (f[2 * lo] & 0xFFFF) == ti and f[2 * lo + 1] == ni:
            out.append(lo)
            lo += 1
        return out

    def reads_of(self, field_ids: list[int] | set[int]) -> Iterator[tuple[str, str, str, str]]:
        """(caller class, caller method, field class, field name) for static reads of ``field_ids``."""
        want = set(field_ids)
        fr = self.field_reads
        for k in range(0, len(fr), 2):
            if fr[k + 1] in want:
                ccls, cname, _ = self.method_ref(fr[k])
                fcls, fname, _t = self.field_ref(fr[k + 1])
                yield java_name(ccls), cname, java_name(fcls), fname

    def class_index(self, descriptor: str) -> int:
        """Index of the class definition of ``descriptor`` in this dex, or -1."""
        ti = self.find_type(descriptor)
        if ti < 0:
            return -1
        cd = self._class_defs
        for i in range(self.n_classes):
            if cd[8 * i] == ti:
                return i
        return -1

    def static_strings(self, class_index: int) -> list[tuple[str, str]]:
        """(field name, initial value) of the String-valued static fields of one class definition,
        from its encoded static values (where ``static final String VERSION = "1.2.3"`` lives)."""
        if not 0 <= class_index < self.n_classes:
            return []
        d = self.data
        cd = self._class_defs
        data_off, values_off = cd[8 * class_index + 6], cd[8 * class_index + 7]
        if not data_off or not values_off or data_off >= len(d) or values_off >= len(d):
            return []
        try:
            n_static, p = _read_uleb(d, data_off)
            _, p = _read_uleb(d, p)  # instance fields
            _, p = _read_uleb(d, p)  # direct methods
            _, p = _read_uleb(d, p)  # virtual methods
            fields = []
            idx = 0
            for _ in range(min(n_static, 4096)):
                diff, p = _read_uleb(d, p)
                _acc, p = _read_uleb(d, p)
                idx += diff
                fields.append(idx)
            count, q = _read_uleb(d, values_off)
            out = []
            for k in range(min(count, len(fields))):
                typ = d[q]
                q += 1
                vtype, varg = typ & 0x1F, typ >> 5
                if vtype == 0x17:  # string: index in varg+1 bytes
                    sidx = int.from_bytes(d[q : q + varg + 1], "little")
                    q += varg + 1
                    out.append((self.field_ref(fields[k])[1], self.string(sidx)))
                else:
                    q = _skip_value(d, q, vtype, varg)
            return out
        except (IndexError, ValueError):
            return []

    def methods_named(self, names: set[str] | frozenset[str]) -> dict[int, str]:
        """Method id → name, for every method reference whose name is in ``names`` (any class)."""
        wanted = {}
        for n in names:
            si = self.find_string(n)
            if si >= 0:
                wanted[si] = n
        if not wanted:
            return {}
        m = self._method_ids
        return {i: wanted[m[2 * i + 1]] for i in range(self.n_methods) if m[2 * i + 1] in wanted}

    def hits(self, method_ids: dict[int, object] | set[int] | frozenset[int]) -> list[int]:
        """Indexes of the call records whose callee is one of ``method_ids`` (one pass, no objects)."""
        if not method_ids:
            return []
        return [k for k, c in enumerate(self.calls[1::4]) if c in method_ids]

    def calls_by_caller(self, method_ids: dict[int, str] | set[int]) -> dict[int, list[int]]:
        """Caller method id → indexes of its call records whose callee is in ``method_ids``."""
        c = self.calls
        out: dict[int, list[int]] = {}
        for k in self.hits(method_ids):
            out.setdefault(c[4 * k], []).append(k)
        return out

    def caller_class(self, method_id: int) -> str:
        """Java name of the class declaring method id ``method_id`` (cached per class)."""
        if not 0 <= method_id < self.n_methods:
            return ""
        ti = self._method_ids[2 * method_id] & 0xFFFF
        cache = self._class_names
        name = cache.get(ti)
        if name is None:
            name = cache[ti] = java_name(self.type_name(ti))
        return name

    def site(self, k: int) -> CallSite:
        """The k-th call record as a :class:`CallSite`."""
        return self._site(k)

    # -- call sites ----------------------------------------------------------------------------
    @property
    def n_call_sites(self) -> int:
        return len(self.calls) // 4

    def _site(self, k: int) -> CallSite:
        c = self.calls
        caller, callee, s1, s2 = c[4 * k : 4 * k + 4]
        ccls, cname, _ = self.method_ref(caller)
        tcls, tname, tproto = self.method_ref(callee)
        strings = tuple(self.string(s) for s in (s1, s2) if s != NO_STRING)
        return CallSite(java_name(ccls), cname, java_name(tcls), tname, self.proto_sig(tproto), strings)

    def call_sites(self) -> Iterator[CallSite]:
        for k in range(self.n_call_sites):
            yield self._site(k)

    def calls_to(self, method_ids: list[int] | set[int]) -> Iterator[CallSite]:
        """Call sites whose callee is one of ``method_ids``."""
        for k in self.hits(set(method_ids)):
            yield self._site(k)

    def callees_by_class(self) -> dict[str, set[str]]:
        """For each defined class (Java name): the methods it invokes (``cls->name(sig)``)."""
        out: dict[str, set[str]] = {}
        starts = self._class_call_start
        cd = self._class_defs
        c = self.calls
        sig_cache: dict[int, str] = {}
        for i in range(self.n_classes):
            a, b = starts[i], starts[i + 1]
            if a == b:
                continue
            names = out.setdefault(java_name(self.type_name(cd[8 * i])), set())
            for k in range(a, b):
                callee = c[4 * k + 1]
                s = sig_cache.get(callee)
                if s is None:
                    s = sig_cache[callee] = self.method_sig(callee)
                names.add(s)
        return out

    # -- class graph (for telling whose code a class is) ---------------------------------------
    def class_types(self) -> list[int]:
        """Type index of every class definition, in class-definition order."""
        cd = self._class_defs
        return [cd[8 * i] for i in range(self.n_classes)]

    def superclass_type(self, class_index: int) -> int:
        """Type index of the superclass of class definition ``class_index`` (-1 when none)."""
        if not 0 <= class_index < self.n_classes:
            return -1
        t = self._class_defs[8 * class_index + 2]
        return -1 if t == NO_STRING or t >= self.n_types else t

    def interface_types(self, class_index: int) -> list[int]:
        """Type indexes of the interfaces class definition ``class_index`` implements directly (a
        damaged type_list gives what could be read)."""
        if not 0 <= class_index < self.n_classes:
            return []
        off = self._class_defs[8 * class_index + 3]
        d = self.data
        if not off or off + 4 > len(d):
            return []
        n = min(int.from_bytes(d[off:off + 4], "little"), (len(d) - off - 4) // 2)
        types = memoryview(d)[off + 4:off + 4 + 2 * n].cast("H").tolist() if n > 0 else []
        return [t for t in types if t < self.n_types]

    def type_names(self) -> list[str]:
        """The descriptor of every type id, decoded once (``type_name`` for one)."""
        got = self._type_names
        if got is None:
            t, string = self._type_ids, self.string
            got = self._type_names = [string(t[i]) for i in range(self.n_types)]
        return got

    def method_columns(self) -> tuple[list[int], list[int], list[int]]:
        """For every method id: its class's type index, its name's string index and its proto index
        (three lists, read straight from the method_ids table)."""
        if not self.n_methods:
            return [], [], []
        m = self._method_ids
        w0 = m[0::2].tolist()
        return [w & 0xFFFF for w in w0], m[1::2].tolist(), [w >> 16 for w in w0]

    def method_types(self) -> list[int]:
        """For every method id, the type index of the class that declares it (method ids are sorted
        by it, so a class's methods are one run)."""
        if not self.n_methods:
            return []
        return self._method_ids.cast("B").cast("H")[::4].tolist()  # class_idx: the first ushort of 4

    def class_call_range(self, class_index: int) -> range:
        """Indexes of the call records made by the code of class definition ``class_index``."""
        if not 0 <= class_index < self.n_classes:
            return range(0)
        return range(self._class_call_start[class_index], self._class_call_start[class_index + 1])
