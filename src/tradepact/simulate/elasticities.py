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


def line_ranges(lines: pd.DataFrame, *, weights: pd.DataFrame | None = None,
                table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Low / central / high η for each product line (rows of ``lines``: ``hs`` and optional ``hs_prefixes``).

    A line covers the HS6 codes under its ``hs_prefixes`` (``;``-separated, default its ``hs``);
    ``weights`` (``code``, ``value`` in USD millions) gives trade weights, else the median is used.
    Returns a frame aligned with ``lines``: ``eta_low``, ``eta``, ``eta_high``, ``n_codes``,
    ``eta_source`` (what was used). Lines with no HS6 code under them get NaN.
    """
    tab = import_demand() if table is None else table
    n = len(lines)
    pref = lines["hs_prefixes"] if "hs_prefixes" in lines.columns else pd.Series([None] * n, index=lines.index)
    pref = pref.where(pref.notna(), lines["hs"]).astype(str)
    ex = pd.DataFrame({"i": np.arange(n), "p": pref.str.split(";").to_numpy()}).explode("p")
    ex["p"] = ex["p"].str.strip()
    hits = []
    for plen, grp in ex.groupby(ex["p"].str.len()):  # a handful of prefix lengths
        t = tab.assign(p=tab["code"].str[: int(plen)])
        hits.append(grp.merge(t, on="p", how="inner"))
    h = pd.concat(hits, ignore_index=True).drop_duplicates(["i", "code"]) if hits else pd.DataFrame()
    out = pd.DataFrame({"eta_low": np.nan, "eta": np.nan, "eta_high": np.nan, "n_codes": 0, "eta_source": ""},
                       index=lines.index)
    if h.empty:
        return out
    if weights is not None:
        w = weights.groupby("code")["value"].sum()
        h["w"] = h["code"].map(w).fillna(0.0)
    else:
        h["w"] = np.nan
    rows = []
    for i, g in h.groupby("i", sort=True):  # one group per product line (a few dozen)
        wsum = g["w"].sum()
        if weights is not None and wsum > 0:
            vals = [float(np.average(g[c], weights=g["w"])) for c in ("low", "central", "high")]
            how = f"trade-weighted mean over {len(g)} HS6 lines"
        else:
            vals = [float(g[c].median()) for c in ("low", "central", "high")]
            how = f"median of {len(g)} HS6 lines (no HS6 trade weights)"
        own = int(g["kept"].sum())
        rows.append((i, *vals, len(g), f"Hauk 2012 US η, {how}; {own} own estimates, {len(g) - own} by the fallback rule"))
    r = pd.DataFrame(rows, columns=["i", "eta_low", "eta", "eta_high", "n_codes", "eta_source"])
    pos = r["i"].to_numpy()
    for c in ("eta_low", "eta", "eta_high", "n_codes", "eta_source"):
        col = out[c].to_numpy(dtype=object if c == "eta_source" else float)
        col[pos] = r[c].to_numpy()
        out[c] = col
    out["n_codes"] = out["n_codes"].astype(int)
    return out
