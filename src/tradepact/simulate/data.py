"""Inputs of the PE model: built-in KORUS product lines, elasticity tables and the line lookup.

Built-in tables (compiled by ``tools/compile_korus_pe.py`` from the reference data; every row
keeps ``source`` and ``confirmed``):

* :func:`korus_lines` — flows by year and product line: ``line_id, year, importer, exporter, hs,
  hs_source, hs_prefixes, hs_mapping, description, import_value`` (USD millions), ``basis,
  additive_group, confirmed, value_kind, precision, source, source_url, notes``.
* :func:`import_elasticities` — CEPII ProTEE 0.1 elasticities by HS6 (H3): ``importer`` (ALL),
  ``hs, elasticity`` (negative), ``flagged``, ``confirmed``, ``concept``, ``source``. These are
  *trade* elasticities θ (table ``protee`` in :mod:`tradepact.simulate.elasticities`), not
  import-demand elasticities η; the PE model takes η from ``hauk2012`` and refuses ProTEE as η unless
  a scenario sets ``allow_concept_mismatch``.
* :func:`other_origins` — the importer's imports of the lines' products from third countries, from
  a ledger store.
* :func:`hs6_weights` — the HS6 trade weights within each line (its pair's imports by HS6 in the base
  year), from a ledger store, for trade-weighted elasticities.

:func:`lookup_elasticities` matches lines to a table: the line's own code when the table has it,
else the mean of the table's unflagged codes under the line's HS prefixes (``hs_prefixes``,
``;``-separated, default the line's ``hs``), else under its HS4, else its HS2; lines with no match
get the default. Vectorized (merges, no loop over lines).
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from tradepact import countries, products
from tradepact.errors import DataFormatError

LINE_COLUMNS = ["importer", "exporter", "hs", "year", "import_value"]


def _read(name: str) -> pd.DataFrame:
    with resources.files("tradepact.data").joinpath(name).open("rb") as fh:
        return pd.read_csv(fh, dtype={"hs": str, "hs_prefixes": str, "hs_source": str})


@lru_cache(maxsize=1)
def _korus_lines() -> pd.DataFrame:
    return _read("korus_pe_lines.csv")


def korus_lines(year: int | None = None) -> pd.DataFrame:
    """Built-in KORUS product flows (USD millions), optionally one year's."""
    df = _korus_lines().copy()
    df["confirmed"] = df["confirmed"].astype(bool)
    if year is not None:
        df = df[df["year"] == int(year)].reset_index(drop=True)
    return df


@lru_cache(maxsize=1)
def _elasticities() -> pd.DataFrame:
    return _read("korus_import_elasticities.csv")


def import_elasticities() -> pd.DataFrame:
    """Built-in CEPII ProTEE 0.1 table (HS6, common to all importers): trade elasticities θ, not η."""
    df = _elasticities().copy()
    df["flagged"] = df["flagged"].astype(bool)
    df["confirmed"] = df["confirmed"].astype(bool)
    return df


