"""Weighted within-transformation over several fixed effects (the HDFE core).

``Demeaner`` projects columns onto the orthogonal complement (in the weighted inner
product ``<a, b> = sum(w * a * b)``) of the span of the fixed-effect dummies. It uses
symmetric Kaczmarz sweeps (project out FE 1, 2, …, G, …, 2, 1 with closed-form weighted
group means) accelerated by conjugate gradients, as reghdfe/ppmlhdfe do (Correia 2017):
with ``T`` the symmetric sweep, the fixed-effect component ``p`` of a column ``y`` solves
``(I - T) p = (I - T) y``, and ``I - T`` is symmetric positive semi-definite in the
weighted inner product, so CG applies. A previous fixed-effect component can be passed
as a warm start (the PPML loop does this across IRLS iterations).

Group sums use ``np.bincount`` (vectorised); the hot loops (one fused pass over the rows per
fixed effect, the whole CG solve of a column in one call) are compiled kernels: the C extension
``_demean_kernels`` built at install time, or, where no C compiler was available, the same kernels
compiled by numba on first use (:mod:`._demean_numba`). :func:`kernels` picks one;
``$TRADEPACT_DEMEAN_KERNELS`` = ``c``, ``numba`` or ``numpy`` forces one (tests, benchmarks).
"""
from __future__ import annotations

import importlib.util
import os
import sys
import threading

import numpy as np

from tradepact.errors import ConfigError, NotConvergedError

#: numba is installed (its kernels are loaded on first use by :func:`kernels`)
HAVE_NUMBA = importlib.util.find_spec("numba") is not None
#: ``TRADEPACT_DEMEAN_KERNELS``: ``c``, ``numba`` or ``numpy`` to force one implementation
KERNELS_ENV = "TRADEPACT_DEMEAN_KERNELS"


def _c_kernels():
    """The C extension, or None where it was not built (no compiler at install)."""
    try:
        from tradepact.gravity import _demean_kernels
    except ImportError:
        return None
    return _demean_kernels


def backend() -> str:
    """``"c"`` (the compiled extension), ``"numba"`` or ``"numpy"`` (no kernels at all): the first
    available, or the one ``$TRADEPACT_DEMEAN_KERNELS`` names (ImportError if it is not available)."""
    which = os.environ.get(KERNELS_ENV) or None
    if which not in (None, "c", "numba", "numpy"):
        raise ConfigError(f"environment variable {KERNELS_ENV} must be 'c', 'numba' or 'numpy', not {which!r}")
    if which == "numpy":
        return "numpy"
    if which != "numba" and _c_kernels() is not None:
        return "c"
    if which == "c":
        raise ImportError("the C demeaning kernels (tradepact.gravity._demean_kernels) are not built")
    if not HAVE_NUMBA:
        if which == "numba":
            raise ImportError("numba is not installed")
        return "numpy"
    return "numba"


def kernels(which: str | None = None):
    """The kernels module of ``which`` (default :func:`backend`): the C extension (imported at once) or
    the numba kernels (imported, and compiled or loaded from numba's cache, on first call). Both
    provide ``irls_working`` and ``irls_update_T`` with the same arguments and results."""
    which = which or backend()
    if which == "c":
        return _c_kernels()
    from tradepact.gravity import _demean_numba

    return _demean_numba


