/* The BACI parser kernels in C: the same functions, arguments and results as the numba kernels in
 * baci_kernels_numba.py (the grammar and rules are described in baci_parse.py), compiled when the
 * package is installed so that a fresh process pays no JIT start-up (~1 s for numba: its import,
 * typing registries and cached-code loading). Built as an optional extension: where no C compiler
 * is available the numba kernels are used instead, and the tests run both against the Arrow path.
 *
 * Arrays arrive through the buffer protocol (NumPy arrays; the file as a read-only uint8 array over
 * a memory map); the item size and kind of every argument are checked, every output array's length
 * bounds the rows written, and the GIL is released while lines are parsed.
 *
 * Numbers are converted as a correctly rounded strtod does: the digits go into an integer mantissa
 * m with f fractional digits, accepted only for m <= 2**53 and f <= 22, so that (double)m and
 * 10**f are exact and m / 10**f is one correctly rounded IEEE division (Clinger's fast path; x86-64
 * and aarch64 evaluate doubles in double precision, and no fast-math flag is used).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { ROWS, STATUS, ZEROS, NULLS, ORDERED, FIRST_KEY, LAST_KEY, NSTATS = 8 };
enum { OK = 0, BAD_SYNTAX = 1, BAD_VALUE = 2, BAD_NUMBER = 3 };
#define YEAR0 1800
#define YEAR1 2200
#define NPRODUCTS 1000000
#define MANT_MAX 9007199254740992ULL /* 2**53 */

/* ------------------------------------------------------------------ argument buffers */

/* kind: 'i' signed integer, 'u' unsigned integer, 'f' float; itemsize in bytes. */
static int kind_of(const char *fmt, char *kind) {
    if (fmt == NULL) { *kind = 'u'; return 1; } /* plain bytes */
    while (*fmt == '@' || *fmt == '=' || *fmt == '<' || *fmt == '!') fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0') return 0;
    switch (fmt[0]) {
        case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': *kind = 'i'; return 1;
        case 'B': case 'H': case 'I': case 'L': case 'Q': case 'N': case 'c': *kind = 'u'; return 1;
        case 'f': case 'd': *kind = 'f'; return 1;
        default: return 0;
    }
}

typedef struct { Py_buffer view; int held; } Arg;

/* Fill ``a`` from ``obj``: a C-contiguous buffer of items of ``kind``/``itemsize`` (writable if
 * asked); on a mismatch sets a ValueError naming the argument and returns 0. */
static int get(PyObject *obj, Arg *a, const char *name, char kind, Py_ssize_t itemsize, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    char k;
    if (PyObject_GetBuffer(obj, &a->view, flags) < 0) return 0;
    a->held = 1;
    if (a->view.itemsize != itemsize || !kind_of(a->view.format, &k) || k != kind) {
        PyErr_Format(PyExc_ValueError, "%s: expected an array of %c%zd items, got format %s itemsize %zd",
                     name, kind, itemsize * 8, a->view.format ? a->view.format : "B", a->view.itemsize);
        return 0;
    }
    return 1;
}

static void release(Arg *args, int n) {
    for (int x = 0; x < n; x++)
        if (args[x].held) { PyBuffer_Release(&args[x].view); args[x].held = 0; }
}

#define LEN(a) ((a).view.len / (a).view.itemsize)

/* ------------------------------------------------------------------ field readers */

/* 1-9 digits at *pos: the value, or -1 if none or too many. Stops at the first non-digit (the
 * caller guarantees one, the line's '\n', before the end of the buffer). */
static inline int64_t read_int(const uint8_t *buf, Py_ssize_t *pos) {
    Py_ssize_t p = *pos;
    uint64_t x = 0;
    int d = 0;
    for (;;) {
        unsigned c = (unsigned)buf[p] - 48u;
        if (c > 9u) break;
        if (d < 10) x = x * 10 + c;
        d++;
        p++;
    }
    *pos = p;
    if (d == 0 || d > 9) return -1;
    return (int64_t)x;
}

/* Spaces then ``digits[.digits]`` at *pos: status 0 (ok, *out set), 1 (not a number here) or
 * 3 (outside the exact fast path). */
