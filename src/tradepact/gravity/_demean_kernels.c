/* The demeaning and IRLS kernels of the PPML-HDFE engine in C: the same arithmetic as the numba
 * kernels in _demean_numba.py (the algorithm is described in _demean.py), compiled when the package
 * is installed so that a fresh process pays no JIT start-up (numba's import and cached-code loading
 * cost ~0.5-1 s). Built as an optional extension: where no C compiler is available the numba kernels
 * are used instead, and the tests run both against each other and against pyfixest.
 *
 * Conjugate gradients on (I - T) p = (I - T) y in the weighted inner product <a, b> = sum w a b,
 * where T is the symmetric Kaczmarz sweep over the fixed effects (project out FE seq[0], seq[1], ...
 * with closed-form weighted group means). One call solves a list of columns, one after the other,
 * with the GIL released: the caller runs several calls on threads to use several cores.
 *
 * Arrays arrive through the buffer protocol (C-contiguous NumPy arrays); the item size and kind and
 * the length of every argument are checked, and every fixed-effect code is checked against its
 * number of levels before any group sum is written, so a wrong argument raises ValueError instead
 * of writing out of bounds. No fast-math flag is used: the arithmetic is plain IEEE double.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ argument buffers */

/* kind: 'i' signed integer, 'f' float; itemsize in bytes. */
static int kind_of(const char *fmt, char *kind) {
    if (fmt == NULL) return 0;
    while (*fmt == '@' || *fmt == '=' || *fmt == '<' || *fmt == '!') fmt++;
    if (fmt[0] == '\0' || fmt[1] != '\0') return 0;
    switch (fmt[0]) {
        case 'b': case 'h': case 'i': case 'l': case 'q': case 'n': *kind = 'i'; return 1;
        case 'f': case 'd': *kind = 'f'; return 1;
        case '?': *kind = '?'; return 1;
        default: return 0;
    }
}

typedef struct { Py_buffer view; int held; } Arg;

/* Fill ``a`` from ``obj``: a C-contiguous buffer of items of ``kind``/``itemsize`` (writable if
 * asked); on a mismatch sets a ValueError naming the argument and returns 0. */
static int get(PyObject *obj, Arg *a, const char *name, char kind, Py_ssize_t itemsize, int writable) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    char k;
    if (PyObject_GetBuffer(obj, &a->view, flags) < 0) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s: expected a C-contiguous%s array", name, writable ? " writable" : "");
        return 0;
    }
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

static int bad_len(const char *name, Py_ssize_t got, Py_ssize_t want) {
    PyErr_Format(PyExc_ValueError, "%s: expected %zd items, got %zd", name, want, got);
    return 0;
}

/* The fixed-effect layout shared by the solver functions: codes (G, n) int32 with level counts
 * offsets[g+1] - offsets[g] (offsets (G+1,) int64 from 0, non-decreasing); checks every code. */
static int check_layout(const int32_t *codes, Py_ssize_t ncodes, const int64_t *offsets, Py_ssize_t noff,
                        Py_ssize_t n, Py_ssize_t L) {
    Py_ssize_t G = noff - 1;
    if (G < 1 || ncodes != G * n) {
        PyErr_Format(PyExc_ValueError, "codes: expected (len(offsets) - 1) x n = %zd items, got %zd", G * n, ncodes);
        return 0;
    }
    if (offsets[0] != 0 || offsets[G] != L) {
        PyErr_Format(PyExc_ValueError, "offsets: expected to run from 0 to the number of levels %zd", L);
        return 0;
    }
    int bad = 0;
    for (Py_ssize_t g = 0; g < G && !bad; g++) {
        int64_t m = offsets[g + 1] - offsets[g];
        if (m < 0 || m > INT32_MAX) { bad = 1; break; }
        const int32_t *c = codes + g * n;
        int32_t mm = (int32_t)m;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++)
            if ((uint32_t)c[i] >= (uint32_t)mm) { bad = 1; break; }
        Py_END_ALLOW_THREADS
    }
    if (bad) {
        PyErr_SetString(PyExc_ValueError, "codes: a fixed-effect code is outside 0..(levels - 1), or offsets decrease");
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------------------ group weights */

static PyObject *inv_group_weights(PyObject *self, PyObject *args) {
    PyObject *oc, *oo, *ow, *out;
    Arg a[4];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOO:inv_group_weights", &oc, &oo, &ow, &out)) return NULL;
    if (!get(oc, &a[0], "codes", 'i', 4, 0) || !get(oo, &a[1], "offsets", 'i', 8, 0) ||
        !get(ow, &a[2], "w", 'f', 8, 0) || !get(out, &a[3], "out", 'f', 8, 1))
        goto fail;
    const int32_t *codes = a[0].view.buf;
    const int64_t *off = a[1].view.buf;
    const double *w = a[2].view.buf;
    double *o = a[3].view.buf;
    Py_ssize_t n = LEN(a[2]), L = LEN(a[3]), G = LEN(a[1]) - 1;
    if (!check_layout(codes, LEN(a[0]), off, LEN(a[1]), n, L)) goto fail;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = 0; c < L; c++) o[c] = 0.0;
    for (Py_ssize_t g = 0; g < G; g++) {
        const int32_t *cg = codes + g * n;
        double *og = o + off[g];
        for (Py_ssize_t i = 0; i < n; i++) og[cg[i]] += w[i];
    }
    for (Py_ssize_t c = 0; c < L; c++) o[c] = o[c] > 0 ? 1.0 / o[c] : 0.0;
    Py_END_ALLOW_THREADS
    release(a, 4);
    Py_RETURN_NONE;
fail:
    release(a, 4);
    return NULL;
}

