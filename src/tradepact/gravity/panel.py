"""Gravity estimation panels: trade flows + gravity covariates + policy dummies.

:func:`build_panel` turns a trade table (the ledger's canonical ``year, exporter,
importer, [product,] value`` or any frame with those roles) and optional gravity
covariates into the frame the estimators want::

    exporter, importer, year, trade, [dist, cntg, lang, clny, rta, ...],
    pair_id, exp_year, imp_year, INTL_BRDR, INTL_BRDR_<year>..., <policy>_LAG<k>, <policy>_LEAD<k>,
    <AGREEMENT>, <AGREEMENT>_LAG<k>

Units: trade in USD millions (the ledger convention), distance in km, years int.

Loaders for two public gravity-covariate layouts:

* :func:`load_cepii_gravity` — CEPII *Gravity* database (Conte, Cotterlaz & Mayer 2022;
  columns ``year, iso3_o, iso3_d, dist, contig, comlang_off, col_dep_ever, fta_wto``,
  optional ``tradeflow_baci`` in thousands of USD).
* :func:`load_usitc_dgd` — USITC *Dynamic Gravity Dataset* (Gurevich & Herman 2018;
  columns ``year, iso3_o, iso3_d, distance, contiguity, common_language, colony_ever``
  and agreement indicators ``agree_pta, agree_fta, agree_cu, agree_eia, agree_psa, agree_fta_eia, agree_cu_eia,
  agree_pta_eia, agree_psa_eia``).

Both return the tradepact covariate layout ``exporter, importer, year, dist, cntg, lang,
clny, rta`` (+ ``trade`` where the source has it).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError

COVARIATES = ["dist", "cntg", "lang", "clny", "rta"]

CEPII_COLUMNS = {"iso3_o": "exporter", "iso3_d": "importer", "year": "year", "dist": "dist", "contig": "cntg",
                 "comlang_off": "lang", "col_dep_ever": "clny", "fta_wto": "rta"}
DGD_COLUMNS = {"iso3_o": "exporter", "iso3_d": "importer", "year": "year", "distance": "dist",
               "contiguity": "cntg", "common_language": "lang", "colony_ever": "clny"}
DGD_AGREEMENTS = ["agree_pta", "agree_fta", "agree_cu", "agree_eia", "agree_psa", "agree_fta_eia",
                  "agree_cu_eia", "agree_pta_eia", "agree_psa_eia"]


def _read(path) -> pd.DataFrame:
    p = Path(path)
    if not p.exists():
        raise DataFormatError(file=p, expected="an existing CSV or Parquet file", got="no such file")
    if p.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(p)
    if p.suffix.lower() in (".dta",):
        return pd.read_stata(p)
    return pd.read_csv(p, low_memory=False)


def _require(df: pd.DataFrame, cols: Iterable[str], file, layout: str) -> None:
    for c in cols:
        if c not in df.columns:
            raise DataFormatError(file=file, field=c, expected=f"column {c!r} ({layout} layout)",
                                  got=f"columns {list(df.columns)[:12]}")


def _check_01(df: pd.DataFrame, cols, file) -> None:
    for c in cols:
        v = df[c]
        bad = v.notna() & ~v.isin([0, 1])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise DataFormatError(file=file, row=row, field=c, expected="0 or 1", got=v.iloc[row - 1])


def load_cepii_gravity(path_or_frame, years: Iterable[int] | None = None) -> pd.DataFrame:
    """Read a CEPII Gravity file (CSV/Parquet/dta) into the tradepact covariate layout.

    ``trade`` (USD millions) comes from ``tradeflow_baci`` (thousands of USD) when present.
    Rows with missing ISO3 codes (historical entities) are dropped.
    """
    file = path_or_frame if not isinstance(path_or_frame, pd.DataFrame) else "<frame>"
    df = path_or_frame if isinstance(path_or_frame, pd.DataFrame) else _read(path_or_frame)
    _require(df, CEPII_COLUMNS, file, "CEPII Gravity")
    _check_01(df, ["contig", "comlang_off", "col_dep_ever", "fta_wto"], file)
    out = df[list(CEPII_COLUMNS)].rename(columns=CEPII_COLUMNS)
    if "tradeflow_baci" in df.columns:
        out["trade"] = pd.to_numeric(df["tradeflow_baci"], errors="coerce") / 1000.0
    return _finish_covariates(out, years)


def load_usitc_dgd(path_or_frame, years: Iterable[int] | None = None) -> pd.DataFrame:
    """Read a USITC Dynamic Gravity Dataset file into the tradepact covariate layout.

    ``rta`` = 1 if any ``agree_*`` indicator present in the file is 1 (PTA, FTA, CU,
    EIA, PSA and their combinations).
    """
    file = path_or_frame if not isinstance(path_or_frame, pd.DataFrame) else "<frame>"
    df = path_or_frame if isinstance(path_or_frame, pd.DataFrame) else _read(path_or_frame)
    _require(df, DGD_COLUMNS, file, "USITC Dynamic Gravity")
    agree = [c for c in DGD_AGREEMENTS if c in df.columns]
    if not agree:
        raise DataFormatError(file=file, field="agree_*", expected=f"at least one of {DGD_AGREEMENTS}",
                              got=f"columns {list(df.columns)[:12]}")
    _check_01(df, ["contiguity", "common_language", "colony_ever", *agree], file)
    out = df[list(DGD_COLUMNS)].rename(columns=DGD_COLUMNS)
    out["rta"] = df[agree].fillna(0).max(axis=1).astype(int)
    return _finish_covariates(out, years)


def _finish_covariates(out: pd.DataFrame, years) -> pd.DataFrame:
    out = out.dropna(subset=["exporter", "importer", "year"]).copy()
    out["exporter"] = out["exporter"].astype(str).str.upper()
    out["importer"] = out["importer"].astype(str).str.upper()
    out["year"] = out["year"].astype(int)
    if years is not None:
        out = out[out["year"].isin(list(years))]
    return out.reset_index(drop=True)


def pair_ids(exporter: pd.Series, importer: pd.Series, symmetric: bool = True) -> pd.Series:
    """Pair identifiers as strings ``"A-B"``; symmetric ids sort the two codes (i→j = j→i)."""
    e = exporter.astype(str).to_numpy()
    i = importer.astype(str).to_numpy()
    if symmetric:
        lo = np.where(e <= i, e, i)
        hi = np.where(e <= i, i, e)
        e, i = lo, hi
    return pd.Series(np.char.add(np.char.add(e.astype(str), "-"), i.astype(str)), index=exporter.index)


def build_panel(trade: pd.DataFrame, gravity: pd.DataFrame | None = None, *, value: str | None = None,
                years: Iterable[int] | None = None, interval: int | None = None, keep_domestic: bool = True,
                policy: str | None = "rta", lags: Iterable[int] = (), leads: Iterable[int] = (),
                agreements: Mapping[str, Mapping] | None = None, border_years: bool = True,
                border_reference_year: int | None = None, symmetric_pairs: bool = True,
                fill_lags: float | None = 0.0) -> pd.DataFrame:
    """Assemble a gravity estimation panel.

    Parameters
    ----------
    trade : frame with ``exporter, importer, year`` and a value column (``value`` in the ledger
        layout, or ``trade``). Several rows per flow (e.g. per ``product``) are summed and other
        columns dropped; with one row per flow the other columns are kept.
    gravity : covariates keyed by ``exporter, importer, year`` (e.g. from the loaders); left-joined.
    years / interval : keep only these years, or every ``interval``-th year from the first
        (e.g. ``interval=4`` on 1986–2006 gives 1986, 1990, …, 2006). Lags/leads are computed
        on the full annual data *before* this selection.
    keep_domestic : keep ``exporter == importer`` rows (intra-national flows) where present.
    policy, lags, leads : add ``{POLICY}_LAG{k}`` / ``{POLICY}_LEAD{k}`` (upper case) = the policy
        dummy of the same (exporter, importer) ``k`` years earlier / later. Where that year
        is outside the data the value is ``fill_lags`` (0 by default: not yet in force; use
        None to leave it missing so estimation drops the row).
    agreements : ``{"KORUS": {"members": ["KOR", "USA"], "entry": 2012, "lags": [4, 8]}}`` adds a
        dummy = 1 for international flows between two members from the entry year on, and
        ``KORUS_LAG{k}`` = 1 from ``entry + k`` on (phasing-in).
    border_years : add ``INTL_BRDR`` and ``INTL_BRDR_<year>`` for every kept year except
        ``border_reference_year`` (default the last year), as in Yotov et al. (2016, ch. 1).
    symmetric_pairs : ``pair_id`` identical for i→j and j→i (default) or directional.
    """
    for c in ("exporter", "importer", "year"):
        if c not in trade.columns:
            raise DataFormatError(field=c, expected="column of the trade table", got=f"columns {list(trade.columns)}")
    value = value or ("value" if "value" in trade.columns else "trade")
    if value not in trade.columns:
        raise DataFormatError(field=value, expected="the trade value column ('value' or 'trade')",
                              got=f"columns {list(trade.columns)}")
    keys = ["exporter", "importer", "year"]
    if trade.duplicated(keys).any():  # product-level rows: sum the value, drop the product keys
        t = trade[keys + [value]].groupby(keys, as_index=False, sort=False)[value].sum(min_count=1)
    else:  # already one row per flow: keep its other columns (e.g. covariates)
        t = trade.drop(columns=[c for c in ("product", "hs_rev") if c in trade.columns]).copy()
        if value != "trade" and "trade" in t.columns:
            t = t.drop(columns="trade")
    t = t.rename(columns={value: "trade"})
    t["year"] = t["year"].astype(int)
    if gravity is not None:
        g = gravity.drop(columns=[c for c in gravity.columns if c == "trade" or (c in t.columns and c not in keys)])
        t = t.merge(g, on=keys, how="left", validate="one_to_one")
    if not keep_domestic:
        t = t[t["exporter"] != t["importer"]]
    if policy is not None and (list(lags) or list(leads)):
        if policy not in t.columns:
            raise DataFormatError(field=policy, expected="the policy dummy column for lags/leads",
                                  got=f"columns {list(t.columns)}")
        base = t[keys + [policy]]
        for k, sign, tag in [(k, 1, "LAG") for k in lags] + [(k, -1, "LEAD") for k in leads]:
            sh = base.assign(year=base["year"] + sign * k).rename(columns={policy: f"{policy.upper()}_{tag}{k}"})
            t = t.merge(sh, on=keys, how="left")
            if fill_lags is not None:
                t[f"{policy.upper()}_{tag}{k}"] = t[f"{policy.upper()}_{tag}{k}"].fillna(fill_lags)
    for name, spec in (agreements or {}).items():
        members = set(spec.get("members", []))
        entry = int(spec["entry"])
        both = t["exporter"].isin(members) & t["importer"].isin(members) & (t["exporter"] != t["importer"])
        t[name] = (both & (t["year"] >= entry)).astype(int)
        for k in spec.get("lags", []):
            t[f"{name}_LAG{k}"] = (both & (t["year"] >= entry + int(k))).astype(int)
    yrs = sorted(t["year"].unique())
    if years is not None:
        keep = set(int(y) for y in years)
        t = t[t["year"].isin(keep)]
    elif interval:
        keep = set(range(yrs[0], yrs[-1] + 1, int(interval)))
        t = t[t["year"].isin(keep)]
    t = t.reset_index(drop=True)
    t["pair_id"] = pair_ids(t["exporter"], t["importer"], symmetric_pairs)
    t["exp_year"] = t["exporter"].astype(str) + "_" + t["year"].astype(str)
    t["imp_year"] = t["importer"].astype(str) + "_" + t["year"].astype(str)
    if border_years:
        intl = (t["exporter"] != t["importer"]).astype(int)
        t["INTL_BRDR"] = intl
        kept = sorted(t["year"].unique())
        ref = kept[-1] if border_reference_year is None else int(border_reference_year)
        if ref not in kept:
            raise ConfigError(f"border_reference_year {ref} is not among the panel years {kept}")
        for y in kept:
            if y != ref:
                t[f"INTL_BRDR_{y}"] = intl * (t["year"] == y).astype(int)
    return t


def panel_from_store(store=None, dataset: str | None = None, product: str | None = None,
                     years: Iterable[int] | None = None, flow_source: str = "reported") -> pd.DataFrame:
    """Trade by ``exporter, importer, year`` from a ledger store, with its gravity covariates.

    Sums ``goods.value`` (USD millions) over the rows of ``dataset`` (all datasets if None) and
    ``product`` (all products if None — a dataset should then hold one product level, as the
    loaders write it) with the given ``flow_source``, and left-joins the store's ``gravity``
    table. ``store`` is a :class:`~tradepact.ledger.store.LedgerStore`, a path, or None for
    ``$TRADEPACT_STORE``. Raises DataFormatError when the selection is empty.
    """
    from tradepact.ledger.store import LedgerStore

    st = store if isinstance(store, LedgerStore) else LedgerStore.open(store)
    where, params = ["flow_source = ?"], [flow_source]
    if dataset is not None:
        where.append("dataset = ?")
        params.append(dataset)
    if product is not None:
        where.append("product = ?")
        params.append(product)
    if years is not None:
        ys = [int(y) for y in years]
        where.append(f"year IN ({', '.join('?' * len(ys))})")
        params += ys
    trade = st.sql(f"SELECT year, exporter, importer, SUM(value) AS trade FROM goods WHERE {' AND '.join(where)} "
                   "GROUP BY year, exporter, importer", params)
    if trade.empty:
        raise DataFormatError(file=st.path, field="goods", expected=f"goods rows for dataset={dataset!r}, "
                              f"product={product!r}, flow_source={flow_source!r}", got="no rows")
    grav = st.sql("SELECT * FROM gravity")
    if len(grav):
        grav = grav.drop(columns=[c for c in ("dataset", "source", "confirmed") if c in grav.columns])
        if grav.duplicated(["exporter", "importer", "year"]).any():
            raise DataFormatError(file=st.path, field="gravity", expected="one gravity row per exporter-importer-year",
                                  got="several datasets cover the same pairs; import one gravity dataset")
        trade = trade.merge(grav, on=["exporter", "importer", "year"], how="left")
    trade["year"] = trade["year"].astype(int)
    return trade.sort_values(["exporter", "importer", "year"]).reset_index(drop=True)


def add_ids(df: pd.DataFrame, symmetric_pairs: bool = True) -> pd.DataFrame:
    """Add the usual fixed-effect ids when missing: ``exp_year``, ``imp_year``, ``pair_id``
    (needs ``exporter, importer, year``; returns a copy, existing columns untouched)."""
    if not {"exporter", "importer", "year"} <= set(df.columns):
        return df
    out = df.copy()
    if "exp_year" not in out:
        out["exp_year"] = out["exporter"].astype(str) + "_" + out["year"].astype(str)
    if "imp_year" not in out:
        out["imp_year"] = out["importer"].astype(str) + "_" + out["year"].astype(str)
    if "pair_id" not in out:
        out["pair_id"] = pair_ids(out["exporter"], out["importer"], symmetric_pairs)
    return out
