"""Which observations a Poisson model cannot use, and why.

Two kinds of *separation* make the Poisson MLE fail to exist on the full sample
(Santos Silva & Tenreyro 2010; Correia, Guimarães & Zylkin 2019, "Verifying the
existence of maximum likelihood estimates for generalized linear models"):

1. **Fixed-effect groups with only zeros** (``drop_all_zero_groups``): any level of
   any fixed effect whose observations all have ``y == 0`` is dropped, repeated until
   no such group remains (dropping rows can create new all-zero groups).
2. **Separation by a combination of regressors and fixed effects**
   (``iterative_rectifier``): there is ``z = Xγ + Dα`` with ``z = 0`` where ``y > 0``
   and ``z ≥ 0`` where ``y = 0``, ``z ≠ 0``. Rows with ``z > 0`` are separated. Found
   with the iterative rectifier (ReLU) of Correia, Guimarães & Zylkin (2019, §4.3):
   repeatedly regress ``u`` on the design with a very large weight on the ``y > 0``
   rows, where ``u`` starts as ``1{y=0}`` and is replaced by ``max(ẑ, 0)`` on the zeros;
   stop when the fit is non-negative on every zero (certificate found) or ``u``
   vanishes (no separation), or the fit's residual is non-negative on every zero and zero
   only where the fit is zero too (a proof that nothing is separated, usually on round one).

Every function returns a boolean *keep* mask; the caller counts drops by reason.
"""
from __future__ import annotations

import numpy as np

from tradepact.gravity._demean import Demeaner, factorize


def drop_all_zero_groups(y: np.ndarray, codes: list[np.ndarray], keep: np.ndarray | None = None) -> np.ndarray:
    """Keep-mask after iteratively removing FE levels whose rows all have ``y == 0``."""
    keep = np.ones(y.shape[0], bool) if keep is None else keep.copy()
    pos = (y > 0).astype(np.float64)
    while True:
        changed = False
        for c in codes:
            G = int(c.max()) + 1 if c.size else 0
            npos = np.bincount(c[keep], weights=pos[keep], minlength=G)
            nobs = np.bincount(c[keep], minlength=G)
            bad = (npos == 0) & (nobs > 0)
            if bad.any():
                keep &= ~bad[c]
                changed = True
        if not changed:
            return keep


def drop_singletons(codes: list[np.ndarray], keep: np.ndarray) -> np.ndarray:
    """Keep-mask after iteratively removing rows alone in some FE level (ppmlhdfe default)."""
    keep = keep.copy()
    while True:
        changed = False
        for c in codes:
            G = int(c.max()) + 1 if c.size else 0
            cnt = np.bincount(c[keep], minlength=G)
            bad = keep & (cnt[c] == 1)
            if bad.any():
                keep &= ~bad
                changed = True
        if not changed:
            return keep


def _recode(codes: list[np.ndarray], keep: np.ndarray) -> list[np.ndarray]:
    return [factorize(c[keep])[0] for c in codes]


