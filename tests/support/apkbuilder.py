"""Independent test-side writer for APK building blocks.

This module produces *ground truth* inputs for qingdan's readers.  It is
written directly from the format specifications and deliberately shares no
code with ``src/qingdan`` (nor with any third-party APK tool):

* DEX     -- AOSP "Dalvik Executable format" (dex-format) and
             "Dalvik bytecode" / "instruction formats" pages.
* AXML    -- binary XML chunks as laid out in ``ResourceTypes.h``
             (ResChunk_header, ResStringPool_header, ResXMLTree_*).
* ARSC    -- ResTable_header / ResTable_package / ResTable_typeSpec /
             ResTable_type / ResTable_entry / Res_value.
* APK     -- a plain zip (PKWARE APPNOTE) written with :mod:`zipfile`, with an
             optional JAR (v1) signature: META-INF/MANIFEST.MF, CERT.SF and a
             detached PKCS#7 SignedData CERT.RSA.

Everything is pure standard library except v1 signing, which imports
``cryptography`` lazily.  All builders are deterministic: the same input
always yields byte-identical output (fixed zip timestamps, no randomness
except through an explicitly seeded :class:`random.Random`).

Public API (see the docstrings for details)::

    Invoke, Method, ClassDef, build_dex
    Element, TypedValue, build_axml
    IntentFilter, Component, manifest_element, build_manifest
    build_arsc
    build_zip, dummy_elf, build_apk, ApkWriter (streaming), v1_signature_files
    build_large_app

Cross-checked during development against AOSP tools (not needed by the
tests): ``dexdump`` (runs ART's dex_file_verifier) accepts the dex files,
``aapt dump badging/xmltree/resources`` reads manifests and resources.arsc,
and ``apksigner verify`` accepts the v1 signature (for targetSdk < 30; newer
targets require v2, which is not implemented).
"""

from __future__ import annotations

import base64
import hashlib
import re
import struct
import sys
import zipfile
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

__all__ = [
    "Invoke", "Method", "ClassDef", "build_dex", "parse_type_list", "method_signature",
    "Element", "TypedValue", "build_axml", "ANDROID_NS", "ANDROID_ATTR_IDS",
    "IntentFilter", "Component", "manifest_element", "build_manifest",
    "build_arsc", "build_zip", "dummy_elf", "build_apk", "ApkWriter",
    "build_large_app", "TESTKEY_PEM", "TESTCERT_PEM",
    "mutf8", "uleb128", "utf16_sort_key", "string_pool", "v1_signature_files", "dex_name",
    "generate_test_key", "LARGE_APP_APIS", "LARGE_APP_PREFIXES",
]

_SUPPORT_DIR = Path(__file__).resolve().parent
TESTKEY_PEM = _SUPPORT_DIR / "testkey.pem"
TESTCERT_PEM = _SUPPORT_DIR / "testcert.pem"

# ===========================================================================
# Low-level helpers
# ===========================================================================


def _uleb128_slow(value: int) -> bytes:
    if value < 0:
        raise ValueError("uleb128 value must be non-negative")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


_ULEB_CACHE = [_uleb128_slow(i) for i in range(1 << 14)]


def uleb128(value: int) -> bytes:
    """Unsigned LEB128 encoding (dex-format "LEB128")."""
    if 0 <= value < 16384:
        return _ULEB_CACHE[value]
    return _uleb128_slow(value)


def mutf8(s: str) -> tuple[bytes, int]:
    """Encode ``s`` as MUTF-8; return ``(bytes, utf16_length)``.

    MUTF-8 (dex-format "MUTF-8 (Modified UTF-8) Encoding"): the string is first
    viewed as UTF-16 code units (supplementary characters become surrogate
    pairs), each unit is then encoded with the 1/2/3-byte UTF-8 forms and
    U+0000 is encoded as the two bytes ``C0 80``.  No 4-byte forms appear.
    """
    if s.isascii() and "\x00" not in s:
        return s.encode("ascii"), len(s)
    raw = s.encode("utf-16-le", "surrogatepass")
    n = len(raw) // 2
    out = bytearray()
    for u in struct.unpack(f"<{n}H", raw):
        if 0 < u < 0x80:
            out.append(u)
        elif u < 0x800:  # includes U+0000
            out.append(0xC0 | (u >> 6))
            out.append(0x80 | (u & 0x3F))
        else:
            out.append(0xE0 | (u >> 12))
            out.append(0x80 | ((u >> 6) & 0x3F))
            out.append(0x80 | (u & 0x3F))
    return bytes(out), n


def utf16_sort_key(s: str) -> bytes:
    """Key ordering strings by UTF-16 code unit values (dex string_ids order).

    Big-endian UTF-16 bytes compare exactly like the sequence of code units,
    so a supplementary character (surrogate D800-DBFF) sorts *before*
    U+E000..U+FFFF, as the dex format requires.
    """
    return s.encode("utf-16-be", "surrogatepass")


def _align(buf: bytearray, n: int = 4) -> None:
    pad = (-len(buf)) % n
    if pad:
        buf += b"\x00" * pad


def _units_to_bytes(units: list[int]) -> bytes:
    arr = array("H", units)
    if sys.byteorder != "little":
        arr.byteswap()
    return arr.tobytes()


# ===========================================================================
# DEX
# ===========================================================================

NO_INDEX = 0xFFFFFFFF

ACC_PUBLIC = 0x1
ACC_PRIVATE = 0x2
ACC_PROTECTED = 0x4
ACC_STATIC = 0x8
ACC_FINAL = 0x10
ACC_SYNCHRONIZED = 0x20
ACC_NATIVE = 0x100
ACC_INTERFACE = 0x200
ACC_ABSTRACT = 0x400
ACC_CONSTRUCTOR = 0x10000

# map_list item type codes
TYPE_HEADER_ITEM = 0x0000
TYPE_STRING_ID_ITEM = 0x0001
TYPE_TYPE_ID_ITEM = 0x0002
TYPE_PROTO_ID_ITEM = 0x0003
TYPE_FIELD_ID_ITEM = 0x0004
TYPE_METHOD_ID_ITEM = 0x0005
TYPE_CLASS_DEF_ITEM = 0x0006
TYPE_MAP_LIST = 0x1000
TYPE_TYPE_LIST = 0x1001
TYPE_CLASS_DATA_ITEM = 0x2000
TYPE_CODE_ITEM = 0x2001
TYPE_STRING_DATA_ITEM = 0x2002

DEX_MAGIC = b"dex\n035\x00"
ENDIAN_CONSTANT = 0x12345678
HEADER_SIZE = 0x70

# kind -> (35c opcode, 3rc opcode)
INVOKE_OPCODES = {
    "virtual": (0x6E, 0x74),
    "super": (0x6F, 0x75),
    "direct": (0x70, 0x76),
    "static": (0x71, 0x77),
    "interface": (0x72, 0x78),
}

OP_NOP = 0x00
OP_MOVE_OBJECT_FROM16 = 0x08
OP_MOVE_RESULT = 0x0A
OP_MOVE_RESULT_WIDE = 0x0B
OP_MOVE_RESULT_OBJECT = 0x0C
OP_RETURN_VOID = 0x0E
OP_RETURN = 0x0F
OP_RETURN_WIDE = 0x10
OP_RETURN_OBJECT = 0x11
OP_CONST_4 = 0x12
OP_CONST_16 = 0x13
OP_CONST_WIDE_16 = 0x16
OP_CONST_STRING = 0x1A
OP_CONST_STRING_JUMBO = 0x1B
OP_NEW_ARRAY = 0x23
OP_FILL_ARRAY_DATA = 0x26
OP_PACKED_SWITCH = 0x2B
OP_SPARSE_SWITCH = 0x2C

PACKED_SWITCH_IDENT = 0x0100
SPARSE_SWITCH_IDENT = 0x0200
FILL_ARRAY_DATA_IDENT = 0x0300

_PRIMS = set("ZBSCIJFD")
_TYPE_RE = re.compile(r"\[*(?:[ZBSCIJFD]|L[^;\[()]+;)")


def _check_type(t: str, allow_void: bool = False) -> str:
    if allow_void and t == "V":
        return t
    if not isinstance(t, str) or not _TYPE_RE.fullmatch(t):
        raise ValueError(f"not a valid type descriptor: {t!r}")
    return t


def _width(t: str) -> int:
    return 2 if t in ("J", "D") else 1


def _is_ref(t: str) -> bool:
    return t[0] in "L["


def _shorty(ret: str, params: Iterable[str]) -> str:
    return "".join("L" if _is_ref(t) else t for t in (ret, *params))


def parse_type_list(s: str) -> list[str]:
    """Split a concatenated descriptor list, e.g. ``"ILjava/lang/String;[J"``."""
    out = []
    pos = 0
    while pos < len(s):
        m = _TYPE_RE.match(s, pos)
        if not m:
            raise ValueError(f"bad descriptor list {s!r} at {pos}")
        out.append(m.group(0))
        pos = m.end()
    return out


def method_signature(cls: str, name: str, params: Iterable[str], ret: str) -> str:
    """Smali-style reference ``Lcls;->name(params)ret``."""
    return f"{cls}->{name}({''.join(params)}){ret}"


_SIG_RE = re.compile(r"(L[^;]+;|\[+\S+)->([^(]+)\(([^)]*)\)(\S+)")


@dataclass
class Invoke:
    """One invoke instruction inside a method body.

    ``string_args`` maps an argument *position* to a constant string that is
    loaded with ``const-string`` right before the call.  Positions count the
    logical arguments of the call, 0-based, with the receiver (``this``) as
    position 0 for every non-static kind; when no argument is wide (J/D) this
    is exactly the position in the invoke's register list.  Argument
    registers without a string are zeroed (``const/4``/``const/16``, or
    ``const-wide/16`` for wide arguments); with ``receiver_this=True`` the
    caller's own ``this`` is copied into the receiver register instead
    (``move-object/from16``), which is what a real constructor's
    ``super.<init>()`` call looks like.

    The call uses format 35c (``invoke-<kind>``) when it needs at most five
    registers and ``range`` is false, otherwise 3rc (``invoke-<kind>/range``).
    """

    cls: str
    name: str
    params: list[str] = field(default_factory=list)
    ret: str = "V"
    kind: str = "virtual"
    string_args: dict[int, str] = field(default_factory=dict)
    range: bool = False
    receiver_this: bool = False

    @classmethod
    def of(cls, signature: str, kind: str = "virtual", string_args: dict[int, str] | None = None,
           range: bool = False, receiver_this: bool = False) -> Invoke:
        """Build from a smali-style reference ``"Lfoo/Bar;->baz(ILjava/lang/String;)V"``."""
        m = _SIG_RE.fullmatch(signature)
        if not m:
            raise ValueError(f"bad method signature {signature!r}")
        return cls(m.group(1), m.group(2), parse_type_list(m.group(3)), m.group(4), kind,
                   dict(string_args or {}), range, receiver_this)

    @property
    def static(self) -> bool:
        return self.kind == "static"

    @property
    def arg_types(self) -> list[str]:
        return list(self.params) if self.static else [self.cls, *self.params]

    @property
    def arg_words(self) -> int:
        return sum(_width(t) for t in self.arg_types)

    @property
    def signature(self) -> str:
        return method_signature(self.cls, self.name, self.params, self.ret)

    @property
    def uses_range(self) -> bool:
        return self.range or self.arg_words > 5


