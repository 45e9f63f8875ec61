"""Pure-Python twin of ``_dexscan.c`` for machines where the C extension was not built.

Same inputs, same outputs, same rules (see the C file's header); about 50x slower. Tests run
both on the same files and require identical results.
"""

from __future__ import annotations

import struct
from array import array

NONE = 0xFFFFFFFF

WIDTH = bytes(
    [1, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 1, 1, 1, 1, 1,
     1, 1, 1, 2, 3, 2, 2, 3, 5, 2, 2, 3, 2, 1, 1, 2,
     2, 1, 2, 2, 3, 3, 3, 1, 1, 2, 3, 3, 3, 2, 2, 2,
     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1,
     1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
     2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3,
     3, 3, 3, 1, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1]
    + [1] * 16 + [2] * 32 + [1] * 32 + [2] * 16
    + [2, 2, 2] + [1] * 13
    + [1] * 10 + [4, 4, 3, 3, 2, 2]
)


def _dest_table() -> list[int]:
    d = [0] * 256
    for op, v in {1: 1, 2: 2, 3: 3, 4: 0x11, 5: 0x12, 6: 0x13, 7: 1, 8: 2, 9: 3, 0xA: 2, 0xB: 0x12,
                  0xC: 2, 0xD: 2, 0x12: 1, 0x13: 2, 0x14: 2, 0x15: 2, 0x16: 0x12, 0x17: 0x12,
                  0x18: 0x12, 0x19: 0x12, 0x1A: 2, 0x1B: 2, 0x1C: 2, 0x20: 1, 0x21: 1, 0x22: 2,
                  0x23: 1, 0xFE: 2, 0xFF: 2}.items():
        d[op] = v
    for op in range(0x2D, 0x32):
        d[op] = 2
    for op in range(0x44, 0x4B):
        d[op] = 2
    d[0x45] = 0x12
    for op in range(0x52, 0x59):
        d[op] = 1
    d[0x53] = 0x11
    for op in range(0x60, 0x67):
        d[op] = 2
    d[0x61] = 0x12
    for op in range(0x7B, 0x90):
        d[op] = 1
    for op in (0x7D, 0x7E, 0x80, 0x81, 0x83, 0x86, 0x88, 0x89, 0x8B):
        d[op] |= 0x10
    for op in range(0x90, 0xB0):
        d[op] = 2
    for op in list(range(0x9B, 0xA6)) + list(range(0xAB, 0xB0)):
        d[op] |= 0x10
    for op in range(0xB0, 0xD0):
        d[op] = 1
    for op in list(range(0xBB, 0xC6)) + list(range(0xCB, 0xD0)):
        d[op] |= 0x10
    for op in range(0xD0, 0xE3):
        d[op] = 1
    return d


DEST = _dest_table()
_INVOKE = set(range(0x6E, 0x73)) | set(range(0x74, 0x79)) | {0xFA, 0xFB}
_RANGE = set(range(0x74, 0x79)) | {0xFB}


class _Damaged(Exception):
    pass


def _uleb(b: bytes, p: int) -> tuple[int, int]:
    r = 0
    for i in range(5):
        if p >= len(b):
            raise _Damaged
        c = b[p]
        p += 1
        r |= (c & 0x7F) << (7 * i)
        if not c & 0x80:
            return r & 0xFFFFFFFF, p
    raise _Damaged


