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

import importlib.util
import threading

import numpy as np

from tradepact.errors import NotConvergedError

#: numba is installed (its kernels are loaded on first use by :func:`kernels`)
HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def kernels():
    """The numba kernels module (imported on first call)."""
    from tradepact.gravity import _demean_numba

    return _demean_numba


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
            kernels()._inv_group_weights(self._codes2d, self._offsets, self.w, self._inv_all)
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
            kernels()._project_out_nb(V, c, self.w, inv, G)
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
        kernels()._cg_solve_cols(Y, pT, eT, self.w, self._codes2d, self._offsets, self._inv_all, self._seq,
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
        kernels()._sweep_nb(e, Td, self._codes2d, self._offsets, self._inv_all, self.w, self._seq, sums)
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
            kernels()._sweep_nb(d, Td, self._codes2d, self._offsets, self._inv_all, self.w, self._seq, sums)
            ggn, dAd = kernels()._cg_step_nb(e, g, d, Td, self.w, gg, active)
            gg = np.where(active, ggn, gg)
            active = active & (np.sqrt(gg) > tol * scale) & (dAd > 0)
        del Td, g, d
        if overwrite_p0 and p0 is not None and p0.shape == Y.shape and p0.flags.writeable:
            return e, np.subtract(Y, e, out=p0), it
        return e, Y - e, it