static inline int read_number(const uint8_t *buf, Py_ssize_t *pos, const double *pow10, double *out) {
    Py_ssize_t p = *pos;
    uint64_t m = 0;
    int nd = 0, f = 0;
    while (buf[p] == 32) p++;
    for (;;) {
        unsigned c = (unsigned)buf[p] - 48u;
        if (c > 9u) break;
        if (nd < 19) m = m * 10 + c;
        nd++;
        p++;
    }
    if (nd == 0) { *pos = p; return 1; }
    if (buf[p] == 46) { /* '.' */
        p++;
        for (;;) {
            unsigned c = (unsigned)buf[p] - 48u;
            if (c > 9u) break;
            if (nd < 19) m = m * 10 + c;
            nd++;
            f++;
            p++;
        }
        if (f == 0) { *pos = p; return 1; }
    }
    *pos = p;
    if (nd > 18 || m > MANT_MAX || f > 22) return 3;
    *out = (double)m / pow10[f];
    return 0;
}

/* ------------------------------------------------------------------ parse_chunk */

typedef struct {
    const uint8_t *buf; Py_ssize_t start, end;
    const int32_t *lut; Py_ssize_t top;
    int64_t order_base; const double *pow10;
    int32_t *year, *exporter, *importer, *product;
    double *value, *quantity;
    uint8_t *qbits, *present, *years, *used;
    int64_t *stats, *keys; Py_ssize_t cap, nkeys; int64_t ne;
} Chunk;

static int parse_lines(Chunk *c) {
    const uint8_t *buf = c->buf;
    Py_ssize_t pos = c->start, end = c->end, n = 0;
    int64_t zeros = 0, nulls = 0, prev = -1, first = -1;
    int ordered = c->order_base > 0, status = OK;
    int collect = c->nkeys > 0;
    while (pos < end) {
        int64_t t, i, j, k;
        double v, q = 0.0;
        int valid = 1, st;
        t = read_int(buf, &pos);
        if (t < 0 || pos >= end || buf[pos] != 44) { status = BAD_SYNTAX; break; }
        pos++;
        i = read_int(buf, &pos);
        if (i < 0 || pos >= end || buf[pos] != 44) { status = BAD_SYNTAX; break; }
        pos++;
        j = read_int(buf, &pos);
        if (j < 0 || pos >= end || buf[pos] != 44) { status = BAD_SYNTAX; break; }
        pos++;
        k = read_int(buf, &pos);
        if (k < 0 || pos >= end || buf[pos] != 44) { status = BAD_SYNTAX; break; }
        pos++;
        st = read_number(buf, &pos, c->pow10, &v);
        if (st != 0) { status = st; break; }
        if (pos >= end || buf[pos] != 44) { status = BAD_SYNTAX; break; }
        pos++;
        /* q: empty, spaces + NA, or a number */
        Py_ssize_t qs = pos;
        while (buf[pos] == 32) pos++;
        if (pos >= end || buf[pos] == 10 || buf[pos] == 13) {
            if (pos != qs) { status = BAD_SYNTAX; break; } /* blanks only */
            valid = 0;
        } else if (buf[pos] == 78) { /* 'N' */
            if (pos + 1 < end && buf[pos + 1] == 65) { pos += 2; valid = 0; } /* 'A' */
            else { status = BAD_SYNTAX; break; }
        } else {
            st = read_number(buf, &pos, c->pow10, &q);
            if (st != 0) { status = st; break; }
        }
        /* end of line */
        if (pos < end) {
            uint8_t ch = buf[pos];
            if (ch == 13) {
                if (pos + 1 < end && buf[pos + 1] == 10) pos += 2;
                else { status = BAD_SYNTAX; break; }
            } else if (ch == 10) {
                pos++;
            } else { status = BAD_SYNTAX; break; }
        }
        /* rules */
        if (t < YEAR0 || t > YEAR1 || k < 10000 || k > 999999 || i >= c->top || j >= c->top) {
            status = BAD_VALUE; break;
        }
        int32_t ei = c->lut[i], mi = c->lut[j];
        if (ei < 0 || mi < 0) { status = BAD_VALUE; break; }
        if (n >= c->cap) { status = BAD_SYNTAX; break; } /* more lines than the arrays hold */
        c->year[n] = (int32_t)t;
        c->exporter[n] = ei;
        c->importer[n] = mi;
        c->product[n] = (int32_t)k;
        c->value[n] = v / 1000.0; /* thousand USD -> USD millions */
        if (v == 0.0) zeros++;
        if (valid) {
            c->quantity[n] = q;
            c->qbits[n >> 3] |= (uint8_t)(1u << (n & 7));
        } else {
            c->quantity[n] = 0.0;
            nulls++;
        }
        c->present[k] = 1;
        c->years[t - YEAR0] = 1;
        c->used[i] = 1;
        c->used[j] = 1;
        if (c->order_base > 0) {
            int64_t key = ((t * c->order_base + i) * c->order_base + j) * 1000000 + k;
            if (n == 0) first = key;
            else if (key <= prev) ordered = 0;
            prev = key;
        }
        if (collect) {
            if (n >= c->nkeys) { status = BAD_SYNTAX; break; }
            c->keys[n] = (((t - YEAR0) * c->ne + ei) * c->ne + mi) * 1000000 + k;
        }
        n++;
    }
    c->stats[ROWS] = n;
    c->stats[STATUS] = status;
    c->stats[ZEROS] = zeros;
    c->stats[NULLS] = nulls;
    c->stats[ORDERED] = ordered;
    c->stats[FIRST_KEY] = first;
    c->stats[LAST_KEY] = prev;
    return status;
}

