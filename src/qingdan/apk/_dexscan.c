/*
 * qingdan.apk._dexscan: the hot loop of the DEX reader.
 *
 * Walks class_data_item and code_item of every class definition and collects, per method, the
 * distinct static field reads (sget*) and the distinct invoke instructions (callee method index) together with up to two constant strings
 * that were loaded by const-string into the argument registers just before the call.  Also
 * marks every string index loaded by const-string.  Everything is bounds-checked: a damaged
 * class is skipped and counted, never read past the buffer.  The GIL is released while
 * scanning so several dex files can be read on several cores.
 *
 * The same algorithm exists in pure Python (qingdan/apk/dexscan_py.py) for machines without a
 * C compiler; tests check both give identical results.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t *v;
    size_t n, cap;
} vec_u32;

static int vpush(vec_u32 *a, uint32_t x) {
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 4096;
        uint32_t *nv = (uint32_t *)realloc(a->v, nc * sizeof(uint32_t));
        if (!nv) return -1;
        a->v = nv;
        a->cap = nc;
    }
    a->v[a->n++] = x;
    return 0;
}

/* instruction width in code units, by opcode; 0 = special (nop/payload) */
static const uint8_t WIDTH[256] = {
    /*00*/ 1,1,2,3,1,2,3,1,2,3,1,1,1,1,1,1,
    /*10*/ 1,1,1,2,3,2,2,3,5,2,2,3,2,1,1,2,
    /*20*/ 2,1,2,2,3,3,3,1,1,2,3,3,3,2,2,2,
    /*30*/ 2,2,2,2,2,2,2,2,2,2,2,2,2,2,1,1,
    /*40*/ 1,1,1,1,2,2,2,2,2,2,2,2,2,2,2,2,
    /*50*/ 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    /*60*/ 2,2,2,2,2,2,2,2,2,2,2,2,2,2,3,3,
    /*70*/ 3,3,3,1,3,3,3,3,3,1,1,1,1,1,1,1,
    /*80*/ 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /*90*/ 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    /*a0*/ 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    /*b0*/ 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /*c0*/ 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /*d0*/ 2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,
    /*e0*/ 2,2,2,1,1,1,1,1,1,1,1,1,1,1,1,1,
    /*f0*/ 1,1,1,1,1,1,1,1,1,1,4,4,3,3,2,2,
};

/* destination register kind: 0 none, 1 vA (4-bit, low nibble of high byte), 2 vAA (8-bit),
 * 3 vAAAA (16-bit, move/16 family). Wide results also clobber the next register (flag 0x10). */
