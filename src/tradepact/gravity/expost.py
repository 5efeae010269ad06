"""Ex-post effect of one trade agreement on one member's trade, estimated as an analyst would.

``expost(panel, "korus", country="USA")`` answers "did the agreement raise the country's trade with
its partners?" on a multi-country panel (``exporter, importer, year, value, agreement_id``; value in
USD millions, zeros kept; the built-in one is :func:`tradepact.data.dta_panel`). Every model is PPML
with exporter×year, importer×year and (directional) pair fixed effects, standard errors clustered by
pair. Terms (log points; ``pct`` = e^β − 1; ``usd_mn`` = last window year's flow × (1 − e^−β), the
part of that flow the estimate attributes to the agreement):

* ``exports``: the country's exports to its partners in the years the agreement is in force;
  ``imports``: its imports from them; ``other_agreements``: every other pair-year under any
  agreement (partners' trade among themselves under a plurilateral agreement included).
* event study: the same two directions by year from the last pre-agreement year on (reference: the
  years before it), each post year's change relative to the last pre year with a delta-method SE,
  and a Wald test that the leads are zero (pre-trend).
* placebos: with one treated pair the clustered SE rests on one cluster, so the same two directional
  terms are assigned to untreated pairs (both directions never under an agreement in the window,
  positive flows before and after, each direction at least a tenth of the treated directions' mean
  flow before entry — comparable pairs, not tiny noisy ones) in the same years and re-estimated next
  to the real terms; the
  permutation p-value is the share of placebo estimates at least as large in absolute value.
  Placebo fits reuse the baseline design (the sample does not change) and start from the baseline
  fit; they run in worker processes through :func:`map_tasks`.
* sensitivity: windows 1964–2016, 1988–2016, 2000–2016 (as the panel allows) × directional vs pooled.

Separation: the sample drops observations in all-zero fixed-effect groups (as pyfixest's default);
the regressors are 0/1 dummies on pairs with positive flows, which the placebo pairs satisfy by
construction.
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, ClassVar, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from tradepact.errors import ConfigError, DataFormatError
from tradepact.results import Result, json_safe

#: names accepted for agreements besides their id and the panel's own name
ALIASES = {"korus": "Korea, Republic of - United States", "nafta": "North American Free Trade Agreement (NAFTA)",
           "cafta-dr": "Dominican Republic - Central America - United States Free Trade Agreement (CAFTA-DR)"}
#: windows of the sensitivity table (clipped to the panel; kept when they have pre and post years)
SENSITIVITY_WINDOWS = ((1964, 2016), (1988, 2016), (2000, 2016))
DEFAULT_WINDOW = (1988, 2016)
#: placebo pairs trade at least this share of the treated directions' mean flow before entry
PLACEBO_SIZE_SHARE = 0.1
FE = "exp_year + imp_year + pair"
REQUIRED = ("exporter", "importer", "year", "value", "agreement_id")
Z95 = float(stats.norm.ppf(0.975))


# ----------------------------------------------------------------------------- parallel map
def map_tasks(func: Callable, tasks: Sequence, n_jobs: int | None = None, initializer: Callable | None = None,
              initargs: tuple = ()) -> list:
    """``[func(t) for t in tasks]`` over ``n_jobs`` worker processes (default all cores; 1 = here).

    ``initializer(*initargs)`` runs once per worker (ship large shared inputs there, not in each
    task). Workers start with one BLAS thread, as :mod:`tradepact.gravity.by_group`. The one place
    where ex-post fits fan out (the execution layer can take it over).
    """
    tasks = list(tasks)
    jobs = max(1, min(n_jobs or os.cpu_count() or 1, len(tasks)))
    if jobs == 1 or len(tasks) <= 1:
        if initializer is not None:
            initializer(*initargs)
        return [func(t) for t in tasks]
    from tradepact.gravity.by_group import WORKER_ENV, _context

    saved = {v: os.environ.get(v) for v in WORKER_ENV}
    os.environ.update(WORKER_ENV)
    # The tasks are functions of this package, never of __main__: a console script without an
    # ``if __name__ == "__main__"`` guard would otherwise be re-run by every starting worker.
    main = sys.modules.get("__main__")
    main_file = getattr(main, "__file__", None) if getattr(main, "__spec__", None) is None else None
    if main_file is not None:
        del main.__file__
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=initializer,
                                 initargs=initargs) as ex:
            return list(ex.map(func, tasks, chunksize=max(1, len(tasks) // (4 * jobs))))
    finally:
        if main_file is not None:
            main.__file__ = main_file
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


# ----------------------------------------------------------------------------- inputs
@dataclasses.dataclass(frozen=True)
class Agreement:
    """An agreement found in the panel: id, name, parties, first year coded in force."""

    id: int
    name: str
    parties: tuple[str, ...]
    entry: int


def resolve_agreement(panel: pd.DataFrame, agreement: int | str, names: pd.DataFrame | None = None) -> Agreement:
    """Find ``agreement`` (id, alias such as ``korus``, exact or unique partial name) in ``panel``."""
    ids = pd.unique(panel.loc[panel["agreement_id"] > 0, "agreement_id"])
    name_of = {}
    if names is not None:
        name_of = dict(zip(names["agreement_id"].astype(int), names["agreement"].astype(str)))
    elif "agreement" in panel.columns:
        sub = panel.loc[panel["agreement_id"] > 0, ["agreement_id", "agreement"]].drop_duplicates("agreement_id")
        name_of = dict(zip(sub["agreement_id"].astype(int), sub["agreement"].astype(str)))
    text = str(agreement).strip()
    hit: int | None = None
    if text.lstrip("-").isdigit():
        hit = int(text) if int(text) in set(int(i) for i in ids) else None
    else:
        want = ALIASES.get(text.lower(), text).lower()
        exact = [i for i in ids if name_of.get(int(i), "").lower() == want]
        part = [i for i in ids if want in name_of.get(int(i), "").lower()]
        if exact:
            hit = int(exact[0])
        elif len(part) == 1:
            hit = int(part[0])
        elif len(part) > 1:
            shown = "; ".join(f"{int(i)} {name_of[int(i)]}" for i in sorted(part)[:5])
            raise ConfigError(f"agreement {text!r} matches {len(part)} agreements in the panel ({shown}...): "
                              "give its id or full name")
    if hit is None:
        raise ConfigError(f"agreement {text!r} is not in the panel ({len(ids)} agreements; give an id or a name, "
                          "e.g. 211 or 'korus'; list them with tradepact expost --list)")
    rows = panel.loc[panel["agreement_id"] == hit, ["exporter", "importer", "year"]]
    parties = tuple(sorted(set(rows["exporter"].astype(str)) | set(rows["importer"].astype(str))))
    return Agreement(hit, name_of.get(hit, f"agreement {hit}"), parties, int(rows["year"].min()))


def check_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """The columns the engine uses, typed (``exporter, importer`` as str; value USD millions)."""
    if not isinstance(panel, pd.DataFrame):
        raise ConfigError(f"panel must be a pandas DataFrame, got {type(panel).__name__}")
    miss = [c for c in REQUIRED if c not in panel.columns]
    if miss:
        raise DataFormatError(field=miss[0], expected=f"panel columns {', '.join(REQUIRED)}",
                              got=f"columns {list(panel.columns)[:10]}", message="missing column")
    out = pd.DataFrame({"exporter": panel["exporter"].astype(str).to_numpy(),
                        "importer": panel["importer"].astype(str).to_numpy(),
                        "year": panel["year"].to_numpy(dtype="int64"),
                        "value": panel["value"].to_numpy(dtype="float64"),
                        "agreement_id": panel["agreement_id"].to_numpy(dtype="int64")})
    bad = ~np.isfinite(out["value"].to_numpy()) | (out["value"].to_numpy() < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFormatError(row=i + 1, field="value", expected="a finite non-negative flow (USD millions)",
                              got=panel["value"].iloc[i])
    return out


def _codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Add integer fixed-effect codes ``exp_year, imp_year, pair`` (directional pair) to ``frame``."""
    ex = pd.factorize(frame["exporter"])[0].astype(np.int64)
    im = pd.factorize(frame["importer"])[0].astype(np.int64)
    yr, years = pd.factorize(frame["year"])
    n_y, n_i = len(years), int(im.max()) + 1 if len(im) else 1
    return frame.assign(exp_year=ex * n_y + yr, imp_year=im * n_y + yr, pair=ex * n_i + im)