@dataclass
class Method:
    """A method definition.

    Body layout (when not abstract/native): one ``const-string v0`` per entry
    of ``strings``; then each :class:`Invoke` (argument setup, invoke,
    ``move-result*`` when the callee returns a value); then, if ``payload`` is
    set, a ``packed-switch``/``sparse-switch`` on a constant and/or a
    ``new-array`` + ``fill-array-data``; then the return
    (``return-void``, or a zero/null constant and ``return``/``return-wide``/
    ``return-object`` for non-void methods).  Payload tables follow the
    return, 4-byte aligned with a ``nop`` when needed.

    ``payload``: ``True`` means ``("packed-switch", "fill-array-data")``; a
    string or tuple selects any of ``"packed-switch"``, ``"sparse-switch"``,
    ``"fill-array-data"``.

    ``access``: ``None`` means ``ACC_PUBLIC``; ``ACC_STATIC``/``ACC_ABSTRACT``
    (from the flags) and ``ACC_CONSTRUCTOR`` (for ``<init>``/``<clinit>``) are
    always OR-ed in.  Direct methods (static, private or constructors) go to
    ``direct_methods``; all others to ``virtual_methods``.
    """

    name: str
    params: list[str] = field(default_factory=list)
    ret: str = "V"
    static: bool = False
    invokes: list[Invoke] = field(default_factory=list)
    strings: list[str] = field(default_factory=list)
    abstract: bool = False
    payload: bool | str | tuple = False
    access: int | None = None

    def access_flags(self) -> int:
        acc = ACC_PUBLIC if self.access is None else self.access
        if self.name == "<clinit>":
            acc = (acc & ~(ACC_PUBLIC | ACC_PROTECTED | ACC_PRIVATE)) | ACC_STATIC | ACC_CONSTRUCTOR
        if self.name == "<init>":
            acc |= ACC_CONSTRUCTOR
        if self.static:
            acc |= ACC_STATIC
        if self.abstract:
            acc |= ACC_ABSTRACT
        return acc

    @property
    def is_static(self) -> bool:
        return self.static or self.name == "<clinit>"

    def has_code(self) -> bool:
        return not (self.abstract or (self.access_flags() & (ACC_ABSTRACT | ACC_NATIVE)))

    def payload_kinds(self) -> tuple[str, ...]:
        if not self.payload:
            return ()
        if self.payload is True:
            kinds: tuple = ("packed-switch", "fill-array-data")
        elif isinstance(self.payload, str):
            kinds = (self.payload,)
        else:
            kinds = tuple(self.payload)
        for k in kinds:
            if k not in ("packed-switch", "sparse-switch", "fill-array-data"):
                raise ValueError(f"unknown payload kind {k!r}")
        return kinds


@dataclass
class ClassDef:
    """A class definition.  ``superclass=None`` only for ``Ljava/lang/Object;``."""

    name: str
    superclass: str | None = "Ljava/lang/Object;"
    interfaces: list[str] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    source_file: str | None = None
    access: int = ACC_PUBLIC


def _order_classes(classes: list[ClassDef]) -> list[ClassDef]:
    """Order so that a defined superclass/interface precedes its subclasses."""
    by_name: dict[str, ClassDef] = {}
    for c in classes:
        if c.name in by_name:
            raise ValueError(f"duplicate class {c.name}")
        by_name[c.name] = c
    out: list[ClassDef] = []
    state: dict[str, int] = {}
    for root in classes:
        if state.get(root.name) == 2:
            continue
        # iterative DFS (deep hierarchies must not hit the recursion limit)
        stack = [(root, 0)]
        while stack:
            c, stage = stack.pop()
            if stage == 0:
                st = state.get(c.name)
                if st == 2:
                    continue
                if st == 1:
                    raise ValueError(f"cyclic class hierarchy at {c.name}")
                state[c.name] = 1
                stack.append((c, 1))
                deps = [c.superclass, *c.interfaces]
                for dep in reversed(deps):
                    if dep in by_name and state.get(dep) != 2:
                        if state.get(dep) == 1:
                            raise ValueError(f"cyclic class hierarchy at {dep}")
                        stack.append((by_name[dep], 0))
            else:
                state[c.name] = 2
                out.append(c)
    return out