def threads() -> int:
    """Threads the C kernels may use for one demeaning: the cores this process may run on, at most
    ``$NUMBA_NUM_THREADS`` and numba's thread count when numba is loaded (the execution layer pins both to 1
    in its workers)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    env = os.environ.get("NUMBA_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    nb = sys.modules.get("numba")
    if nb is not None:
        try:
            n = min(n, nb.get_num_threads())
        except Exception:  # noqa: BLE001 - a numba without threading layer: no limit from it
            pass
    return max(n, 1)


_POOL = None
_POOL_LOCK = threading.Lock()


def _pool(n: int):
    """A process-wide thread pool (created on first use) for the C kernels' columns."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < n:
            from concurrent.futures import ThreadPoolExecutor

            _POOL = ThreadPoolExecutor(max_workers=n, thread_name_prefix="tradepact-demean")
        return _POOL


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
    backend : ``"c"``, ``"numba"`` or ``"numpy"``; default :func:`backend`.
    """

    def __init__(self, codes: list[np.ndarray], backend: str | None = None):
        self.backend = backend or globals()["backend"]()
        if self.backend == "c" and _c_kernels() is None:
            raise ImportError("the C demeaning kernels (tradepact.gravity._demean_kernels) are not built")
        if self.backend == "numba" and not HAVE_NUMBA:
            raise ImportError("numba is not installed")
        self.use_numba = self.backend == "numba"
        self.codes = [np.ascontiguousarray(c) if np.asarray(c).dtype in (np.int32, np.int64)
                      else np.ascontiguousarray(c, dtype=np.int64) for c in codes]
        self.n_levels = [int(c.max()) + 1 if c.size else 0 for c in self.codes]
        self.n = self.codes[0].shape[0] if self.codes else 0
        self.w = None
        G = len(self.codes)
        self._seq = np.array(list(range(G)) + list(range(G - 2, -1, -1)), dtype=np.int64)
        # the kernels take all codes as one (G, n) int32 array, levels of FE g at offsets[g]:offsets[g+1]
        self._stacked = G >= 1 and (self.backend == "c" or (self.use_numba and G >= 2))
        if self._stacked:
            self._codes2d = np.vstack([c.astype(np.int32, copy=False) for c in self.codes])
            self.codes = list(self._codes2d)  # views: no second copy
            self._offsets = np.concatenate([[0], np.cumsum(self.n_levels)]).astype(np.int64)

    def set_weights(self, w: np.ndarray) -> None:
        """Set observation weights (shape (n,), positive)."""
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        if self._stacked:
            self._inv_all = np.empty(int(self._offsets[-1]))
            if self.backend == "c":
                _c_kernels().inv_group_weights(self._codes2d, self._offsets, self.w, self._inv_all)
            else:
                kernels("numba")._inv_group_weights(self._codes2d, self._offsets, self.w, self._inv_all)
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
        if self.backend == "c":
            _c_kernels().project_out(V, c, self.w, inv)
            return
        if self.use_numba:
            kernels("numba")._project_out_nb(V, c, self.w, inv, G)
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
        if self.backend == "c":
            return self._demean_c(Y, p0, tol, maxiter, overwrite_p0)
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

    def _demean_c(self, Y, p0, tol, maxiter, overwrite_p0=False):
        """The CG iteration in the C kernels: each column solved whole in one call with the GIL
        released, the columns spread over :func:`threads` threads (one call per column) on large
        problems. Layout and results as :meth:`_demean_nb`."""
        n, k = Y.shape
        if p0 is None:
            pT = np.zeros((k, n))
        elif p0.T.flags.c_contiguous and p0.T.flags.writeable and overwrite_p0:
            pT = p0.T
        else:
            pT = np.ascontiguousarray(p0.T)
        eT = np.empty((k, n))
        its = np.zeros(k, dtype=np.int64)
        args = (Y, pT, eT, self.w, self._codes2d, self._offsets, self._inv_all, self._seq, float(tol), int(maxiter),
                its)
        solve = _c_kernels().cg_solve_cols
        nt = min(threads(), k) if n >= PARALLEL_MIN_ROWS else 1
        if nt > 1:
            cols = [np.array([j], dtype=np.int64) for j in range(k)]
            for f in [_pool(nt).submit(solve, *args, c) for c in cols]:
                f.result()
        else:
            solve(*args, np.arange(k, dtype=np.int64))
        if (its < 0).any():
            raise NotConvergedError(f"fixed-effect demeaning did not converge in {maxiter} iterations (tol {tol:.1e})")
        return eT.T, pT.T, int(its.max())

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
        kernels("numba")._cg_solve_cols(Y, pT, eT, self.w, self._codes2d, self._offsets, self._inv_all, self._seq,
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
        kernels("numba")._sweep_nb(e, Td, self._codes2d, self._offsets, self._inv_all, self.w, self._seq, sums)
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
            kernels("numba")._sweep_nb(d, Td, self._codes2d, self._offsets, self._inv_all, self.w, self._seq, sums)
            ggn, dAd = kernels("numba")._cg_step_nb(e, g, d, Td, self.w, gg, active)
            gg = np.where(active, ggn, gg)
            active = active & (np.sqrt(gg) > tol * scale) & (dAd > 0)
        del Td, g, d
        if overwrite_p0 and p0 is not None and p0.shape == Y.shape and p0.flags.writeable:
            return e, np.subtract(Y, e, out=p0), it
        return e, Y - e, it