@dataclasses.dataclass
class _Roles:
    """Masks over the panel rows: the country's directional pairs and the terms of the main model."""

    exp_pairs: np.ndarray
    imp_pairs: np.ndarray
    exports: np.ndarray
    imports: np.ndarray
    other: np.ndarray


def _roles(frame: pd.DataFrame, ag: Agreement, country: str) -> _Roles:
    partners = [p for p in ag.parties if p != country]
    exp_pairs = (frame["exporter"].to_numpy() == country) & frame["importer"].isin(partners).to_numpy()
    imp_pairs = (frame["importer"].to_numpy() == country) & frame["exporter"].isin(partners).to_numpy()
    under = frame["agreement_id"].to_numpy() == ag.id
    exports, imports = exp_pairs & under, imp_pairs & under
    other = (frame["agreement_id"].to_numpy() > 0) & ~exports & ~imports
    return _Roles(exp_pairs, imp_pairs, exports, imports, other)


# ----------------------------------------------------------------------------- one fit
#: IRLS convergence tolerance of every ex-post fit (relative deviance change; see tradepact.gravity.ppml)
TOL = 1e-8


def _fit(frame: pd.DataFrame, regressors: dict[str, np.ndarray], want_fitted: bool = False) -> dict:
    """PPML of ``value`` on ``regressors`` (0/1 arrays over ``frame``) with the ex-post fixed effects.

    The same path as :func:`tradepact.gravity.ppml` (design, IRLS, clustered variance); with
    ``want_fitted`` also the IRLS means μ̂ at convergence on the kept rows (``fitted``, indexed by
    frame row), which start the placebo refits (no fixed-effect polish needed for a start)."""
    from tradepact.gravity.covariance import parse_vcov
    from tradepact.gravity.engine import build_design, fit_ppml
    from tradepact.gravity.results import GravityResults

    data = frame[["value", "exp_year", "imp_year", "pair"]].copy()
    for name, col in regressors.items():
        data[name] = col.astype("float64")
    spec = parse_vcov({"CRV1": "pair"}, None, list(data.columns))
    d = build_design(data, f"value ~ {' + '.join(regressors)} | {FE}", "ppml", None, None, spec.clusters, ("fe",))
    fit = fit_ppml(d, spec, tol=TOL, keep_fe=want_fitted)
    res = GravityResults(fit)
    out = {"params": res.params, "vcov": res.vcov, "nobs": res.nobs, "dropped": res.dropped,
           "omitted": res.omitted}
    if want_fitted:
        out["fitted"] = pd.Series(fit.mu.copy(), index=d.index)
        out["fe_part"] = np.asarray(fit.extra["fe_part"])
    return out