static uint8_t DEST[256];
static void init_dest(void) {
    int op;
    memset(DEST, 0, sizeof DEST);
    DEST[0x01] = 1; DEST[0x02] = 2; DEST[0x03] = 3;
    DEST[0x04] = 1 | 0x10; DEST[0x05] = 2 | 0x10; DEST[0x06] = 3 | 0x10;
    DEST[0x07] = 1; DEST[0x08] = 2; DEST[0x09] = 3;
    DEST[0x0a] = 2; DEST[0x0b] = 2 | 0x10; DEST[0x0c] = 2; DEST[0x0d] = 2;
    DEST[0x12] = 1; DEST[0x13] = 2; DEST[0x14] = 2; DEST[0x15] = 2;
    DEST[0x16] = 2 | 0x10; DEST[0x17] = 2 | 0x10; DEST[0x18] = 2 | 0x10; DEST[0x19] = 2 | 0x10;
    DEST[0x1a] = 2; DEST[0x1b] = 2; DEST[0x1c] = 2;
    DEST[0x20] = 1; DEST[0x21] = 1; DEST[0x22] = 2; DEST[0x23] = 1;
    for (op = 0x2d; op <= 0x31; op++) DEST[op] = 2;
    for (op = 0x44; op <= 0x4a; op++) DEST[op] = 2;
    DEST[0x45] = 2 | 0x10;
    for (op = 0x52; op <= 0x58; op++) DEST[op] = 1;
    DEST[0x53] = 1 | 0x10;
    for (op = 0x60; op <= 0x66; op++) DEST[op] = 2;
    DEST[0x61] = 2 | 0x10;
    for (op = 0x7b; op <= 0x8f; op++) DEST[op] = 1;
    /* unops producing a wide value */
    DEST[0x7d] |= 0x10; DEST[0x7e] |= 0x10; DEST[0x80] |= 0x10; DEST[0x81] |= 0x10;
    DEST[0x83] |= 0x10; DEST[0x86] |= 0x10; DEST[0x88] |= 0x10;
    DEST[0x89] |= 0x10; DEST[0x8b] |= 0x10;
    for (op = 0x90; op <= 0xaf; op++) DEST[op] = 2;
    for (op = 0x9b; op <= 0xa5; op++) DEST[op] |= 0x10;
    for (op = 0xab; op <= 0xaf; op++) DEST[op] |= 0x10;
    for (op = 0xb0; op <= 0xcf; op++) DEST[op] = 1;
    for (op = 0xbb; op <= 0xc5; op++) DEST[op] |= 0x10;
    for (op = 0xcb; op <= 0xcf; op++) DEST[op] |= 0x10;
    for (op = 0xd0; op <= 0xe2; op++) DEST[op] = 1;
    DEST[0xfe] = 2; DEST[0xff] = 2;
}

static inline int read_uleb(const uint8_t *b, size_t n, size_t *p, uint32_t *out) {
    uint32_t r = 0;
    int shift = 0, i;
    for (i = 0; i < 5; i++) {
        uint8_t c;
        if (*p >= n) return -1;
        c = b[(*p)++];
        r |= (uint32_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) { *out = r; return 0; }
        shift += 7;
    }
    return -1;
}

/* register -> string tracking with generation stamps (no clearing per method) */
#define NREG 65536
#define HSLOTS 32768 /* > the most distinct invokes a method of 65535 code units can hold */
typedef struct {
    uint32_t gen[NREG];
    uint32_t str[NREG];
    uint32_t cur;
    /* per-method dedup of (callee,s1,s2) */
    uint32_t hkey[HSLOTS * 3];
    uint32_t hgen[HSLOTS];
    uint32_t hcur;
} state_t;

static inline void set_reg(state_t *st, uint32_t r, uint32_t s) {
    st->gen[r & 0xffff] = st->cur;
    st->str[r & 0xffff] = s;
}
static inline void clr_reg(state_t *st, uint32_t r) { st->gen[r & 0xffff] = 0; }
static inline uint32_t get_reg(state_t *st, uint32_t r) {
    return st->gen[r & 0xffff] == st->cur ? st->str[r & 0xffff] : 0xffffffffu;
}

/* returns 1 if new, 0 if seen in this method */
static int dedup(state_t *st, uint32_t callee, uint32_t s1, uint32_t s2) {
    uint32_t h = (callee * 2654435761u) ^ (s1 * 40503u) ^ (s2 * 97u);
    uint32_t i, k;
    for (k = 0; k < HSLOTS; k++) {
        i = (h + k) & (HSLOTS - 1);
        if (st->hgen[i] != st->hcur) {
            st->hgen[i] = st->hcur;
            st->hkey[i * 3] = callee; st->hkey[i * 3 + 1] = s1; st->hkey[i * 3 + 2] = s2;
            return 1;
        }
        if (st->hkey[i * 3] == callee && st->hkey[i * 3 + 1] == s1 && st->hkey[i * 3 + 2] == s2) return 0;
    }
    return 1; /* table full: keep it */
}

