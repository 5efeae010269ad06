"""Elasticities as data, each with the concept it measures; ranges; the concept check models use.

Three different things are called "the elasticity" in trade-policy work (see the compiled sources
in ``tradepact/data/elasticities.yaml``):

* ``eta`` — **import-demand elasticity η** (< 0): the response of a country's *total* imports of a
  product to their price. SMART/PE trade creation uses it. Table ``hauk2012`` (US imports, HS6,
  Hauk 2012, with standard errors).
* ``sigma`` — **elasticity of substitution between origins σ** (> 1 expected): how demand shifts
  between suppliers of one product. PE trade diversion uses it. Tables ``hauk2012-sigma`` (US, HS6)
  and ``bgw`` (73 importers incl. KOR and USA, HS3, Broda–Greenfield–Weinstein).
* ``theta`` — **trade elasticity θ** (> 0; = σ − 1 in the Armington model): the response of
  bilateral trade to bilateral trade costs; the GE model uses it. Tables ``gravity`` (aggregate,
  Head & Mayer 2014 survey: 5, with 3 and 8 as low/high) and ``protee`` (CEPII ProTEE, HS6,
  reported negative).

A model asks :func:`require_concept` for the concept it needs; a table of another concept is
refused with one line naming both, unless the caller passes ``allow_mismatch=True``.

**Import-demand rule (Hauk 2012 HS6).** About a fifth of the estimates have the wrong sign and
~40% are not significant at 5%. :func:`import_demand` keeps a line's own estimate when it is
right-signed and significant at 5%, with the 90% interval ``η ± 1.645·se`` as its low/high range
(low = the less elastic end). Every other line takes the median of the kept lines of its HS4 (else
HS2, else all kept lines) and the medians of their lows and highs; ``rule`` says which.
**Aggregation to a product line** (:func:`line_ranges`): over the HS6 codes a line covers, the
trade-weighted mean of central, low and high when HS6 import weights are given (USD millions);
without weights the median (never an unweighted mean, which one outlier line can drag).
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError

CONCEPTS = {"eta": "import-demand elasticity η", "sigma": "elasticity of substitution between origins σ",
            "theta": "trade elasticity θ"}
#: z for the 90% interval used as a line's low/high range
Z90 = 1.6448536269514722


@lru_cache(maxsize=1)
def registry() -> dict[str, dict]:
    """The compiled tables: name -> {file, concept, importer, level, period, source, note[, values]}."""
    import yaml

    with resources.files("tradepact.data").joinpath("elasticities.yaml").open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def table_info(name: str) -> dict:
    """Registry entry of table ``name``; ConfigError naming the known tables otherwise."""
    reg = registry()
    if name not in reg:
        raise ConfigError(f"unknown elasticity table {name!r}; expected one of {', '.join(reg)}")
    return reg[name]


def require_concept(name: str, wanted: str, *, allow_mismatch: bool = False, where: str = "elasticities") -> dict:
    """Check that table ``name`` measures ``wanted`` (eta, sigma, theta); returns its registry entry.

    Raises ConfigError (one line, naming ``where``) when it measures something else, unless
    ``allow_mismatch``.
    """
    if wanted not in CONCEPTS:
        raise ConfigError(f"{where}: unknown elasticity concept {wanted!r}; expected one of {', '.join(CONCEPTS)}")
    info = table_info(name)
    if info["concept"] != wanted and not allow_mismatch:
        fits = [k for k, v in registry().items() if v["concept"] == wanted]
        raise ConfigError(
            f"{where}: table {name!r} holds the {CONCEPTS[info['concept']]}, but this model needs the "
            f"{CONCEPTS[wanted]}; use {' or '.join(repr(f) for f in fits) or 'another table'}, "
            f"or set allow_concept_mismatch: true to use it anyway")
    return info


@lru_cache(maxsize=None)
def _read(file: str) -> pd.DataFrame:
    with resources.files("tradepact.data").joinpath(file).open("rb") as fh:
        return pd.read_csv(fh, dtype={"code": str, "hs": str, "importer": str})


def estimates(name: str) -> pd.DataFrame:
    """The compiled estimates of table ``name`` as published (a copy): importer, code, concept, estimate[, se]."""
    info = table_info(name)
    if "file" not in info:
        v = info["values"]
        return pd.DataFrame([{"importer": "ALL", "code": "ALL", "concept": info["concept"], "estimate": v["central"],
                              "low": v["low"], "high": v["high"]}])
    df = _read(info["file"]).copy()
    if name == "protee":  # compiled by tools/compile_korus_pe.py in its own layout
        df = df.rename(columns={"hs": "code", "elasticity": "estimate"}).assign(concept="theta")
    return df


def theta_range(name: str = "gravity", *, allow_mismatch: bool = False) -> dict[str, float]:
    """Low / central / high trade elasticity θ of an aggregate table (default ``gravity``)."""
    info = require_concept(name, "theta", allow_mismatch=allow_mismatch, where="theta")
    if "values" not in info:
        raise ConfigError(f"theta: table {name!r} is by product; the aggregate GE model needs one θ "
                          "(use 'gravity' or give theta)")
    return {k: float(info["values"][k]) for k in ("low", "central", "high")}


@lru_cache(maxsize=1)
def _import_demand_us() -> pd.DataFrame:
    raw = estimates("hauk2012")
    kept = raw["right_sign"].astype(bool) & raw["significant_5pct"].astype(bool) & (raw["estimate"] < 0)
    out = pd.DataFrame({"code": raw["code"].to_numpy(), "estimate_published": raw["estimate"].to_numpy(),
                        "se": raw["se"].to_numpy(), "kept": kept.to_numpy()})
    est = out["estimate_published"].to_numpy()
    se = out["se"].to_numpy()
    out["central"] = np.where(kept, est, np.nan)
    out["low"] = np.where(kept, np.minimum(est + Z90 * se, -0.01), np.nan)   # less elastic end
    out["high"] = np.where(kept, est - Z90 * se, np.nan)                     # more elastic end
    out["rule"] = np.where(kept, "own estimate (right sign, significant at 5%)", "")
    k = out[kept]
    for level, label in ((4, "HS4"), (2, "HS2")):
        todo = out["central"].isna()
        if not todo.any():
            break
        grp = k.assign(g=k["code"].str[:level]).groupby("g")
        med = grp[["central", "low", "high"]].median()
        cnt = grp.size()
        g = out.loc[todo, "code"].str[:level]
        hit = g.isin(med.index)
        idx = g[hit].index
        for col in ("central", "low", "high"):
            out.loc[idx, col] = med.loc[g[hit], col].to_numpy()
        out.loc[idx, "rule"] = [f"median of {cnt[x]} kept lines of its {label} {x}" for x in g[hit]]
    todo = out["central"].isna()
    if todo.any():
        for col in ("central", "low", "high"):
            out.loc[todo, col] = float(k[col].median())
        out.loc[todo, "rule"] = f"median of all {len(k)} kept lines"
    return out


def import_demand(importer: str = "USA") -> pd.DataFrame:
    """Cleaned HS6 import-demand elasticities (see the module docstring for the rule).

    Columns: ``code`` (HS6), ``estimate_published``, ``se``, ``kept``, ``central``, ``low``, ``high``
    (η, negative; low = less elastic), ``rule``. The only η source is for US imports; for another
    importer the same values are returned as a proxy and the caller must say so.
    """
    return _import_demand_us().copy()


def _codes_under(lines: pd.DataFrame, codes: pd.Series, *, width: int | None = None) -> pd.DataFrame:
    """Pairs (``i`` = row position in ``lines``, ``code``) of the table ``codes`` each line covers.

    A line covers the codes under its ``hs_prefixes`` (``;``-separated, default its ``hs``). With ``width``
    (a table at HS3, say) a prefix longer than the table's codes is cut to ``width`` digits first.
    """
    n = len(lines)
    pref = lines["hs_prefixes"] if "hs_prefixes" in lines.columns else pd.Series([None] * n, index=lines.index)
    pref = pref.where(pref.notna(), lines["hs"]).astype(str)
    ex = pd.DataFrame({"i": np.arange(n), "p": pref.str.split(";").to_numpy()}).explode("p")
    ex["p"] = ex["p"].str.strip()
    if width is not None:
        ex["p"] = ex["p"].str[:width]
    tab = pd.DataFrame({"code": pd.unique(codes.astype(str))})
    hits = []
    for plen, grp in ex.groupby(ex["p"].str.len()):  # a handful of prefix lengths
        hits.append(grp.merge(tab.assign(p=tab["code"].str[: int(plen)]), on="p", how="inner"))
    if not hits:
        return pd.DataFrame({"i": pd.Series(dtype=int), "code": pd.Series(dtype=str)})
    return pd.concat(hits, ignore_index=True)[["i", "code"]].drop_duplicates()


def _attach_weights(h: pd.DataFrame, lines: pd.DataFrame, weights: pd.DataFrame | None, width: int) -> pd.Series:
    """Trade weight (USD millions) of each (line ``i``, table ``code``) pair in ``h``; NaN without weights.

    ``weights``: ``code`` (HS6), ``value`` and optionally ``importer``/``exporter`` (then a line takes the
    weights of its own pair). HS6 values are summed to the table's code width (HS3 for BGW).
    """
    if weights is None or weights.empty:
        return pd.Series(np.nan, index=h.index)
    w = weights.assign(code=weights["code"].astype(str).str[:width])
    keys = [k for k in ("importer", "exporter") if k in w.columns and k in lines.columns]
    w = w.groupby(keys + ["code"], as_index=False)["value"].sum()
    hk = h.copy()
    for k in keys:
        hk[k] = lines[k].to_numpy()[hk["i"].to_numpy()]
    got = hk.merge(w, on=keys + ["code"], how="left")["value"].fillna(0.0)
    return pd.Series(got.to_numpy(), index=h.index)


def line_ranges(lines: pd.DataFrame, *, weights: pd.DataFrame | None = None,
                table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Low / central / high η for each product line (rows of ``lines``: ``hs`` and optional ``hs_prefixes``).

    A line covers the HS6 codes under its ``hs_prefixes`` (``;``-separated, default its ``hs``).
    ``weights`` (``code`` HS6, ``value`` in USD millions, optional ``importer``/``exporter`` to match the
    line's pair; e.g. :func:`tradepact.simulate.data.hs6_weights`) gives trade weights: each of low,
    central and high is then the trade-weighted mean over the line's HS6 codes; a line whose codes
    carry no weight, or no ``weights`` at all, takes the median. Returns a frame aligned with
    ``lines``: ``eta_low``, ``eta``, ``eta_high``, ``n_codes``, ``eta_weighting`` (``trade-weighted``,
    ``median``), ``eta_source`` (what was used). Lines with no HS6 code under them get NaN.
    """
    tab = import_demand() if table is None else table
    h = _codes_under(lines, tab["code"]).merge(tab, on="code", how="inner")
    out = pd.DataFrame({"eta_low": np.nan, "eta": np.nan, "eta_high": np.nan, "n_codes": 0, "eta_weighting": "",
                        "eta_source": ""}, index=lines.index)
    if h.empty:
        return out
    h["w"] = _attach_weights(h, lines, weights, 6).to_numpy()
    h["w"] = h["w"].fillna(0.0)
    wsum = h.groupby("i")["w"].transform("sum").to_numpy()
    weighted = wsum > 0
    h["ws"] = np.where(weighted, h["w"] / np.where(weighted, wsum, 1.0), np.nan)
    g = h.groupby("i", sort=True)
    n_codes = g.size()
    own = g["kept"].sum()
    is_w = g["w"].sum() > 0
    res = pd.DataFrame(index=n_codes.index)
    for col, name in (("low", "eta_low"), ("central", "eta"), ("high", "eta_high")):
        wmean = (h[col] * h["ws"]).groupby(h["i"]).sum()
        res[name] = np.where(is_w, wmean, g[col].median())
    how = np.where(is_w, "trade-weighted mean over", "median of")
    res["eta_weighting"] = np.where(is_w, "trade-weighted", "median")
    res["eta_source"] = [f"Hauk 2012 US η, {hw} {k} HS6 lines; {o} own estimates, {k - o} by the fallback rule"
                         for hw, k, o in zip(how, n_codes, own.astype(int))]
    pos = res.index.to_numpy()
    for c in ("eta_low", "eta", "eta_high"):
        col = out[c].to_numpy(dtype=float)
        col[pos] = res[c].to_numpy()
        out[c] = col
    for c, vals in (("n_codes", n_codes.to_numpy()), ("eta_weighting", res["eta_weighting"].to_numpy()),
                    ("eta_source", res["eta_source"].to_numpy())):
        col = out[c].to_numpy(dtype=object)
        col[pos] = vals
        out[c] = col
    out["n_codes"] = out["n_codes"].astype(int)
    return out