# worker state for the fan-out (set by _init_worker in each process)
_STATE: dict[str, Any] = {}


def _init_worker(frame: pd.DataFrame) -> None:
    _STATE.clear()
    _STATE["frame"] = frame


def _fit_task(task: tuple) -> dict:
    """One model of the ex-post set: (window, {name: row indices of the dummy}) on the shared panel."""
    (first, last), terms, *flags = task
    frame = _STATE["frame"]
    sel = (frame["year"].to_numpy() >= first) & (frame["year"].to_numpy() <= last)
    pos = np.flatnonzero(sel)
    sub = _codes(frame.iloc[pos].reset_index(drop=True))
    regs = {}
    for name, idx in terms.items():
        col = np.zeros(len(frame), dtype=bool)
        col[idx] = True
        regs[name] = col[pos]
    return _fit(sub, regs, want_fitted=bool(flags and flags[0]))


def _init_placebo(design, spec, start, start_fe, cols) -> None:
    _STATE.clear()
    _STATE.update(design=design, spec=spec, start=start, start_fe=start_fe, cols=cols)


def _placebo_task(task: tuple[np.ndarray, ...]) -> tuple[float, float]:
    """Re-estimate with the two placebo dummies on the post rows of ``task`` = (exports post, exports pre,
    imports post, imports pre), as kept-row positions of the shared design.

    The start is the baseline fit with each placebo pair's pre and post rows rescaled to their own
    totals: the exact optimum of the pair's two new parameters with every other fixed effect held at
    the baseline, so IRLS only has to pass on the small feedback through the exporter-year and
    importer-year effects (it stops on the same criteria as from any start); the first demeaning
    starts from the baseline's fixed-effect components."""
    from tradepact.gravity.engine import fit_ppml

    d, spec, start, (jx, jm) = _STATE["design"], _STATE["spec"], _STATE["start"], _STATE["cols"]
    X = d.X.copy()
    X[:, jx] = 0.0
    X[:, jm] = 0.0
    X[task[0], jx] = 1.0
    X[task[2], jm] = 1.0
    mu = start.copy()
    for rows in task if np.isfinite(start).all() else ():
        if len(rows):
            tot = float(d.y[rows].sum())
            if tot > 0:
                mu[rows] *= tot / float(start[rows].sum())
    fit = fit_ppml(dataclasses.replace(d, X=X), spec, tol=TOL, start_mu=mu, start_fe=_STATE["start_fe"])
    b = dict(zip(fit.names, fit.beta))
    return float(b.get("placebo_exports", np.nan)), float(b.get("placebo_imports", np.nan))


