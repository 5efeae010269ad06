"""Weighted within-transformation over several fixed effects (the HDFE core).

``Demeaner`` projects columns onto the orthogonal complement (in the weighted inner
product ``<a, b> = sum(w * a * b)``) of the span of the fixed-effect dummies. It uses
symmetric Kaczmarz sweeps (project out FE 1, 2, …, G, …, 2, 1 with closed-form weighted
group means) accelerated by conjugate gradients, as reghdfe/ppmlhdfe do (Correia 2017):
with ``T`` the symmetric sweep, the fixed-effect component ``p`` of a column ``y`` solves
``(I - T) p = (I - T) y``, and ``I - T`` is symmetric positive semi-definite in the
weighted inner product, so CG applies. A previous fixed-effect component can be passed
as a warm start (the PPML loop does this across IRLS iterations).

Group sums use ``np.bincount`` (vectorised); with numba installed a fused kernel does
the same arithmetic in one pass over the rows.
"""
from __future__ import annotations

import threading

import numpy as np

from tradepact.errors import NotConvergedError

try:  # optional accelerator; results are identical up to rounding
    import numba as _nb

    @_nb.njit(cache=True, nogil=True)
    def _project_out_nb(V, codes, w, inv_wsum, n_levels):  # pragma: no cover - compiled
        n, k = V.shape
        sums = np.zeros((n_levels, k))
        for i in range(n):
            g = codes[i]
            wi = w[i]
            for j in range(k):
                sums[g, j] += wi * V[i, j]
        for g in range(n_levels):
            s = inv_wsum[g]
            for j in range(k):
                sums[g, j] *= s
        for i in range(n):
            g = codes[i]
            for j in range(k):
                V[i, j] -= sums[g, j]

    @_nb.njit(cache=True, nogil=True)
    def _sweep_nb(V, out, codes, offsets, inv_wsum, w, seq, sums):  # pragma: no cover - compiled
        """out = T V for the symmetric sequence ``seq`` of FE indices, fused: each pass over
        the rows subtracts the means of one FE and accumulates the sums of the next."""
        n, k = V.shape
        g0 = seq[0]
        for c in range(offsets[g0], offsets[g0 + 1]):
            for j in range(k):
                sums[c, j] = 0.0
        for i in range(n):
            c = offsets[g0] + codes[g0, i]
            wi = w[i]
            for j in range(k):
                v = V[i, j]
                out[i, j] = v
                sums[c, j] += wi * v
        ns = seq.shape[0]
        for s in range(ns):
            g = seq[s]
            for c in range(offsets[g], offsets[g + 1]):
                iw = inv_wsum[c]
                for j in range(k):
                    sums[c, j] *= iw
            if s + 1 < ns:
                h = seq[s + 1]
                for c in range(offsets[h], offsets[h + 1]):
                    for j in range(k):
                        sums[c, j] = 0.0
                for i in range(n):
                    cg = offsets[g] + codes[g, i]
                    ch = offsets[h] + codes[h, i]
                    wi = w[i]
                    for j in range(k):
                        v = out[i, j] - sums[cg, j]
                        out[i, j] = v
                        sums[ch, j] += wi * v
            else:
                for i in range(n):
                    cg = offsets[g] + codes[g, i]
                    for j in range(k):
                        out[i, j] -= sums[cg, j]

    @_nb.njit(cache=True, nogil=True)
    def _cg_step_nb(e, g, d, Td, w, gg, active):  # pragma: no cover - compiled
        """One CG step given Td = T d (A d = d - T d). Updates e, g, d in place; returns (gg_new, dAd)."""
        n, k = e.shape
        dAd = np.zeros(k)
        for i in range(n):
            wi = w[i]
            for j in range(k):
                dAd[j] += wi * d[i, j] * (d[i, j] - Td[i, j])
        alpha = np.zeros(k)
        for j in range(k):
            if active[j] and dAd[j] > 0:
                alpha[j] = gg[j] / dAd[j]
        ggn = np.zeros(k)
        for i in range(n):
            wi = w[i]
            for j in range(k):
                a = alpha[j]
                e[i, j] -= a * d[i, j]
                gij = g[i, j] - a * (d[i, j] - Td[i, j])
                g[i, j] = gij
                ggn[j] += wi * gij * gij
        beta = np.zeros(k)
        for j in range(k):
            if active[j] and gg[j] > 0:
                beta[j] = ggn[j] / gg[j]
        for i in range(n):
            for j in range(k):
                d[i, j] = g[i, j] + beta[j] * d[i, j]
        return ggn, dAd

    @_nb.njit(cache=True, nogil=True)
    def _sweep_middle(Td, codes, offsets, inv_wsum, w, seq, sums):  # pragma: no cover - compiled
        """The inner passes of a symmetric sweep, in place on ``Td``: on entry ``sums`` holds the
        w-weighted sums of FE ``seq[0]`` over ``Td``; on return every FE of ``seq`` but the last
        has been projected out of ``Td`` and ``sums`` holds the means of FE ``seq[-1]``, for the
        caller's last pass (which fuses its own work into it)."""
        n = Td.shape[0]
        ns = seq.shape[0]
        for s in range(ns - 1):
            gs = seq[s]
            og = offsets[gs]
            for c in range(og, offsets[gs + 1]):
                sums[c] *= inv_wsum[c]
            h = seq[s + 1]
            oh = offsets[h]
            for c in range(oh, offsets[h + 1]):
                sums[c] = 0.0
            for i in range(n):
                x = Td[i] - sums[og + codes[gs, i]]
                Td[i] = x
                sums[oh + codes[h, i]] += w[i] * x
        gl = seq[ns - 1]
        for c in range(offsets[gl], offsets[gl + 1]):
            sums[c] *= inv_wsum[c]

    @_nb.njit(cache=True, nogil=True)
    def _cg_sweep_col(d, g, b, Td, codes, offsets, inv_wsum, w, seq, sums):  # pragma: no cover - compiled
        """One CG step's sweep with its neighbours fused in: first ``d = g + b·d`` (the direction
        update), then the symmetric sweep ``Td = T d`` (the arithmetic of :func:`_sweep_nb` on one
        contiguous column), and on the last pass returns
        ``dAd = Σ w·d·(d − Td)``: two passes over the rows fewer than doing them separately,
        with the same arithmetic."""
        n = d.shape[0]
        g0 = seq[0]
        o0 = offsets[g0]
        for c in range(o0, offsets[g0 + 1]):
            sums[c] = 0.0
        for i in range(n):
            x = g[i] + b * d[i]
            d[i] = x
            Td[i] = x
            sums[o0 + codes[g0, i]] += w[i] * x
        _sweep_middle(Td, codes, offsets, inv_wsum, w, seq, sums)
        gl = seq[seq.shape[0] - 1]
        ol = offsets[gl]
        dAd = 0.0
        for i in range(n):
            t = Td[i] - sums[ol + codes[gl, i]]
            Td[i] = t
            dAd += w[i] * d[i] * (d[i] - t)
        return dAd

    @_nb.njit(cache=True, nogil=True)
    def _cg_start_col(Y, j, p, e, Td, g, d, codes, offsets, inv_wsum, w, seq, sums):  # pragma: no cover
        """The start of a CG solve for column ``j`` of ``Y`` with warm start ``p``, fused into one
        sweep: ``e = Y[:, j] − p``, ``Td = T e``, ``g = d = e − Td``. Returns
        ``(Σ w·Y[:, j]², Σ w·g²)``."""
        n = e.shape[0]
        g0 = seq[0]
        o0 = offsets[g0]
        for c in range(o0, offsets[g0 + 1]):
            sums[c] = 0.0
        s = 0.0
        for i in range(n):
            y = Y[i, j]
            x = y - p[i]
            e[i] = x
            Td[i] = x
            s += w[i] * y * y
            sums[o0 + codes[g0, i]] += w[i] * x
        _sweep_middle(Td, codes, offsets, inv_wsum, w, seq, sums)
        gl = seq[seq.shape[0] - 1]
        ol = offsets[gl]
        gg = 0.0
        for i in range(n):
            t = Td[i] - sums[ol + codes[gl, i]]
            Td[i] = t
            gi = e[i] - t
            g[i] = gi
            d[i] = gi
            gg += w[i] * gi * gi
        return s, gg

    @_nb.njit(cache=True, nogil=True)
    def _inv_group_weights(codes, offsets, w, out):  # pragma: no cover - compiled
        """out[offsets[g] + c] = 1 / Σ w over the rows of level c of FE g (0 if that sum is 0),
        all fixed effects in one pass over the rows."""
        G, n = codes.shape
        for c in range(out.shape[0]):
            out[c] = 0.0
        for i in range(n):
            wi = w[i]
            for g in range(G):
                out[offsets[g] + codes[g, i]] += wi
        for c in range(out.shape[0]):
            s = out[c]
            out[c] = 1.0 / s if s > 0 else 0.0

    @_nb.njit(cache=True, nogil=True)
    def irls_working(y, mu, eta, off, w, z, ww):  # pragma: no cover - compiled
        """z = eta - off + y/mu - 1 and ww = w·mu (w, off may be empty = 1, 0)."""
        n = y.shape[0]
        has_w = w.shape[0] == n
        has_o = off.shape[0] == n
        for i in range(n):
            zi = eta[i] + y[i] / mu[i] - 1.0
            if has_o:
                zi -= off[i]
            z[i] = zi
            ww[i] = mu[i] * w[i] if has_w else mu[i]

    @_nb.njit(cache=True, nogil=True)
    def irls_update_T(z, zt, XtT, beta, off, wy, w, eta_new, mu_new):  # pragma: no cover - compiled
        """eta_new = z − zt + XtT.T β (+ off); mu_new = exp(eta_new); returns (Σ wy·eta_new, Σ w·mu_new).

        The demeaned regressors come in (k, n) layout."""
        k, n = XtT.shape
        has_w = w.shape[0] == n
        has_o = off.shape[0] == n
        s1 = 0.0
        s2 = 0.0
        for i in range(n):
            e = z[i] - zt[i]
            for j in range(k):
                e += XtT[j, i] * beta[j]
            if has_o:
                e += off[i]
            eta_new[i] = e
            m = np.exp(e)
            mu_new[i] = m
            s1 += wy[i] * e
            s2 += m * w[i] if has_w else m
        return s1, s2

    @_nb.njit(cache=True, parallel=True)
    def _cg_solve_cols(Y, pT, eT, w, codes, offsets, inv_wsum, seq, tol, maxiter, its):  # pragma: no cover
        """The whole CG solve, one column per thread (columns are independent: one parallel region
        per call instead of one per sweep). Writes eT (residuals) and pT (FE component);
        its[j] = iterations, or -1 if ``maxiter`` was hit."""
        n, k = Y.shape
        L = inv_wsum.shape[0]
        for j in _nb.prange(k):
            e = eT[j]
            p = pT[j]
            Td = np.empty(n)
            g = np.empty(n)
            d = np.empty(n)
            sums = np.empty(L)
            s, gg = _cg_start_col(Y, j, p, e, Td, g, d, codes, offsets, inv_wsum, w, seq, sums)
            scale = np.sqrt(max(s, 1e-300))
            it = 0
            b = 0.0  # d = g + 0·d = g on the first step
            while np.sqrt(gg) > tol * scale:
                if it >= maxiter:
                    it = -1
                    break
                it += 1
                dAd = _cg_sweep_col(d, g, b, Td, codes, offsets, inv_wsum, w, seq, sums)
                if dAd <= 0:
                    break
                a = gg / dAd
                ggn = 0.0
                for i in range(n):
                    e[i] -= a * d[i]
                    gi = g[i] - a * (d[i] - Td[i])
                    g[i] = gi
                    ggn += w[i] * gi * gi
                b = ggn / gg
                gg = ggn
            its[j] = it
            for i in range(n):
                p[i] = Y[i, j] - e[i]

    HAVE_NUMBA = True