class _DexWriter:
    def __init__(self, classes: list[ClassDef]):
        self.classes = _order_classes(list(classes))

    # -- collection ---------------------------------------------------------
    def _collect(self) -> None:
        strings: set[str] = set()
        types: set[str] = set()
        protos: set[tuple[str, tuple[str, ...]]] = set()
        methods: set[tuple[str, str, tuple[str, tuple[str, ...]]]] = set()

        checked: set[str] = {"V"}

        def check(t: str) -> None:
            if t not in checked:
                _check_type(t)
                checked.add(t)

        def add_method(cls: str, name: str, params, ret: str):
            check(cls)
            check(ret)
            ps = tuple(params)
            for p in ps:
                check(p)
            proto = (ret, ps)
            if proto not in protos:
                protos.add(proto)
                types.add(ret)
                types.update(ps)
                strings.add(_shorty(ret, ps))
            types.add(cls)
            strings.add(name)
            methods.add((cls, name, proto))

        for c in self.classes:
            types.add(_check_type(c.name))
            if c.superclass is not None:
                types.add(_check_type(c.superclass))
            for i in c.interfaces:
                types.add(_check_type(i))
            if c.source_file is not None:
                strings.add(c.source_file)
            seen = set()
            for m in c.methods:
                key = (m.name, tuple(m.params), m.ret)
                if key in seen:
                    raise ValueError(f"duplicate method {c.name}->{m.name}")
                seen.add(key)
                add_method(c.name, m.name, m.params, m.ret)
                strings.update(m.strings)
                if "fill-array-data" in m.payload_kinds():
                    types.add("[I")
                for inv in m.invokes:
                    if inv.kind not in INVOKE_OPCODES:
                        raise ValueError(f"unknown invoke kind {inv.kind!r}")
                    add_method(inv.cls, inv.name, inv.params, inv.ret)
                    strings.update(inv.string_args.values())
        strings.update(types)

        self.string_list = sorted(strings, key=utf16_sort_key)
        self.sidx = {s: i for i, s in enumerate(self.string_list)}
        sidx = self.sidx
        self.type_list = sorted(types, key=sidx.__getitem__)
        self.tidx = {t: i for i, t in enumerate(self.type_list)}
        tidx = self.tidx
        self.proto_list = sorted(protos, key=lambda p: (tidx[p[0]], tuple(tidx[x] for x in p[1])))
        self.pidx = {p: i for i, p in enumerate(self.proto_list)}
        pidx = self.pidx
        self.method_list = sorted(methods, key=lambda m: (tidx[m[0]], sidx[m[1]], pidx[m[2]]))
        self.midx = {m: i for i, m in enumerate(self.method_list)}
        if len(self.type_list) > 0x10000:
            raise ValueError(f"too many type ids for one dex: {len(self.type_list)}")
        if len(self.proto_list) > 0x10000:
            raise ValueError(f"too many proto ids for one dex: {len(self.proto_list)}")
        if len(self.method_list) > 0x10000:
            raise ValueError(f"too many method ids for one dex: {len(self.method_list)}")

    # -- bytecode -----------------------------------------------------------
    def _const_string(self, reg: int, s: str) -> list[int]:
        idx = self.sidx[s]
        if idx > 0xFFFF:
            return [OP_CONST_STRING_JUMBO | (reg << 8), idx & 0xFFFF, idx >> 16]
        return [OP_CONST_STRING | (reg << 8), idx]

    @staticmethod
    def _zero(reg: int, t: str) -> list[int]:
        if _width(t) == 2:
            return [OP_CONST_WIDE_16 | (reg << 8), 0]
        if reg < 16:
            return [OP_CONST_4 | (reg << 8)]  # literal B = 0
        return [OP_CONST_16 | (reg << 8), 0]

    def _assemble(self, cls_name: str, m: Method) -> bytes:
        ins = (0 if m.is_static else 1) + sum(_width(p) for p in m.params)
        payloads = m.payload_kinds()

        # locals needed (v0 .. v{need-1}); ins live above them
        need = 1 if m.strings else 0
        outs = 0
        inv_args = [inv.arg_types for inv in m.invokes]
        for inv, args in zip(m.invokes, inv_args, strict=True):
            w = sum(_width(t) for t in args)
            outs = max(outs, w)
            need = max(need, w)
            if inv.ret != "V":
                need = max(need, _width(inv.ret))
        if m.ret != "V":
            need = max(need, _width(m.ret))
        if payloads:
            need = max(need, 2)
        if need > 255:
            raise ValueError(f"{cls_name}->{m.name}: too many argument registers")
        this_reg = need  # first in-register is `this` for instance methods

        units: list[int] = []
        for s in m.strings:
            units += self._const_string(0, s)

        for inv, args in zip(m.invokes, inv_args, strict=True):
            nargs = len(args)
            for pos in inv.string_args:
                if not 0 <= pos < nargs:
                    raise ValueError(f"{inv.signature}: string arg position {pos} out of range")
                if not _is_ref(args[pos]):
                    raise ValueError(f"{inv.signature}: position {pos} is not a reference type")
            reg = 0
            for pos, t in enumerate(args):
                if pos in inv.string_args:
                    units += self._const_string(reg, inv.string_args[pos])
                elif pos == 0 and inv.receiver_this and not inv.static:
                    if m.is_static:
                        raise ValueError(f"{cls_name}->{m.name}: receiver_this in a static method")
                    units += [OP_MOVE_OBJECT_FROM16 | (reg << 8), this_reg]
                else:
                    units += self._zero(reg, t)
                reg += _width(t)
            words = reg
            mi = self.midx[(inv.cls, inv.name, (inv.ret, tuple(inv.params)))]
            op35, op3rc = INVOKE_OPCODES[inv.kind]
            if inv.range or words > 5:
                # invoke-kind/range {v0 .. v(words-1)}, meth@BBBB   (3rc: AA|op BBBB CCCC)
                units += [(words << 8) | op3rc, mi, 0]
            else:
                # invoke-kind {vC, vD, vE, vF, vG}, meth@BBBB       (35c: A|G|op BBBB F|E|D|C)
                r = list(range(words)) + [0] * (5 - words)
                c, d, e, f, g = r
                units += [(words << 12) | (g << 8) | op35, mi, c | (d << 4) | (e << 8) | (f << 12)]
            if inv.ret != "V":
                if _width(inv.ret) == 2:
                    units.append(OP_MOVE_RESULT_WIDE)
                elif _is_ref(inv.ret):
                    units.append(OP_MOVE_RESULT_OBJECT)
                else:
                    units.append(OP_MOVE_RESULT)

        fixups: list[tuple[str, int]] = []  # (payload kind, address of the referring instruction)
        for kind in payloads:
            if kind in ("packed-switch", "sparse-switch"):
                units.append(OP_CONST_4 | (0 << 8) | (2 << 12))        # const/4 v0, #2
                fixups.append((kind, len(units)))
                op = OP_PACKED_SWITCH if kind == "packed-switch" else OP_SPARSE_SWITCH
                units += [op | (0 << 8), 0, 0]                          # switch v0, +payload
            else:
                units.append(OP_CONST_4 | (1 << 8) | (3 << 12))        # const/4 v1, #3
                units += [OP_NEW_ARRAY | (0 << 8) | (1 << 12), self.tidx["[I"]]  # new-array v0, v1, [I
                fixups.append((kind, len(units)))
                units += [OP_FILL_ARRAY_DATA | (0 << 8), 0, 0]          # fill-array-data v0, +payload

        # return
        if m.ret == "V":
            units.append(OP_RETURN_VOID)
        elif _width(m.ret) == 2:
            units += [OP_CONST_WIDE_16, 0, OP_RETURN_WIDE]
        else:
            units += [OP_CONST_4, OP_RETURN_OBJECT if _is_ref(m.ret) else OP_RETURN]

        for kind, addr in fixups:
            if len(units) % 2:
                units.append(OP_NOP)  # payloads must be 4-byte aligned
            rel = len(units) - addr
            units[addr + 1] = rel & 0xFFFF
            units[addr + 2] = (rel >> 16) & 0xFFFF
            if kind == "packed-switch":
                # every case jumps to the instruction right after the switch (addr + 3)
                keys_first, n = 1, 3
                units += [PACKED_SWITCH_IDENT, n, keys_first & 0xFFFF, keys_first >> 16]
                units += [3, 0] * n
            elif kind == "sparse-switch":
                keys = [-5, 2, 1000]
                units += [SPARSE_SWITCH_IDENT, len(keys)]
                for k in keys:
                    k &= 0xFFFFFFFF
                    units += [k & 0xFFFF, k >> 16]
                units += [3, 0] * len(keys)
            else:
                data = struct.pack("<3i", 7, 8, 9)  # element_width 4, size 3
                units += [FILL_ARRAY_DATA_IDENT, 4, 3, 0]
                units += list(struct.unpack(f"<{len(data) // 2}H", data))

        header = struct.pack("<4H2I", need + ins, ins, outs, 0, 0, len(units))
        return header + _units_to_bytes(units)

    # -- layout -------------------------------------------------------------
    def build(self) -> bytes:
        self._collect()
        sidx, tidx, pidx, midx = self.sidx, self.tidx, self.pidx, self.midx
        n_s, n_t, n_p = len(self.string_list), len(self.type_list), len(self.proto_list)
        n_m, n_c = len(self.method_list), len(self.classes)

        off = HEADER_SIZE
        string_ids_off = off
        off += 4 * n_s
        type_ids_off = off
        off += 4 * n_t
        proto_ids_off = off
        off += 12 * n_p
        method_ids_off = off
        off += 8 * n_m
        class_defs_off = off
        off += 32 * n_c
        data_off = off

        data = bytearray()
        map_items: list[tuple[int, int, int]] = []

        def pos() -> int:
            return data_off + len(data)

        # type_lists (proto parameters, class interfaces), deduplicated
        tl_off: dict[tuple[int, ...], int] = {}
        first = None
        wanted = [tuple(tidx[t] for t in p[1]) for p in self.proto_list]
        wanted += [tuple(tidx[t] for t in c.interfaces) for c in self.classes]
        for tl in wanted:
            if not tl or tl in tl_off:
                continue
            _align(data)
            tl_off[tl] = pos()
            if first is None:
                first = pos()
            data += struct.pack(f"<I{len(tl)}H", len(tl), *tl)
        if tl_off:
            map_items.append((TYPE_TYPE_LIST, len(tl_off), first))

        # code items
        code_off: dict[tuple[int, int], int] = {}
        first = None
        count = 0
        per_class: list[tuple[list, list]] = []
        for ci, c in enumerate(self.classes):
            direct, virtual = [], []
            for mi_local, m in enumerate(c.methods):
                idx = midx[(c.name, m.name, (m.ret, tuple(m.params)))]
                acc = m.access_flags()
                is_direct = bool(acc & (ACC_STATIC | ACC_PRIVATE | ACC_CONSTRUCTOR))
                (direct if is_direct else virtual).append((idx, acc, mi_local))
            direct.sort()
            virtual.sort()
            per_class.append((direct, virtual))
            for _idx, _acc, mi_local in direct + virtual:
                m = c.methods[mi_local]
                if not m.has_code():
                    continue
                _align(data)
                if first is None:
                    first = pos()
                code_off[(ci, mi_local)] = pos()
                data += self._assemble(c.name, m)
                count += 1
        if count:
            map_items.append((TYPE_CODE_ITEM, count, first))

        # string data
        string_data_offs = []
        first = pos()
        for s in self.string_list:
            string_data_offs.append(pos())
            enc, n16 = mutf8(s)
            data += uleb128(n16)
            data += enc
            data.append(0)
        if n_s:
            map_items.append((TYPE_STRING_DATA_ITEM, n_s, first))

        # class data
        class_data_off: list[int] = []
        first = None
        count = 0
        for ci in range(len(self.classes)):
            direct, virtual = per_class[ci]
            if not direct and not virtual:
                class_data_off.append(0)
                continue
            if first is None:
                first = pos()
            class_data_off.append(pos())
            count += 1
            data += uleb128(0) + uleb128(0) + uleb128(len(direct)) + uleb128(len(virtual))
            for group in (direct, virtual):
                prev = 0
                for idx, acc, mi_local in group:
                    data += uleb128(idx - prev)
                    data += uleb128(acc)
                    data += uleb128(code_off.get((ci, mi_local), 0))
                    prev = idx
        if count:
            map_items.append((TYPE_CLASS_DATA_ITEM, count, first))

        # map list (last item of the file)
        _align(data)
        map_off = pos()
        items = [(TYPE_HEADER_ITEM, 1, 0)]
        if n_s:
            items.append((TYPE_STRING_ID_ITEM, n_s, string_ids_off))
        if n_t:
            items.append((TYPE_TYPE_ID_ITEM, n_t, type_ids_off))
        if n_p:
            items.append((TYPE_PROTO_ID_ITEM, n_p, proto_ids_off))
        if n_m:
            items.append((TYPE_METHOD_ID_ITEM, n_m, method_ids_off))
        if n_c:
            items.append((TYPE_CLASS_DEF_ITEM, n_c, class_defs_off))
        items += map_items
        items.append((TYPE_MAP_LIST, 1, map_off))
        items.sort(key=lambda it: it[2])
        data += struct.pack("<I", len(items))
        for t, size, o in items:
            data += struct.pack("<HHII", t, 0, size, o)

        # id sections
        ids = bytearray()
        ids += struct.pack(f"<{n_s}I", *string_data_offs)
        ids += struct.pack(f"<{n_t}I", *(sidx[t] for t in self.type_list))
        for ret, params in self.proto_list:
            tl = tuple(tidx[t] for t in params)
            ids += struct.pack("<III", sidx[_shorty(ret, params)], tidx[ret], tl_off.get(tl, 0) if tl else 0)
        for cls, name, proto in self.method_list:
            ids += struct.pack("<HHI", tidx[cls], pidx[proto], sidx[name])
        for ci, c in enumerate(self.classes):
            itl = tuple(tidx[t] for t in c.interfaces)
            ids += struct.pack(
                "<8I",
                tidx[c.name],
                c.access,
                NO_INDEX if c.superclass is None else tidx[c.superclass],
                tl_off[itl] if itl else 0,
                NO_INDEX if c.source_file is None else sidx[c.source_file],
                0,
                class_data_off[ci],
                0,
            )
        assert HEADER_SIZE + len(ids) == data_off

        file_size = data_off + len(data)
        header = struct.pack(
            "<8sI20s20I",
            DEX_MAGIC, 0, b"\x00" * 20,
            file_size, HEADER_SIZE, ENDIAN_CONSTANT,
            0, 0,  # link
            map_off,
            n_s, string_ids_off if n_s else 0,
            n_t, type_ids_off if n_t else 0,
            n_p, proto_ids_off if n_p else 0,
            0, 0,  # field ids
            n_m, method_ids_off if n_m else 0,
            n_c, class_defs_off if n_c else 0,
            len(data), data_off,
        )
        out = bytearray(header)
        out += ids
        out += data
        # signature: SHA-1 of everything after the signature field; checksum:
        # adler32 of everything after the checksum field (incl. signature)
        out[12:32] = hashlib.sha1(memoryview(out)[32:]).digest()
        out[8:12] = struct.pack("<I", zlib.adler32(memoryview(out)[12:]))
        return bytes(out)


def build_dex(classes: list[ClassDef]) -> bytes:
    """Serialize ``classes`` into one ``dex\\n035`` file."""
    return _DexWriter(classes).build()


# ===========================================================================
# Binary XML (AXML)
# ===========================================================================