# ----------------------------------------------------------------------------- results
def _term(name: str, params: pd.Series, vcov: pd.DataFrame, flow: float) -> dict:
    if name not in params.index:
        return {"term": name, "estimate": None, "se": None, "pct": None, "ci95": [None, None], "usd_mn": None,
                "flow_last_year": flow}
    b = float(params[name])
    se = float(math.sqrt(max(vcov.loc[name, name], 0.0)))
    return {"term": name, "estimate": b, "se": se, "pct": math.expm1(b), "ci95": [b - Z95 * se, b + Z95 * se],
            "usd_mn": flow * (1.0 - math.exp(-b)), "flow_last_year": flow}


@dataclasses.dataclass(repr=False)
class ExPostResult(Result):
    """The ex-post answer for one agreement and country (see the module docstring for every part).

    ``terms``: {exports, imports, other_agreements} → {estimate, se, pct, ci95, usd_mn} (log points,
    fraction, log points, USD millions); ``event_study``: list of {year, direction, estimate, se,
    change_vs_last_pre, change_se}; ``pretrend``: {chi2, df, p}; ``placebo``: {n, p_exports, p_imports,
    exports, imports (the placebo estimates)}; ``sensitivity``: list of {window, spec, term, estimate, se,
    pct, nobs}; ``extra``: what callers add (e.g. ``us_agreements``, ``predicted_vs_realized``).
    """

    agreement: Agreement
    country: str
    partners: list[str]
    window: tuple[int, int]
    years: list[int]
    nobs: int
    dropped: dict
    terms: dict[str, dict]
    event_study: list[dict]
    pretrend: dict
    placebo: dict
    sensitivity: list[dict]
    extra: dict = dataclasses.field(default_factory=dict)
    kind: ClassVar[str] = "expost"

    def to_dict(self, placebo_draws: bool = False) -> dict:
        """JSON-safe dict (the ``expost`` object of ``tradepact expost/korus --format json``)."""
        terms = {k: {f: v[f] for f in ("estimate", "se", "pct", "ci95", "usd_mn")} for k, v in self.terms.items()}
        placebo = {k: self.placebo[k] for k in ("n", "p_exports", "p_imports")}
        if placebo_draws:
            placebo.update({k: self.placebo.get(k, []) for k in ("exports", "imports")})
        out = {"kind": self.kind, "agreement": {"id": self.agreement.id, "name": self.agreement.name,
                                                "parties": list(self.agreement.parties),
                                                "entry": self.agreement.entry},
               "country": self.country, "partners": self.partners, "window": list(self.window),
               "years": self.years, "nobs": self.nobs, "dropped": self.dropped, "terms": terms,
               "event_study": self.event_study, "pretrend": self.pretrend, "placebo": placebo,
               "sensitivity": self.sensitivity}
        out.update(self.extra)
        return json_safe(out)

    def to_frame(self) -> pd.DataFrame:
        """Tidy terms: term, estimate, std_error, pct, conf_low, conf_high, usd_mn, p_value, p_placebo."""
        rows = []
        for k, v in self.terms.items():
            b, se = v["estimate"], v["se"]
            p = None if b is None or not se else float(2 * stats.norm.sf(abs(b / se)))
            rows.append({"term": k, "estimate": b, "std_error": se, "pct": v["pct"], "conf_low": v["ci95"][0],
                         "conf_high": v["ci95"][1], "usd_mn": v["usd_mn"], "p_value": p,
                         "p_placebo": self.placebo.get(f"p_{k}")})
        return pd.DataFrame(rows)

    def event_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.event_study, columns=["year", "direction", "estimate", "se",
                                                       "change_vs_last_pre", "change_se"])

    def summary(self) -> str:
        t = self.terms
        lines = [f"{self.agreement.name} (id {self.agreement.id}, in force from {self.agreement.entry}), "
                 f"{self.country} with {', '.join(self.partners)}; window {self.window[0]}-{self.window[1]}, "
                 f"{self.nobs:,} observations"]
        for k in ("exports", "imports", "other_agreements"):
            v = t[k]
            if v["estimate"] is None:
                lines.append(f"  {k:<17} not estimated")
                continue
            pp = self.placebo.get(f"p_{k}")
            lines.append(f"  {k:<17} {v['estimate']:+.3f} (se {v['se']:.3f}) = {v['pct'] * 100:+.1f}%, "
                         f"{v['usd_mn']:+,.0f} USD mn at the last year's flow"
                         + (f"; placebo p = {pp:.3f}" if pp is not None else ""))
        if self.pretrend.get("p") is not None:
            lines.append(f"  pre-trend test: chi2({self.pretrend['df']}) = {self.pretrend['chi2']:.2f}, "
                         f"p = {self.pretrend['p']:.3f}")
        return "\n".join(lines)