typedef struct {
    const uint8_t *b;
    size_t n;
    uint32_t n_methods;   /* method_ids_size */
    uint32_t n_strings;
    uint32_t n_fields;
    vec_u32 calls;        /* caller, callee, s1, s2 */
    vec_u32 fields;       /* caller, field: static field reads (sget*) */
    vec_u32 class_start;  /* per class def: index of its first call record */
    uint8_t *strmark;     /* const-string bitmap, n_strings bits */
    uint32_t n_code_methods, n_defined_methods, n_insns_units, bad_classes;
    char err[160];
    state_t *st;
} scan_t;

/* scan one code item; returns 0 ok, -1 damaged */
static int scan_code(scan_t *s, uint32_t caller, uint32_t code_off) {
    const uint8_t *b = s->b;
    size_t n = s->n;
    uint32_t insns_size;
    size_t base, i, end;
    state_t *st = s->st;
    if (code_off & 3) return -1;
    if ((size_t)code_off + 16 > n) return -1;
    memcpy(&insns_size, b + code_off + 12, 4);
    base = (size_t)code_off + 16;
    if (insns_size > (n - base) / 2) return -1;
    end = base + (size_t)insns_size * 2;
    s->n_insns_units += insns_size;
    st->cur++;
    if (st->cur == 0) { memset(st->gen, 0, sizeof st->gen); st->cur = 1; }
    st->hcur++;
    if (st->hcur == 0) { memset(st->hgen, 0, sizeof st->hgen); st->hcur = 1; }
    i = base;
    while (i + 2 <= end) {
        uint8_t op = b[i], hi = b[i + 1];
        size_t w = WIDTH[op];
        if (op == 0x00) {
            if (hi == 0x01 || hi == 0x02 || hi == 0x03) {
                uint16_t sz;
                if (i + 4 > end) return -1;
                memcpy(&sz, b + i + 2, 2);
                if (hi == 0x01) w = (size_t)sz * 2 + 4;
                else if (hi == 0x02) w = (size_t)sz * 4 + 2;
                else {
                    uint16_t ew; uint32_t cnt;
                    if (i + 8 > end) return -1;
                    memcpy(&ew, b + i + 2, 2);
                    memcpy(&cnt, b + i + 4, 4);
                    w = ((size_t)ew * cnt + 1) / 2 + 4;
                }
            } else {
                w = 1;
            }
        } else if (op == 0x1a || op == 0x1b) {
            uint32_t sidx;
            if (i + w * 2 > end) return -1;
            if (op == 0x1a) { uint16_t t; memcpy(&t, b + i + 2, 2); sidx = t; }
            else memcpy(&sidx, b + i + 2, 4);
            if (sidx < s->n_strings) {
                s->strmark[sidx >> 3] |= (uint8_t)(1u << (sidx & 7));
                set_reg(st, hi, sidx);
            } else clr_reg(st, hi);
        } else if ((op >= 0x6e && op <= 0x72) || (op >= 0x74 && op <= 0x78) || op == 0xfa || op == 0xfb) {
            uint16_t midx, third;
            uint32_t regs[5], nregs, k, s1 = 0xffffffffu, s2 = 0xffffffffu;
            if (i + w * 2 > end) return -1;
            memcpy(&midx, b + i + 2, 2);
            memcpy(&third, b + i + 4, 2);
            if ((op >= 0x74 && op <= 0x78) || op == 0xfb) {
                nregs = hi;
                for (k = 0; k < nregs && s2 == 0xffffffffu; k++) {
                    uint32_t sv = get_reg(st, (uint32_t)third + k);
                    if (sv != 0xffffffffu) { if (s1 == 0xffffffffu) s1 = sv; else s2 = sv; }
                }
            } else {
                nregs = hi >> 4;
                if (nregs > 5) nregs = 5;
                regs[0] = third & 0xf; regs[1] = (third >> 4) & 0xf; regs[2] = (third >> 8) & 0xf;
                regs[3] = (third >> 12) & 0xf; regs[4] = hi & 0xf;
                for (k = 0; k < nregs; k++) {
                    uint32_t sv = get_reg(st, regs[k]);
                    if (sv != 0xffffffffu) { if (s1 == 0xffffffffu) s1 = sv; else if (s2 == 0xffffffffu) s2 = sv; }
                }
            }
            if (midx < s->n_methods && dedup(st, midx, s1, s2)) {
                if (vpush(&s->calls, caller) || vpush(&s->calls, midx) || vpush(&s->calls, s1) || vpush(&s->calls, s2))
                    return -2;
            }
        } else if (op >= 0x60 && op <= 0x66) {
            uint16_t fidx;
            if (i + 4 > end) return -1;
            memcpy(&fidx, b + i + 2, 2);
            if (fidx < s->n_fields && dedup(st, 0x80000000u | fidx, 0xffffffffu, 0xffffffffu)) {
                if (vpush(&s->fields, caller) || vpush(&s->fields, fidx)) return -2;
            }
            clr_reg(st, hi);
            if (op == 0x61) clr_reg(st, (uint32_t)hi + 1);
        } else {
            uint8_t d = DEST[op];
            if (d) {
                uint32_t r;
                if ((d & 0xf) == 1) r = hi & 0xf;
                else if ((d & 0xf) == 2) r = hi;
                else { uint16_t t; if (i + 4 > end) return -1; memcpy(&t, b + i + 2, 2); r = t; }
                if (op >= 0x07 && op <= 0x09) {
                    /* move-object: carry a known string along */
                    uint32_t src;
                    if (op == 0x07) src = hi >> 4;
                    else if (op == 0x08) { uint16_t t; if (i + 4 > end) return -1; memcpy(&t, b + i + 2, 2); src = t; }
                    else { uint16_t t; if (i + 6 > end) return -1; memcpy(&t, b + i + 4, 2); src = t; }
                    {
                        uint32_t sv = get_reg(st, src);
                        if (sv != 0xffffffffu) set_reg(st, r, sv); else clr_reg(st, r);
                    }
                } else {
                    clr_reg(st, r);
                    if (d & 0x10) clr_reg(st, r + 1);
                }
            }
        }
        i += w * 2;
    }
    return 0;
}

