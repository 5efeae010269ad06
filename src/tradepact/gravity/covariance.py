"""Variance estimators for PPML-HDFE and OLS-HDFE, each a small function.

All take the *within-transformed* design ``Xt`` (n, k), the *scores* ``s`` (n, k):
PPML ``s_i = w_i (y_i − μ_i) x̃_i`` and OLS ``s_i = w_i û_i x̃_i`` (``w`` the prior
weights), and the *bread* ``B = (X̃' Ω X̃)⁻¹`` (``Ω = w μ`` for PPML, ``w`` for OLS).
The sandwich is ``B (Σ meat) B``; the iid estimator is ``σ² B`` (σ² = 1 for Poisson,
``Σ w û² / (n − K)`` for OLS).

Small-sample adjustments (``ssc``), with ``n`` observations, ``k`` slope parameters,
``L_g`` levels of fixed effect ``g`` (``F`` fixed effects) and ``G`` clusters:

``"fixest"`` (default; exactly pyfixest/fixest's defaults ``ssc(k_adj=True,
k_fixef="nonnested", G_adj=True, G_df="min")``): ``K = k + Σ L_g − (F − 1)``; under
clustering, fixed effects nested in a cluster variable (e.g. pair FE, pair clusters) are
taken out of ``K`` and count 1 each: ``K' = K − Σ_nested L_g + #nested``.
  * iid:      ``(n − 1)/(n − K)``  (OLS σ² = Σ w û² / (n − 1); Poisson dispersion 1)
  * hetero:   ``n/(n − K)``
  * cluster:  ``(n − 1)/(n − K') · G/(G − 1)``; two-way: every term uses ``G = min(G1, G2)``.

``"stata"`` — the convention of Stata's ``poisson``/``glm``/``ppml`` (Santos Silva &
Tenreyro) and ``ppmlhdfe`` for PPML (maximum-likelihood sandwich, no degrees-of-freedom
correction for the fixed effects):
  * PPML: iid 1; hetero ``n/(n − 1)``; cluster ``G/(G − 1)`` (each term its own G for two-way).
  * OLS (``reghdfe``): iid σ² = Σ w û² / (n − K); hetero ``n/(n − K)``; cluster
    ``(n − 1)/(n − K') · G/(G − 1)``.

``"none"``: no adjustment (OLS iid σ² = Σ w û² / n).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradepact.errors import ConfigError, ParameterError, check_choice, did_you_mean
from tradepact.gravity.factors import term_parts


@dataclass
class VcovSpec:
    """What was asked: ``kind`` in {iid, hetero, cluster}; ``clusters`` column names (1 or 2)."""

    kind: str
    clusters: tuple[str, ...] = ()
    ssc: str = "fixest"

    @property
    def label(self) -> str:
        if self.kind == "cluster":
            return "CRV1 by " + " + ".join(self.clusters)
        return {"iid": "iid", "hetero": "heteroskedasticity-robust (HC1)"}[self.kind]


def parse_vcov(vcov, cluster, columns, ssc: str = "fixest") -> VcovSpec:
    """Normalise the user's ``vcov``/``cluster`` options (see :func:`tradepact.gravity.ppml`)."""
    if ssc not in ("fixest", "stata", "none"):
        check_choice("ssc", ssc, ("fixest", "stata", "none"))
    if isinstance(vcov, dict):
        if len(vcov) != 1 or next(iter(vcov)).upper() != "CRV1":
            raise ConfigError(f"vcov dict must be {{'CRV1': 'column'}} (or 'a+b' for two-way), got {vcov!r}")
        spec = next(iter(vcov.values()))
        names = [s.replace(" ", "") for s in spec.split("+")] if isinstance(spec, str) else list(spec)
        return _cluster_spec(names, columns, ssc)
    if vcov is None:
        if cluster is None and "pair_id" in columns:
            cluster = "pair_id"
        if cluster is None:
            return VcovSpec("hetero", ssc=ssc)
        vcov = "cluster"
    vcov = str(vcov).lower()
    if vcov in ("hetero", "hc1", "robust"):
        return VcovSpec("hetero", ssc=ssc)
    if vcov == "iid":
        return VcovSpec("iid", ssc=ssc)
    if vcov in ("cluster", "crv1"):
        if cluster is None:
            if "pair_id" in columns:
                cluster = "pair_id"
            else:
                raise ConfigError("vcov='cluster' needs cluster=<column> (no 'pair_id' column to default to)")
        names = [s.replace(" ", "") for s in cluster.split("+")] if isinstance(cluster, str) else list(cluster)
        return _cluster_spec(names, columns, ssc)
    raise ParameterError("vcov", f"expected 'iid', 'hetero', 'cluster' or {{'CRV1': col}}, got {vcov!r}"
                                 f"{did_you_mean(vcov, ('iid', 'hetero', 'cluster'))}")


