"""Results of a gravity estimation: tidy tables, side-by-side tables, plots, JSON.

:class:`GravityResults` wraps one fit (coefficients, variance, sample accounting,
fixed-effect recovery, linear combinations). :func:`etable` lays several results side
by side in Markdown, LaTeX or HTML (like fixest's ``etable`` / Stata's ``esttab``);
:func:`coefplot` draws point estimates with confidence intervals (plotly).
"""
from __future__ import annotations

import html as _html
import math
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, NotConvergedError, check_choice
from tradepact.results import Result, json_safe


class GravityResults(Result):
    """One fitted PPML/OLS model with absorbed fixed effects.

    Attributes
    ----------
    params, bse : pd.Series indexed by regressor name (omitted regressors absent).
    vcov : pd.DataFrame (k × k).
    nobs : int, rows used. ``dropped`` : dict reason → rows dropped
    (``missing``, ``zero_weight``, ``fe_all_zero``, ``separated``, ``singleton``).
    converged : bool (always True: a non-converged fit raises). iterations : int.
    fitted : pd.Series of fitted means μ̂ (PPML) or fitted values (OLS) on the kept rows, original index.
    omitted : list of regressors dropped as collinear.
    """

    kind = "gravity"

    def __init__(self, fit):
        self._fit = fit
        d = fit.design
        self.model = fit.model
        self.formula = d.formula.text
        self.depvar = d.formula.depvar
        self.params = pd.Series(fit.beta, index=fit.names, name="estimate", dtype=float)
        self.vcov = pd.DataFrame(fit.vcov, index=fit.names, columns=fit.names)
        self.bse = pd.Series(np.sqrt(np.maximum(np.diag(fit.vcov), 0.0)) if fit.names else [], index=fit.names,
                             name="se", dtype=float)
        self.nobs = int(d.y.shape[0])
        self.n_input = int(d.n_input)
        self.dropped = dict(d.dropped)
        self.converged = bool(fit.converged)
        self.iterations = int(fit.iterations)
        self.deviance = float(fit.deviance)
        self.omitted = list(d.omitted)
        self.vcov_type = fit.spec.label
        self.ssc = fit.spec.ssc
        self.fixed_effects = list(d.fe_names)
        self._fixef = None
        self._fitted = None
        self._loglik = None
        self._df_t = max(int(fit.df_t), 1)

    # ---- fit ----------------------------------------------------------------
    @property
    def fitted(self) -> pd.Series:
        """Fitted means μ̂ (PPML) or fitted values (OLS) on the kept rows, original index."""
        if self._fitted is None:
            fit = self._fit.refined()
            self._fitted = pd.Series(fit.mu, index=fit.design.index, name="fitted")
        return self._fitted

    @property
    def loglik(self) -> float:
        """Poisson log-likelihood at μ̂ (PPML); NaN for OLS."""
        if self._loglik is None:
            if self.model != "ppml":
                self._loglik = float("nan")
            else:
                fit = self._fit.refined()
                y, mu = fit.design.y, fit.mu
                w = 1.0 if fit.design.weights is None else fit.design.weights
                # log Γ(y + 1) is 0 where y = 0; elsewhere math.lgamma (the standard library: no SciPy import,
                # ~0.3 s of a command's run time)
                pos = y > 0
                lg = np.zeros_like(y)
                lg[pos] = np.frompyfunc(math.lgamma, 1, 1)(y[pos] + 1.0).astype(np.float64)
                with np.errstate(divide="ignore"):
                    self._loglik = float(np.sum(w * (-mu + np.where(pos, y * np.log(mu), 0.0) - lg)))
        return self._loglik

    # ---- inference ----------------------------------------------------------
    @property
    def tstat(self) -> pd.Series:
        return (self.params / self.bse).rename("z" if self.model == "ppml" else "t")

    @property
    def pvalues(self) -> pd.Series:
        t = self.tstat.to_numpy()
        if self.model == "ppml":  # 2 Φ(−|z|) = erfc(|z|/√2) (standard library; SciPy costs ~0.3 s to import)
            p = np.array([math.erfc(abs(float(x)) / math.sqrt(2.0)) for x in t])
        else:
            from scipy import special  # not scipy.stats: ~0.5 s to import for one tail function

            p = 2 * special.stdtr(self._df_t, -np.abs(t))
        return pd.Series(p, index=self.params.index, name="p_value")

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        from statistics import NormalDist

        q = NormalDist().inv_cdf(0.5 + level / 2)
        return pd.DataFrame({"lower": self.params - q * self.bse, "upper": self.params + q * self.bse})

    def lincom(self, weights: Mapping[str, float]) -> tuple[float, float]:
        """Estimate and delta-method SE of ``Σ c_k β_k`` (e.g. ``{"RTA": 1, "RTA_LAG4": 1}``,
        the total effect of an agreement with phasing-in). Unknown or omitted names raise."""
        names = list(weights)
        missing = [n for n in names if n not in self.params.index]
        if missing:
            raise ConfigError(f"lincom: {missing} not among the estimated coefficients {list(self.params.index)}")
        c = np.array([float(weights[n]) for n in names])
        b = self.params[names].to_numpy()
        V = self.vcov.loc[names, names].to_numpy()
        return float(c @ b), float(math.sqrt(max(c @ V @ c, 0.0)))

    # ---- fixed effects ------------------------------------------------------
    def fixef(self, tol: float = 1e-12, maxiter: int = 100_000) -> dict[str, pd.Series]:
        """Fixed-effect estimates by level: ``{fe_name: Series(level -> value)}``.

        They solve ``Σ_g α_g[level_g(i)] = η̂_i − x_i'β̂`` exactly on the estimation sample
        (alternating projections on the fitted linear index). Fixed effects are identified
        only up to normalisations: every fixed effect after the first has its first level
        (in sorted order) set to 0, the first absorbs the constant. Sums over fixed effects
        per observation (what enters μ̂) do not depend on this choice.
        """
        if self._fixef is not None:
            return self._fixef
        d = self._fit.design
        if not d.fe_codes:
            self._fixef = {}
            return self._fixef
        Xk = d.X[:, [d.xnames.index(n) for n in self.params.index]] if len(self.params) else np.zeros((len(d.y), 0))
        v = self._fit.refined().eta_lin - Xk @ self.params.to_numpy()
        codes = d.fe_codes
        counts = [np.bincount(c).astype(float) for c in codes]
        alphas = [np.zeros(len(cnt)) for cnt in counts]
        r = v.copy()
        scale = max(float(np.abs(v).max()), 1.0)
        # alternating projections (cheap sweeps); convergence is judged on the true residual of
        # Σ_g α_g = v (small steps alone can hide slow convergence)
        converged = False
        for it in range(min(maxiter, 2000)):
            for g, c in enumerate(codes):
                m = np.bincount(c, weights=r, minlength=len(counts[g])) / counts[g]
                alphas[g] += m
                r -= m[c]
            if it % 5 == 4 and float(np.abs(r).max()) <= tol * scale:
                converged = True
                break
        if not converged and len(codes) > 1:
            # finish with LSMR on the sparse dummy matrix (exact least squares on the residual)
            import scipy.sparse as sp
            from scipy.sparse.linalg import lsmr

            n = len(v)
            offs = np.concatenate([[0], np.cumsum([len(cnt) for cnt in counts])])
            rows = np.tile(np.arange(n), len(codes))
            cols = np.concatenate([c.astype(np.int64) + offs[g] for g, c in enumerate(codes)])
            Dm = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, int(offs[-1])))
            for _ in range(5):
                delta = lsmr(Dm, r, atol=1e-15, btol=1e-15, maxiter=20 * int(offs[-1]))[0]
                for g in range(len(codes)):
                    alphas[g] += delta[offs[g]:offs[g + 1]]
                r = v - sum(a[c] for a, c in zip(alphas, codes))
                if float(np.abs(r).max()) <= tol * scale:
                    converged = True
                    break
        if not converged and float(np.abs(r).max()) > 1e-8 * scale:
            raise NotConvergedError(f"fixed-effect recovery did not converge (max residual {np.abs(r).max():.2e})")
        for g in range(1, len(alphas)):
            c0 = alphas[g][0]
            alphas[g] -= c0
            alphas[0] += c0
        self._fixef = {name: pd.Series(a, index=pd.Index(lev, name=name), name=name)
                       for name, a, lev in zip(d.fe_names, alphas, d.fe_levels)}
        return self._fixef

    # ---- tables -------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Tidy coefficients: term, estimate, se, statistic, p_value, conf_low, conf_high."""
        ci = self.conf_int()
        return pd.DataFrame({
            "term": self.params.index, "estimate": self.params.to_numpy(), "se": self.bse.to_numpy(),
            "statistic": self.tstat.to_numpy(), "p_value": self.pvalues.to_numpy(),
            "conf_low": ci["lower"].to_numpy(), "conf_high": ci["upper"].to_numpy()})

    def to_dict(self) -> dict:
        """JSON-ready dict: ``kind``, coefficients {name: {estimate, se}}, nobs, dropped, converged, iterations, …"""
        return json_safe({
            "kind": self.kind, "model": self.model, "formula": self.formula,
            "coefficients": {k: {"estimate": self.params[k], "se": self.bse[k]} for k in self.params.index},
            "nobs": self.nobs, "dropped": self.dropped, "converged": self.converged, "iterations": self.iterations,
            "vcov": self.vcov_type, "ssc": self.ssc, "fixed_effects": self.fixed_effects, "omitted": self.omitted,
            "deviance": self.deviance, "loglik": self.loglik,
        })

    def summary(self) -> str:
        """Plain-text summary (fixed-width)."""
        lines = [f"{self.model.upper()} estimation: {self.formula}",
                 f"Observations: {self.nobs:,}   dropped: " + (", ".join(f"{k}={v:,}" for k, v in self.dropped.items()) or "none"),
                 f"Fixed effects: {', '.join(self.fixed_effects) or 'none'}   SE: {self.vcov_type} (ssc={self.ssc})",
                 f"Converged in {self.iterations} iterations; deviance {self.deviance:.6g}"]
        if self.omitted:
            lines.append(f"Omitted (collinear): {', '.join(self.omitted)}")
        t = self.to_frame()
        w = max([len(s) for s in t["term"]] + [4])
        lines.append(f"{'term':<{w}} {'estimate':>11} {'se':>10} {'stat':>8} {'p':>7}")
        for r in t.itertuples():
            lines.append(f"{r.term:<{w}} {r.estimate:>11.4f} {r.se:>10.4f} {r.statistic:>8.2f} {r.p_value:>7.3f}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return etable([self], format="html")

    def coefplot(self, **kw):
        return coefplot([self], **kw)


class MultipleResults(list):
    """Several fits from one formula with ``sw()``/``csw()`` (fixest's multiple estimation): a
    list of :class:`GravityResults` in the formula's order, rendered together by :func:`etable`."""

    def to_frame(self) -> pd.DataFrame:
        """The tidy coefficients of every model, with ``model`` (1, 2, …) and ``formula`` first."""
        frames = [r.to_frame().assign(model=k + 1, formula=r.formula) for k, r in enumerate(self)]
        out = pd.concat(frames, ignore_index=True)
        return out[["model", "formula", *[c for c in out.columns if c not in ("model", "formula")]]]

    def to_dict(self) -> dict:
        return {"kind": "gravity_multiple", "models": [r.to_dict() for r in self]}

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def summary(self) -> str:
        return "\n\n".join(r.summary() for r in self)

    def etable(self, **kw) -> str:
        return etable(self, **kw)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return etable(self, format="html")


def _stars(p: float) -> str:
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def _columns(result: Result, column: str | None) -> tuple[pd.Series, pd.Series | None, pd.Series | None]:
    """(estimate, standard error or None, p-value or None) by row label, from any result.

    A coefficient table (``term, estimate[, se|std_error][, p_value]``) gives its terms; any other
    result gives its main table's first column as row labels and ``column`` (default: the first
    numeric column) as the value."""
    if isinstance(result, GravityResults):
        return result.params, result.bse, result.pvalues
    frame = result.to_frame()
    if {"term", "estimate"} <= set(frame.columns):
        idx = frame["term"].astype(str)
        se = next((c for c in ("se", "std_error") if c in frame.columns), None)

        def col(c):
            return None if c is None or c not in frame.columns else pd.Series(frame[c].to_numpy(float), index=idx)

        return col("estimate"), col(se), col("p_value")
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    if column is None:
        if not numeric:
            raise ConfigError(f"etable: the {result.kind} result's table has no numeric column to show")
        column = numeric[0]
    if column not in numeric:
        raise ConfigError(f"etable: column must be one of {numeric}, got {column!r}")
    return pd.Series(frame[column].to_numpy(float), index=frame.iloc[:, 0].astype(str)), None, None


def etable(results: Iterable[Result], format: str = "markdown", names: list[str] | None = None,
           digits: int = 3, stars: bool = True, keep: list[str] | None = None, column: str | None = None) -> str:
    """Results side by side: for estimates, coefficient over SE in parentheses (like fixest's
    ``etable`` / Stata's ``esttab``); for any other result, ``column`` of its main table (default:
    the first numeric column) by row, e.g. welfare change by country for several GE results.

    ``format``: ``markdown`` | ``latex`` | ``html``. ``names`` labels the columns
    (default ``(1)``, ``(2)``, …). Footer rows for estimates: fixed effects, observations, SE type.
    """
    results = list(results)
    if not results:
        raise ConfigError("etable needs at least one result")
    check_choice("format", format, ("markdown", "latex", "html"))
    cols = names or [f"({i + 1})" for i in range(len(results))]
    views = [_columns(r, column) for r in results]
    with_se = any(se is not None for _, se, _ in views)
    terms: list[str] = []
    for est, _, _ in views:
        for t in est.index:
            if t not in terms and (keep is None or t in keep):
                terms.append(t)
    body: list[list[str]] = []
    for t in terms:
        row, below = [t], [""]
        for est, se, p in views:
            if t in est.index:
                mark = _stars(p[t]) if stars and p is not None else ""
                row.append(f"{est[t]:.{digits}f}{mark}")
                below.append(f"({se[t]:.{digits}f})" if se is not None and t in se.index else "")
            else:
                row.append("")
                below.append("")
        body += [row, below] if with_se else [row]
    head = [""] + cols
    if all(isinstance(r, GravityResults) for r in results):
        fes = sorted({fe for r in results for fe in r.fixed_effects})
        foot = [[f"FE: {fe}"] + ["✓" if fe in r.fixed_effects else "" for r in results] for fe in fes]
        foot.append(["Observations"] + [f"{r.nobs:,}" for r in results])
        foot.append(["Estimator"] + [r.model.upper() for r in results])
        foot.append(["SE"] + [r.vcov_type for r in results])
        dep = ["Dep. var."] + [r.depvar for r in results]
    else:
        dep = ["Result"] + [r.kind for r in results]
        foot = []
    note = "Standard errors in parentheses. * p&lt;0.1, ** p&lt;0.05, *** p&lt;0.01" if with_se else ""
    return _layout(format, head, dep, body, foot, len(results), note)


def _layout(format: str, head: list[str], dep: list[str], body: list[list[str]], foot: list[list[str]],
            ncols: int, note: str) -> str:
    if format == "markdown":
        rows = [head, ["---"] * len(head), dep] + body + foot
        return "\n".join("| " + " | ".join(r) + " |" for r in rows)
    if format == "latex":
        def esc(s):
            return (s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")
                    .replace("#", r"\#").replace("✓", r"$\checkmark$").replace("***", "$^{***}$"))
        def line(r):
            out = [esc(c) for c in r]
            out = [c.replace("**", "$^{**}$") if "$^{***}$" not in c else c for c in out]
            out = [c.replace("*", "$^{*}$") if "$^" not in c else c for c in out]
            return " & ".join(out) + r" \\"
        lines = [r"\begin{tabular}{l" + "c" * ncols + "}", r"\hline", line(head), line(dep), r"\hline"]
        lines += [line(r) for r in body] + [r"\hline"] + [line(r) for r in foot] + [r"\hline", r"\end{tabular}"]
        return "\n".join(lines)
    e = _html.escape
    th = "".join(f"<th>{e(c)}</th>" for c in head)
    trs = [f"<tr>{''.join(f'<td>{e(c)}</td>' for c in dep)}</tr>"]
    trs += [f"<tr>{''.join(f'<td>{e(c)}</td>' for c in r)}</tr>" for r in body]
    trs += [f"<tr class='footer'>{''.join(f'<td>{e(c)}</td>' for c in r)}</tr>" for r in foot]
    return (f"<table class='etable'><thead><tr>{th}</tr></thead><tbody>{''.join(trs)}</tbody></table>"
            + (f"<p class='note'>{note}</p>" if note else ""))


def coefplot(results: Iterable[GravityResults], names: list[str] | None = None, keep: list[str] | None = None,
             level: float = 0.95, title: str = "Coefficient estimates"):
    """A plotly figure: point estimates with ``level`` confidence intervals, one trace per result."""
    import plotly.graph_objects as go

    results = list(results)
    labels = names or [f"({i + 1})" for i in range(len(results))]
    fig = go.Figure()
    for r, lab in zip(results, labels):
        ci = r.conf_int(level)
        terms = [t for t in r.params.index if keep is None or t in keep]
        est = r.params[terms]
        fig.add_trace(go.Scatter(
            x=est.to_numpy(), y=terms, mode="markers", name=lab,
            error_x=dict(type="data", symmetric=False, array=(ci.loc[terms, "upper"] - est).to_numpy(),
                         arrayminus=(est - ci.loc[terms, "lower"]).to_numpy())))
    fig.add_vline(x=0, line_dash="dot", line_color="grey")
    fig.update_layout(title=title, xaxis_title=f"estimate ({int(level * 100)}% CI)", template="plotly_white")
    return fig