# ----------------------------------------------------------------------------- the engine
def expost(panel: pd.DataFrame, agreement: int | str, country: str | None = None, *,
           window: tuple[int, int] | None = None, placebos: int = 0, seed: int = 0, n_jobs: int | None = None,
           names: pd.DataFrame | None = None, event_study: bool = True, sensitivity: bool = True,
           rank_agreements: bool = False, progress: Callable[[str, float], None] | None = None) -> ExPostResult:
    """Estimate the agreement's effect on ``country``'s trade with its partners (see module docstring).

    ``panel``: ``exporter, importer, year, value, agreement_id`` (USD millions; ``agreement`` names or
    ``names`` = frame ``agreement_id, agreement``). ``country``: ISO3 party (default USA if a party, else
    the first party). ``window``: (first, last) years (default 1988–2016, clipped to the panel).
    ``placebos``: number of placebo pairs (0 = none). ``rank_agreements``: also fit
    :func:`agreements_ranking` for ``country`` in the same worker batch (``extra["us_agreements"]`` for the
    USA, else ``extra["agreements"]``). Raises :class:`ConfigError` with one clear line
    for an agreement not in the panel, a country not party to it, or a window without pre or post years.
    """
    tick = progress or (lambda msg, frac: None)
    base = check_panel(panel)
    ag = resolve_agreement(panel, agreement, names)
    if country is None:
        country = "USA" if "USA" in ag.parties else ag.parties[0]
    country = str(country).strip().upper()
    if country not in ag.parties:
        raise ConfigError(f"country {country!r} is not party to {ag.name} (id {ag.id}); its parties are "
                          f"{', '.join(ag.parties)}")
    lo, hi = int(base["year"].min()), int(base["year"].max())
    first, last = window if window is not None else (max(DEFAULT_WINDOW[0], lo), min(DEFAULT_WINDOW[1], hi))
    first, last = int(first), int(last)
    if first > last:
        raise ConfigError(f"window {first}-{last}: the first year is after the last")
    years = sorted(int(y) for y in pd.unique(base["year"]) if first <= y <= last)
    roles_all = _roles(base, ag, country)
    treated_years = sorted(set(base.loc[roles_all.exports | roles_all.imports, "year"].astype(int)))
    post = [y for y in years if y in treated_years]
    pre = [y for y in years if y < ag.entry]
    if not post:
        raise ConfigError(f"window {first}-{last} has no year with {ag.name} in force for {country} "
                          f"(panel years in force: {', '.join(map(str, treated_years)) or 'none'})")
    if not pre:
        raise ConfigError(f"window {first}-{last} has no year before {ag.name} entered into force "
                          f"({ag.entry}); start the window earlier")
    partners = [p for p in ag.parties if p != country]
    base = _codes(base)

    # ---- the fits that do not depend on placebos: main, event study, sensitivity (in workers)
    def idx(mask):
        return np.flatnonzero(mask)

    r = roles_all
    tasks: list[tuple] = []
    labels: list[tuple] = []
    es_years = [y for y in years if y >= max(pre)] if len(pre) >= 2 and event_study else []
    if es_years:
        terms = {}
        yv = base["year"].to_numpy()
        for d_name, pairs in (("exports", r.exp_pairs), ("imports", r.imp_pairs)):
            for y in es_years:
                terms[f"{d_name}_{y}"] = idx(pairs & (yv == y))
        if r.other.any():
            terms["other_agreements"] = idx(r.other)
        tasks.append(((first, last), terms))
        labels.append(("event",))
    if sensitivity:
        for w in SENSITIVITY_WINDOWS:
            w = (max(w[0], lo), min(w[1], hi))
            wy = [y for y in pd.unique(base["year"]) if w[0] <= y <= w[1]]
            if not any(y < ag.entry for y in wy) or not any(y in treated_years for y in wy):
                continue
            other = {"other_agreements": idx(r.other)} if r.other.any() else {}
            if w != (first, last):
                tasks.append((w, {"exports": idx(r.exports), "imports": idx(r.imports), **other}))
                labels.append(("sens", w, "directional"))
            tasks.append((w, {"both_directions": idx(r.exports | r.imports), **other}))
            labels.append(("sens", w, "pooled"))
    sel = (base["year"].to_numpy() >= first) & (base["year"].to_numpy() <= last)
    frame = _codes(base.loc[sel, ["exporter", "importer", "year", "value", "agreement_id"]].reset_index(drop=True))
    rw = _roles(frame, ag, country)
    main_terms = {"exports": idx(r.exports), "imports": idx(r.imports)}
    if r.other.any():
        main_terms["other_agreements"] = idx(r.other)
    tasks.insert(0, ((first, last), main_terms, True))
    labels.insert(0, ("main",))
    if rank_agreements:
        rank_terms, skipped = _ranking_terms(base[sel], country)
        tasks.append(((first, last), {k: np.flatnonzero(sel)[v] for k, v in rank_terms.items()}))
        labels.append(("rank",))
    tick("main model, event study and sensitivity", 0.05)
    fits = map_tasks(_fit_task, tasks, n_jobs, _init_worker, (base,))
    main = fits.pop(0)
    labels.pop(0)
    if rank_agreements:
        ranking = _ranking_frame(fits.pop(), panel, names, skipped)
        labels.pop()

    vals = frame["value"].to_numpy()
    last_year = frame["year"].to_numpy() == last
    flows = {"exports": float(vals[rw.exports & last_year].sum()), "imports": float(vals[rw.imports & last_year].sum()),
             "other_agreements": float(vals[rw.other & last_year].sum())}
    terms_out = {k: _term(k, main["params"], main["vcov"], flows[k]) for k in ("exports", "imports", "other_agreements")}

    es_rows: list[dict] = []
    pretrend = {"chi2": None, "df": 0, "p": None, "reference": [y for y in pre if y < max(pre)]}
    sens_rows: list[dict] = []
    sens_rows += [dict(window=[first, last], spec="directional", term=k, estimate=v["estimate"], se=v["se"],
                       pct=v["pct"], nobs=main["nobs"]) for k, v in terms_out.items() if k != "other_agreements"]
    for lab, fit in zip(labels, fits):
        P, V = fit["params"], fit["vcov"]
        if lab[0] == "event":
            leads = []
            for d_name in ("exports", "imports"):
                ref = f"{d_name}_{max(pre)}"
                for y in es_years:
                    n = f"{d_name}_{y}"
                    if n not in P.index:
                        continue
                    b, se = float(P[n]), float(math.sqrt(max(V.loc[n, n], 0)))
                    ch = ch_se = None
                    if y > max(pre) and ref in P.index:
                        ch = b - float(P[ref])
                        ch_se = float(math.sqrt(max(V.loc[n, n] + V.loc[ref, ref] - 2 * V.loc[n, ref], 0)))
                    es_rows.append({"year": y, "direction": d_name, "estimate": b, "se": se,
                                    "change_vs_last_pre": ch, "change_se": ch_se})
                    if y < ag.entry:
                        leads.append(n)
            if leads:
                b = P[leads].to_numpy()
                Vl = V.loc[leads, leads].to_numpy()
                chi2 = float(b @ np.linalg.solve(Vl, b))
                pretrend.update(chi2=chi2, df=len(leads), p=float(stats.chi2.sf(chi2, len(leads))), leads=leads)
        else:
            _, w, spec = lab
            for k in ("exports", "imports", "both_directions"):
                if k in P.index:
                    b = float(P[k])
                    sens_rows.append(dict(window=list(w), spec=spec, term=k, estimate=b,
                                          se=float(math.sqrt(max(V.loc[k, k], 0))), pct=math.expm1(b), nobs=fit["nobs"]))
    sens_rows.sort(key=lambda s: (s["window"][0], s["spec"] != "directional", s["term"]))

    placebo = {"n": 0, "p_exports": None, "p_imports": None, "exports": [], "imports": []}
    if placebos:
        tick("placebos", 0.4)
        placebo = _placebos(frame, rw, main, post, placebos, seed, n_jobs, terms_out)
    tick("done", 1.0)
    out = ExPostResult(ag, country, partners, (first, last), years, int(main["nobs"]), dict(main["dropped"]),
                       terms_out, es_rows, pretrend, placebo, sens_rows)
    if rank_agreements:
        out.extra["us_agreements" if country == "USA" else "agreements"] = ranking.to_dict("records")
    return out


