"""The one query the rest of tradepact uses: what tariff applies.

``rate(ag, importer, exporter, hs, year)`` answers for one flow; ``rates(ag, frame)`` answers
for a DataFrame of flows without a Python loop over rows (HS matching by hashed prefix
look-ups on the unique codes, then NumPy gathers over a lines x stages table).

Rules
-----
* The annual rate for calendar ``year`` is the rate in force on the agreement's
  ``calendar.annual_rate_on`` day of that year (KORUS: 31 December, i.e. the stage reached
  during the year; KORUS 2012 = year 1).
* The text that decides a year is the agreement as it stood on that day, or on ``as_of`` if
  earlier: an amendment changes the years from its effective date on, and ``as_of`` shows
  the agreement as it stood on that date (its projections for later years included).
* The most specific line wins: an HS6 query finds an HS8 line only if it is that line's
  code; it finds the HS6, then HS4, then HS2 line. Among seasonal lines for the same code,
  the first declared applies to annual queries.
* Preferential rates apply when importer and exporter are both parties (and differ).
  Anyone else pays the importer's MFN rate: the ``mfn`` table when it covers the code,
  else the line's base rate.
* Rates are fractions. ``rate`` of a tariff-rate-quota line is the over-quota rate; the
  in-quota rate and volume are reported alongside. Unknown base rates give NaN.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from tradepact import products
from tradepact.agreements import staging
from tradepact.agreements.amendments import Text, apply_amendment, original_text, text_as_of
from tradepact.agreements.schema import (
    AddLine,
    AddMeasure,
    Agreement,
    CategoryChange,
    LineChange,
    MeasureChange,
    RemoveLine,
)
from tradepact.errors import DataFormatError

_LEVELS = (10, 8, 6, 4, 2)


@dataclass(frozen=True)
class QuotaInfo:
    """A quantity limit attached to a flow: a tariff-rate quota on the line, or a measure
    (standards allowance, absolute quota) covering the code. ``volume`` is in ``unit`` for
    the queried year; rates are fractions (None when they do not apply)."""

    id: str
    kind: str
    volume: float | None
    unit: str
    in_quota_rate: float | None
    out_of_quota_rate: float | None
    outside_agreement: bool
    legal_basis: str | None
    description: str
    amendment: str | None
    source: str
    confirmed: bool


@dataclass(frozen=True)
class RateResult:
    """The tariff one flow pays in one year, and what decided it.

    ``rate`` and ``base_rate`` are ad valorem fractions (NaN when the source gives no base
    rate); ``category`` is the staging category (``"MFN"`` for non-preferential flows,
    ``"unscheduled"`` when no line covers the code); ``line_id``/``amendment`` name the line
    and the amendment (None = original text) that decided it; ``confirmed`` is False when the
    base rate, staging or this year's value rests on an assumption.
    """

    rate: float
    base_rate: float
    category: str
    line_id: str | None
    amendment: str | None
    source: str
    confirmed: bool
    quota: QuotaInfo | None = None
    importer: str = ""
    exporter: str = ""
    hs: str = ""
    year: int = 0
    stage: int = 0
    preferential: bool = False
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- compiled text

class Compiled:
    """A :class:`Text` in array form for fast look-ups (cached on the agreement)."""

    def __init__(self, ag: Agreement, text: Text):
        self.text = text
        lines = text.lines
        n = len(lines)
        self.cat_names = list(text.categories)
        cat_pos = {c: i for i, c in enumerate(self.cat_names)}
        self.F = staging.fraction_table([text.categories[c] for c in self.cat_names])
        self.ids = np.array([ln.id for ln in lines] + [None], dtype=object)
        self.importer = np.array([ln.importer for ln in lines] + [""], dtype=object)
        self.base = np.array([np.nan if ln.effective_base is None else ln.effective_base for ln in lines]
                             + [np.nan], dtype=np.float64)
        self.cat = np.array([cat_pos[ln.category] for ln in lines] + [0], dtype=np.int64)
        self.source = np.array([ln.source for ln in lines] + [""], dtype=object)
        self.confirmed = np.array([ln.confirmed for ln in lines] + [False], dtype=bool)
        self.amendment = np.array([text.line_amendment.get(ln.id) for ln in lines] + [None], dtype=object)
        self.description = np.array([ln.description for ln in lines] + [""], dtype=object)
        # unconfirmed year ranges as flat arrays
        ul, lo, hi = [], [], []
        for i, ln in enumerate(lines):
            for a, b in ln.unconfirmed_years:
                ul.append(i), lo.append(a), hi.append(b)
        self.u_line = np.array(ul, dtype=np.int64)
        self.u_lo = np.array(lo, dtype=np.int64)
        self.u_hi = np.array(hi, dtype=np.int64)
        # tariff-rate quotas
        self.trq_row = np.full(n + 1, -1, dtype=np.int64)
        trq_lines = [i for i, ln in enumerate(lines) if ln.trq is not None]
        self.trq_row[trq_lines] = np.arange(len(trq_lines))
        stages = np.arange(staging.MAX_STAGE + 1)
        self.trq_in = np.array([lines[i].trq.in_quota_rate for i in trq_lines], dtype=np.float64)
        self.trq_out = np.array([np.nan if lines[i].trq.out_of_quota_rate is None else lines[i].trq.out_of_quota_rate
                                 for i in trq_lines], dtype=np.float64)
        self.trq_unit = np.array([lines[i].trq.volume.unit for i in trq_lines] + [None], dtype=object)
        self.trq_vol = np.array([[np.nan if lines[i].trq.volume.at(int(k)) is None else lines[i].trq.volume.at(int(k))
                                  for k in stages] for i in trq_lines], dtype=np.float64).reshape(len(trq_lines),
                                                                                                  len(stages))
        # HS index: "IMP|code" -> line position (first declared wins among seasonal lines)
        keys = [(f"{ln.importer}|{code}", i) for i, ln in enumerate(lines) for code in ln.hs]
        self.index: dict[str, int] = {}
        for k, i in keys:
            self.index.setdefault(k, i)
        self.index_series = pd.Series(self.index, dtype=np.int64)
        # seasonal alternatives: for a first-declared line sharing its code with other seasonal
        # lines, ALT[row, day_of_year] is the line whose season covers that day
        groups: dict[int, list[int]] = {}
        for k, i in keys:
            w = self.index[k]
            if w != i and i not in groups.setdefault(w, [w]):
                groups[w].append(i)
        self.alt_row = np.full(n + 1, -1, dtype=np.int64)
        self.alt = np.zeros((len(groups), 366), dtype=np.int64)
        for r, (w, members) in enumerate(groups.items()):
            self.alt_row[w] = r
            self.alt[r, :] = w
            for i in reversed(members):  # earlier declared wins where seasons would overlap
                season = lines[i].season
                if season is not None:
                    self.alt[r, sorted(season.days())] = i
        # MFN table
        mfn = ag.mfn
        self.mfn_rate = np.array([m.rate for m in mfn] + [np.nan], dtype=np.float64)
        self.mfn_source = np.array([m.source for m in mfn] + [""], dtype=object)
        self.mfn_confirmed = np.array([m.confirmed for m in mfn] + [False], dtype=bool)
        self.mfn_index: dict[str, int] = {}
        for i, m in enumerate(mfn):
            for code in m.hs:
                self.mfn_index.setdefault(f"{m.importer}|{code}", i)
        self.mfn_series = pd.Series(self.mfn_index, dtype=np.int64)

    def match(self, importer: str, hs: str, index: dict[str, int] | None = None) -> int:
        """Position of the most specific line for (importer, hs); -1 when none."""
        index = self.index if index is None else index
        for L in _LEVELS:
            if len(hs) >= L:
                i = index.get(f"{importer}|{hs[:L]}")
                if i is not None:
                    return i
        return -1

    def match_many(self, importer: pd.Series, hs: pd.Series, series: pd.Series) -> np.ndarray:
        """Vectorized :meth:`match` over aligned Series (position or -1)."""
        out = np.full(len(hs), -1, dtype=np.int64)
        if len(series) == 0 or len(hs) == 0:
            return out
        lengths = hs.str.len().to_numpy()
        imp = importer.astype(str) + "|"
        for L in _LEVELS:
            todo = (out < 0) & (lengths >= L)
            if not todo.any():
                continue
            keys = imp[todo] + hs[todo].str[:L]
            got = keys.map(series).to_numpy(dtype=np.float64, na_value=np.nan)
            hit = ~np.isnan(got)
            idx = np.flatnonzero(todo)[hit]
            out[idx] = got[hit].astype(np.int64)
        return out


def _compiled(ag: Agreement, on: dt.date | None) -> Compiled:
    key = ("compiled", tuple(a.id for a in ag.amendments_in_force(on)))
    comp = ag._cache.get(key)
    if comp is None:
        comp = Compiled(ag, text_as_of(ag, on))
        ag._cache[key] = comp
    return comp


def _text_day(ag: Agreement, year: int, as_of: dt.date | None) -> dt.date:
    ref = staging.annual_reference_day(ag.staging.calendar, year)
    return ref if as_of is None or ref <= as_of else as_of


def _as_date(as_of) -> dt.date | None:
    if as_of is None or isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        return as_of
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    try:
        return dt.date.fromisoformat(str(as_of))
    except ValueError:
        raise DataFormatError(field="as_of", expected="a date YYYY-MM-DD", got=as_of) from None


def _norm_hs(hs, field: str = "hs", row: int | None = None) -> str:
    code = products.clean(hs) if isinstance(hs, str) else hs
    if not isinstance(code, str) or not products.is_valid(code):
        raise DataFormatError(row=row, field=field, expected="an HS code string of 2, 4, 6, 8 or 10 digits",
                              got=hs)
    return code


# --------------------------------------------------------------------------- single query

def _quota_for(ag: Agreement, comp: Compiled, li: int, importer: str, exporter: str, hs: str,
               stage: int, day: dt.date, rate_value: float) -> QuotaInfo | None:
    text = comp.text
    if li >= 0:
        ln = text.lines[li]
        if ln.trq is not None:
            out = ln.trq.out_of_quota_rate if ln.trq.out_of_quota_rate is not None else rate_value
            return QuotaInfo(id=f"{ln.id}:trq", kind="tariff_rate_quota", volume=ln.trq.volume.at(stage),
                             unit=ln.trq.volume.unit, in_quota_rate=ln.trq.in_quota_rate, out_of_quota_rate=out,
                             outside_agreement=False, legal_basis=None, description=ln.trq.note or ln.description,
                             amendment=text.line_amendment.get(ln.id), source=ln.source,
                             confirmed=ln.year_confirmed(day.year))
    best, best_len = None, -1
    for m in text.measures:
        if m.importer != importer or (m.exporter is not None and m.exporter != exporter):
            continue
        if m.effective is not None and m.effective > day:
            continue
        for code in m.hs:
            if hs.startswith(code) and len(code) > best_len:
                best, best_len = m, len(code)
    if best is None:
        return None
    return QuotaInfo(id=best.id, kind=best.kind, volume=best.volume.at(max(stage, 1)), unit=best.volume.unit,
                     in_quota_rate=None, out_of_quota_rate=None, outside_agreement=best.outside_agreement,
                     legal_basis=best.legal_basis, description=best.description,
                     amendment=text.measure_amendment.get(best.id), source=best.source, confirmed=best.confirmed)


def _day_of_year(day) -> int | None:
    """0-based day of a leap year for ``"MM-DD"`` or a date; None for None."""
    if day is None:
        return None
    if isinstance(day, dt.date):
        day = f"{day.month:02d}-{day.day:02d}"
    try:
        m, d = (int(x) for x in str(day).split("-")[-2:])
        return (dt.date(2000, m, d) - dt.date(2000, 1, 1)).days
    except ValueError:
        raise DataFormatError(field="day", expected="a day of the year as 'MM-DD'", got=day) from None


def rate(ag: Agreement, importer: str, exporter: str, hs: str, year: int, as_of=None,
         day=None) -> RateResult:
    """The tariff ``importer`` applies to goods of HS code ``hs`` from ``exporter`` in calendar
    ``year`` (rate as a fraction), under the agreement as it stood on ``as_of`` (None: today's
    text, with each amendment applying from its effective date). ``day`` (``"MM-DD"``) picks
    among seasonal lines; without it the first declared applies. See the module docstring."""
    as_of = _as_date(as_of)
    doy = _day_of_year(day)
    hs = _norm_hs(hs)
    year = int(year)
    cal = ag.staging.calendar
    day = staging.annual_reference_day(cal, year)
    comp = _compiled(ag, _text_day(ag, year, as_of))
    stage = staging.stage_on(cal, day)
    li = comp.match(importer, hs)
    if doy is not None and li >= 0 and comp.alt_row[li] >= 0:
        li = int(comp.alt[comp.alt_row[li], doy])
    pref = importer in ag.parties and exporter in ag.parties and importer != exporter
    base = float(comp.base[li]) if li >= 0 else float("nan")
    if li < 0 and not pref:
        mi = comp.match(importer, hs, comp.mfn_index)
        if mi >= 0:
            return RateResult(rate=float(comp.mfn_rate[mi]), base_rate=float(comp.mfn_rate[mi]), category="MFN",
                              line_id=None, amendment=None, source=str(comp.mfn_source[mi]),
                              confirmed=bool(comp.mfn_confirmed[mi]), importer=importer, exporter=exporter, hs=hs,
                              year=year, stage=stage, preferential=False)
    if li < 0:
        quota = _quota_for(ag, comp, li, importer, exporter, hs, stage, day, float("nan")) if pref else None
        return RateResult(rate=float("nan"), base_rate=float("nan"), category="unscheduled", line_id=None,
                          amendment=None, source="", confirmed=False, quota=quota, importer=importer,
                          exporter=exporter, hs=hs, year=year, stage=stage, preferential=pref)
    ln = comp.text.lines[li]
    if pref:
        frac = float(comp.F[comp.cat[li], min(stage, staging.MAX_STAGE)])
        value = 0.0 if frac == 0.0 else frac * base
        confirmed = ln.year_confirmed(year) if stage >= 1 else ln.confirmed
        category, amendment, source = ln.category, comp.text.line_amendment.get(ln.id), ln.source
        if ln.trq is not None and ln.trq.out_of_quota_rate is not None:
            value = float(ln.trq.out_of_quota_rate)
    else:
        mi = comp.match(importer, hs, comp.mfn_index)
        if mi >= 0:
            value, base = float(comp.mfn_rate[mi]), float(comp.mfn_rate[mi])
            source, confirmed = str(comp.mfn_source[mi]), bool(comp.mfn_confirmed[mi])
        else:
            value, source, confirmed = base, ln.source, ln.confirmed
        category, amendment = "MFN", None
    quota = _quota_for(ag, comp, li, importer, exporter, hs, stage, day, value) if pref else None
    return RateResult(rate=value, base_rate=base, category=category, line_id=ln.id, amendment=amendment,
                      source=source, confirmed=bool(confirmed), quota=quota, importer=importer, exporter=exporter,
                      hs=hs, year=year, stage=stage, preferential=pref, description=ln.description)


# --------------------------------------------------------------------------- vectorized query

RATE_COLUMNS = ["rate", "base_rate", "category", "line_id", "amendment", "source", "confirmed", "stage",
                "in_quota_rate", "quota_volume", "quota_unit"]


def rates(ag: Agreement, frame: pd.DataFrame, as_of=None) -> pd.DataFrame:
    """:func:`rate` for every row of ``frame`` (columns ``importer, exporter, hs, year``).

    Returns a copy of ``frame`` with columns ``rate, base_rate`` (fractions), ``category,
    line_id, amendment, source, confirmed``, ``stage`` (agreement year, 0 before entry into
    force) and, for tariff-rate-quota lines, ``in_quota_rate, quota_volume, quota_unit``
    (NaN/None elsewhere). Vectorized: no Python loop over rows.
    """
    as_of = _as_date(as_of)
    missing = [c for c in ("importer", "exporter", "hs", "year") if c not in frame.columns]
    if missing:
        raise DataFormatError(field=", ".join(missing), expected="columns importer, exporter, hs, year",
                              got=list(frame.columns), message="rates(): missing column(s)")
    n = len(frame)
    if n == 0:
        out = frame.copy()
        for c in RATE_COLUMNS:
            out[c] = pd.Series(dtype=object)
        return out
    # factorize first; string work happens on unique values only
    hs_codes, hs_uniq = pd.factorize(frame["hs"].to_numpy(dtype=object), use_na_sentinel=True)
    hs_series = pd.Series(hs_uniq, dtype=object)
    if pd.api.types.infer_dtype(hs_uniq, skipna=False) == "string":
        hs_clean = hs_series.str.replace(r"[.\s]", "", regex=True)
        bad_u = products.invalid_codes(hs_clean).to_numpy(dtype=bool)
    else:  # numbers or mixed: never valid codes (leading zeros lost)
        hs_clean = hs_series.map(lambda v: products.clean(v) if isinstance(v, str) else v)
        bad_u = ~hs_clean.map(products.is_valid).to_numpy(dtype=bool)
    bad = (hs_codes < 0) | bad_u[np.maximum(hs_codes, 0)] if len(hs_uniq) else hs_codes < 0
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise DataFormatError(row=r + 1, field="hs", expected="an HS code string of 2, 4, 6, 8 or 10 digits",
                              got=frame["hs"].iloc[r])
    hs_clean = hs_clean.to_numpy(dtype=object)
    try:
        years = frame["year"].to_numpy(dtype=np.int64)
    except (TypeError, ValueError):
        raise DataFormatError(field="year", expected="integer years", got=str(frame["year"].dtype)) from None
    doy = None
    if "day" in frame.columns:
        d_codes, d_uniq = pd.factorize(frame["day"].to_numpy(dtype=object), use_na_sentinel=True)
        d_str = pd.Series(d_uniq, dtype=object).astype(str)
        parsed = pd.to_datetime("2000-" + d_str.str[-5:], format="%Y-%m-%d", errors="coerce")
        u_doy = (parsed.dt.dayofyear - 1).to_numpy(dtype=np.float64, na_value=np.nan)
        bad_day = (d_codes >= 0) & np.isnan(np.append(u_doy, 0.0)[d_codes])
        if bad_day.any():
            r = int(np.flatnonzero(bad_day)[0])
            raise DataFormatError(row=r + 1, field="day", expected="a day of the year as 'MM-DD'",
                                  got=frame["day"].iloc[r])
        doy = np.where(d_codes >= 0, np.append(u_doy, np.nan)[d_codes], np.nan)
    imp_codes, imp_uniq = pd.factorize(frame["importer"].to_numpy(dtype=object))
    exp_codes, exp_uniq = pd.factorize(frame["exporter"].to_numpy(dtype=object))
    imp_uniq = np.asarray(imp_uniq, dtype=object)
    exp_uniq = np.asarray(exp_uniq, dtype=object)
    cal = ag.staging.calendar

    # per unique year: stage and the text (set of amendments) that decides it
    yinv, uy = pd.factorize(years)
    uy = np.asarray(uy, dtype=np.int64)
    ustage = np.array([staging.stage_on(cal, staging.annual_reference_day(cal, y)) for y in uy], dtype=np.int64)
    ukey = [tuple(a.id for a in ag.amendments_in_force(_text_day(ag, int(y), as_of))) for y in uy]
    regimes = {k: i for i, k in enumerate(dict.fromkeys(ukey))}
    uregime = np.array([regimes[k] for k in ukey], dtype=np.int64)
    row_regime = uregime[yinv]
    row_stage = np.clip(ustage[yinv], 0, staging.MAX_STAGE)

    # preferential: both parties and different (decided on unique (importer, exporter) pairs)
    parties = set(ag.parties)
    ie = imp_codes.astype(np.int64) * max(len(exp_uniq), 1) + exp_codes
    ie_inv, ie_u = pd.factorize(ie)
    ui, ue = imp_uniq[ie_u // max(len(exp_uniq), 1)], exp_uniq[ie_u % max(len(exp_uniq), 1)]
    pref_u = np.array([a in parties and b in parties and a != b for a, b in zip(ui, ue)], dtype=bool)
    pref = pref_u[ie_inv]

    res_rate = np.full(n, np.nan)
    res_base = np.full(n, np.nan)
    res_conf = np.zeros(n, dtype=bool)
    res_cat = np.empty(n, dtype=object)
    res_line = np.empty(n, dtype=object)
    res_am = np.empty(n, dtype=object)
    res_src = np.empty(n, dtype=object)
    res_inq = np.full(n, np.nan)
    res_qvol = np.full(n, np.nan)
    res_qunit = np.empty(n, dtype=object)

    # unique (importer, hs) pairs: matched once per regime
    nh = max(len(hs_uniq), 1)
    pair = imp_codes.astype(np.int64) * nh + hs_codes
    pcodes, pair_u = pd.factorize(pair)
    u_imp = pd.Series(imp_uniq[pair_u // nh].astype(str), dtype=object)
    u_hs = pd.Series(hs_clean[pair_u % nh], dtype=object)

    for key, r in regimes.items():
        rows = np.flatnonzero(row_regime == r)
        day_for_regime = max((_text_day(ag, int(y), as_of) for y, k in zip(uy, ukey) if k == key))
        comp = _compiled(ag, day_for_regime)
        u_li = comp.match_many(u_imp, u_hs, comp.index_series)
        u_mi = comp.match_many(u_imp, u_hs, comp.mfn_series) if len(comp.mfn_series) else np.full(len(u_hs), -1)
        li = u_li[pcodes[rows]]
        if doy is not None and len(comp.alt):
            ar = comp.alt_row[np.where(li >= 0, li, len(comp.ids) - 1)]
            dd = doy[rows]
            sel = (ar >= 0) & ~np.isnan(dd)
            li[sel] = comp.alt[ar[sel], dd[sel].astype(np.int64)]
        mi = u_mi[pcodes[rows]]
        st = row_stage[rows]
        p = pref[rows]
        has = li >= 0
        lix = np.where(has, li, len(comp.ids) - 1)  # sentinel row for "no line"
        base = comp.base[lix]
        frac = comp.F[comp.cat[lix], st] if len(comp.cat_names) else np.ones(len(rows))
        staged = np.where(has, np.where(frac == 0.0, 0.0, frac * base), np.nan)
        use_mfn = (~p) & (mi >= 0)
        mix = np.where(mi >= 0, mi, len(comp.mfn_rate) - 1)
        mfn_rate = comp.mfn_rate[mix]
        rate_v = np.where(p, staged, np.where(use_mfn, mfn_rate, base))
        base_v = np.where(use_mfn, mfn_rate, base)
        # confirmed: line flag, minus assumed years (only for staged, in-force rows)
        conf = comp.confirmed[lix].copy()
        if len(comp.u_line):  # lines x unique years grid of assumed values
            assumed = np.zeros((len(comp.ids), len(uy)), dtype=bool)
            inrange = (uy[None, :] >= comp.u_lo[:, None]) & (uy[None, :] <= comp.u_hi[:, None])
            np.logical_or.at(assumed, comp.u_line, inrange)
            conf &= ~(assumed[lix, yinv[rows]] & p & (st >= 1))
        conf = np.where(use_mfn, comp.mfn_confirmed[mix], conf)
        cat_names = np.array(comp.cat_names + ["MFN", "unscheduled"], dtype=object)
        cat_i = np.where(~has & ~use_mfn, len(cat_names) - 1,
                         np.where(~p, len(cat_names) - 2, comp.cat[lix]))
        res_rate[rows] = rate_v
        res_base[rows] = base_v
        res_conf[rows] = conf
        res_cat[rows] = cat_names[cat_i]
        res_line[rows] = comp.ids[lix]
        res_am[rows] = np.where(p, comp.amendment[lix], None)
        res_src[rows] = np.where(use_mfn, comp.mfn_source[mix], comp.source[lix])
        trow = comp.trq_row[lix]
        tq = (trow >= 0) & p
        if tq.any():
            tix = trow[tq]
            sub = rows[tq]
            res_inq[sub] = comp.trq_in[tix]
            res_qvol[sub] = comp.trq_vol[tix, st[tq]]
            res_qunit[sub] = comp.trq_unit[tix]
            out_override = comp.trq_out[tix]
            res_rate[sub] = np.where(np.isnan(out_override), res_rate[sub], out_override)

    added = {"rate": res_rate, "base_rate": res_base, "category": res_cat, "line_id": res_line,
             "amendment": res_am, "source": res_src, "confirmed": res_conf, "stage": row_stage,
             "in_quota_rate": res_inq, "quota_volume": res_qvol, "quota_unit": res_qunit}
    keep = [c for c in frame.columns if c not in added]
    out = pd.concat([frame[keep], pd.DataFrame(added, index=frame.index, copy=False)], axis=1, copy=False)
    return out


def schedule(ag: Agreement, importer: str, exporter: str, hs: str, years, as_of=None, day=None) -> pd.DataFrame:
    """Rate path of one (importer, exporter, HS code) over ``years``: a :func:`rates` frame."""
    years = list(years)
    frame = pd.DataFrame({"importer": importer, "exporter": exporter, "hs": _norm_hs(hs), "year": years})
    if day is not None:
        frame["day"] = day
    return rates(ag, frame, as_of=as_of)


def rate_changes(ag: Agreement, frame: pd.DataFrame, from_year: int, to_year: int, as_of=None) -> pd.DataFrame:
    """Tariff change between two years for each row of ``frame`` (``importer, exporter, hs``; a
    ``year`` column, if any, is ignored) -- the input a simulation needs.

    Returns ``frame`` + ``rate_from, rate_to`` (fractions), ``change`` (= rate_to - rate_from),
    ``category, line_id, amendment, source`` (of ``to_year``) and ``confirmed`` (both years
    confirmed).
    """
    base = frame.drop(columns=[c for c in ("year",) if c in frame.columns])
    a = rates(ag, base.assign(year=int(from_year)), as_of=as_of)
    b = rates(ag, base.assign(year=int(to_year)), as_of=as_of)
    out = base.copy()
    out["rate_from"] = a["rate"].to_numpy()
    out["rate_to"] = b["rate"].to_numpy()
    out["change"] = out["rate_to"] - out["rate_from"]
    for c in ("category", "line_id", "amendment", "source"):
        out[c] = b[c].to_numpy()
    out["confirmed"] = a["confirmed"].to_numpy() & b["confirmed"].to_numpy()
    return out


def quotas(ag: Agreement, year: int, as_of=None) -> pd.DataFrame:
    """Every quantity limit (TRQs on lines, measures) in force in ``year``: one row each with
    ``id, kind, importer, exporter, hs, volume, unit, in_quota_rate, outside_agreement,
    legal_basis, amendment, source, confirmed``."""
    as_of = _as_date(as_of)
    cal = ag.staging.calendar
    day = staging.annual_reference_day(cal, int(year))
    stage = staging.stage_on(cal, day)
    text = text_as_of(ag, _text_day(ag, int(year), as_of))
    rows = []
    for ln in text.lines:
        if ln.trq is not None:
            rows.append(dict(id=f"{ln.id}:trq", kind="tariff_rate_quota", importer=ln.importer, exporter=None,
                             hs=";".join(ln.hs), description=ln.description, volume=ln.trq.volume.at(stage),
                             unit=ln.trq.volume.unit, in_quota_rate=ln.trq.in_quota_rate, outside_agreement=False,
                             legal_basis=None, amendment=text.line_amendment.get(ln.id), source=ln.source,
                             confirmed=ln.year_confirmed(int(year))))
        if ln.safeguard is not None:
            rows.append(dict(id=f"{ln.id}:safeguard", kind="safeguard_trigger", importer=ln.importer, exporter=None,
                             hs=";".join(ln.hs), description=ln.safeguard.note or ln.description,
                             volume=ln.safeguard.trigger.at(stage), unit=ln.safeguard.trigger.unit,
                             in_quota_rate=None, outside_agreement=False, legal_basis=None,
                             amendment=text.line_amendment.get(ln.id), source=ln.source, confirmed=ln.confirmed))
    for m in text.measures:
        if m.effective is not None and m.effective > day:
            continue
        rows.append(dict(id=m.id, kind=m.kind, importer=m.importer, exporter=m.exporter, hs=";".join(m.hs),
                         description=m.description, volume=m.volume.at(max(stage, 1)), unit=m.volume.unit,
                         in_quota_rate=None, outside_agreement=m.outside_agreement, legal_basis=m.legal_basis,
                         amendment=text.measure_amendment.get(m.id), source=m.source, confirmed=m.confirmed))
    cols = ["id", "kind", "importer", "exporter", "hs", "description", "volume", "unit", "in_quota_rate",
            "outside_agreement", "legal_basis", "amendment", "source", "confirmed"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- what amendments changed

def _fmt_value(field: str, value, categories: dict) -> str:
    if value is None:
        return ""
    if field == "category" and value in categories:
        return f"{value} ({staging.describe(categories[value])})"
    if field in ("base_rate", "in_quota_rate") and isinstance(value, (int, float)):
        return f"{value:.2%}"
    if field == "volume" and isinstance(value, dict):
        pts = value.get("points") or {}
        txt = f"{value.get('start'):,.0f} {value.get('unit', '')}".strip()
        if value.get("growth"):
            txt += f", +{value['growth']:.0%}/yr"
        if pts:
            txt += "; " + ", ".join(f"year {k}: {v:,.0f}" for k, v in pts.items())
        return txt
    if field == "unconfirmed_years" and isinstance(value, list):
        return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in value)
    return str(value)


def changes(ag: Agreement) -> pd.DataFrame:
    """What each amendment changed, one row per changed field.

    Columns: ``amendment, amendment_name, agreed, effective, outside_agreement, target_kind``
    (line | category | measure), ``target, importer, hs, field, before, after, note, source,
    confirmed``. ``before``/``after`` are display strings (category names with their rule).
    """
    rows = []
    text = original_text(ag)
    order = {id(a): i for i, a in enumerate(ag.amendments)}
    skip = {"source", "confirmed", "unconfirmed_years", "notes"}
    for am in sorted(ag.amendments, key=lambda a: a.effective):
        before = text
        text = apply_amendment(text, am, order[id(am)])
        common = dict(amendment=am.id, amendment_name=am.name, agreed=am.agreed, effective=am.effective,
                      outside_agreement=am.outside_agreement)
        old_lines = {ln.id: ln for ln in before.lines}
        new_lines = {ln.id: ln for ln in text.lines}
        old_meas = {m.id: m for m in before.measures}
        new_meas = {m.id: m for m in text.measures}
        for ch in am.changes:
            src = getattr(ch, "source", None) or am.source
            conf = getattr(ch, "confirmed", None)
            conf = am.confirmed if conf is None else conf
            base = dict(common, note=ch.note, source=src, confirmed=bool(conf))
            if isinstance(ch, LineChange):
                old, new = old_lines[ch.line], new_lines[ch.line]
                for f in ch.set:
                    if f in skip:
                        continue
                    rows.append(dict(base, target_kind="line", target=ch.line, importer=old.importer,
                                     hs=";".join(old.hs), field=f,
                                     before=_fmt_value(f, getattr(old, f), before.categories),
                                     after=_fmt_value(f, getattr(new, f), text.categories)))
            elif isinstance(ch, AddLine):
                ln = ch.add_line
                rows.append(dict(base, target_kind="line", target=ln.id, importer=ln.importer, hs=";".join(ln.hs),
                                 field="(new line)", before="",
                                 after=f"{ln.description}: base {_fmt_value('base_rate', ln.effective_base, {})}, "
                                       f"{_fmt_value('category', ln.category, text.categories)}"))
            elif isinstance(ch, RemoveLine):
                ln = old_lines[ch.remove_line]
                rows.append(dict(base, target_kind="line", target=ln.id, importer=ln.importer, hs=";".join(ln.hs),
                                 field="(line removed)", before=ln.description, after=""))
            elif isinstance(ch, CategoryChange):
                old = before.categories.get(ch.category)
                rows.append(dict(base, target_kind="category", target=ch.category, importer=None, hs=None,
                                 field="definition", before=staging.describe(old) if old is not None else "",
                                 after=staging.describe(ch.definition)))
            elif isinstance(ch, MeasureChange):
                old, new = old_meas[ch.measure], new_meas[ch.measure]
                for f in ch.set:
                    if f in skip:
                        continue
                    ov, nv = getattr(old, f), getattr(new, f)
                    rows.append(dict(base, target_kind="measure", target=ch.measure, importer=old.importer,
                                     hs=";".join(old.hs), field=f,
                                     before=_fmt_value(f, ov.model_dump() if hasattr(ov, "model_dump") else ov, {}),
                                     after=_fmt_value(f, nv.model_dump() if hasattr(nv, "model_dump") else nv, {})))
            elif isinstance(ch, AddMeasure):
                m = ch.add_measure
                rows.append(dict(base, target_kind="measure", target=m.id, importer=m.importer, hs=";".join(m.hs),
                                 field="(new measure)", before="",
                                 after=f"{m.description}: {_fmt_value('volume', m.volume.model_dump(), {})}"
                                       + (f" [{m.legal_basis}; outside the agreement]" if m.outside_agreement else "")))
    cols = ["amendment", "amendment_name", "agreed", "effective", "outside_agreement", "target_kind", "target",
            "importer", "hs", "field", "before", "after", "note", "source", "confirmed"]
    return pd.DataFrame(rows, columns=cols)