RES_NULL_TYPE = 0x0000
RES_STRING_POOL_TYPE = 0x0001
RES_TABLE_TYPE = 0x0002
RES_XML_TYPE = 0x0003
RES_XML_START_NAMESPACE_TYPE = 0x0100
RES_XML_END_NAMESPACE_TYPE = 0x0101
RES_XML_START_ELEMENT_TYPE = 0x0102
RES_XML_END_ELEMENT_TYPE = 0x0103
RES_XML_CDATA_TYPE = 0x0104
RES_XML_RESOURCE_MAP_TYPE = 0x0180
RES_TABLE_PACKAGE_TYPE = 0x0200
RES_TABLE_TYPE_TYPE = 0x0201
RES_TABLE_TYPE_SPEC_TYPE = 0x0202

SORTED_FLAG = 1 << 0
UTF8_FLAG = 1 << 8

TYPE_NULL = 0x00
TYPE_REFERENCE = 0x01
TYPE_ATTRIBUTE = 0x02
TYPE_STRING = 0x03
TYPE_FLOAT = 0x04
TYPE_DIMENSION = 0x05
TYPE_FRACTION = 0x06
TYPE_INT_DEC = 0x10
TYPE_INT_HEX = 0x11
TYPE_INT_BOOLEAN = 0x12
TYPE_INT_COLOR_ARGB8 = 0x1C

ANDROID_NS = "http://schemas.android.com/apk/res/android"
DEFAULT_NAMESPACES = {
    "android": ANDROID_NS,
    "app": "http://schemas.android.com/apk/res-auto",
    "tools": "http://schemas.android.com/tools",
}

# android.R.attr values (public, stable framework resource ids)
ANDROID_ATTR_IDS: dict[str, int] = {
    "theme": 0x01010000,
    "label": 0x01010001,
    "icon": 0x01010002,
    "name": 0x01010003,
    "manageSpaceActivity": 0x01010004,
    "allowClearUserData": 0x01010005,
    "permission": 0x01010006,
    "readPermission": 0x01010007,
    "writePermission": 0x01010008,
    "protectionLevel": 0x01010009,
    "permissionGroup": 0x0101000A,
    "sharedUserId": 0x0101000B,
    "hasCode": 0x0101000C,
    "persistent": 0x0101000D,
    "enabled": 0x0101000E,
    "debuggable": 0x0101000F,
    "exported": 0x01010010,
    "process": 0x01010011,
    "taskAffinity": 0x01010012,
    "multiprocess": 0x01010013,
    "finishOnTaskLaunch": 0x01010014,
    "clearTaskOnLaunch": 0x01010015,
    "stateNotNeeded": 0x01010016,
    "excludeFromRecents": 0x01010017,
    "authorities": 0x01010018,
    "syncable": 0x01010019,
    "initOrder": 0x0101001A,
    "grantUriPermissions": 0x0101001B,
    "priority": 0x0101001C,
    "launchMode": 0x0101001D,
    "screenOrientation": 0x0101001E,
    "configChanges": 0x0101001F,
    "description": 0x01010020,
    "value": 0x01010024,
    "resource": 0x01010025,
    "mimeType": 0x01010026,
    "scheme": 0x01010027,
    "host": 0x01010028,
    "port": 0x01010029,
    "path": 0x0101002A,
    "pathPrefix": 0x0101002B,
    "pathPattern": 0x0101002C,
    "order": 0x010101EA,
    "targetActivity": 0x01010202,
    "alwaysRetainTaskState": 0x01010203,
    "allowTaskReparenting": 0x01010204,
    "minSdkVersion": 0x0101020C,
    "versionCode": 0x0101021B,
    "versionName": 0x0101021C,
    "windowSoftInputMode": 0x0101022B,
    "noHistory": 0x0101022D,
    "sharedUserLabel": 0x01010261,
    "targetSdkVersion": 0x01010270,
    "maxSdkVersion": 0x01010271,
    "testOnly": 0x01010272,
    "backupAgent": 0x0101027F,
    "allowBackup": 0x01010280,
    "glEsVersion": 0x01010281,
    "required": 0x0101028E,
    "killAfterRestore": 0x0101029C,
    "installLocation": 0x010102B7,
    "vmSafeMode": 0x010102B8,
    "restoreAnyVersion": 0x010102BA,
    "logo": 0x010102BE,
    "hardwareAccelerated": 0x010102D3,
    "largeHeap": 0x0101035A,
    "uiOptions": 0x01010398,
    "isolatedProcess": 0x010103A9,
    "supportsRtl": 0x010103AF,
    "ssp": 0x010103E3,
    "sspPrefix": 0x010103E4,
    "sspPattern": 0x010103E5,
    "banner": 0x010103F2,
    "extractNativeLibs": 0x010104EA,
    "fullBackupContent": 0x010104EB,
    "usesCleartextTraffic": 0x010104EC,
    "autoVerify": 0x010104EE,
    "resizeableActivity": 0x010104F6,
    "directBootAware": 0x01010505,
    "networkSecurityConfig": 0x01010527,
    "roundIcon": 0x0101052C,
    "compileSdkVersion": 0x01010572,
    "compileSdkVersionCodename": 0x01010573,
    "appComponentFactory": 0x0101057A,
    "foregroundServiceType": 0x01010599,
    "requestLegacyExternalStorage": 0x01010603,
    "dataExtractionRules": 0x0101063E,
    "usesPermissionFlags": 0x01010644,
}

PROTECTION_LEVELS = {"normal": 0x0, "dangerous": 0x1, "signature": 0x2, "signatureOrSystem": 0x3}


@dataclass(frozen=True)
class TypedValue:
    """An explicit ``Res_value`` (``type`` is a ``TYPE_*`` constant).

    ``raw`` optionally keeps a raw string (ResXMLTree_attribute.rawValue).
    """

    type: int
    data: int
    raw: str | None = None


@dataclass
class Element:
    """An XML element for :func:`build_axml`.

    Attribute keys are ``"prefix:name"`` (``android:`` attributes get their
    framework resource id in the resource map) or bare ``"name"``.  Values:
    ``bool`` -> TYPE_INT_BOOLEAN (0xFFFFFFFF/0), ``int`` -> TYPE_INT_DEC,
    ``float`` -> TYPE_FLOAT, ``"@0x7f010000"`` -> TYPE_REFERENCE,
    ``"?0x7f010000"`` -> TYPE_ATTRIBUTE, any other ``str`` -> TYPE_STRING,
    :class:`TypedValue` -> as given.
    """

    tag: str
    attrs: dict[str, object] = field(default_factory=dict)
    children: list[Element] = field(default_factory=list)
    text: str | None = None


_REF_RE = re.compile(r"([@?])0x([0-9a-fA-F]{1,8})")


def _typed_value(value: object, attr: str | None = None) -> tuple[str | None, int, int]:
    """-> (raw string or None, dataType, data).  For strings data is filled later.

    ``attr`` is the full attribute key; ``android:protectionLevel`` accepts the
    symbolic level names (written as TYPE_INT_HEX flags, as aapt does).
    """
    if attr == "android:protectionLevel" and isinstance(value, str) and value in PROTECTION_LEVELS:
        return None, TYPE_INT_HEX, PROTECTION_LEVELS[value]
    if isinstance(value, TypedValue):
        return value.raw, value.type, value.data & 0xFFFFFFFF
    if isinstance(value, bool):
        return None, TYPE_INT_BOOLEAN, 0xFFFFFFFF if value else 0
    if isinstance(value, int):
        return None, TYPE_INT_DEC, value & 0xFFFFFFFF
    if isinstance(value, float):
        return None, TYPE_FLOAT, struct.unpack("<I", struct.pack("<f", value))[0]
    if isinstance(value, str):
        m = _REF_RE.fullmatch(value)
        if m:
            return None, TYPE_REFERENCE if m.group(1) == "@" else TYPE_ATTRIBUTE, int(m.group(2), 16)
        return value, TYPE_STRING, -1
    raise TypeError(f"unsupported attribute value {value!r}")


def _encode_pool_string(s: str, utf8: bool) -> bytes:
    if utf8:
        n16 = len(s.encode("utf-16-le", "surrogatepass")) // 2
        b = s.encode("utf-8", "surrogatepass")
        out = bytearray()
        for n in (n16, len(b)):
            if n > 0x7FFF:
                raise ValueError("string too long for a UTF-8 string pool")
            if n > 0x7F:
                out += bytes((0x80 | (n >> 8), n & 0xFF))
            else:
                out.append(n)
        out += b
        out.append(0)
        return bytes(out)
    b = s.encode("utf-16-le", "surrogatepass")
    n = len(b) // 2
    if n > 0x7FFF:
        head = struct.pack("<HH", 0x8000 | (n >> 16), n & 0xFFFF)
    else:
        head = struct.pack("<H", n)
    return head + b + b"\x00\x00"


def string_pool(strings: list[str], utf8: bool, sorted_flag: bool = False) -> bytes:
    """A ResStringPool chunk (no styles)."""
    offsets = []
    blob = bytearray()
    for s in strings:
        offsets.append(len(blob))
        blob += _encode_pool_string(s, utf8)
    _align(blob)
    n = len(strings)
    header_size = 28
    strings_start = header_size + 4 * n if n else 0
    flags = (UTF8_FLAG if utf8 else 0) | (SORTED_FLAG if sorted_flag else 0)
    size = header_size + 4 * n + len(blob)
    return (struct.pack("<HHIIIIII", RES_STRING_POOL_TYPE, header_size, size, n, 0, flags, strings_start, 0)
            + struct.pack(f"<{n}I", *offsets) + bytes(blob))


class _Pool:
    """String pool with a leading resource-mapped region for attribute names."""

    def __init__(self):
        self.res_names: list[str] = []
        self.res_ids: list[int] = []
        self.res_index: dict[str, int] = {}
        self.other: dict[str, int] = {}

    def res(self, name: str, rid: int) -> None:
        if name not in self.res_index:
            self.res_index[name] = len(self.res_names)
            self.res_names.append(name)
            self.res_ids.append(rid)

    def add(self, s: str) -> None:
        self.other.setdefault(s, len(self.other))

    def finalize(self) -> None:
        base = len(self.res_names)
        self.other = {s: base + i for s, i in self.other.items()}

    def strings(self) -> list[str]:
        return self.res_names + list(self.other)