def placebo_pairs(frame: pd.DataFrame, post: Sequence[int], exclude: Iterable[str] = ()) -> pd.DataFrame:
    """Untreated country pairs usable as placebos: ``a, b`` with a < b, neither direction under any
    agreement in the window, positive flows in both directions before and after ``min(post)``;
    ``size`` = the smaller direction's mean flow before ``min(post)`` (USD millions)."""
    f = frame[["exporter", "importer", "year", "value", "agreement_id"]]
    ex = set(exclude)
    a = np.where(f["exporter"] < f["importer"], f["exporter"], f["importer"])
    b = np.where(f["exporter"] < f["importer"], f["importer"], f["exporter"])
    fwd = f["exporter"].to_numpy() < f["importer"].to_numpy()
    after = f["year"].to_numpy() >= min(post)
    pos = f["value"].to_numpy() > 0
    v = f["value"].to_numpy()
    g = pd.DataFrame({"a": a, "b": b, "any_ag": f["agreement_id"].to_numpy() > 0,
                      "fp": pos & fwd & ~after, "fa": pos & fwd & after, "bp": pos & ~fwd & ~after, "ba": pos & ~fwd & after,
                      "vf": np.where(fwd & ~after, v, np.nan), "vb": np.where(~fwd & ~after, v, np.nan)})
    grp = g.groupby(["a", "b"], sort=True)
    agg = grp[["any_ag", "fp", "fa", "bp", "ba"]].agg("any")
    agg["size"] = np.minimum(grp["vf"].mean(), grp["vb"].mean())
    ok = ~agg["any_ag"] & agg["fp"] & agg["fa"] & agg["bp"] & agg["ba"]
    out = agg[ok].reset_index()[["a", "b", "size"]]
    if ex:
        out = out[~out["a"].isin(ex) & ~out["b"].isin(ex)]
    return out.reset_index(drop=True)