def iterative_rectifier(y: np.ndarray, X: np.ndarray | None, codes: list[np.ndarray],
                        add_intercept: bool, tol: float = 1e-6, maxiter: int = 1000,
                        positive_weight: float = 1e10) -> np.ndarray:
    """Boolean mask of rows separated by regressors and/or fixed effects (True = separated).

    ``y`` (n,), ``X`` (n, k) or None, ``codes`` the FE codes on the same rows (every
    level present). ``add_intercept`` adds a constant when there are no fixed effects.
    ``tol`` is the absolute threshold below which a fitted ``z`` counts as zero (``u``
    starts at 1 on the zeros, so a certificate is of order 1). A certificate is accepted
    when ``ẑ ≥ 0`` on every zero and ``ẑ = 0`` on every positive row on two consecutive
    rounds with the same support (a certificate is a fixed point; decaying components
    are not). Without separation ``u`` shrinks until every ``|ẑ| < tol``, which returns
    the empty set; a non-negative residual on the zeros proves it at once. If ``maxiter`` is hit
    or the iteration stops moving without a certificate, an empty mask is returned (conservative: no
    row is dropped; the IRLS step-halving still guards against divergence).
    """
    n = y.shape[0]
    zero = y <= 0
    sep = np.zeros(n, bool)
    if not zero.any():
        return sep
    cols = []
    if X is not None and X.shape[1]:
        cols.append(np.asarray(X, dtype=np.float64))
    if add_intercept or not codes:
        cols.append(np.ones((n, 1)))
    Xd = np.hstack(cols) if cols else np.zeros((n, 0))
    w = np.where(zero, 1.0, positive_weight)
    u = zero.astype(np.float64)
    dm = Demeaner(codes) if codes else None
    first = None
    if dm is not None:
        dm.set_weights(w)
        if Xd.shape[1]:  # demean the regressors and the first u together (one pass of the solver)
            both, pb, _ = dm.demean(np.column_stack([Xd, u]), tol=1e-11)
            Xt = np.ascontiguousarray(both[:, :-1])
            first = (np.ascontiguousarray(both[:, -1]), np.ascontiguousarray(pb[:, -1]))
        else:
            Xt = Xd
    else:
        Xt = Xd
    sw = np.sqrt(w)
    # rank-revealing basis of the demeaned regressors (weighted)
    if Xt.shape[1]:
        q = _basis(Xt * sw[:, None])
    else:
        q = np.zeros((n, 0))
    p_prev = None
    last = None
    z_prev = None
    for _ in range(maxiter):
        # weighted LS fit of u on [X, D]: demean u, project on demeaned X
        if first is not None:
            ut, fe_part = first
            p_prev = fe_part[:, None].copy()
            first = None
        elif dm is not None:
            ut, p_prev, _ = dm.demean(u[:, None], p0=p_prev, tol=1e-11)
            ut = ut[:, 0]
            fe_part = p_prev[:, 0]
        else:
            ut, fe_part = u, np.zeros(n)
        if q.shape[1]:
            b = q.T @ (ut * sw)
            xfit = (q @ b) / sw
        else:
            xfit = np.zeros(n)
        z = fe_part + xfit
        # Proof of no separation (Correia, Guimarães & Zylkin 2019): the residual e = u − ẑ of the
        # weighted LS fit is orthogonal to every certificate z* (Σ_zeros e·z* = 0, as z* = 0 on the
        # positives), so if e ≥ 0 on the zeros then e = 0 wherever z* > 0: rows with e > 0 are not
        # separated. When that leaves no row with e ≈ 0 and ẑ > 0, nothing is separated.
        e0 = u[zero] - z[zero]
        if e0.min() >= -tol and not ((e0 <= tol) & (z[zero] > tol)).any():
            return sep
        stalled = z_prev is not None and np.max(np.abs(z - z_prev)) <= tol * 1e-3
        z_prev = z.copy()
        z[np.abs(z) < tol] = 0.0
        if (z[zero] >= 0).all() and (z[~zero] == 0).all():
            cand = zero & (z > 0)
            if not cand.any():  # P u ≈ 0: u vanishes next round, nothing is separated
                return cand
            # a certificate is a fixed point: accept it once the support is stable
            if last is not None and np.array_equal(cand, last):
                return cand
            last = cand
        else:
            last = None
        if stalled:  # a fixed point that is no certificate: the rectifier makes no more progress
            return sep
        u = np.where(zero, np.maximum(z, 0.0), 0.0)
    return sep


def _basis(A: np.ndarray, rtol: float = 1e-9) -> np.ndarray:
    """Orthonormal basis of the column space of ``A`` (n, k): the left singular vectors whose singular
    values exceed ``rtol`` times the largest (thin SVD, O(n k²), NumPy's LAPACK: a fit imports no SciPy,
    ~0.3 s of a command's run time)."""
    if A.shape[1] == 0:
        return np.zeros((A.shape[0], 0))
    u, s, _ = np.linalg.svd(A, full_matrices=False)
    rank = int((s > rtol * max(float(s.max()), 1e-300)).sum()) if s.size else 0
    return np.ascontiguousarray(u[:, :rank])


def linear_programming(y: np.ndarray, X: np.ndarray | None, codes: list[np.ndarray], add_intercept: bool,
                       tol: float = 1e-7) -> np.ndarray:
    """Exact separation check by linear programming (small problems only; dense design).

    Maximises ``Σ z`` over the zeros subject to ``z = Aγ`` (A = regressors, FE dummies and an
    intercept), ``z = 0`` where ``y > 0`` and ``0 ≤ z ≤ 1`` where ``y = 0`` (scipy HiGHS),
    repeated on the rows not yet found until nothing new appears. Returns the separated mask.
    """
    from scipy.optimize import linprog

    n = y.shape[0]
    cols = []
    if X is not None and X.shape[1]:
        cols.append(np.asarray(X, dtype=np.float64))
    cols.append(np.ones((n, 1)))
    for c in codes:
        G = int(c.max()) + 1
        Dm = np.zeros((n, G))
        Dm[np.arange(n), c] = 1.0
        cols.append(Dm)
    A = np.hstack(cols)
    zero = y <= 0
    sep = np.zeros(n, bool)
    while True:
        cand = zero & ~sep
        if not cand.any():
            return sep
        rows = ~sep  # separated rows leave the problem
        Ar, zr, cr = A[rows], zero[rows], cand[rows]
        m = Ar.shape[1]
        res = linprog(-Ar[cr].sum(axis=0), A_eq=Ar[~zr], b_eq=np.zeros(int((~zr).sum())),
                      A_ub=np.vstack([Ar[zr], -Ar[zr]]), b_ub=np.concatenate([np.ones(int(zr.sum())),
                                                                              np.zeros(int(zr.sum()))]),
                      bounds=[(None, None)] * m, method="highs")
        if res.status != 0:
            return sep
        z = Ar @ res.x
        new = cr & (z > tol)
        if not new.any():
            return sep
        idx = np.flatnonzero(rows)[new]
        sep[idx] = True