def build_axml(root: Element, utf8: bool = False, namespaces: dict[str, str] | None = None,
               attr_ids: dict[str, int] | None = None) -> bytes:
    """Serialize ``root`` as an Android binary XML document (RES_XML_TYPE).

    ``utf8`` selects the string pool encoding (default UTF-16, as aapt).  The
    ``android`` namespace is always declared on the root; other prefixes from
    ``namespaces`` (defaults: ``app``, ``tools``) are declared when used.
    ``attr_ids`` extends/overrides :data:`ANDROID_ATTR_IDS`.  Attributes are
    written with the resource-id attributes first (ascending id), then the
    others in their given order; string values keep their raw value.
    """
    nsmap = dict(DEFAULT_NAMESPACES)
    if namespaces:
        nsmap.update(namespaces)
    ids = dict(ANDROID_ATTR_IDS)
    if attr_ids:
        ids.update(attr_ids)

    pool = _Pool()
    used_prefixes = ["android"]

    def split(key: str) -> tuple[str | None, str]:
        if ":" in key:
            prefix, name = key.split(":", 1)
            if prefix not in nsmap:
                raise ValueError(f"unknown namespace prefix {prefix!r}")
            return prefix, name
        return None, key

    # pass 1: resource-mapped attribute names first (ascending id), then the rest
    def walk(el: Element):
        yield el
        for ch in el.children:
            yield from walk(ch)

    elements = list(walk(root))
    res_attrs = set()
    for el in elements:
        for key in el.attrs:
            prefix, name = split(key)
            if prefix == "android":
                if name not in ids:
                    raise ValueError(f"no resource id known for android:{name} (pass attr_ids=)")
                res_attrs.add(name)
            elif prefix and prefix not in used_prefixes:
                used_prefixes.append(prefix)
    for name in sorted(res_attrs, key=lambda n: ids[n]):
        pool.res(name, ids[name])
    for prefix in used_prefixes:
        pool.add(prefix)
        pool.add(nsmap[prefix])
    for el in elements:
        pool.add(el.tag)
        for key, value in el.attrs.items():
            prefix, name = split(key)
            if prefix != "android":
                pool.add(name)
            raw, _, _ = _typed_value(value, key)
            if raw is not None:
                pool.add(raw)
        if el.text is not None:
            pool.add(el.text)
    pool.finalize()

    def sref(s: str | None) -> int:
        return NO_INDEX if s is None else pool.other[s]

    nodes = bytearray()
    line = 1

    def node_header(chunk_type: int, size: int, lineno: int) -> bytes:
        return struct.pack("<HHIII", chunk_type, 16, size, lineno, NO_INDEX)

    for prefix in used_prefixes:
        nodes += node_header(RES_XML_START_NAMESPACE_TYPE, 24, line)
        nodes += struct.pack("<II", sref(prefix), sref(nsmap[prefix]))

    def emit(el: Element):
        nonlocal line
        line += 1
        my_line = line
        attrs = []
        for key, value in el.attrs.items():
            prefix, name = split(key)
            raw, dtype, data = _typed_value(value, key)
            if dtype == TYPE_STRING:
                data = sref(raw)
            if prefix == "android":
                name_idx = pool.res_index[name]
                order = (0, ids[name], 0)
            else:
                name_idx = sref(name)
                order = (1, 0, len(attrs))
            attrs.append((order, sref(nsmap[prefix]) if prefix else NO_INDEX, name_idx,
                          sref(raw) if raw is not None else NO_INDEX, dtype, data, prefix, name))
        attrs.sort(key=lambda a: a[0])
        special = {"id": 0, "class": 0, "style": 0}
        for i, a in enumerate(attrs):
            if a[6] is None and a[7] in special and not special[a[7]]:
                special[a[7]] = i + 1
        body = struct.pack("<IIHHHHHH", NO_INDEX, sref(el.tag), 20, 20, len(attrs),
                           special["id"], special["class"], special["style"])
        for _, ns, name_idx, raw_idx, dtype, data, _, _ in attrs:
            body += struct.pack("<IIIHBBI", ns, name_idx, raw_idx, 8, 0, dtype, data)
        nodes.extend(node_header(RES_XML_START_ELEMENT_TYPE, 16 + len(body), my_line))
        nodes.extend(body)
        if el.text is not None:
            nodes.extend(node_header(RES_XML_CDATA_TYPE, 28, my_line))
            nodes.extend(struct.pack("<IHBBI", sref(el.text), 8, 0, TYPE_NULL, 0))
        for ch in el.children:
            emit(ch)
        line += 1
        nodes.extend(node_header(RES_XML_END_ELEMENT_TYPE, 24, line))
        nodes.extend(struct.pack("<II", NO_INDEX, sref(el.tag)))

    emit(root)
    line += 1
    for prefix in reversed(used_prefixes):
        nodes += node_header(RES_XML_END_NAMESPACE_TYPE, 24, line)
        nodes += struct.pack("<II", sref(prefix), sref(nsmap[prefix]))

    pool_chunk = string_pool(pool.strings(), utf8)
    n_ids = len(pool.res_ids)
    resmap = struct.pack(f"<HHI{n_ids}I", RES_XML_RESOURCE_MAP_TYPE, 8, 8 + 4 * n_ids, *pool.res_ids)
    body = pool_chunk + resmap + bytes(nodes)
    return struct.pack("<HHI", RES_XML_TYPE, 8, 8 + len(body)) + body


# ===========================================================================
# AndroidManifest.xml
# ===========================================================================


def _android_keys(attrs: dict | None) -> dict[str, object]:
    """Accept ``"debuggable"`` as shorthand for ``"android:debuggable"`` (known attributes only)."""
    return {(f"android:{k}" if ":" not in k and k in ANDROID_ATTR_IDS else k): v
            for k, v in (attrs or {}).items()}


@dataclass
class IntentFilter:
    actions: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    data: list[dict[str, object]] = field(default_factory=list)  # {"scheme": "https", "host": ...}
    priority: int | None = None
    attrs: dict[str, object] = field(default_factory=dict)       # e.g. {"android:autoVerify": True}

    def element(self) -> Element:
        attrs = _android_keys(self.attrs)
        if self.priority is not None:
            attrs["android:priority"] = self.priority
        el = Element("intent-filter", attrs)
        el.children += [Element("action", {"android:name": a}) for a in self.actions]
        el.children += [Element("category", {"android:name": c}) for c in self.categories]
        for d in self.data:
            el.children.append(Element("data", {(k if ":" in k else f"android:{k}"): v
                                                for k, v in d.items()}))
        return el


def _meta_data_element(name: str, value: object) -> Element:
    """``<meta-data>``: ``"@0x..."`` strings become ``android:resource``, everything else
    ``android:value``."""
    if isinstance(value, str) and value.startswith("@0x"):
        return Element("meta-data", {"android:name": name, "android:resource": value})
    return Element("meta-data", {"android:name": name, "android:value": value})


@dataclass
class Component:
    kind: str                      # activity | activity-alias | service | receiver | provider
    name: str
    exported: bool | None = None
    enabled: bool | None = None
    process: str | None = None
    permission: str | None = None
    authorities: str | None = None
    intent_filters: list[IntentFilter] = field(default_factory=list)
    meta_data: dict[str, object] = field(default_factory=dict)
    attrs: dict[str, object] = field(default_factory=dict)  # any extra "android:..." attributes

    def element(self) -> Element:
        attrs: dict[str, object] = {"android:name": self.name}
        for key, val in (("exported", self.exported), ("enabled", self.enabled), ("process", self.process),
                         ("permission", self.permission), ("authorities", self.authorities)):
            if val is not None:
                attrs[f"android:{key}"] = val
        attrs.update(_android_keys(self.attrs))
        el = Element(self.kind, attrs)
        el.children += [f.element() for f in self.intent_filters]
        el.children += [_meta_data_element(k, v) for k, v in self.meta_data.items()]
        return el


def _permission_element(tag: str, p) -> Element:
    if isinstance(p, str):
        return Element(tag, {"android:name": p})
    name, max_sdk = p
    attrs: dict[str, object] = {"android:name": name}
    if max_sdk is not None:
        attrs["android:maxSdkVersion"] = max_sdk
    return Element(tag, attrs)


def manifest_element(package: str, version_code: int | None = 1, version_name: str | None = "1.0",
                     min_sdk: int | None = 21, target_sdk: int | None = 30, compile_sdk: int | None = None,
                     label: str | None = "@0x7f010000", permissions: Iterable = (),
                     permissions_sdk23: Iterable = (), app_attrs: dict | None = None,
                     components: Iterable[Component] = (), app_meta_data: dict | None = None,
                     uses_sdk_codename: str | None = None, declared_permissions: Iterable = (),
                     uses_features: Iterable[str] = (), manifest_attrs: dict | None = None,
                     extra_children: Iterable[Element] = (), application: bool = True) -> Element:
    """The ``<manifest>`` element tree used by :func:`build_manifest`."""
    attrs: dict[str, object] = {}
    if version_code is not None:
        attrs["android:versionCode"] = version_code
    if version_name is not None:
        attrs["android:versionName"] = version_name
    if compile_sdk is not None:
        attrs["android:compileSdkVersion"] = compile_sdk
    attrs["package"] = package
    attrs.update(_android_keys(manifest_attrs))
    root = Element("manifest", attrs)

    sdk: dict[str, object] = {}
    if uses_sdk_codename is not None:
        # preview SDK: aapt writes the codename string for both attributes
        sdk["android:minSdkVersion"] = uses_sdk_codename
        sdk["android:targetSdkVersion"] = uses_sdk_codename
    else:
        if min_sdk is not None:
            sdk["android:minSdkVersion"] = min_sdk
        if target_sdk is not None:
            sdk["android:targetSdkVersion"] = target_sdk
    if sdk:
        root.children.append(Element("uses-sdk", sdk))
    root.children += [_permission_element("uses-permission", p) for p in permissions]
    root.children += [_permission_element("uses-permission-sdk-23", p) for p in permissions_sdk23]
    for p in declared_permissions:
        if isinstance(p, str):
            root.children.append(Element("permission", {"android:name": p}))
        else:
            root.children.append(Element("permission",
                                         {"android:name": p[0], "android:protectionLevel": p[1]}))
    root.children += [Element("uses-feature", {"android:name": f}) for f in uses_features]
    root.children += list(extra_children)
    if application:
        app_el: dict[str, object] = {}
        if label is not None:
            app_el["android:label"] = label
        app_el.update(_android_keys(app_attrs))
        app = Element("application", app_el)
        app.children += [_meta_data_element(k, v) for k, v in (app_meta_data or {}).items()]
        app.children += [c.element() for c in components]
        root.children.append(app)
    return root