static PyObject *parse_chunk(PyObject *self, PyObject *args) {
    PyObject *o[19];
    Py_ssize_t start, end;
    long long order_base, ne;
    enum { BUF, LUT, POW10, YEAR, EXP, IMP, PROD, VAL, QTY, QBITS, PRESENT, YEARS, USED, STATS, KEYS, NARGS };
    Arg a[NARGS];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OnnOLOOOOOOOOOOOOOL:parse_chunk", &o[0], &start, &end, &o[3], &order_base,
                          &o[5], &o[6], &o[7], &o[8], &o[9], &o[10], &o[11], &o[12], &o[13], &o[14],
                          &o[15], &o[16], &o[17], &ne))
        return NULL;
    if (!get(o[0], &a[BUF], "buf", 'u', 1, 0) || !get(o[3], &a[LUT], "lut", 'i', 4, 0) ||
        !get(o[5], &a[POW10], "pow10", 'f', 8, 0) || !get(o[6], &a[YEAR], "year", 'i', 4, 1) ||
        !get(o[7], &a[EXP], "exporter", 'i', 4, 1) || !get(o[8], &a[IMP], "importer", 'i', 4, 1) ||
        !get(o[9], &a[PROD], "product", 'i', 4, 1) || !get(o[10], &a[VAL], "value", 'f', 8, 1) ||
        !get(o[11], &a[QTY], "quantity", 'f', 8, 1) || !get(o[12], &a[QBITS], "qbits", 'u', 1, 1) ||
        !get(o[13], &a[PRESENT], "present", 'u', 1, 1) || !get(o[14], &a[YEARS], "years", 'u', 1, 1) ||
        !get(o[15], &a[USED], "used", 'u', 1, 1) || !get(o[16], &a[STATS], "stats", 'i', 8, 1) ||
        !get(o[17], &a[KEYS], "keys", 'i', 8, 1)) {
        release(a, NARGS);
        return NULL;
    }
    Py_ssize_t top = LEN(a[LUT]);
    Py_ssize_t cap = LEN(a[YEAR]);
    Py_ssize_t lens[] = {LEN(a[EXP]), LEN(a[IMP]), LEN(a[PROD]), LEN(a[VAL]), LEN(a[QTY]), LEN(a[QBITS]) * 8};
    for (int x = 0; x < 6; x++) if (lens[x] < cap) cap = lens[x];
    const char *bad = NULL;
    if (start < 0 || end < start || end > a[BUF].view.len) bad = "start/end outside buf";
    else if (LEN(a[POW10]) < 23) bad = "pow10 needs 23 entries";
    else if (LEN(a[PRESENT]) < NPRODUCTS) bad = "present needs 1,000,000 entries";
    else if (LEN(a[YEARS]) < YEAR1 - YEAR0 + 1) bad = "years needs 401 entries";
    else if (LEN(a[USED]) < top) bad = "used must be as long as lut";
    else if (LEN(a[STATS]) < NSTATS) bad = "stats needs 8 entries";
    if (bad) {
        release(a, NARGS);
        PyErr_SetString(PyExc_ValueError, bad);
        return NULL;
    }
    Chunk c = {a[BUF].view.buf, start, end, a[LUT].view.buf, top, order_base, a[POW10].view.buf,
               a[YEAR].view.buf, a[EXP].view.buf, a[IMP].view.buf, a[PROD].view.buf, a[VAL].view.buf,
               a[QTY].view.buf, a[QBITS].view.buf, a[PRESENT].view.buf, a[YEARS].view.buf, a[USED].view.buf,
               a[STATS].view.buf, a[KEYS].view.buf, cap, LEN(a[KEYS]), ne};
    int status;
    if (end > start && c.buf[end - 1] != 10) { /* the field loops rely on a final '\n' */
        c.stats[STATUS] = BAD_SYNTAX;
        status = BAD_SYNTAX;
    } else {
        Py_BEGIN_ALLOW_THREADS
        status = parse_lines(&c);
        Py_END_ALLOW_THREADS
    }
    release(a, NARGS);
    return PyLong_FromLong(status);
}