@lru_cache(maxsize=2)
def _substitution_clean(name: str) -> pd.DataFrame:
    """σ table ``name`` with a central value per (importer, code) and the rule that gave it.

    ``bgw``: the published estimate (all > 1; no standard errors). ``hauk2012-sigma``: a line's own
    estimate when it exceeds 1 by more than 1.645 standard errors (σ > 1 at 5%, one-sided); every
    other line takes the median of its HS4's kept lines (else HS2, else all kept), as for η.
    """
    raw = estimates(name)
    out = pd.DataFrame({"importer": raw["importer"].to_numpy(), "code": raw["code"].astype(str).to_numpy(),
                        "estimate_published": raw["estimate"].to_numpy()})
    if "se" not in raw.columns:
        out["sigma"] = out["estimate_published"]
        out["rule"] = "published estimate"
        return out
    est, se = raw["estimate"].to_numpy(), raw["se"].to_numpy()
    kept = (est - 1.0) > Z90 * se
    out["sigma"] = np.where(kept, est, np.nan)
    out["rule"] = np.where(kept, "own estimate (σ > 1 at 5%)", "")
    k = out[kept]
    for level, label in ((4, "HS4"), (2, "HS2")):
        todo = out["sigma"].isna()
        med = k.assign(g=k["code"].str[:level]).groupby("g")["sigma"].agg(["median", "size"])
        g = out.loc[todo, "code"].str[:level]
        hit = g.isin(med.index)
        idx = g[hit].index
        out.loc[idx, "sigma"] = med.loc[g[hit], "median"].to_numpy()
        out.loc[idx, "rule"] = [f"median of {med.at[x, 'size']} kept lines of its {label} {x}" for x in g[hit]]
    todo = out["sigma"].isna()
    out.loc[todo, "sigma"] = float(k["sigma"].median())
    out.loc[todo, "rule"] = f"median of all {len(k)} kept lines"
    return out