def build_manifest(package: str, version_code: int | None = 1, version_name: str | None = "1.0",
                   min_sdk: int | None = 21, target_sdk: int | None = 30, compile_sdk: int | None = None,
                   label: str | None = "@0x7f010000", permissions: Iterable = (),
                   permissions_sdk23: Iterable = (), app_attrs: dict | None = None,
                   components: Iterable[Component] = (), app_meta_data: dict | None = None,
                   uses_sdk_codename: str | None = None, utf8: bool = False, **extra) -> bytes:
    """Binary AndroidManifest.xml.

    ``permissions``/``permissions_sdk23`` entries are names or
    ``(name, maxSdkVersion)`` tuples, emitted in order (duplicates kept).
    ``label`` may be ``"@0x7f......"`` (reference) or a plain string.
    ``app_attrs`` keys are attribute names (``"android:debuggable"``; a bare
    known name such as ``"debuggable"`` means the android: one).
    Extra keyword arguments go to :func:`manifest_element`
    (``declared_permissions``, ``uses_features``, ``manifest_attrs``,
    ``extra_children``, ``application``).
    """
    root = manifest_element(package, version_code, version_name, min_sdk, target_sdk, compile_sdk, label,
                            permissions, permissions_sdk23, app_attrs, components, app_meta_data,
                            uses_sdk_codename, **extra)
    return build_axml(root, utf8=utf8)


# ===========================================================================
# resources.arsc
# ===========================================================================

_PLACEHOLDER_TYPES = ("attr", "drawable", "mipmap", "layout", "color", "dimen", "style", "id", "xml", "raw",
                      "anim", "array", "bool", "integer", "menu", "font")
CONFIG_SIZE = 64  # sizeof(ResTable_config) as written by current aapt2
ACONFIGURATION_LOCALE = 0x0004


def _locale_config(locale: str | None) -> bytes:
    cfg = bytearray(CONFIG_SIZE)
    struct.pack_into("<I", cfg, 0, CONFIG_SIZE)
    if locale:
        m = re.fullmatch(r"([a-zA-Z]{2})(?:[-_]r?([a-zA-Z]{2}))?", locale)
        if not m:
            raise ValueError(f"unsupported locale {locale!r} (use 'll' or 'll-CC' / 'll-rCC')")
        cfg[8:10] = m.group(1).lower().encode("ascii")
        if m.group(2):
            cfg[10:12] = m.group(2).upper().encode("ascii")
    return bytes(cfg)


def build_arsc(package: str, strings: dict[str, str], package_id: int = 0x7F,
               localized: dict[str, dict[str, str]] | None = None, type_id: int = 1,
               utf8: bool = True) -> tuple[bytes, dict[str, int]]:
    """A resources.arsc with one package and one ``string`` type.

    Entries get ids ``(package_id << 24) | (type_id << 16) | i`` in the order
    of ``strings``.  ``localized={"zh-CN": {"app_name": "..."}}`` adds one
    ResTable_type per locale with entries for the given keys only (others
    NO_ENTRY).  Type ids below ``type_id`` get placeholder names in the type
    string pool but no chunks.  Returns ``(bytes, {name: resource_id})``.
    """
    if not 1 <= type_id <= len(_PLACEHOLDER_TYPES) + 1:
        raise ValueError("type_id out of supported range")
    localized = localized or {}
    keys = list(strings)
    for loc, vals in localized.items():
        for k in vals:
            if k not in strings:
                raise ValueError(f"localized key {k!r} ({loc}) has no default value")
    key_idx = {k: i for i, k in enumerate(keys)}

    values: dict[str, int] = {}
    for v in list(strings.values()) + [v for vals in localized.values() for v in vals.values()]:
        values.setdefault(v, len(values))
    global_pool = string_pool(list(values), utf8)

    type_names = list(_PLACEHOLDER_TYPES[: type_id - 1]) + ["string"]
    type_pool = string_pool(type_names, utf8)
    key_pool = string_pool(keys, utf8)

    n = len(keys)
    spec_flags = [0] * n
    for vals in localized.values():
        for k in vals:
            spec_flags[key_idx[k]] |= ACONFIGURATION_LOCALE
    spec = struct.pack(f"<HHIBBHI{n}I", RES_TABLE_TYPE_SPEC_TYPE, 16, 16 + 4 * n, type_id, 0, 0, n,
                       *spec_flags)

    def type_chunk(locale: str | None, vals: dict[str, str]) -> bytes:
        offsets = []
        entries = bytearray()
        for k in keys:
            if k in vals:
                offsets.append(len(entries))
                entries += struct.pack("<HHIHBBI", 8, 0, key_idx[k], 8, 0, TYPE_STRING, values[vals[k]])
            else:
                offsets.append(NO_INDEX)
        header_size = 20 + CONFIG_SIZE
        entries_start = header_size + 4 * n
        size = entries_start + len(entries)
        return (struct.pack("<HHIBBHII", RES_TABLE_TYPE_TYPE, header_size, size, type_id, 0, 0, n,
                            entries_start)
                + _locale_config(locale) + struct.pack(f"<{n}I", *offsets) + bytes(entries))

    chunks = spec + type_chunk(None, strings)
    for loc in localized:
        chunks += type_chunk(loc, localized[loc])

    pkg_header_size = 288
    name16 = package.encode("utf-16-le")
    if len(name16) > 254:
        raise ValueError("package name too long")
    name16 = name16.ljust(256, b"\x00")
    type_strings_off = pkg_header_size
    key_strings_off = pkg_header_size + len(type_pool)
    pkg_size = pkg_header_size + len(type_pool) + len(key_pool) + len(chunks)
    pkg = (struct.pack("<HHII", RES_TABLE_PACKAGE_TYPE, pkg_header_size, pkg_size, package_id) + name16
           + struct.pack("<IIIII", type_strings_off, len(type_names), key_strings_off, n, 0)
           + type_pool + key_pool + chunks)
    assert len(pkg) == pkg_size
    body = global_pool + pkg
    table = struct.pack("<HHII", RES_TABLE_TYPE, 12, 12 + len(body), 1) + body
    ids = {k: (package_id << 24) | (type_id << 16) | i for i, k in enumerate(keys)}
    return table, ids


# ===========================================================================
# Zip / APK
# ===========================================================================

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

ELF_MACHINES = {"arm64-v8a": (183, 64, 0), "armeabi-v7a": (40, 32, 0x05000400),
                "armeabi": (40, 32, 0x05000000),
                "x86": (3, 32, 0), "x86_64": (62, 64, 0)}


def dummy_elf(abi: str = "arm64-v8a", payload: bytes = b"") -> bytes:
    """A minimal little-endian ELF shared-object header for ``abi`` + ``payload``.

    Only the ELF header is meaningful (no program/section headers); enough
    for magic/class/machine sniffing.
    """
    machine, bits, flags = ELF_MACHINES[abi]
    ident = b"\x7fELF" + bytes((2 if bits == 64 else 1, 1, 1, 0)) + b"\x00" * 8
    if bits == 64:
        hdr = ident + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, 0, flags, 64, 56, 0, 64, 0, 0)
    else:
        hdr = ident + struct.pack("<HHIIIIIHHHHHH", 3, machine, 1, 0, 0, 0, flags, 52, 32, 0, 40, 0, 0)
    return hdr + payload


def _zipinfo(name: str, compress: bool) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    zi.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    zi.create_system = 0
    zi.external_attr = 0
    return zi


def build_zip(files: dict[str, bytes], compress: bool = True) -> bytes:
    """An in-memory deterministic zip (e.g. ``assets/plugin.jar`` with a classes.dex)."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in files.items():
            zf.writestr(_zipinfo(name, compress), data, compresslevel=6 if compress else None)
    return buf.getvalue()


def _mf_line(text: str) -> bytes:
    """One manifest header line, wrapped at 72 bytes (JAR spec), CRLF-terminated."""
    raw = text.encode("utf-8")
    if len(raw) <= 72:
        return raw + b"\r\n"
    out = bytearray()
    limit = 72
    while raw:
        cut = min(limit, len(raw))
        while cut < len(raw) and cut > 1 and (raw[cut] & 0xC0) == 0x80:
            cut -= 1  # don't split a UTF-8 sequence
        if out:
            out += b" "
        out += raw[:cut] + b"\r\n"
        raw = raw[cut:]
        limit = 71
    return bytes(out)


def _load_test_key(key_pem: Path | None = None, cert_pem: Path | None = None):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(key_pem or TESTKEY_PEM).read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate(Path(cert_pem or TESTCERT_PEM).read_bytes())
    return key, cert


def v1_signature_files(digests: list[tuple[str, bytes]], key_pem: Path | None = None,
                       cert_pem: Path | None = None, name: str = "CERT") -> dict[str, bytes]:
    """JAR signature files for entries ``[(zip_name, sha256_digest), ...]``.

    Returns ``{"META-INF/MANIFEST.MF": ..., "META-INF/CERT.SF": ...,
    "META-INF/CERT.RSA": ...}``; CERT.RSA is a DER PKCS#7 SignedData,
    detached, without signed attributes (hence deterministic), SHA-256/RSA.
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs7

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode("ascii")

    main = _mf_line("Manifest-Version: 1.0") + _mf_line("Created-By: qingdan-apkbuilder") + b"\r\n"
    sections = []
    for entry, digest in digests:
        sec = _mf_line(f"Name: {entry}") + _mf_line(f"SHA-256-Digest: {b64(digest)}") + b"\r\n"
        sections.append((entry, sec))
    mf = main + b"".join(s for _, s in sections)

    sf = bytearray()
    sf += _mf_line("Signature-Version: 1.0")
    sf += _mf_line("Created-By: qingdan-apkbuilder")
    sf += _mf_line(f"SHA-256-Digest-Manifest: {b64(hashlib.sha256(mf).digest())}")
    sf += _mf_line(f"SHA-256-Digest-Manifest-Main-Attributes: {b64(hashlib.sha256(main).digest())}")
    sf += b"\r\n"
    for entry, sec in sections:
        sf += (_mf_line(f"Name: {entry}") + _mf_line(f"SHA-256-Digest: {b64(hashlib.sha256(sec).digest())}")
               + b"\r\n")
    sf = bytes(sf)

    key, cert = _load_test_key(key_pem, cert_pem)
    sig = (pkcs7.PKCS7SignatureBuilder().set_data(sf).add_signer(cert, key, hashes.SHA256())
           .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature,
                                              pkcs7.PKCS7Options.NoAttributes,
                                              pkcs7.PKCS7Options.Binary]))
    return {"META-INF/MANIFEST.MF": mf, f"META-INF/{name}.SF": sf, f"META-INF/{name}.RSA": sig}