def _cluster_spec(names, columns, ssc) -> VcovSpec:
    if not 1 <= len(names) <= 2:
        raise ConfigError(f"one- or two-way clustering only, got {names!r}")
    for c in names:
        missing = [p for p in term_parts(c, "cluster variable") if p not in columns]
        if missing:
            what = "is not a column" if c == missing[0] else f"names {missing[0]!r}, which is not a column"
            raise ConfigError(f"cluster variable {c!r} {what} of the data")
    return VcovSpec("cluster", tuple(names), ssc)


def _meat_cluster(scores: np.ndarray, codes: np.ndarray) -> np.ndarray:
    G = int(codes.max()) + 1
    S = np.zeros((G, scores.shape[1]))
    for j in range(scores.shape[1]):
        S[:, j] = np.bincount(codes, weights=scores[:, j], minlength=G)
    return S.T @ S


def dof_k(k: int, fe_levels: list[int], nested: list[bool], kind: str) -> int:
    """pyfixest/fixest's ``K`` (iid/hetero) or ``K'`` (cluster) — see the module docstring."""
    if not fe_levels:
        return k
    kfe = sum(fe_levels) - (len(fe_levels) - 1)
    if kind == "cluster" and any(nested):
        kfe = kfe - sum(L for L, nst in zip(fe_levels, nested) if nst) + sum(nested)
    return k + kfe


def compute_vcov(spec: VcovSpec, *, model: str, bread: np.ndarray, scores: np.ndarray, n: int, k: int,
                 fe_levels: list[int], nested: list[bool], cluster_codes: list[np.ndarray],
                 rss: float | None = None) -> tuple[np.ndarray, int]:
    """The (k, k) variance matrix of the slope coefficients and the t-test degrees of freedom.

    ``fe_levels`` = levels per fixed effect on the estimation sample; ``nested`` = whether each
    fixed effect is nested in a cluster variable; ``rss`` = ``Σ w û²`` (OLS only).
    """
    ssc = spec.ssc
    K = dof_k(k, fe_levels, nested, spec.kind)
    if n - K <= 0 and not (ssc == "stata" and model == "ppml") and ssc != "none":
        import warnings

        warnings.warn(f"no residual degrees of freedom (n={n}, K={K}): standard errors are undefined (NaN)",
                      stacklevel=4)
        return np.full_like(bread, np.nan), 0
    if spec.kind == "iid":
        if ssc == "fixest":
            adj = (n - 1) / (n - K)
            s2 = rss / (n - 1) if model == "ols" else 1.0
        elif ssc == "stata":
            adj, s2 = 1.0, (rss / (n - K) if model == "ols" else 1.0)
        else:
            adj, s2 = 1.0, (rss / n if model == "ols" else 1.0)
        return bread * (adj * s2), n - K
    if spec.kind == "hetero":
        meat = scores.T @ scores
        if ssc == "fixest":
            adj = n / (n - K)
        elif ssc == "stata":
            adj = n / (n - 1) if model == "ppml" else n / (n - K)
        else:
            adj = 1.0
        return adj * bread @ meat @ bread, n - K
    Gs = [int(c.max()) + 1 for c in cluster_codes]
    for name, G in zip(spec.clusters, Gs):
        if G < 2:
            raise ConfigError(f"cluster variable {name!r} has a single group on the estimation sample; "
                              "clustered standard errors need at least 2 clusters")

    def adj_for(G):
        if ssc == "fixest":
            return (n - 1) / (n - K) * G / (G - 1)
        if ssc == "stata":
            return G / (G - 1) if model == "ppml" else (n - 1) / (n - K) * G / (G - 1)
        return 1.0

    if len(cluster_codes) == 1:
        meat = _meat_cluster(scores, cluster_codes[0])
        return adj_for(Gs[0]) * bread @ meat @ bread, Gs[0] - 1
    c1, c2 = cluster_codes
    from tradepact.gravity._demean import factorize

    c12 = factorize(c1.astype(np.int64) * (int(c2.max()) + 1) + c2)[0]
    G12 = int(c12.max()) + 1
    if ssc == "fixest":
        a1 = a2 = a12 = adj_for(min(Gs))
    else:
        a1, a2, a12 = adj_for(Gs[0]), adj_for(Gs[1]), adj_for(G12)
    V = (a1 * bread @ _meat_cluster(scores, c1) @ bread + a2 * bread @ _meat_cluster(scores, c2) @ bread
         - a12 * bread @ _meat_cluster(scores, c12) @ bread)
    return V, min(Gs) - 1