except Exception:  # pragma: no cover - numba missing
    HAVE_NUMBA = False


#: below this many rows the single-threaded kernels are used (thread start-up costs more)
PARALLEL_MIN_ROWS = 100_000
_PARALLEL_LOCK = threading.Lock()


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes 0..G-1 and the level labels of a 1-D array-like."""
    import pandas as pd

    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    return codes.astype(np.int64), np.asarray(uniques)


class Demeaner:
    """Weighted projections for a fixed set of FE codes.

    Parameters
    ----------
    codes : list of int arrays, each shape (n,), values 0..G_g-1 (every level present).
    """

    def __init__(self, codes: list[np.ndarray], use_numba: bool | None = None):
        self.codes = [np.ascontiguousarray(c) if np.asarray(c).dtype in (np.int32, np.int64)
                      else np.ascontiguousarray(c, dtype=np.int64) for c in codes]
        self.n_levels = [int(c.max()) + 1 if c.size else 0 for c in self.codes]
        self.n = self.codes[0].shape[0] if self.codes else 0
        self.use_numba = HAVE_NUMBA if use_numba is None else (use_numba and HAVE_NUMBA)
        self.w = None
        G = len(self.codes)
        self._seq = np.array(list(range(G)) + list(range(G - 2, -1, -1)), dtype=np.int64)
        if self.use_numba and G >= 2:
            self._codes2d = np.vstack([c.astype(np.int32, copy=False) for c in self.codes])
            self.codes = list(self._codes2d)  # views: no second copy
            self._offsets = np.concatenate([[0], np.cumsum(self.n_levels)]).astype(np.int64)

    def set_weights(self, w: np.ndarray) -> None:
        """Set observation weights (shape (n,), positive)."""
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        if self.use_numba and len(self.codes) >= 2:
            self._inv_all = np.empty(int(self._offsets[-1]))
            _inv_group_weights(self._codes2d, self._offsets, self.w, self._inv_all)
            self.inv_wsum = [self._inv_all[a:b] for a, b in zip(self._offsets[:-1], self._offsets[1:])]
            return
        self.inv_wsum = []
        for c, G in zip(self.codes, self.n_levels):
            s = np.bincount(c, weights=self.w, minlength=G)
            with np.errstate(divide="ignore"):
                self.inv_wsum.append(np.where(s > 0, 1.0 / s, 0.0))

    # -- one projection: V <- V - P_g V (in place) ---------------------------
    def _project_out(self, V: np.ndarray, g: int) -> None:
        c, G, inv = self.codes[g], self.n_levels[g], self.inv_wsum[g]
        if self.use_numba:
            _project_out_nb(V, c, self.w, inv, G)
            return
        for j in range(V.shape[1]):
            m = np.bincount(c, weights=self.w * V[:, j], minlength=G) * inv
            V[:, j] -= m[c]

    def sweep(self, V: np.ndarray) -> np.ndarray:
        """Symmetric Kaczmarz sweep T V (returns a new array)."""
        out = np.array(V, dtype=np.float64, order="C", copy=True)
        G = len(self.codes)
        order = list(range(G)) + list(range(G - 2, -1, -1))
        for g in order:
            self._project_out(out, g)
        return out

    def _wdot(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        return np.einsum("ij,ij->j", A * self.w[:, None], B)

    def demean(self, Y: np.ndarray, p0: np.ndarray | None = None, tol: float = 1e-10,
               maxiter: int = 10_000, overwrite_p0: bool = False) -> tuple[np.ndarray, np.ndarray, int]:
        """Residualise the columns of ``Y`` (n, k) on the fixed effects.

        Returns ``(resid, fe_part, iterations)`` with ``resid + fe_part == Y``. ``p0``
        (n, k) is a warm-start fixed-effect component (any vector in the FE span); with
        ``overwrite_p0`` its buffer is reused for the returned fixed-effect component.
        Stops when every column's CG residual norm is ≤ ``tol`` × its norm.
        Raises :class:`NotConvergedError` after ``maxiter`` CG steps.
        """
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        if not self.codes:
            return Y.copy(), np.zeros_like(Y), 0
        if len(self.codes) == 1:  # closed form
            e = Y.copy()
            self._project_out(e, 0)
            return e, Y - e, 1
        if self.use_numba:
            # numba's default (workqueue) threading layer must not run parallel regions from two
            # Python threads at once: take the lock, or use the single-threaded kernels if busy
            if Y.shape[1] >= 2 and Y.shape[0] >= PARALLEL_MIN_ROWS and _PARALLEL_LOCK.acquire(blocking=False):
                try:
                    return self._demean_nb(Y, p0, tol, maxiter, overwrite_p0)
                finally:
                    _PARALLEL_LOCK.release()
            return self._demean_nb_serial(Y, p0, tol, maxiter, overwrite_p0)
        e = Y.copy() if p0 is None else Y - p0
        scale = np.sqrt(np.maximum(self._wdot(Y, Y), 1e-300))
        g = e - self.sweep(e)
        d = g.copy()
        gg = self._wdot(g, g)
        it = 0
        active = np.sqrt(gg) > tol * scale
        while active.any():
            if it >= maxiter:
                raise NotConvergedError(
                    f"fixed-effect demeaning did not converge in {maxiter} iterations "
                    f"(max relative residual {np.max(np.sqrt(gg) / scale):.2e} > tol {tol:.1e})")
            it += 1
            cols = np.flatnonzero(active)
            dA = d[:, cols]
            Ad = dA - self.sweep(dA)
            dAd = self._wdot(dA, Ad)
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha = np.where(dAd > 0, gg[cols] / dAd, 0.0)
            e[:, cols] -= dA * alpha
            gc = g[:, cols] - Ad * alpha
            gg_new = self._wdot(gc, gc)
            with np.errstate(divide="ignore", invalid="ignore"):
                beta = np.where(gg[cols] > 0, gg_new / gg[cols], 0.0)
            g[:, cols] = gc
            d[:, cols] = gc + dA * beta
            gg[cols] = gg_new
            # stop a column when its residual is tiny or CG has broken down (dAd <= 0)
            active[cols] = (np.sqrt(gg_new) > tol * scale[cols]) & (dAd > 0)
        return e, Y - e, it

    def _demean_nb(self, Y, p0, tol, maxiter, overwrite_p0=False):
        """The same CG iteration with fused numba kernels, one column per thread, in column-major
        (k, n) layout. Returns ``e`` and ``p`` as Fortran-ordered (n, k) views whose ``.T`` is
        C-contiguous; passing that ``p`` back as ``p0`` costs no copy."""
        n, k = Y.shape
        Y = np.ascontiguousarray(Y)
        if p0 is None:
            pT = np.zeros((k, n))
        elif p0.T.flags.c_contiguous and p0.T.flags.writeable and overwrite_p0:
            pT = p0.T
        else:
            pT = np.ascontiguousarray(p0.T)
        eT = np.empty((k, n))
        its = np.zeros(k, dtype=np.int64)
        _cg_solve_cols(Y, pT, eT, self.w, self._codes2d, self._offsets, self._inv_all, self._seq,
                       float(tol), int(maxiter), its)
        if (its < 0).any():
            raise NotConvergedError(f"fixed-effect demeaning did not converge in {maxiter} iterations (tol {tol:.1e})")
        return eT.T, pT.T, int(its.max())

    def _demean_nb_serial(self, Y, p0, tol, maxiter, overwrite_p0=False):
        """The same CG iteration with single-threaded fused kernels in row-major layout."""
        n, k = Y.shape
        e = Y.copy() if p0 is None else np.subtract(Y, p0)
        sums = np.empty((int(self._offsets[-1]), k))
        Td = np.empty_like(e)
        _sweep_nb(e, Td, self._codes2d, self._offsets, self._inv_all, self.w, self._seq, sums)
        g = e - Td
        d = g.copy()
        scale = np.sqrt(np.maximum(self._wdot(Y, Y), 1e-300))
        gg = self._wdot(g, g)
        active = np.sqrt(gg) > tol * scale
        it = 0
        while active.any():
            if it >= maxiter:
                raise NotConvergedError(
                    f"fixed-effect demeaning did not converge in {maxiter} iterations "
                    f"(max relative residual {np.max(np.sqrt(gg) / scale):.2e} > tol {tol:.1e})")
            it += 1
            _sweep_nb(d, Td, self._codes2d, self._offsets, self._inv_all, self.w, self._seq, sums)
            ggn, dAd = _cg_step_nb(e, g, d, Td, self.w, gg, active)
            gg = np.where(active, ggn, gg)
            active = active & (np.sqrt(gg) > tol * scale) & (dAd > 0)
        del Td, g, d
        if overwrite_p0 and p0 is not None and p0.shape == Y.shape and p0.flags.writeable:
            return e, np.subtract(Y, e, out=p0), it
        return e, Y - e, it