class ApkWriter:
    """Streaming deterministic APK writer (entries written as they are added).

    Keeps only SHA-256 digests in memory so huge APKs can be v1-signed.
    """

    def __init__(self, path: str | Path, compress: bool = True, compresslevel: int = 6):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.compress = compress
        self.compresslevel = compresslevel
        self._zf = zipfile.ZipFile(self.path, "w")
        self._digests: list[tuple[str, bytes]] = []
        self._names: set[str] = set()

    def add(self, name: str, data: bytes, compress: bool | None = None) -> None:
        if name in self._names:
            raise ValueError(f"duplicate zip entry {name}")
        self._names.add(name)
        comp = self.compress if compress is None else compress
        self._zf.writestr(_zipinfo(name, comp), data, compresslevel=self.compresslevel if comp else None)
        self._digests.append((name, hashlib.sha256(data).digest()))

    def close(self, sign: bool = False, key_pem: Path | None = None, cert_pem: Path | None = None) -> Path:
        if sign:
            for name, data in v1_signature_files(self._digests, key_pem, cert_pem).items():
                self._zf.writestr(_zipinfo(name, self.compress), data,
                                  compresslevel=self.compresslevel if self.compress else None)
        self._zf.close()
        return self.path


def dex_name(i: int) -> str:
    """0 -> classes.dex, 1 -> classes2.dex, ..."""
    return "classes.dex" if i == 0 else f"classes{i + 1}.dex"


def build_apk(path: str | Path, manifest: bytes, dexes: Iterable[bytes] | None = None,
              files: dict[str, bytes] | None = None, arsc: bytes | None = None, compress: bool = True,
              sign: bool = False, store_arsc: bool = True, key_pem: Path | None = None,
              cert_pem: Path | None = None) -> Path:
    """Write an APK: AndroidManifest.xml, classes.dex, classes2.dex, ...,
    resources.arsc (stored uncompressed unless ``store_arsc=False``, as
    Android R+ requires), then ``files`` in the given order, then (``sign``)
    the v1 signature files under META-INF/.  ``compress`` selects deflate
    vs stored for everything else."""
    w = ApkWriter(path, compress=compress)
    w.add("AndroidManifest.xml", manifest)
    for i, d in enumerate(dexes or ()):
        w.add(dex_name(i), d)
    if arsc is not None:
        w.add("resources.arsc", arsc, compress=False if store_arsc else None)
    for name, data in (files or {}).items():
        w.add(name, data)
    return w.close(sign=sign, key_pem=key_pem, cert_pem=cert_pem)


# ===========================================================================
# Large synthetic app
# ===========================================================================

_S = "Ljava/lang/String;"
_CTX = "Landroid/content/Context;"
_OBJ = "Ljava/lang/Object;"

# (kind, signature, {position: string generator key})
LARGE_APP_APIS: list[tuple[str, str, dict[int, str]]] = [
    ("virtual", "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;", {}),
    ("virtual", "Landroid/telephony/TelephonyManager;->getSubscriberId()Ljava/lang/String;", {}),
    ("virtual", "Landroid/telephony/TelephonyManager;->getLine1Number()Ljava/lang/String;", {}),
    ("static",
     "Landroid/provider/Settings$Secure;->"
     "getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;", {1: "android_id"}),
    ("virtual", "Landroid/net/wifi/WifiInfo;->getMacAddress()Ljava/lang/String;", {}),
    ("virtual", "Landroid/net/wifi/WifiInfo;->getSSID()Ljava/lang/String;", {}),
    ("virtual",
     "Landroid/location/LocationManager;->"
     "getLastKnownLocation(Ljava/lang/String;)Landroid/location/Location;", {1: "provider"}),
    ("virtual", "Landroid/content/pm/PackageManager;->getInstalledPackages(I)Ljava/util/List;", {}),
    ("virtual", "Landroid/content/ClipboardManager;->getPrimaryClip()Landroid/content/ClipData;", {}),
    ("virtual",
     "Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;", {1: "service"}),
    ("virtual",
     "Landroid/content/Context;->startService(Landroid/content/Intent;)Landroid/content/ComponentName;", {}),
    ("virtual",
     "Landroid/content/Context;->"
     "getSharedPreferences(Ljava/lang/String;I)Landroid/content/SharedPreferences;", {1: "prefs"}),
    ("interface",
     "Landroid/content/SharedPreferences;->getString(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;",
     {1: "key"}),
    ("virtual",
     "Landroid/content/Intent;->setClassName(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;",
     {1: "pkg", 2: "cls"}),
    ("virtual",
     "Landroid/content/Intent;->setAction(Ljava/lang/String;)Landroid/content/Intent;", {1: "action"}),
    ("static", "Landroid/util/Log;->d(Ljava/lang/String;Ljava/lang/String;)I", {0: "tag", 1: "msg"}),
    ("static", "Landroid/util/Log;->e(Ljava/lang/String;Ljava/lang/String;)I", {0: "tag", 1: "msg"}),
    ("static", "Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;", {0: "url"}),
    ("static", "Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;", {0: "class"}),
    ("virtual",
     "Ljava/lang/Class;->getMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;",
     {1: "method"}),
    ("virtual",
     "Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;", {}),
    ("virtual", "Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;", {1: "msg"}),
    ("virtual", "Ljava/lang/StringBuilder;->append(I)Ljava/lang/StringBuilder;", {}),
    ("virtual", "Ljava/lang/StringBuilder;->append(J)Ljava/lang/StringBuilder;", {}),
    ("virtual", "Ljava/lang/StringBuilder;->toString()Ljava/lang/String;", {}),
    ("virtual", "Ljava/lang/String;->equals(Ljava/lang/Object;)Z", {1: "key"}),
    ("virtual", "Ljava/lang/String;->length()I", {}),
    ("static", "Ljava/lang/System;->currentTimeMillis()J", {}),
    ("static", "Ljava/lang/Math;->max(JJ)J", {}),
    ("static", "Landroid/text/TextUtils;->isEmpty(Ljava/lang/CharSequence;)Z", {0: "msg"}),
    ("interface", "Ljava/util/List;->size()I", {}),
    ("interface",
     "Ljava/util/Map;->put(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;", {1: "key", 2: "msg"}),
    ("virtual", "Ljava/util/HashMap;->get(Ljava/lang/Object;)Ljava/lang/Object;", {1: "key"}),
    ("virtual",
     "Lorg/json/JSONObject;->put(Ljava/lang/String;Ljava/lang/Object;)Lorg/json/JSONObject;", {1: "key"}),
    ("virtual", "Lorg/json/JSONObject;->optString(Ljava/lang/String;)Ljava/lang/String;", {1: "key"}),
    ("virtual", "Ljava/net/URL;->openConnection()Ljava/net/URLConnection;", {}),
    ("virtual", "Ljava/net/HttpURLConnection;->setRequestMethod(Ljava/lang/String;)V", {1: "http"}),
    ("virtual",
     "Landroid/database/sqlite/SQLiteDatabase;->"
     "rawQuery(Ljava/lang/String;[Ljava/lang/String;)Landroid/database/Cursor;", {1: "sql"}),
    ("virtual", "Landroid/app/Activity;->startActivity(Landroid/content/Intent;)V", {}),
    ("virtual", "Landroid/os/Handler;->postDelayed(Ljava/lang/Runnable;J)Z", {}),
    ("static", "Ljava/lang/Runtime;->getRuntime()Ljava/lang/Runtime;", {}),
    ("virtual", "Ljava/lang/Runtime;->exec(Ljava/lang/String;)Ljava/lang/Process;", {1: "cmd"}),
    ("static",
     "Ldalvik/system/DexClassLoader;->loadClass(Ljava/lang/String;)Ljava/lang/Class;", {0: "class"}),
    ("virtual", "Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V", {1: "url"}),
    ("virtual",
     "Landroid/webkit/WebView;->addJavascriptInterface(Ljava/lang/Object;Ljava/lang/String;)V", {2: "key"}),
    ("static", "Ljavax/crypto/Cipher;->getInstance(Ljava/lang/String;)Ljavax/crypto/Cipher;", {0: "cipher"}),
    ("static",
     "Ljava/security/MessageDigest;->getInstance(Ljava/lang/String;)Ljava/security/MessageDigest;",
     {0: "digest"}),
    ("virtual", "Landroid/accounts/AccountManager;->getAccounts()[Landroid/accounts/Account;", {}),
    ("virtual",
     "Landroid/hardware/Camera;->"
     "takePicture(Landroid/hardware/Camera$ShutterCallback;Landroid/hardware/Camera$PictureCallback;"
     "Landroid/hardware/Camera$PictureCallback;Landroid/hardware/Camera$PictureCallback;)V", {}),
    ("virtual",
     "Landroid/content/ContentResolver;->"
     "query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;"
     ")Landroid/database/Cursor;", {3: "sql", 5: "key"}),
]

LARGE_APP_PREFIXES = [
    "com/umeng/analytics", "com/umeng/commonsdk/statistics", "com/umeng/message/proguard",
    "cn/jpush/android/service", "cn/jpush/android/api", "cn/jiguang/common/utils",
    "com/tencent/mm/opensdk/openapi", "com/tencent/bugly/crashreport", "com/tencent/smtt/sdk",
    "com/tencent/mmkv", "com/alipay/sdk/app", "com/alibaba/fastjson/parser", "com/baidu/location",
    "com/amap/api/location", "com/amap/api/maps/model", "com/google/gson/internal",
    "com/google/android/gms/common/internal", "com/google/firebase/analytics", "okhttp3/internal/http",
    "okio", "retrofit2/converter", "io/reactivex/internal/operators/observable",
    "com/bytedance/sdk/openadsdk/core", "com/kwad/sdk/core/report", "com/qq/e/comm/managers",
    "com/huawei/hms/push", "com/xiaomi/push/service", "androidx/core/app", "androidx/appcompat/widget",
    "androidx/recyclerview/widget", "kotlin/collections", "kotlinx/coroutines/internal",
    "com/example/big/ui", "com/example/big/net", "com/example/big/data", "com/example/big/util",
]

_WORDS = ["Manager", "Helper", "Service", "Client", "Config", "Utils", "Impl", "Handler", "Task", "Cache",
          "Parser", "Request", "Response", "Adapter", "Factory", "Provider", "Reporter", "Tracker", "Loader",
          "Store"]
_METHOD_NAMES = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "init", "run", "onCreate", "onResume",
                 "getData", "setData", "load", "save", "report", "track", "parse", "build", "execute",
                 "handle", "process", "update", "check", "sync", "upload", "fetch", "query", "register",
                 "start", "stop", "reset", "apply", "toJson", "fromJson", "encode", "decode"]
