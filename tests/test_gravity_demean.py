"""The HDFE core: weighted within-transformation, checked against an exact sparse least-squares solve,
in each implementation of its kernels: the C extension built at install (``_demean_kernels``), the numba
fallback, and plain NumPy."""
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


def _need(backend: str, c_compiler: bool) -> None:
    if backend == "c" and D._c_kernels() is None:
        if c_compiler:
            pytest.fail("a C compiler exists but tradepact.gravity._demean_kernels was not built")
        pytest.skip("the C kernels are not built: no C compiler or Python headers at install")
    if backend == "numba" and not D.HAVE_NUMBA:
        pytest.skip("numba not installed")


def test_c_kernels_are_built_and_chosen_where_a_compiler_exists(monkeypatch, c_compiler):
    """``pip install`` compiles the C kernels when it can (setup.py: an optional extension), and then the
    engine uses them, not numba; ``$TRADEPACT_DEMEAN_KERNELS`` forces the fallback."""
    monkeypatch.delenv(D.KERNELS_ENV, raising=False)
    if c_compiler:
        from tradepact.gravity import _demean_kernels  # noqa: F401 - ImportError fails the test

        assert D.backend() == "c" and D.Demeaner([np.zeros(3, np.int64)]).backend == "c"
    monkeypatch.setenv(D.KERNELS_ENV, "numba")
    assert D.backend() == ("numba" if D.HAVE_NUMBA else "numpy") or not D.HAVE_NUMBA
    monkeypatch.setenv(D.KERNELS_ENV, "fortran")
    with pytest.raises(Exception, match="TRADEPACT_DEMEAN_KERNELS"):
        D.backend()


@pytest.mark.parametrize("mode", ["numpy", "numba-serial", "numba-parallel", "c-serial", "c-parallel"])
def test_demean_matches_exact_least_squares(mode, monkeypatch, c_compiler):
    codes, w, Y = _problem()
    backend = mode.split("-")[0]
    _need(backend, c_compiler)
    if mode.endswith("parallel"):
        monkeypatch.setattr(D, "PARALLEL_MIN_ROWS", 1)
        monkeypatch.setattr(D, "threads", lambda: 2)
    if mode.endswith("serial"):
        monkeypatch.setattr(D, "PARALLEL_MIN_ROWS", 10**9)
    dm = D.Demeaner(codes, backend=backend)
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


@pytest.mark.parametrize("n_fe", [1, 2, 4])
def test_c_and_numba_kernels_agree(n_fe, c_compiler):
    """The two compiled implementations do the same arithmetic: same residuals (to rounding), same
    iteration counts, on 1 (closed form), 2 and 4 fixed effects, with and without a warm start."""
    _need("c", c_compiler)
    _need("numba", c_compiler)
    rng = np.random.default_rng(3)
    n = 5000
    codes = [D.factorize(rng.integers(0, g, n))[0] for g in (60, 45, 300, 7)[:n_fe]]
    w = rng.uniform(0.1, 5.0, n)
    Y = rng.normal(size=(n, 4))
    out = {}
    for b in ("c", "numba"):
        dm = D.Demeaner(codes, backend=b)
        dm.set_weights(w)
        np.testing.assert_array_equal(np.concatenate(dm.inv_wsum), np.concatenate(
            [1 / np.bincount(c, weights=w) for c in codes]))
        e, p, it = dm.demean(Y, tol=1e-12)
        e2, _, it2 = dm.demean(Y * 1.01, p0=p.copy(), tol=1e-12)
        out[b] = (e, it, e2, it2, dm.sweep(Y))
    for x, y in zip(out["c"], out["numba"]):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def test_c_kernels_check_their_arguments(c_compiler):
    """Wrong dtypes, short arrays or codes past the level count raise instead of writing out of bounds."""
    _need("c", c_compiler)
    from tradepact.gravity import _demean_kernels as K

    n = 10
    codes = np.vstack([np.arange(n) % 3, np.arange(n) % 2]).astype(np.int32)
    off = np.array([0, 3, 5], np.int64)
    w = np.ones(n)
    inv = np.empty(5)
    K.inv_group_weights(codes, off, w, inv)
    np.testing.assert_allclose(inv, [1 / 4, 1 / 3, 1 / 3, 1 / 5, 1 / 5])
    bad = codes.copy()
    bad[1, 4] = 2  # FE 1 has 2 levels
    with pytest.raises(ValueError, match="codes"):
        K.inv_group_weights(bad, off, w, inv)
    with pytest.raises(ValueError, match="codes"):
        K.inv_group_weights(codes.astype(np.int64), off, w, inv)
    with pytest.raises(ValueError, match="out"):
        K.inv_group_weights(codes, off, w, np.empty(5, np.float32))
    Y = np.ones((n, 2))
    args = [Y, np.zeros((2, n)), np.empty((2, n)), w, codes, off, inv, np.array([0, 1, 0], np.int64), 1e-10, 100,
            np.zeros(2, np.int64), np.array([0, 1], np.int64)]
    K.cg_solve_cols(*args)
    for i, val, msg in [(1, np.zeros((1, n)), "pT"), (11, np.array([2], np.int64), "cols"),
                        (7, np.array([0, 2], np.int64), "seq"), (10, np.zeros(1, np.int64), "its")]:
        a = list(args)
        a[i] = val
        with pytest.raises(ValueError, match=msg):
            K.cg_solve_cols(*a)


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