/* ------------------------------------------------------------------ one fixed effect, closed form */

static PyObject *project_out(PyObject *self, PyObject *args) {
    PyObject *ov, *oc, *ow, *oi;
    Arg a[4];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOO:project_out", &ov, &oc, &ow, &oi)) return NULL;
    if (!get(ov, &a[0], "V", 'f', 8, 1) || !get(oc, &a[1], "codes", 'i', 4, 0) ||
        !get(ow, &a[2], "w", 'f', 8, 0) || !get(oi, &a[3], "inv_wsum", 'f', 8, 0))
        goto fail;
    Py_ssize_t n = LEN(a[2]), G = LEN(a[3]);
    if (LEN(a[1]) != n) { bad_len("codes", LEN(a[1]), n); goto fail; }
    if (n == 0 || LEN(a[0]) % n) { bad_len("V", LEN(a[0]), n); goto fail; }
    Py_ssize_t k = LEN(a[0]) / n;
    int64_t offs[2] = {0, G};
    if (!check_layout(a[1].view.buf, n, offs, 2, n, G)) goto fail;
    double *V = a[0].view.buf;
    const int32_t *codes = a[1].view.buf;
    const double *w = a[2].view.buf, *inv = a[3].view.buf;
    double *sums = calloc((size_t)(G * k) + 1, sizeof(double));
    if (sums == NULL) { PyErr_NoMemory(); goto fail; }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        double *s = sums + (Py_ssize_t)codes[i] * k, wi = w[i];
        const double *v = V + i * k;
        for (Py_ssize_t j = 0; j < k; j++) s[j] += wi * v[j];
    }
    for (Py_ssize_t c = 0; c < G; c++)
        for (Py_ssize_t j = 0; j < k; j++) sums[c * k + j] *= inv[c];
    for (Py_ssize_t i = 0; i < n; i++) {
        const double *s = sums + (Py_ssize_t)codes[i] * k;
        double *v = V + i * k;
        for (Py_ssize_t j = 0; j < k; j++) v[j] -= s[j];
    }
    Py_END_ALLOW_THREADS
    free(sums);
    release(a, 4);
    Py_RETURN_NONE;
fail:
    release(a, 4);
    return NULL;
}

/* ------------------------------------------------------------------ the CG solver, one column at a time */

typedef struct {
    Py_ssize_t n, ns;
    const int32_t *codes;
    const int64_t *off, *seq;
    const double *inv, *w;
} Layout;

/* The inner passes of a symmetric sweep, in place on Td: on entry sums holds the w-weighted sums of
 * FE seq[0] over Td; on return every FE of seq but the last has been projected out of Td and sums
 * holds the means of FE seq[ns-1], for the caller's last pass (which fuses its own work into it). */
static void sweep_middle(const Layout *l, double *Td, double *sums) {
    Py_ssize_t n = l->n;
    for (Py_ssize_t s = 0; s + 1 < l->ns; s++) {
        int64_t gs = l->seq[s], h = l->seq[s + 1];
        int64_t og = l->off[gs], oh = l->off[h];
        for (int64_t c = og; c < l->off[gs + 1]; c++) sums[c] *= l->inv[c];
        for (int64_t c = oh; c < l->off[h + 1]; c++) sums[c] = 0.0;
        const int32_t *cg = l->codes + gs * n, *ch = l->codes + h * n;
        const double *mg = sums + og;
        double *sh = sums + oh;
        for (Py_ssize_t i = 0; i < n; i++) {
            double x = Td[i] - mg[cg[i]];
            Td[i] = x;
            sh[ch[i]] += l->w[i] * x;
        }
    }
    int64_t gl = l->seq[l->ns - 1];
    for (int64_t c = l->off[gl]; c < l->off[gl + 1]; c++) sums[c] *= l->inv[c];
}