def _scan_code(b, n, caller, code_off, n_methods, n_strings, n_fields, marks, out, fout, counters):
    if code_off & 3 or code_off + 16 > n:
        raise _Damaged
    (insns,) = struct.unpack_from("<L", b, code_off + 12)
    base = code_off + 16
    if insns > (n - base) // 2:
        raise _Damaged
    end = base + insns * 2
    counters[2] += insns
    regs: dict[int, int] = {}
    seen: set[tuple[int, int, int]] = set()
    i = base
    while i + 2 <= end:
        op = b[i]
        hi = b[i + 1]
        w = WIDTH[op]
        if op == 0:
            if hi in (1, 2, 3):
                if i + 4 > end:
                    raise _Damaged
                (sz,) = struct.unpack_from("<H", b, i + 2)
                if hi == 1:
                    w = sz * 2 + 4
                elif hi == 2:
                    w = sz * 4 + 2
                else:
                    if i + 8 > end:
                        raise _Damaged
                    ew, cnt = struct.unpack_from("<HL", b, i + 2)
                    w = (ew * cnt + 1) // 2 + 4
            else:
                w = 1
        elif op == 0x1A or op == 0x1B:
            if i + w * 2 > end:
                raise _Damaged
            sidx = struct.unpack_from("<H" if op == 0x1A else "<L", b, i + 2)[0]
            if sidx < n_strings:
                marks[sidx >> 3] |= 1 << (sidx & 7)
                regs[hi] = sidx
            else:
                regs.pop(hi, None)
        elif 0x60 <= op <= 0x66:
            if i + 4 > end:
                raise _Damaged
            (fidx,) = struct.unpack_from("<H", b, i + 2)
            fkey = (0x80000000 | fidx, NONE, NONE)
            if fidx < n_fields and fkey not in seen:
                if len(seen) < 32768:
                    seen.add(fkey)
                fout.extend((caller, fidx))
            regs.pop(hi, None)
            if op == 0x61:
                regs.pop((hi + 1) & 0xFFFF, None)
        elif op in _INVOKE:
            if i + w * 2 > end:
                raise _Damaged
            midx, third = struct.unpack_from("<HH", b, i + 2)
            strs = []
            if op in _RANGE:
                for k in range(hi):
                    sv = regs.get((third + k) & 0xFFFF)
                    if sv is not None:
                        strs.append(sv)
                        if len(strs) == 2:
                            break
            else:
                cnt = min(hi >> 4, 5)
                rl = (third & 0xF, (third >> 4) & 0xF, (third >> 8) & 0xF, (third >> 12) & 0xF, hi & 0xF)
                for k in range(cnt):
                    sv = regs.get(rl[k])
                    if sv is not None and len(strs) < 2:
                        strs.append(sv)
            s1 = strs[0] if strs else NONE
            s2 = strs[1] if len(strs) > 1 else NONE
            key = (midx, s1, s2)
            if midx < n_methods and key not in seen:
                if len(seen) < 32768:  # the C twin's per-method table size
                    seen.add(key)
                out.extend((caller, midx, s1, s2))
        else:
            d = DEST[op]
            if d:
                kind = d & 0xF
                if kind == 1:
                    r = hi & 0xF
                elif kind == 2:
                    r = hi
                else:
                    if i + 4 > end:
                        raise _Damaged
                    (r,) = struct.unpack_from("<H", b, i + 2)
                if 7 <= op <= 9:
                    if op == 7:
                        src = hi >> 4
                    elif op == 8:
                        if i + 4 > end:
                            raise _Damaged
                        (src,) = struct.unpack_from("<H", b, i + 2)
                    else:
                        if i + 6 > end:
                            raise _Damaged
                        (src,) = struct.unpack_from("<H", b, i + 4)
                    sv = regs.get(src)
                    if sv is not None:
                        regs[r] = sv
                    else:
                        regs.pop(r, None)
                else:
                    regs.pop(r, None)
                    if d & 0x10:
                        regs.pop((r + 1) & 0xFFFF, None)
        i += w * 2


def scan(buf, cd_off: int, cd_size: int, m_size: int, s_size: int, f_size: int):
    b = bytes(buf)
    n = len(b)
    if cd_off > n or cd_size > (n - cd_off) // 32:
        raise ValueError("class_defs outside the file")
    out = array("I")
    fout = array("I")
    starts = array("I")
    marks = bytearray((s_size >> 3) + 1)
    counters = [0, 0, 0, 0]  # defined, code, insn units, bad classes
    err = ""
    for c in range(cd_size):
        starts.append(len(out) // 4)
        (cdo,) = struct.unpack_from("<L", b, cd_off + c * 32 + 24)
        if cdo == 0:
            continue
        mark, fmark = len(out), len(fout)
        try:
            if cdo >= n:
                raise _Damaged
            p = cdo
            sf, p = _uleb(b, p)
            inf, p = _uleb(b, p)
            dm, p = _uleb(b, p)
            vm, p = _uleb(b, p)
            if sf + inf > (n - p) // 2:
                raise _Damaged
            for _ in range(2 * (sf + inf)):
                _, p = _uleb(b, p)
            if dm + vm > (n - p) // 3 + 1:
                raise _Damaged
            for cnt in (dm, vm):
                idx = 0
                for _ in range(cnt):
                    x, p = _uleb(b, p)
                    _acc, p = _uleb(b, p)
                    code, p = _uleb(b, p)
                    idx += x
                    counters[0] += 1
                    if code:
                        counters[1] += 1
                        _scan_code(b, n, idx & 0xFFFFFFFF, code, m_size, s_size, f_size, marks, out, fout,
                                   counters)
        except (_Damaged, struct.error):
            counters[3] += 1
            del out[mark:]
            del fout[fmark:]
            if not err:
                err = (f"class def {c}: class_data_off {cdo} outside the file" if cdo >= n
                       else f"class def {c}: damaged class data or code")
    starts.append(len(out) // 4)
    return out.tobytes(), starts.tobytes(), bytes(marks), fout.tobytes(), tuple(counters), err
