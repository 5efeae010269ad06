"""Bilateral balances: goods, services and total, per year, from one country's point of view.

All money in USD millions. ``bilateral(a, b)`` gives ``a``'s exports to ``b``, imports from
``b`` and balances. Figures come from the ledger store when it holds goods trade for the
pair, otherwise from tradepact's built-in facts (US–Korea: Census goods, BEA services).
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError

COLUMNS = ["year", "goods_exports", "goods_imports", "goods_balance", "services_exports",
           "services_imports", "services_balance", "total_balance", "confirmed", "goods_confirmed",
           "services_confirmed", "source", "vintage"]

#: Built-in series used for the official view of a pair (reporter, partner) -> (goods, services).
_BUILTIN_SERIES = {("USA", "KOR"): ("US_CENSUS", "US_BEA")}


def _preferred(frame: pd.DataFrame, series: str) -> pd.DataFrame:
    """One row per year: the preferred row of ``series``."""
    rows = frame[(frame["series"] == series) & frame["preferred"]]
    return rows.drop_duplicates("year", keep="first").set_index("year")


def builtin_bilateral(a: str, b: str) -> pd.DataFrame | None:
    """The pair's official balances from built-in facts, or None if none are built in.

    Returns :data:`COLUMNS`, one row per year. ``goods_confirmed``/``services_confirmed`` are
    False when that year's goods/services figure is unconfirmed in its source; ``confirmed``
    is their conjunction. A year's services figures are NaN where no
    official figure exists; ``total_balance`` is then NaN as well.
    """
    key = (a, b) if (a, b) in _BUILTIN_SERIES else (b, a) if (b, a) in _BUILTIN_SERIES else None
    if key is None:
        return None
    from tradepact.data import korus

    facts = korus()
    goods_series, services_series = _BUILTIN_SERIES[key]
    g = _preferred(facts.goods, goods_series)
    s = _preferred(facts.services, services_series)
    years = g.index.union(s.index)
    out = pd.DataFrame(index=pd.Index(years, name="year"))
    out["goods_exports"] = g["exports"]
    out["goods_imports"] = g["imports"]
    out["goods_balance"] = g["balance"]
    out["services_exports"] = s["exports"]
    out["services_imports"] = s["imports"]
    out["services_balance"] = s["balance"]
    if key != (a, b):  # turn round to a's point of view
        out = out.rename(columns={"goods_exports": "goods_imports", "goods_imports": "goods_exports",
                                  "services_exports": "services_imports", "services_imports": "services_exports"})
        out["goods_balance"] = -out["goods_balance"]
        out["services_balance"] = -out["services_balance"]
    out["total_balance"] = out["goods_balance"] + out["services_balance"]
    out["goods_confirmed"] = g["confirmed"].reindex(years).astype("boolean").fillna(True).astype(bool)
    out["services_confirmed"] = s["confirmed"].reindex(years).astype("boolean").fillna(True).astype(bool)
    out["confirmed"] = out["goods_confirmed"] & out["services_confirmed"]
    src_g = g["source"].reindex(years).fillna("")
    src_s = s["source"].reindex(years).fillna("")
    out["source"] = [
        " | ".join(x for x in (f"goods: {sg}" if sg else "", f"services: {ss}" if ss else "") if x)
        for sg, ss in zip(src_g, src_s)
    ]
    out["vintage"] = _vintage_text(g, s, years)
    return out.reset_index()[COLUMNS]


def _vintage_text(g: pd.DataFrame, s: pd.DataFrame, years) -> list[str]:
    """'goods published 2024-11; services published 2018-03' per year (from the facts' vintage column)."""
    vg = g["vintage"].reindex(years).fillna("") if "vintage" in g else pd.Series("", index=years)
    vs = s["vintage"].reindex(years).fillna("") if "vintage" in s else pd.Series("", index=years)
    return ["; ".join(x for x in (f"goods {a}" if a else "", f"services {b}" if b else "") if x)
            for a, b in zip(vg, vs)]


def _store_has_default() -> bool:
    return bool(os.environ.get("TRADEPACT_STORE"))


def store_bilateral(a: str, b: str, store) -> pd.DataFrame | None:
    """The pair's balances from a ledger store (goods, and services where imported), or None.

    Provenance and ``confirmed`` flags come from the stored rows (e.g. gravity-panel rows,
    whose unit is inferred, are unconfirmed).
    """
    from tradepact.ledger.store import LedgerStore

    st = store if isinstance(store, LedgerStore) else LedgerStore.open(store)
    if not st.has_goods(a, b):
        return None
    g = st.goods_bilateral(a, b, with_source=True).set_index("year")
    s = st.services_bilateral(a, b, with_source=True).set_index("year")
    years = g.index.union(s.index)
    out = pd.DataFrame(index=pd.Index(years, name="year"))
    out["goods_exports"] = g["exports"]
    out["goods_imports"] = g["imports"]
    out["goods_balance"] = out["goods_exports"] - out["goods_imports"]
    out["services_exports"] = s["exports"]
    out["services_imports"] = s["imports"]
    out["services_balance"] = out["services_exports"] - out["services_imports"]
    out["total_balance"] = out["goods_balance"] + out["services_balance"]
    out["goods_confirmed"] = g["confirmed"].reindex(years).astype("boolean").fillna(True).astype(bool)
    out["services_confirmed"] = s["confirmed"].reindex(years).astype("boolean").fillna(True).astype(bool)
    out["confirmed"] = out["goods_confirmed"] & out["services_confirmed"]
    src_g, src_s = g["source"].reindex(years).fillna(""), s["source"].reindex(years).fillna("")
    out["source"] = [" | ".join(x for x in (f"goods: {sg}" if sg else "", f"services: {ss}" if ss else "") if x)
                     + f" (ledger store {st.path})" for sg, ss in zip(src_g, src_s)]
    out["vintage"] = "as imported into the ledger store (see source)"
    return out.reset_index()[COLUMNS]


def bilateral(a: str, b: str, start: int | None = None, end: int | None = None,
              store: str | Path | object | None = None) -> pd.DataFrame:
    """Per-year goods/services/total balances of ``a`` with ``b`` (USD millions, a's view).

    Uses the ledger ``store`` (a path or LedgerStore; default: ``TRADEPACT_STORE`` if set)
    when it holds goods trade for the pair, else the built-in facts. Raises ConfigError when
    neither has the pair, saying what to import, when ``start`` > ``end``, and when no year
    of the range has data. Columns: :data:`COLUMNS`; ``frame.attrs`` carries ``missing_years``
    (years of the requested range without data), ``covered`` (the data's year span) and
    ``basis`` (whose statistics the figures are, e.g. mirrored).
    """
    from tradepact import countries

    a_, b_ = countries.normalize(a), countries.normalize(b)
    for given, code in ((a, a_), (b, b_)):
        if code is None:
            raise ConfigError(f"unknown country {given!r}: expected an ISO3 code such as USA or KOR")
    frame = None
    if store is not None or _store_has_default():
        frame = store_bilateral(a_, b_, store)
    if frame is None:
        frame = builtin_bilateral(a_, b_)
    if frame is None:
        raise ConfigError(
            f"no trade data for {a_}–{b_}: the built-in facts cover USA–KOR only; import data first, "
            f"e.g. `tradepact data import baci BACI_HS17_Y2022_V202401.csv --store DIR`")
    if start is not None and end is not None and start > end:
        raise ConfigError(f"the first year ({start}) is after the last year ({end}); swap them")
    have = sorted(int(y) for y in frame["year"])
    span = f"{have[0]}–{have[-1]}" if have else "no years"
    if start is not None:
        frame = frame[frame["year"] >= start]
    if end is not None:
        frame = frame[frame["year"] <= end]
    lo = start if start is not None else (have[0] if have else None)
    hi = end if end is not None else (have[-1] if have else None)
    if frame.empty:
        raise ConfigError(f"no {a_}–{b_} data for {lo}–{hi}: the data cover {span}")
    frame = frame.reset_index(drop=True)
    got = set(int(y) for y in frame["year"])
    frame.attrs["missing_years"] = [y for y in range(lo, hi + 1) if y not in got]
    frame.attrs["covered"] = span
    frame.attrs["basis"] = _basis(a_, b_, frame)
    return frame


def _basis(a: str, b: str, frame: pd.DataFrame) -> str:
    """Whose statistics the figures are, in words: a's own, or b's mirrored to a's point of view."""
    if (a, b) in _BUILTIN_SERIES:
        return f"{a}'s statistics"
    if (b, a) in _BUILTIN_SERIES:
        return f"{b}'s statistics, mirrored ({a}'s exports = {b}'s recorded imports)"
    return "ledger store: importer-reported rows, else mirror rows (see sources)"


def years_text(years: list[int]) -> str:
    """``[2007, 2008, 2009, 2012]`` -> ``"2007–2009, 2012"``."""
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def first_year_after(since: dt.date) -> int:
    """First calendar year counted as 'after' an agreement entering into force on ``since``.

    A year counts as after when the agreement was in force for most of it (from 1 July or earlier).
    """
    return since.year if since <= dt.date(since.year, 7, 1) else since.year + 1


def _cagr(years: pd.Series, values: pd.Series) -> float:
    ok = values.notna() & (values > 0)
    if ok.sum() < 2:
        return float("nan")
    y, v = years[ok], values[ok]
    span = int(y.iloc[-1] - y.iloc[0])
    return float((v.iloc[-1] / v.iloc[0]) ** (1.0 / span) - 1.0) if span > 0 else float("nan")


def year_ranges(years) -> str:
    """'2009–2011, 2016–2017' — the exact years, contiguous runs joined by an en dash."""
    ys = sorted({int(y) for y in years})
    runs, start = [], None
    for k, y in enumerate(ys):
        if start is None:
            start = y
        if k + 1 == len(ys) or ys[k + 1] != y + 1:
            runs.append(f"{start}" if start == y else f"{start}–{y}")
            start = None
    return ", ".join(runs)


def _gaps(years) -> list[int]:
    ys = sorted({int(y) for y in years})
    return [y for y in range(ys[0], ys[-1] + 1) if y not in set(ys)] if ys else []


def before_after(frame: pd.DataFrame, since: dt.date, *, allow_gaps: bool = False) -> pd.DataFrame:
    """Averages and growth before vs after an agreement's entry into force.

    Input: a :func:`bilateral` frame. Output: one row per measure (goods exports, goods imports,
    goods balance, services balance, total balance) with ``before_avg``, ``after_avg`` (USD
    millions, mean over the years with data), ``change`` (after − before), ``before_growth`` and
    ``after_growth`` (compound annual growth of the level, fraction; NaN for balances), the exact
    years used (``before_years``/``after_years``, e.g. ``2011, 2016–2017``), ``note`` and
    ``confirmed`` (all figures used for that measure confirmed).

    A period whose years with data are not contiguous (a gap, e.g. services 2013–2015) is refused:
    its average is NaN and ``note`` names the missing years, unless ``allow_gaps=True`` (then the
    mean over the years present is given and the note says which are missing).
    """
    cut = first_year_after(since)
    before, after = frame[frame["year"] < cut], frame[frame["year"] >= cut]
    rows = []
    measures = [("goods_exports", True, "goods_confirmed"), ("goods_imports", True, "goods_confirmed"),
                ("goods_balance", False, "goods_confirmed"), ("services_balance", False, "services_confirmed"),
                ("total_balance", False, "confirmed")]
    for col, is_level, flag in measures:
        b_ok, a_ok = before[before[col].notna()], after[after[col].notna()]
        notes, avgs, growth = [], {}, {}
        for label, part in (("before", b_ok), ("after", a_ok)):
            gaps = _gaps(part["year"])
            refused = bool(gaps) and not allow_gaps
            if gaps:
                notes.append(f"{label}: no data for {year_ranges(gaps)}"
                             + (" — average refused (allow_gaps to take it anyway)" if refused else ""))
            avgs[label] = float(part[col].mean()) if len(part) and not refused else float("nan")
            growth[label] = _cagr(part.year, part[col]) if is_level and not refused else float("nan")
        rows.append({
            "measure": col,
            "before_years": year_ranges(b_ok["year"]),
            "before_avg": avgs["before"],
            "after_years": year_ranges(a_ok["year"]),
            "after_avg": avgs["after"],
            "before_growth": growth["before"],
            "after_growth": growth["after"],
            "confirmed": bool(b_ok[flag].all() and a_ok[flag].all()),
            "note": "; ".join(notes),
        })
    out = pd.DataFrame(rows)
    out["change"] = out["after_avg"] - out["before_avg"]
    return out[["measure", "before_years", "before_avg", "after_years", "after_avg", "change",
                "before_growth", "after_growth", "note", "confirmed"]]


def vintages(frame: pd.DataFrame) -> str:
    """'goods published 2024-11 (2009–2018); services published 2018-03 (2011); …' from a bilateral frame."""
    by: dict[str, list[int]] = {}
    for year, text in zip(frame["year"], frame["vintage"]):
        for part in str(text).split("; "):
            if part:
                by.setdefault(part, []).append(int(year))
    return "; ".join(f"{k} ({year_ranges(v)})" for k, v in by.items())


def distinct_sources(sources) -> list[str]:
    """The distinct documents named in a column of 'goods: A | B | services: C' strings."""
    seen: dict[str, None] = {}
    for text in sources:
        for part in str(text).split(" | "):
            part = part.split(": ", 1)[1] if part.startswith(("goods: ", "services: ")) else part
            if part:
                seen.setdefault(part.strip(), None)
    return list(seen)