static int scan_class_data(scan_t *s, size_t off) {
    const uint8_t *b = s->b;
    size_t n = s->n, p = off;
    uint32_t sf, inf, dm, vm, k, x, idx, acc, code;
    int r;
    if (read_uleb(b, n, &p, &sf) || read_uleb(b, n, &p, &inf) || read_uleb(b, n, &p, &dm) || read_uleb(b, n, &p, &vm))
        return -1;
    /* every encoded field takes >= 2 bytes, every method >= 3: refuse counts the bytes cannot hold */
    if ((uint64_t)sf + inf > (n - p) / 2) return -1;
    for (k = 0; k < sf + inf; k++) {
        if (read_uleb(b, n, &p, &x) || read_uleb(b, n, &p, &x)) return -1;
    }
    if ((uint64_t)dm + vm > (n - p) / 3 + 1) return -1;
    {
        int pass;
        for (pass = 0; pass < 2; pass++) {
            uint32_t cnt = pass == 0 ? dm : vm;
            idx = 0;
            for (k = 0; k < cnt; k++) {
                if (read_uleb(b, n, &p, &x) || read_uleb(b, n, &p, &acc) || read_uleb(b, n, &p, &code)) return -1;
                idx += x;
                s->n_defined_methods++;
                if (code) {
                    s->n_code_methods++;
                    r = scan_code(s, idx, code);
                    if (r == -2) return -2;
                    if (r < 0) return -1;
                }
            }
        }
    }
    return 0;
}

static PyObject *vec_to_bytes(vec_u32 *a) {
    return PyBytes_FromStringAndSize((const char *)a->v, (Py_ssize_t)(a->n * sizeof(uint32_t)));
}