/* ------------------------------------------------------------------ remap, keys */

static PyObject *remap(PyObject *self, PyObject *args) {
    PyObject *o[3];
    Arg a[3];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOO:remap", &o[0], &o[1], &o[2])) return NULL;
    if (!get(o[0], &a[0], "src", 'i', 4, 0) || !get(o[1], &a[1], "lut", 'i', 4, 0) ||
        !get(o[2], &a[2], "out", 'i', 4, 1)) {
        release(a, 3);
        return NULL;
    }
    const int32_t *src = a[0].view.buf, *lut = a[1].view.buf;
    int32_t *out = a[2].view.buf;
    Py_ssize_t n = LEN(a[0]), m = LEN(a[1]), bad = -1;
    if (LEN(a[2]) < n) {
        release(a, 3);
        PyErr_SetString(PyExc_ValueError, "out is shorter than src");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n; r++) {
        int32_t s = src[r];
        if (s < 0 || s >= m) { bad = r; break; }
        out[r] = lut[s];
    }
    Py_END_ALLOW_THREADS
    release(a, 3);
    if (bad >= 0) {
        PyErr_Format(PyExc_IndexError, "src[%zd] is outside lut", bad);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Set bit ``bit`` in ``seen``: 1 if it was already set, -1 if outside. */
static inline int mark(uint8_t *seen, Py_ssize_t nbits, int64_t bit) {
    if (bit < 0 || bit >= nbits) return -1;
    uint8_t b = (uint8_t)(1u << (bit & 7));
    if (seen[bit >> 3] & b) return 1;
    seen[bit >> 3] |= b;
    return 0;
}

static PyObject *mark_packed(PyObject *self, PyObject *args) {
    PyObject *ok, *op, *os;
    long long yoff, npr;
    Arg a[3];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OLOLO:mark_packed", &ok, &yoff, &op, &npr, &os)) return NULL;
    if (!get(ok, &a[0], "keys", 'i', 8, 0) || !get(op, &a[1], "plut", 'i', 8, 0) ||
        !get(os, &a[2], "seen", 'u', 1, 1)) {
        release(a, 3);
        return NULL;
    }
    const int64_t *keys = a[0].view.buf, *plut = a[1].view.buf;
    uint8_t *seen = a[2].view.buf;
    Py_ssize_t n = LEN(a[0]), np_ = LEN(a[1]), nbits = a[2].view.len * 8;
    int result = 1, outside = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < n; r++) {
        int64_t rest = keys[r] / 1000000, hs = keys[r] - rest * 1000000;
        if (hs < 0 || hs >= np_) { outside = 1; break; }
        int hit = mark(seen, nbits, (rest - yoff) * npr + plut[hs]);
        if (hit < 0) { outside = 1; break; }
        if (hit) { result = 0; break; }
    }
    Py_END_ALLOW_THREADS
    release(a, 3);
    if (outside) {
        PyErr_SetString(PyExc_IndexError, "a packed key falls outside plut or seen");
        return NULL;
    }
    return PyBool_FromLong(result);
}

/* (key, start of the next line) of an already validated line at ``pos``; -1 if out of range. */
static inline int64_t line_key(const uint8_t *buf, Py_ssize_t *pos, Py_ssize_t end, const int32_t *lut,
                               Py_ssize_t top, const int64_t *plut, int64_t ymin, int64_t ne, int64_t npr) {
    Py_ssize_t p = *pos;
    int64_t t = read_int(buf, &p);
    p++;
    int64_t i = read_int(buf, &p);
    p++;
    int64_t j = read_int(buf, &p);
    p++;
    int64_t k = read_int(buf, &p);
    while (p < end && buf[p] != 10) p++;
    *pos = p + 1;
    if (t < 0 || i < 0 || j < 0 || k < 0 || i >= top || j >= top || k >= NPRODUCTS) return -1;
    return (((t - ymin) * ne + lut[i]) * ne + lut[j]) * npr + plut[k];
}

/* The shared arguments of mark_keys and line_keys. */
typedef struct { Arg a[4]; Py_ssize_t start, end; long long ymin, ne, npr; } KeyArgs;

/* ``out``: the last argument, named ``outname``, an array of ``kind``/``itemsize`` items. */
static int key_args(PyObject *args, const char *fmt, KeyArgs *ka, const char *outname, char kind, Py_ssize_t itemsize) {
    PyObject *ob, *ol, *op, *oo;
    memset(ka->a, 0, sizeof ka->a);
    if (!PyArg_ParseTuple(args, fmt, &ob, &ka->start, &ka->end, &ol, &op, &ka->ymin, &ka->ne, &ka->npr, &oo))
        return 0;
    if (!get(ob, &ka->a[0], "buf", 'u', 1, 0) || !get(ol, &ka->a[1], "lut", 'i', 4, 0) ||
        !get(op, &ka->a[2], "plut", 'i', 8, 0) || !get(oo, &ka->a[3], outname, kind, itemsize, 1)) {
        release(ka->a, 4);
        return 0;
    }
    if (ka->start < 0 || ka->end < ka->start || ka->end > ka->a[0].view.len || LEN(ka->a[2]) < NPRODUCTS) {
        release(ka->a, 4);
        PyErr_SetString(PyExc_ValueError, "start/end outside buf, or plut shorter than 1,000,000");
        return 0;
    }
    return 1;
}

static PyObject *mark_keys(PyObject *self, PyObject *args) {
    KeyArgs ka;
    if (!key_args(args, "OnnOOLLLO:mark_keys", &ka, "seen", 'u', 1)) return NULL;
    const uint8_t *buf = ka.a[0].view.buf;
    const int32_t *lut = ka.a[1].view.buf;
    const int64_t *plut = ka.a[2].view.buf;
    uint8_t *seen = ka.a[3].view.buf;
    Py_ssize_t top = LEN(ka.a[1]), nbits = ka.a[3].view.len * 8, pos = ka.start;
    int result = 1, outside = 0;
    Py_BEGIN_ALLOW_THREADS
    while (pos < ka.end) {
        int64_t key = line_key(buf, &pos, ka.end, lut, top, plut, ka.ymin, ka.ne, ka.npr);
        int hit = key < 0 ? -1 : mark(seen, nbits, key);
        if (hit < 0) { outside = 1; break; }
        if (hit) { result = 0; break; }
    }
    Py_END_ALLOW_THREADS
    release(ka.a, 4);
    if (outside) {
        PyErr_SetString(PyExc_IndexError, "a line's key falls outside the bitmap");
        return NULL;
    }
    return PyBool_FromLong(result);
}

static PyObject *line_keys(PyObject *self, PyObject *args) {
    KeyArgs ka;
    if (!key_args(args, "OnnOOLLLO:line_keys", &ka, "out", 'i', 8)) return NULL;
    const uint8_t *buf = ka.a[0].view.buf;
    const int32_t *lut = ka.a[1].view.buf;
    const int64_t *plut = ka.a[2].view.buf;
    int64_t *out = ka.a[3].view.buf;
    Py_ssize_t top = LEN(ka.a[1]), cap = LEN(ka.a[3]), pos = ka.start, n = 0;
    int outside = 0;
    Py_BEGIN_ALLOW_THREADS
    while (pos < ka.end) {
        int64_t key = line_key(buf, &pos, ka.end, lut, top, plut, ka.ymin, ka.ne, ka.npr);
        if (key < 0 || n >= cap) { outside = 1; break; }
        out[n++] = key;
    }
    Py_END_ALLOW_THREADS
    release(ka.a, 4);
    if (outside) {
        PyErr_SetString(PyExc_IndexError, "a line's key is out of range, or out is too short");
        return NULL;
    }
    return PyLong_FromSsize_t(n);
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"parse_chunk", parse_chunk, METH_VARARGS,
     "parse_chunk(buf, start, end, lut, order_base, pow10, year, exporter, importer, product, value, "
     "quantity, qbits, present, years, used, stats, keys, ne) -> status (0 = every line valid)"},
    {"remap", remap, METH_VARARGS, "remap(src, lut, out): out[r] = lut[src[r]]"},
    {"mark_packed", mark_packed, METH_VARARGS,
     "mark_packed(keys, yoff, plut, npr, seen) -> False as soon as a packed key repeats"},
    {"mark_keys", mark_keys, METH_VARARGS,
     "mark_keys(buf, start, end, lut, plut, ymin, ne, npr, seen) -> False as soon as a line's key repeats"},
    {"line_keys", line_keys, METH_VARARGS,
     "line_keys(buf, start, end, lut, plut, ymin, ne, npr, out) -> number of lines (keys into out)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_baci_kernels",
                                    "BACI parser kernels in C (see baci_parse.py)", -1, methods};

PyMODINIT_FUNC PyInit__baci_kernels(void) { return PyModule_Create(&module); }