def _placebos(frame, rw: _Roles, main: dict, post, n: int, seed: int, n_jobs, terms_out) -> dict:
    """Fit ``n`` placebo models (baseline design reused, warm-started from the main fit) in workers."""
    from tradepact.gravity.covariance import parse_vcov
    from tradepact.gravity.engine import build_design

    data = frame[["value", "exp_year", "imp_year", "pair"]].copy()
    data["exports"], data["imports"], data["other_agreements"] = rw.exports * 1.0, rw.imports * 1.0, rw.other * 1.0
    data["placebo_exports"] = 0.0
    data["placebo_imports"] = 0.0
    spec = parse_vcov({"CRV1": "pair"}, None, list(data.columns))
    other = " + other_agreements" if rw.other.any() else ""
    d = build_design(data, f"value ~ exports + imports{other} + placebo_exports + placebo_imports | {FE}",
                     "ppml", None, None, spec.clusters, ("fe",), False)
    fitted = main["fitted"]
    same = d.index.equals(fitted.index)
    # the baseline's means on the placebo design's rows (NaN where the samples differ: IRLS then
    # starts cold, which changes only the number of iterations)
    start = fitted.to_numpy() if same else fitted.reindex(d.index).to_numpy()
    cands = placebo_pairs(frame, post)
    if cands.empty:
        raise ConfigError("no untreated pair with positive flows before and after entry to use as a placebo")
    # comparable pairs: each direction trading at least a tenth of the treated directions' mean flow
    # before entry (else the n largest untreated pairs)
    pre = frame["year"].to_numpy() < min(post)
    vals = frame["value"].to_numpy()
    sizes = [vals[m & pre].mean() for m in (rw.exp_pairs, rw.imp_pairs) if (m & pre).any()]
    floor = PLACEBO_SIZE_SHARE * min(sizes) if sizes else 0.0
    pool = cands[cands["size"] >= floor]
    if len(pool) < n:
        pool = cands.nlargest(min(n, len(cands)), "size")
    rng = np.random.default_rng(seed)
    pick = pool.iloc[np.sort(rng.choice(len(pool), size=min(n, len(pool)), replace=False))]
    kept = d.index.to_numpy()  # frame row of each kept observation
    pos_of = np.full(len(frame), -1, dtype=np.int64)
    pos_of[kept] = np.arange(len(kept))
    ex, im, yv = frame["exporter"].to_numpy(), frame["importer"].to_numpy(), frame["year"].to_numpy()
    is_post = np.isin(yv, list(post))
    key = frame.groupby(["exporter", "importer"], sort=False).indices
    tasks = []
    for a, b in zip(pick["a"], pick["b"]):
        rx = key.get((a, b), np.zeros(0, int))
        rm = key.get((b, a), np.zeros(0, int))
        parts = [pos_of[rx[is_post[rx]]], pos_of[rx[~is_post[rx]]], pos_of[rm[is_post[rm]]], pos_of[rm[~is_post[rm]]]]
        tasks.append(tuple(q[q >= 0] for q in parts))
    cols = (d.xnames.index("placebo_exports"), d.xnames.index("placebo_imports"))
    fe = main["fe_part"]  # [z, main regressors]; the two placebo columns start from 0
    start_fe = (np.hstack([fe, np.zeros((fe.shape[0], d.X.shape[1] + 1 - fe.shape[1]))])
                if same and fe.shape[0] == len(d.index) else None)
    res = map_tasks(_placebo_task, tasks, n_jobs, _init_placebo, (d, spec, start, start_fe, cols))
    bx = np.array([r[0] for r in res])
    bm = np.array([r[1] for r in res])

    def pval(draws, actual):
        if actual is None:
            return None
        draws = draws[np.isfinite(draws)]
        return float((1 + np.sum(np.abs(draws) >= abs(actual) - 1e-12)) / (len(draws) + 1))

    return {"n": int(len(tasks)), "p_exports": pval(bx, terms_out["exports"]["estimate"]),
            "p_imports": pval(bm, terms_out["imports"]["estimate"]), "exports": bx.tolist(), "imports": bm.tolist(),
            "pairs": [f"{a}-{b}" for a, b in zip(pick["a"], pick["b"])], "pool": int(len(pool)),
            "min_pre_flow_usd_mn": float(floor)}


