"""The HDFE core: weighted within-transformation, checked against an exact sparse least-squares solve."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

from tradepact.gravity import _demean as D


def _problem(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    codes = [D.factorize(rng.integers(0, g, n))[0] for g in (40, 35, 300)]
    w = rng.uniform(0.1, 5.0, n)
    Y = rng.normal(size=(n, 3))
    return codes, w, Y


def _exact(codes, w, Y):
    """Residuals of weighted LS of each column on all FE dummies (sparse lsqr, tight)."""
    n = Y.shape[0]
    blocks = [sp.csr_matrix((np.ones(n), (np.arange(n), c)), shape=(n, int(c.max()) + 1)) for c in codes]
    Dm = sp.hstack(blocks).tocsr()
    sw = np.sqrt(w)
    A = sp.diags(sw) @ Dm
    out = np.empty_like(Y)
    for j in range(Y.shape[1]):
        a = lsqr(A, sw * Y[:, j], atol=1e-14, btol=1e-14, iter_lim=100000)[0]
        out[:, j] = Y[:, j] - Dm @ a
    return out


@pytest.mark.parametrize("mode", ["numpy", "serial", "parallel"])
def test_demean_matches_exact_least_squares(mode, monkeypatch):
    codes, w, Y = _problem()
    if mode != "numpy" and not D.HAVE_NUMBA:
        pytest.skip("numba not installed")
    if mode == "parallel":
        monkeypatch.setattr(D, "PARALLEL_MIN_ROWS", 1)
    if mode == "serial":
        monkeypatch.setattr(D, "PARALLEL_MIN_ROWS", 10**9)
    dm = D.Demeaner(codes, use_numba=(mode != "numpy"))
    dm.set_weights(w)
    e, p, it = dm.demean(Y, tol=1e-13)
    ref = _exact(codes, w, Y)
    np.testing.assert_allclose(e, ref, atol=1e-8)
    np.testing.assert_allclose(e + p, Y, atol=1e-12)
    # residuals are W-orthogonal to every FE dummy: weighted group sums vanish
    for c in codes:
        for j in range(Y.shape[1]):
            assert np.abs(np.bincount(c, weights=w * e[:, j])).max() < 1e-8
    # warm start from the exact FE component converges immediately to the same answer
    e2, _, it2 = dm.demean(Y, p0=Y - ref, tol=1e-10)
    assert it2 <= 2 and np.allclose(e2, ref, atol=1e-8)


def test_concurrent_fits_from_threads_agree(monkeypatch):
    """Two Python threads fitting at once (as a web server may): same answers as one at a time."""
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from tradepact.gravity import ppml

    monkeypatch.setattr(D, "PARALLEL_MIN_ROWS", 1)
    rng = np.random.default_rng(2)
    n_c, T = 15, 5
    e, i, t = np.meshgrid(np.arange(n_c), np.arange(n_c), np.arange(T), indexing="ij")
    df = pd.DataFrame({"e": e.ravel(), "i": i.ravel(), "t": t.ravel()})
    df["ey"], df["iy"] = df.e * 10 + df.t, df.i * 10 + df.t
    df["pair"] = np.minimum(df.e, df.i) * 100 + np.maximum(df.e, df.i)
    df["x"] = rng.normal(size=len(df))
    df["y"] = rng.poisson(np.exp(0.3 * df.x + 0.1 * df.e))
    fml = "y ~ x | ey + iy + pair"
    ref = ppml(df, fml).params["x"]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda _: ppml(df, fml).params["x"], range(8)))
    np.testing.assert_allclose(got, ref, rtol=1e-10)