/* Start of the solve for column j of Y (n, k) with warm start p: e = Y[:, j] - p, Td = T e,
 * g = d = e - Td. Returns sum w Y[:, j]^2 in *s and sum w g^2 in *gg. */
static void cg_start(const Layout *l, const double *Y, Py_ssize_t k, Py_ssize_t j, const double *p, double *e,
                     double *Td, double *g, double *d, double *sums, double *s_out, double *gg_out) {
    Py_ssize_t n = l->n;
    int64_t g0 = l->seq[0], o0 = l->off[g0];
    for (int64_t c = o0; c < l->off[g0 + 1]; c++) sums[c] = 0.0;
    const int32_t *c0 = l->codes + g0 * n;
    double s = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double y = Y[i * k + j], x = y - p[i];
        e[i] = x;
        Td[i] = x;
        s += l->w[i] * y * y;
        sums[o0 + c0[i]] += l->w[i] * x;
    }
    sweep_middle(l, Td, sums);
    int64_t gl = l->seq[l->ns - 1];
    const int32_t *cl = l->codes + gl * n;
    const double *ml = sums + l->off[gl];
    double gg = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double t = Td[i] - ml[cl[i]];
        Td[i] = t;
        double gi = e[i] - t;
        g[i] = gi;
        d[i] = gi;
        gg += l->w[i] * gi * gi;
    }
    *s_out = s;
    *gg_out = gg;
}

/* One CG step's sweep with its neighbours fused in: d = g + b d, then Td = T d; returns
 * dAd = sum w d (d - Td). */
static double cg_sweep(const Layout *l, double *d, const double *g, double b, double *Td, double *sums) {
    Py_ssize_t n = l->n;
    int64_t g0 = l->seq[0], o0 = l->off[g0];
    for (int64_t c = o0; c < l->off[g0 + 1]; c++) sums[c] = 0.0;
    const int32_t *c0 = l->codes + g0 * n;
    for (Py_ssize_t i = 0; i < n; i++) {
        double x = g[i] + b * d[i];
        d[i] = x;
        Td[i] = x;
        sums[o0 + c0[i]] += l->w[i] * x;
    }
    sweep_middle(l, Td, sums);
    int64_t gl = l->seq[l->ns - 1];
    const int32_t *cl = l->codes + gl * n;
    const double *ml = sums + l->off[gl];
    double dAd = 0.0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double t = Td[i] - ml[cl[i]];
        Td[i] = t;
        dAd += l->w[i] * d[i] * (d[i] - t);
    }
    return dAd;
}

/* The whole solve of column j; writes e, p (= Y[:, j] - e) and returns the iterations (-1: maxiter). */
static int64_t cg_solve(const Layout *l, const double *Y, Py_ssize_t k, Py_ssize_t j, double *p, double *e,
                        double *work, double *sums, double tol, int64_t maxiter) {
    Py_ssize_t n = l->n;
    double *Td = work, *g = work + n, *d = work + 2 * n;
    double s, gg;
    cg_start(l, Y, k, j, p, e, Td, g, d, sums, &s, &gg);
    double scale = sqrt(s > 1e-300 ? s : 1e-300);
    int64_t it = 0;
    double b = 0.0; /* d = g + 0 d = g on the first step */
    while (sqrt(gg) > tol * scale) {
        if (it >= maxiter) { it = -1; break; }
        it++;
        double dAd = cg_sweep(l, d, g, b, Td, sums);
        if (dAd <= 0) break;
        double a = gg / dAd, ggn = 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            e[i] -= a * d[i];
            double gi = g[i] - a * (d[i] - Td[i]);
            g[i] = gi;
            ggn += l->w[i] * gi * gi;
        }
        b = ggn / gg;
        gg = ggn;
    }
    for (Py_ssize_t i = 0; i < n; i++) p[i] = Y[i * k + j] - e[i];
    return it;
}