def read_lines(path: str | Path) -> pd.DataFrame:
    """Read a user CSV of flows (columns importer, exporter, hs, year, import_value; optional
    ``rate``, ``domestic_output``, ``import_demand_elasticity``, ``description``, ``source``,
    ``confirmed``), validated; errors name the file, 1-based data row and field."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, None, "an existing CSV file", str(path), message="file not found")
    try:
        df = pd.read_csv(path, dtype={"hs": str, "importer": str, "exporter": str})
    except Exception as exc:  # parser errors
        raise DataFormatError(path, None, None, "a CSV file", None, message=str(exc)) from exc
    missing = [c for c in LINE_COLUMNS if c not in df.columns]
    if missing:
        raise DataFormatError(path, None, missing[0], "column present", None,
                              message=f"missing column(s) {', '.join(missing)}")

    def bad(mask, fld, expected):
        mask = np.asarray(mask)
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise DataFormatError(path, i + 1, fld, expected, df[fld].iloc[i])

    for fld in ("importer", "exporter"):
        bad(countries.invalid_codes(df[fld].astype(str).str.strip().str.upper()), fld, "an ISO3 country code")
    bad(products.invalid_codes(df["hs"].astype(str).str.strip()), "hs", "an HS code of 2/4/6/8/10 digits")
    for fld in ("year", "import_value"):
        v = pd.to_numeric(df[fld], errors="coerce")
        bad(v.isna(), fld, "a number")
    bad(pd.to_numeric(df["import_value"]) < 0, "import_value", "a value >= 0 (USD millions)")
    if "rate" in df.columns:
        v = pd.to_numeric(df["rate"], errors="coerce")
        bad(v.notna() & (v < 0), "rate", "a tariff rate >= 0 (fraction)")
    if "import_demand_elasticity" in df.columns:
        v = pd.to_numeric(df["import_demand_elasticity"], errors="coerce")
        bad(v.notna() & (v >= 0), "import_demand_elasticity", "a negative elasticity")
    df["importer"] = df["importer"].astype(str).str.strip().str.upper()
    df["exporter"] = df["exporter"].astype(str).str.strip().str.upper()
    df["hs"] = df["hs"].astype(str).str.strip()
    df["year"] = pd.to_numeric(df["year"]).astype(int)
    if "confirmed" not in df.columns:
        df["confirmed"] = True
    if "source" not in df.columns:
        df["source"] = str(path)
    return df


def lookup_elasticities(lines: pd.DataFrame, table: pd.DataFrame, default: float,
                        include_flagged: bool = False) -> pd.DataFrame:
    """Elasticity for each row of ``lines`` from ``table`` (see the module docstring).

    Returns a frame aligned with ``lines`` with ``elasticity``, ``elasticity_source`` (text saying
    which table rows were used) and ``elasticity_confirmed``.
    """
    tab = table.dropna(subset=["elasticity"])
    if not include_flagged and "flagged" in tab.columns:
        tab = tab[~tab["flagged"].astype(bool)]
    tab = tab[["hs", "elasticity"] + (["confirmed"] if "confirmed" in tab.columns else [])].copy()
    if "confirmed" not in tab.columns:
        tab["confirmed"] = True
    tab["hs"] = tab["hs"].astype(str)
    n = len(lines)
    idx = np.arange(n)
    prefixes = (lines["hs_prefixes"] if "hs_prefixes" in lines.columns else pd.Series([None] * n, index=lines.index))
    prefixes = prefixes.where(prefixes.notna(), lines["hs"]).astype(str).to_numpy()
    out_val = np.full(n, np.nan)
    out_src = np.full(n, "", dtype=object)
    out_conf = np.ones(n, dtype=bool)

    # 1) exact code
    exact = pd.DataFrame({"i": idx, "hs": lines["hs"].astype(str).to_numpy()}).merge(
        tab.groupby("hs", as_index=False).agg(elasticity=("elasticity", "mean"), confirmed=("confirmed", "all")),
        on="hs", how="inner")
    out_val[exact["i"].to_numpy()] = exact["elasticity"].to_numpy()
    out_conf[exact["i"].to_numpy()] = exact["confirmed"].to_numpy()
    out_src[exact["i"].to_numpy()] = "table: HS " + exact["hs"]

    # 2) mean over the table codes under the line's prefixes, then HS4, then HS2
    def prefix_mean(pref_per_line: np.ndarray, label: str):
        todo = np.isnan(out_val)
        if not todo.any():
            return
        ex = pd.DataFrame({"i": idx[todo], "p": pref_per_line[todo]})
        ex["p"] = ex["p"].str.split(";")
        ex = ex.explode("p")
        ex["p"] = ex["p"].str.strip()
        ex["plen"] = ex["p"].str.len()
        hits = []
        for plen, grp in ex.groupby("plen"):  # at most 10 distinct prefix lengths
            t = tab.assign(p=tab["hs"].str[: int(plen)])
            hits.append(grp.merge(t, on="p", how="inner"))
        if not hits:
            return
        h = pd.concat(hits, ignore_index=True).drop_duplicates(["i", "hs"])
        if h.empty:
            return
        agg = h.groupby("i").agg(elasticity=("elasticity", "mean"), confirmed=("confirmed", "all"),
                                 k=("hs", "size"), codes=("hs", lambda s: ",".join(sorted(s))))
        ii = agg.index.to_numpy()
        out_val[ii] = agg["elasticity"].to_numpy()
        out_conf[ii] = agg["confirmed"].to_numpy()
        out_src[ii] = [f"table: mean of {k} HS6 under {label} ({c})" for k, c in zip(agg["k"], agg["codes"])]

    prefix_mean(prefixes, "the line's codes")
    hs = lines["hs"].astype(str)
    prefix_mean(hs.str[:4].to_numpy(), "its HS4")
    prefix_mean(hs.str[:2].to_numpy(), "its HS2")
    miss = np.isnan(out_val)
    out_val[miss] = default
    out_src[miss] = f"default {default:g}"
    out_conf[miss] = False
    return pd.DataFrame({"elasticity": out_val, "elasticity_source": out_src, "elasticity_confirmed": out_conf},
                        index=lines.index)


def other_origins(lines: pd.DataFrame, store=None) -> tuple[pd.DataFrame, str]:
    """The importers' imports of the lines' products from origins the lines do not have, from a ledger store.

    ``lines``: PE flows (importer, exporter, hs[, hs_prefixes], year, import_value). ``store``: a
    LedgerStore or path; None = ``$TRADEPACT_STORE`` when set (no store: nothing is read). For each
    line the store's goods imports of the line's HS prefixes by the same importer in the same year
    from every *other* origin are summed per origin (one dataset per importer-year: the store's
    preferred one). Returns (rows to add, in the layout of ``lines`` with ``third_country`` True and
    ``basis`` naming the dataset; a note saying what was found or that nothing was).
    """
    import os

    empty = lines.iloc[0:0].assign(third_country=pd.Series(dtype=bool))
    if store is None and not os.environ.get("TRADEPACT_STORE"):
        return empty, ("no ledger store is set (TRADEPACT_STORE), so imports from third countries are not in the "
                       "data and diversion to or from them is not computed")
    from tradepact.ledger.store import DATASET_PRIORITY, LedgerStore

    st = store if isinstance(store, LedgerStore) else LedgerStore.open(store)
    if not st.files("goods"):
        return empty, (f"the ledger store {st.path} holds no goods trade, so imports from third countries are "
                       "not in the data and diversion to or from them is not computed")
    pref = lines["hs_prefixes"] if "hs_prefixes" in lines.columns else pd.Series([None] * len(lines), index=lines.index)
    ex = lines.assign(p=pref.where(pref.notna(), lines["hs"]).astype(str).str.split(";"), i=np.arange(len(lines)))
    ex = ex.explode("p")
    ex["p"] = ex["p"].str.strip()
    keys = ex[["importer", "year"]].drop_duplicates()
    prio = " ".join(f"WHEN '{k}' THEN {v}" for k, v in DATASET_PRIORITY.items())
    q = """
        SELECT importer, year::INTEGER AS year, exporter, product, dataset, sum(value) AS value,
               bool_and(confirmed) AS confirmed, min(source) AS source,
               CASE dataset {prio} ELSE 9 END AS prio
        FROM goods
        WHERE importer IN (SELECT unnest($imp)) AND year IN (SELECT unnest($yr)) AND product <> 'TOTAL'
        GROUP BY ALL
    """.format(prio=prio)
    got = st.sql(q, {"imp": sorted(keys["importer"].unique().tolist()), "yr": sorted(int(y) for y in keys["year"].unique())})
    if got.empty:
        return empty, (f"the ledger store {st.path} has no imports by {', '.join(sorted(keys['importer'].unique()))} "
                       "in the base year, so diversion to or from third countries is not computed")
    best = got.groupby(["importer", "year"])["prio"].transform("min")
    got = got[got["prio"] == best]
    hits = []
    for plen, grp in ex.groupby(ex["p"].str.len()):  # a handful of prefix lengths
        g = got.assign(p=got["product"].astype(str).str[: int(plen)])
        hits.append(grp[["i", "importer", "year", "p"]].merge(g, on=["importer", "year", "p"], how="inner"))
    h = pd.concat(hits, ignore_index=True).drop_duplicates(["i", "exporter", "product"])
    partners = lines.groupby(["importer", "hs", "year"])["exporter"].agg(set)
    line_of = lines.reset_index(drop=True)
    h["hs"] = line_of["hs"].to_numpy()[h["i"]]
    own = [e in partners.get((im, hs, y), set()) for e, im, hs, y in zip(h["exporter"], h["importer"], h["hs"], h["year"])]
    h = h[~np.asarray(own, dtype=bool)]
    if h.empty:
        return empty, "the ledger store has no imports of these products from other origins"
    agg = h.groupby(["i", "exporter"], as_index=False).agg(import_value=("value", "sum"), confirmed=("confirmed", "all"),
                                                          dataset=("dataset", "first"), source=("source", "first"))
    base = line_of.iloc[agg["i"].to_numpy()].reset_index(drop=True)
    out = base.copy()
    out["exporter"] = agg["exporter"].to_numpy()
    out["import_value"] = agg["import_value"].to_numpy()
    out["confirmed"] = agg["confirmed"].astype(bool).to_numpy()
    out["basis"] = "ledger store: " + agg["dataset"].to_numpy()
    out["source"] = agg["source"].to_numpy() + f" (ledger store {st.path})"
    out["third_country"] = True
    for c in ("line_id",):
        if c in out.columns:
            out[c] = out["exporter"] + ">" + out["importer"] + "-" + out["hs"] + "-" + out["year"].astype(str)
    n_orig = out["exporter"].nunique()
    return out, (f"imports from {n_orig} other origins taken from the ledger store ({', '.join(sorted(set(agg['dataset'])))}"
                 f"; {out['import_value'].sum():,.0f} USD m); their basis may differ from the partner lines'")


def _open_store(store):
    """The ledger store to read (``store``, else ``$TRADEPACT_STORE``), or None when none is set."""
    import os

    if store is None and not os.environ.get("TRADEPACT_STORE"):
        return None
    from tradepact.ledger.store import LedgerStore

    return store if isinstance(store, LedgerStore) else LedgerStore.open(store)


def hs6_weights(lines: pd.DataFrame, store=None) -> tuple[pd.DataFrame | None, str]:
    """HS6 trade weights for the lines' pairs: each pair's imports by HS6 code in the lines' years.

    ``lines``: PE flows (importer, exporter, year, ...). ``store``: a LedgerStore or path; None =
    ``$TRADEPACT_STORE`` when set. Reads the store's goods rows at HS6 (six-digit ``product``) for those
    importer-exporter-year triples, one dataset per importer-year (the store's preferred one).
    Returns (``importer, exporter, code, value`` in USD millions summed over the years, or None when
    there is nothing; a note saying what weighting the elasticities will get).
    """
    st = _open_store(store)
    if st is None:
        return None, ("no ledger store is set (TRADEPACT_STORE) and the built-in KORUS lines have no HS6 "
                      "breakdown, so each line's elasticity is the median over its HS6 codes")
    if not st.files("goods"):
        return None, (f"the ledger store {st.path} holds no goods trade, so each line's elasticity is the median "
                      "over its HS6 codes")
    from tradepact.ledger.store import DATASET_PRIORITY

    pairs = lines[["importer", "exporter", "year"]].drop_duplicates()
    prio = " ".join(f"WHEN '{k}' THEN {v}" for k, v in DATASET_PRIORITY.items())
    q = f"""
        SELECT importer, exporter, year::INTEGER AS year, product AS code, dataset, sum(value) AS value,
               CASE dataset {prio} ELSE 9 END AS prio
        FROM goods
        WHERE importer IN (SELECT unnest($imp)) AND exporter IN (SELECT unnest($exp))
          AND year IN (SELECT unnest($yr)) AND length(product) = 6 AND product <> 'TOTAL'
        GROUP BY ALL
    """
    got = st.sql(q, {"imp": sorted(pairs["importer"].unique().tolist()),
                     "exp": sorted(pairs["exporter"].unique().tolist()),
                     "yr": sorted(int(y) for y in pairs["year"].unique())})
    if not got.empty:
        got = got[got["prio"] == got.groupby(["importer", "year"])["prio"].transform("min")]
        got = got.merge(pairs, on=["importer", "exporter", "year"], how="inner")
    if got.empty:
        return None, (f"the ledger store {st.path} has no HS6 imports for the lines' pairs and year, so each "
                      "line's elasticity is the median over its HS6 codes")
    w = got.groupby(["importer", "exporter", "code"], as_index=False)["value"].sum()
    ds = ", ".join(sorted(set(got["dataset"])))
    return w, (f"HS6 trade weights from the ledger store ({ds}; {len(w)} HS6 flows, {w['value'].sum():,.0f} USD m): "
               "lines whose pair has HS6 imports there take trade-weighted elasticities, the rest the median")