def line_substitution(lines: pd.DataFrame, table: str = "bgw", *, weights: pd.DataFrame | None = None,
                      allow_mismatch: bool = False) -> pd.DataFrame:
    """Elasticity of substitution between origins σ for each product line, from σ table ``table``.

    ``bgw`` (HS3, 73 importers): the line's importer's σ of every HS3 its ``hs_prefixes`` cover;
    ``hauk2012-sigma`` (HS6, US imports; other importers get the US values as a proxy, said in the
    source). Over the codes of a line: the trade-weighted mean with ``weights`` (as in
    :func:`line_ranges`), else the median. Returns a frame aligned with ``lines``: ``sigma`` (NaN where
    the table has nothing for the line), ``sigma_source``.
    """
    info = require_concept(table, "sigma", allow_mismatch=allow_mismatch, where="elasticities.substitution_table")
    tab = _substitution_clean(table)
    width = int(tab["code"].str.len().max())
    imp = lines["importer"].astype(str).to_numpy() if "importer" in lines.columns else np.full(len(lines), "USA")
    by_imp = set(tab["importer"])
    single = len(by_imp) == 1
    h = _codes_under(lines, tab["code"], width=width)
    h["importer"] = imp[h["i"].to_numpy()]
    key = next(iter(by_imp)) if single else None
    h["table_importer"] = key if single else h["importer"]
    h = h.merge(tab.rename(columns={"importer": "table_importer"}), on=["table_importer", "code"], how="inner")
    out = pd.DataFrame({"sigma": np.nan, "sigma_source": ""}, index=lines.index)
    if h.empty:
        return out
    h["w"] = _attach_weights(h, lines, weights, width).fillna(0.0).to_numpy()
    g = h.groupby("i", sort=True)
    wsum = g["w"].sum()
    wmean = (h["sigma"] * h["w"]).groupby(h["i"]).sum() / wsum.where(wsum > 0)
    val = np.where(wsum > 0, wmean, g["sigma"].median())
    n = g.size()
    level = info.get("level", "")
    who = g["table_importer"].first()
    src = [f"{table} σ ({who_i} imports, {level}): {'trade-weighted mean over' if ws > 0 else 'median of'} {k} "
           f"{level} codes" + (" (US estimate used as a proxy)" if single and imp_i != key else "")
           for who_i, ws, k, imp_i in zip(who, wsum, n, imp[n.index.to_numpy()])]
    pos = n.index.to_numpy()
    col = out["sigma"].to_numpy(dtype=float)
    col[pos] = val
    out["sigma"] = col
    col = out["sigma_source"].to_numpy(dtype=object)
    col[pos] = src
    out["sigma_source"] = col
    return out


def proxies(name: str = "hauk2012") -> dict[str, str]:
    """Importers whose elasticities table ``name`` stands in for (``{ISO3: why}``), from the registry."""
    return dict(table_info(name).get("proxy_for") or {})