static PyObject *cg_solve_cols(PyObject *self, PyObject *args) {
    PyObject *oY, *op, *oe, *ow, *oc, *oo, *oi, *os, *oits, *ocols;
    double tol;
    long long maxiter;
    Arg a[10];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOOOOOOdLOO:cg_solve_cols", &oY, &op, &oe, &ow, &oc, &oo, &oi, &os, &tol,
                          &maxiter, &oits, &ocols))
        return NULL;
    if (!get(oY, &a[0], "Y", 'f', 8, 0) || !get(op, &a[1], "pT", 'f', 8, 1) || !get(oe, &a[2], "eT", 'f', 8, 1) ||
        !get(ow, &a[3], "w", 'f', 8, 0) || !get(oc, &a[4], "codes", 'i', 4, 0) ||
        !get(oo, &a[5], "offsets", 'i', 8, 0) || !get(oi, &a[6], "inv_wsum", 'f', 8, 0) ||
        !get(os, &a[7], "seq", 'i', 8, 0) || !get(oits, &a[8], "its", 'i', 8, 1) ||
        !get(ocols, &a[9], "cols", 'i', 8, 0))
        goto fail;
    Py_ssize_t n = LEN(a[3]), L = LEN(a[6]), G = LEN(a[5]) - 1, ns = LEN(a[7]), m = LEN(a[9]);
    if (n == 0 || LEN(a[0]) % n) { bad_len("Y", LEN(a[0]), n); goto fail; }
    Py_ssize_t k = LEN(a[0]) / n;
    if (LEN(a[1]) != k * n) { bad_len("pT", LEN(a[1]), k * n); goto fail; }
    if (LEN(a[2]) != k * n) { bad_len("eT", LEN(a[2]), k * n); goto fail; }
    if (LEN(a[8]) != k) { bad_len("its", LEN(a[8]), k); goto fail; }
    if (!check_layout(a[4].view.buf, LEN(a[4]), a[5].view.buf, LEN(a[5]), n, L)) goto fail;
    const int64_t *seq = a[7].view.buf, *cols = a[9].view.buf;
    if (ns < 1) { PyErr_SetString(PyExc_ValueError, "seq: expected at least one fixed effect"); goto fail; }
    for (Py_ssize_t s = 0; s < ns; s++)
        if (seq[s] < 0 || seq[s] >= G) { PyErr_SetString(PyExc_ValueError, "seq: a fixed effect index out of range"); goto fail; }
    for (Py_ssize_t c = 0; c < m; c++)
        if (cols[c] < 0 || cols[c] >= k) { PyErr_SetString(PyExc_ValueError, "cols: a column index out of range"); goto fail; }
    Layout l = {n, ns, a[4].view.buf, a[5].view.buf, seq, a[6].view.buf, a[3].view.buf};
    double *work = malloc(sizeof(double) * (size_t)(3 * n + L + 1));
    if (work == NULL) { PyErr_NoMemory(); goto fail; }
    const double *Y = a[0].view.buf;
    double *pT = a[1].view.buf, *eT = a[2].view.buf;
    int64_t *its = a[8].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t c = 0; c < m; c++) {
        Py_ssize_t j = cols[c];
        its[j] = cg_solve(&l, Y, k, j, pT + j * n, eT + j * n, work, work + 3 * n, tol, (int64_t)maxiter);
    }
    Py_END_ALLOW_THREADS
    free(work);
    release(a, 10);
    Py_RETURN_NONE;
fail:
    release(a, 10);
    return NULL;
}

/* ------------------------------------------------------------------ IRLS steps */

static PyObject *irls_working(PyObject *self, PyObject *args) {
    PyObject *oy, *om, *oe, *oo, *ow, *oz, *oww;
    Arg a[7];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOOOOO:irls_working", &oy, &om, &oe, &oo, &ow, &oz, &oww)) return NULL;
    if (!get(oy, &a[0], "y", 'f', 8, 0) || !get(om, &a[1], "mu", 'f', 8, 0) || !get(oe, &a[2], "eta", 'f', 8, 0) ||
        !get(oo, &a[3], "off", 'f', 8, 0) || !get(ow, &a[4], "w", 'f', 8, 0) || !get(oz, &a[5], "z", 'f', 8, 1) ||
        !get(oww, &a[6], "ww", 'f', 8, 1))
        goto fail;
    Py_ssize_t n = LEN(a[0]);
    for (int x = 1; x < 7; x++) {
        if (x == 3 || x == 4) {
            if (LEN(a[x]) != n && LEN(a[x]) != 0) { bad_len(x == 3 ? "off" : "w", LEN(a[x]), n); goto fail; }
        } else if (LEN(a[x]) != n) { bad_len("mu/eta/z/ww", LEN(a[x]), n); goto fail; }
    }
    const double *y = a[0].view.buf, *mu = a[1].view.buf, *eta = a[2].view.buf;
    const double *off = LEN(a[3]) ? a[3].view.buf : NULL, *w = LEN(a[4]) ? a[4].view.buf : NULL;
    double *z = a[5].view.buf, *ww = a[6].view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        double zi = eta[i] + y[i] / mu[i] - 1.0;
        if (off) zi -= off[i];
        z[i] = zi;
        ww[i] = w ? mu[i] * w[i] : mu[i];
    }
    Py_END_ALLOW_THREADS
    release(a, 7);
    Py_RETURN_NONE;
