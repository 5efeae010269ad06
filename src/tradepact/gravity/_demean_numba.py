"""numba kernels of the demeaning solver and the IRLS loop (see :mod:`tradepact.gravity._demean`).

Imported on first use only (``_demean.kernels()``): loading numba and its cached machine code costs
~0.5 s, which a command that fails before fitting (or an OLS without fixed effects) should not pay.
"""
import numba as _nb
import numpy as np


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