_PARAM_SHAPES = [[], [], ["I"], [_S], [_CTX], [_S, _S], ["J", "Z"], [_CTX, _S, "I"], [_OBJ], ["[B"],
                 ["Landroid/content/Intent;"], [_S, "I", "J", "Z", _S, "D"]]
_RET_SHAPES = ["V", "V", "V", "I", "Z", _S, _OBJ, "J"]
_SUPERS = ["Ljava/lang/Object;"] * 8 + ["Landroid/app/Activity;", "Landroid/app/Service;",
                                       "Landroid/content/BroadcastReceiver;", "Ljava/lang/Thread;"]


def _base26(n: int) -> str:
    s = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(97 + r) + s
    return s


def _large_string(rng: Random, kind: str, prefix: str, serial: int) -> str:
    dom = prefix.split("/")[1] if "/" in prefix else prefix
    if kind == "android_id":
        return "android_id"
    if kind == "provider":
        return rng.choice(("gps", "network", "passive"))
    if kind == "service":
        return rng.choice(("phone", "wifi", "location", "clipboard", "connectivity", "activity"))
    if kind == "prefs":
        return f"{dom}_prefs_{serial % 97}"
    if kind == "key":
        return f"{dom}.key.{_base26(serial % 60000)}"
    if kind == "pkg":
        return f"com.{dom}.plugin{serial % 13}"
    if kind == "cls":
        return f"com.{dom}.plugin{serial % 13}.EntryService{serial % 7}"
    if kind == "action":
        return f"{dom}.intent.action.EVENT_{serial % 3001}"
    if kind == "tag":
        return f"{dom.capitalize()}SDK"
    if kind == "url":
        return f"https://api.{dom}.example.com/v{serial % 5}/collect/{_base26(serial)}?ts=0&sig={serial:08x}"
    if kind == "class":
        return f"{prefix.replace('/', '.')}.{_WORDS[serial % len(_WORDS)]}{serial % 20011}"
    if kind == "method":
        return _METHOD_NAMES[serial % len(_METHOD_NAMES)]
    if kind == "http":
        return rng.choice(("GET", "POST"))
    if kind == "sql":
        return (f"SELECT * FROM t_{dom}_{serial % 50} WHERE id = ? AND ts > {serial}"
                " ORDER BY ts DESC LIMIT 100")
    if kind == "cmd":
        return rng.choice(("getprop ro.serialno", "cat /proc/cpuinfo", "su -c id", "pm list packages"))
    if kind == "cipher":
        return rng.choice(("AES/CBC/PKCS5Padding", "AES/ECB/PKCS5Padding", "RSA/ECB/PKCS1Padding", "DES"))
    if kind == "digest":
        return rng.choice(("MD5", "SHA-1", "SHA-256"))
    # "msg": a long-ish unique-ish message (bulk string data)
    return (f"[{dom}] event#{serial} state={_base26(serial * 7 % 100000)} "
            f"detail=operation completed with code {serial % 1000}; retry policy exponential")


def build_large_app(path: str | Path, dex_mib: float = 50, seed: int = 0, sign: bool = False,
                    compress: bool = True, compresslevel: int = 1, max_methods_per_dex: int = 40000) -> dict:
    """Write a large synthetic APK to ``path`` and return ground truth.

    Classes are spread over :data:`LARGE_APP_PREFIXES`; every class has an
    ``<init>`` calling its superclass constructor plus several methods, each
    with a few framework or intra-dex invokes and const-strings.  Dex files are
    added until their total size is at least ``dex_mib`` MiB; each stays below
    65,536 method and type references (defined methods are capped at
    ``max_methods_per_dex``).  Dexes are generated, serialized and written one
    at a time, so memory stays bounded by a single dex.

    Returned dict: ``path``, ``package``, ``dex_names``, ``dex_sizes``,
    ``classes_per_dex``, ``methods_per_dex`` (defined, incl. ``<init>``),
    ``invokes_per_dex``, ``const_strings_per_dex`` (const-string
    instructions), ``string_ids_per_dex``/``type_ids_per_dex``/
    ``method_ids_per_dex`` (id table sizes), ``payload_methods``, ``total_classes``, ``total_methods``,
    ``total_invokes``, ``total_dex_bytes``, ``api_invokes`` (smali signature
    -> number of invoke instructions, framework APIs only), ``prefix_classes``
    (package prefix -> class count).
    """
    rng = Random(seed)
    target = int(dex_mib * 1024 * 1024)
    package = "com.example.big"
    apis = [(k, Invoke.of(sig, kind=k), strs) for k, sig, strs in LARGE_APP_APIS]

    truth: dict = {
        "path": str(path), "package": package, "dex_names": [], "dex_sizes": [], "classes_per_dex": [],
        "methods_per_dex": [], "invokes_per_dex": [], "const_strings_per_dex": [], "payload_methods": 0,
        "string_ids_per_dex": [], "type_ids_per_dex": [], "method_ids_per_dex": [],
        "api_invokes": Counter(), "prefix_classes": Counter(),
    }
    manifest = build_manifest(
        package, version_code=100, version_name="10.0.0", min_sdk=21, target_sdk=33, label="Big",
        permissions=["android.permission.INTERNET", "android.permission.READ_PHONE_STATE",
                     "android.permission.ACCESS_FINE_LOCATION"],
        components=[Component("activity", "com.example.big.ui.MainActivity", exported=True,
                              intent_filters=[IntentFilter(["android.intent.action.MAIN"],
                                                           ["android.intent.category.LAUNCHER"])]),
                    Component("service", "cn.jpush.android.service.PushService", exported=False)],
    )
    writer = ApkWriter(path, compress=compress, compresslevel=compresslevel)
    writer.add("AndroidManifest.xml", manifest)

    counters: Counter = Counter()
    serial = 0
    total = 0
    bytes_per_method = 260.0  # initial estimate, refined after each dex
    dex_i = 0
    while total < target or dex_i == 0:
        remaining = max(target - total, 1)
        want_methods = min(max_methods_per_dex, int(remaining / bytes_per_method) + 50)
        classes: list[ClassDef] = []
        defined: list[Invoke] = []  # callable intra-dex targets
        n_methods = n_invokes = n_consts = 0
        api_counts: Counter = Counter()
        while n_methods < want_methods:
            prefix = LARGE_APP_PREFIXES[rng.randrange(len(LARGE_APP_PREFIXES))]
            k = counters[prefix]
            counters[prefix] += 1
            simple = _base26(k) if rng.random() < 0.5 else f"{_WORDS[k % len(_WORDS)]}{k}"
            cname = f"L{prefix}/{simple};"
            sup = rng.choice(_SUPERS)
            if classes and rng.random() < 0.15:
                sup = rng.choice(classes).name
            init = Method("<init>", invokes=[Invoke(sup, "<init>", kind="direct", receiver_this=True)])
            methods = [init]
            n_invokes += 1
            names = rng.sample(_METHOD_NAMES, rng.randint(3, 11))
            for mname in names:
                params = rng.choice(_PARAM_SHAPES)
                ret = rng.choice(_RET_SHAPES)
                static = rng.random() < 0.3
                invs = []
                for _ in range(rng.randint(2, 7)):
                    serial += 1
                    if defined and rng.random() < 0.3:
                        t = rng.choice(defined)
                        invs.append(Invoke(t.cls, t.name, t.params, t.ret, t.kind))
                    else:
                        kind, proto, strs = apis[rng.randrange(len(apis))]
                        sa = {pos: _large_string(rng, key, prefix, serial) for pos, key in strs.items()}
                        invs.append(Invoke(proto.cls, proto.name, proto.params, proto.ret, kind, sa,
                                           range=rng.random() < 0.05))
                        api_counts[proto.signature] += 1
                    n_consts += len(invs[-1].string_args)
                strings = []
                if rng.random() < 0.45:
                    serial += 1
                    strings.append(_large_string(rng, "msg", prefix, serial))
                n_consts += len(strings)
                payload = rng.random() < 0.02
                truth["payload_methods"] += payload
                m = Method(mname, params, ret, static=static, invokes=invs, strings=strings, payload=payload)
                methods.append(m)
                n_invokes += len(invs)
                if len(defined) < 4000:
                    defined.append(Invoke(cname, mname, params, ret, "static" if static else "virtual"))
            classes.append(ClassDef(cname, sup, methods=methods, source_file="SourceFile"))
            truth["prefix_classes"][prefix] += 1
            n_methods += len(methods)
        dex = build_dex(classes)
        name = dex_name(dex_i)
        writer.add(name, dex)
        truth["dex_names"].append(name)
        truth["dex_sizes"].append(len(dex))
        n_str, n_typ, n_pro, n_fld, n_met = struct.unpack_from("<I4xI4xI4xI4xI", dex, 56)
        truth["string_ids_per_dex"].append(n_str)
        truth["type_ids_per_dex"].append(n_typ)
        truth["method_ids_per_dex"].append(n_met)
        truth["classes_per_dex"].append(len(classes))
        truth["methods_per_dex"].append(n_methods)
        truth["invokes_per_dex"].append(n_invokes)
        truth["const_strings_per_dex"].append(n_consts)
        truth["api_invokes"].update(api_counts)
        bytes_per_method = len(dex) / max(n_methods, 1)
        total += len(dex)
        dex_i += 1
        del classes, defined, dex
    writer.close(sign=sign)
    truth["total_classes"] = sum(truth["classes_per_dex"])
    truth["total_methods"] = sum(truth["methods_per_dex"])
    truth["total_invokes"] = sum(truth["invokes_per_dex"])
    truth["total_dex_bytes"] = total
    truth["api_invokes"] = dict(truth["api_invokes"])
    truth["prefix_classes"] = dict(truth["prefix_classes"])
    return truth


# ===========================================================================
# Test key generation (run once; the PEM files are committed)
# ===========================================================================


def generate_test_key(key_path: Path = TESTKEY_PEM, cert_path: Path = TESTCERT_PEM) -> None:
    """(Re)create the RSA-2048 test key and self-signed cert
    ``CN=qingdan test,O=qingdan,C=CN``.  Not called by the tests."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # DER order C, O, CN  => RFC 4514 string "CN=qingdan test,O=qingdan,C=CN"
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "qingdan"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "qingdan test")])
    utc = datetime.UTC
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(0x51D4)
            .not_valid_before(datetime.datetime(2024, 1, 1, tzinfo=utc))
            .not_valid_after(datetime.datetime(2099, 12, 31, tzinfo=utc))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--gen-key"]:
        generate_test_key()
        print(f"wrote {TESTKEY_PEM} and {TESTCERT_PEM}")
    else:
        print("usage: python -m tests.support.apkbuilder --gen-key")