fail:
    release(a, 7);
    return NULL;
}

static PyObject *irls_update_T(PyObject *self, PyObject *args) {
    PyObject *oz, *ozt, *ox, *ob, *oo, *owy, *ow, *oe, *om;
    Arg a[9];
    memset(a, 0, sizeof a);
    if (!PyArg_ParseTuple(args, "OOOOOOOOO:irls_update_T", &oz, &ozt, &ox, &ob, &oo, &owy, &ow, &oe, &om))
        return NULL;
    if (!get(oz, &a[0], "z", 'f', 8, 0) || !get(ozt, &a[1], "zt", 'f', 8, 0) || !get(ox, &a[2], "XtT", 'f', 8, 0) ||
        !get(ob, &a[3], "beta", 'f', 8, 0) || !get(oo, &a[4], "off", 'f', 8, 0) || !get(owy, &a[5], "wy", 'f', 8, 0) ||
        !get(ow, &a[6], "w", 'f', 8, 0) || !get(oe, &a[7], "eta_new", 'f', 8, 1) || !get(om, &a[8], "mu_new", 'f', 8, 1))
        goto fail;
    Py_ssize_t n = LEN(a[0]), k = LEN(a[3]);
    if (LEN(a[1]) != n || LEN(a[5]) != n || LEN(a[7]) != n || LEN(a[8]) != n) {
        bad_len("zt/wy/eta_new/mu_new", LEN(a[1]), n);
        goto fail;
    }
    if (LEN(a[2]) != k * n) { bad_len("XtT", LEN(a[2]), k * n); goto fail; }
    if ((LEN(a[4]) != n && LEN(a[4]) != 0) || (LEN(a[6]) != n && LEN(a[6]) != 0)) {
        bad_len("off/w", LEN(a[4]), n);
        goto fail;
    }
    const double *z = a[0].view.buf, *zt = a[1].view.buf, *X = a[2].view.buf, *beta = a[3].view.buf;
    const double *off = LEN(a[4]) ? a[4].view.buf : NULL, *wy = a[5].view.buf, *w = LEN(a[6]) ? a[6].view.buf : NULL;
    double *eta = a[7].view.buf, *mu = a[8].view.buf;
    double s1 = 0.0, s2 = 0.0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        double e = z[i] - zt[i];
        for (Py_ssize_t j = 0; j < k; j++) e += X[j * n + i] * beta[j];
        if (off) e += off[i];
        eta[i] = e;
        double m = exp(e);
        mu[i] = m;
        s1 += wy[i] * e;
        s2 += w ? m * w[i] : m;
    }
    Py_END_ALLOW_THREADS
    release(a, 9);
    return Py_BuildValue("(dd)", s1, s2);
fail:
    release(a, 9);
    return NULL;
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"inv_group_weights", inv_group_weights, METH_VARARGS,
     "inv_group_weights(codes, offsets, w, out): out[offsets[g] + c] = 1 / sum of w over level c of FE g (0 if 0)"},
    {"project_out", project_out, METH_VARARGS,
     "project_out(V, codes, w, inv_wsum): V (n, k) -= its weighted group means (one fixed effect), in place"},
    {"cg_solve_cols", cg_solve_cols, METH_VARARGS,
     "cg_solve_cols(Y, pT, eT, w, codes, offsets, inv_wsum, seq, tol, maxiter, its, cols): the CG demeaning "
     "of the columns cols of Y (n, k), writing eT and pT (k, n) and its (k,) (-1 = maxiter hit); GIL released"},
    {"irls_working", irls_working, METH_VARARGS,
     "irls_working(y, mu, eta, off, w, z, ww): z = eta - off + y/mu - 1, ww = w mu (empty off/w = 0/1)"},
    {"irls_update_T", irls_update_T, METH_VARARGS,
     "irls_update_T(z, zt, XtT, beta, off, wy, w, eta_new, mu_new) -> (sum wy eta_new, sum w mu_new)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_demean_kernels",
                                    "Demeaning and IRLS kernels in C (see _demean.py)", -1, methods};

PyMODINIT_FUNC PyInit__demean_kernels(void) { return PyModule_Create(&module); }