def _ranking_terms(frame: pd.DataFrame, country: str) -> tuple[dict[str, np.ndarray], list[int]]:
    """Positions in ``frame`` of each agreement's ``country``-exports term and of the other agreements.

    Agreements in force in every year of ``frame`` for their pairs have no before: left out (ids returned)."""
    exp_c = frame["exporter"].to_numpy() == country
    ag_id = frame["agreement_id"].to_numpy()
    ids = sorted(pd.unique(ag_id[((exp_c) | (frame["importer"].to_numpy() == country)) & (ag_id > 0)]))
    if not ids:
        raise ConfigError(f"{country} is party to no agreement in the panel's window")
    terms, any_term, skipped = {}, np.zeros(len(frame), dtype=bool), []
    for i in ids:
        m = exp_c & (ag_id == i)
        partners = pd.unique(frame.loc[m, "importer"])
        before = exp_c & frame["importer"].isin(partners).to_numpy() & ~m
        if not m.any() or not before.any():
            skipped.append(int(i))
            continue
        terms[f"ag_{int(i)}"] = np.flatnonzero(m)
        any_term |= m
    terms["other_agreements"] = np.flatnonzero((ag_id > 0) & ~any_term)
    return terms, skipped


def _ranking_frame(fit: dict, panel: pd.DataFrame, names, skipped: list[int]) -> pd.DataFrame:
    rows = []
    for n in fit["params"].index:
        if not n.startswith("ag_"):
            continue
        i = int(n[3:])
        b, se = float(fit["params"][n]), float(math.sqrt(max(fit["vcov"].loc[n, n], 0)))
        a = resolve_agreement(panel, i, names)
        rows.append({"agreement_id": i, "agreement": a.name, "entry": a.entry, "estimate": b, "se": se,
                     "pct": math.expm1(b), "conf_low": b - Z95 * se, "conf_high": b + Z95 * se})
    out = pd.DataFrame(rows).sort_values("estimate").reset_index(drop=True)
    out.attrs["not_identified"] = skipped
    return out


def agreements_ranking(panel: pd.DataFrame, country: str = "USA", *, window: tuple[int, int] | None = None,
                       names: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each agreement of ``country`` in the panel: its own exports term, all in one regression.

    Columns ``agreement_id, agreement, entry, estimate, se, pct, conf_low, conf_high`` (log points),
    sorted by estimate. Other pair-years under any agreement share one ``other_agreements`` term.
    Agreements in force in every window year have no before and are left out (their ids in
    ``attrs["not_identified"]``).
    """
    base = check_panel(panel)
    lo, hi = int(base["year"].min()), int(base["year"].max())
    first, last = window or (max(DEFAULT_WINDOW[0], lo), min(DEFAULT_WINDOW[1], hi))
    frame = _codes(base[(base["year"] >= first) & (base["year"] <= last)].reset_index(drop=True))
    terms, skipped = _ranking_terms(frame, country)
    regs = {}
    for k, pos in terms.items():
        col = np.zeros(len(frame), dtype=bool)
        col[pos] = True
        regs[k] = col
    return _ranking_frame(_fit(frame, regs), panel, names, skipped)


__all__ = ["expost", "ExPostResult", "Agreement", "resolve_agreement", "agreements_ranking", "placebo_pairs",
           "map_tasks", "check_panel"]