/* scan(buf, class_defs_off, class_defs_size, method_ids_size, string_ids_size, field_ids_size)
 * -> (calls: bytes[u32 x4], class_start: bytes[u32 * (n_classes+1)], strmark: bytes,
 *     fields: bytes[u32 x2],
 *     (n_defined_methods, n_code_methods, n_insns_units, bad_classes), first_error: str) */
static PyObject *py_scan(PyObject *self, PyObject *args) {
    Py_buffer view;
    unsigned long cd_off, cd_size, m_size, s_size, f_size;
    scan_t s;
    uint32_t c;
    int fatal = 0;
    PyObject *res = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*kkkkk", &view, &cd_off, &cd_size, &m_size, &s_size, &f_size)) return NULL;
    memset(&s, 0, sizeof s);
    s.b = (const uint8_t *)view.buf;
    s.n = (size_t)view.len;
    s.n_methods = (uint32_t)m_size;
    s.n_strings = (uint32_t)s_size;
    s.n_fields = (uint32_t)f_size;
    if ((size_t)cd_off > s.n || (size_t)cd_size > (s.n - cd_off) / 32) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "class_defs outside the file");
        return NULL;
    }
    s.strmark = (uint8_t *)calloc((s_size >> 3) + 1, 1);
    s.st = (state_t *)calloc(1, sizeof(state_t));
    if (!s.strmark || !s.st) {
        free(s.strmark); free(s.st);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (c = 0; c < cd_size; c++) {
        uint32_t cdo;
        size_t mark = s.calls.n, fmark = s.fields.n;
        if (vpush(&s.class_start, (uint32_t)(s.calls.n / 4))) { fatal = 1; break; }
        memcpy(&cdo, s.b + cd_off + (size_t)c * 32 + 24, 4);
        if (cdo == 0) continue;
        if ((size_t)cdo >= s.n) {
            s.bad_classes++;
            if (!s.err[0]) snprintf(s.err, sizeof s.err, "class def %u: class_data_off %u outside the file", c, cdo);
            continue;
        }
        {
            int r = scan_class_data(&s, cdo);
            if (r == -2) { fatal = 1; break; }
            if (r < 0) {
                s.bad_classes++;
                s.calls.n = mark; /* drop partial results of a damaged class */
                s.fields.n = fmark;
                if (!s.err[0]) snprintf(s.err, sizeof s.err, "class def %u: damaged class data or code", c);
            }
        }
    }
    if (!fatal) fatal = vpush(&s.class_start, (uint32_t)(s.calls.n / 4));
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (fatal) {
        free(s.calls.v); free(s.fields.v); free(s.class_start.v); free(s.strmark); free(s.st);
        return PyErr_NoMemory();
    }
    {
        PyObject *calls = vec_to_bytes(&s.calls);
        PyObject *starts = vec_to_bytes(&s.class_start);
        PyObject *marks = PyBytes_FromStringAndSize((const char *)s.strmark, (Py_ssize_t)((s_size >> 3) + 1));
        PyObject *fields = vec_to_bytes(&s.fields);
        if (calls && starts && marks && fields) {
            res = Py_BuildValue("(NNNN(kkkk)s)", calls, starts, marks, fields,
                                (unsigned long)s.n_defined_methods, (unsigned long)s.n_code_methods,
                                (unsigned long)s.n_insns_units, (unsigned long)s.bad_classes, s.err);
        } else {
            Py_XDECREF(calls); Py_XDECREF(starts); Py_XDECREF(marks); Py_XDECREF(fields);
        }
    }
    free(s.calls.v); free(s.fields.v); free(s.class_start.v); free(s.strmark); free(s.st);
    return res;
}

static PyMethodDef METHODS[] = {
    {"scan", py_scan, METH_VARARGS, "Scan class data and code items of a dex buffer."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_dexscan", NULL, -1, METHODS};

PyMODINIT_FUNC PyInit__dexscan(void) {
    init_dest();
    return PyModule_Create(&MODULE);
}
