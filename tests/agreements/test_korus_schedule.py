"""The built-in KORUS agreement against the compiled reference facts (../shared/data/korus).

Reference: tariff_rates_by_year.csv gives each commitment's rate by year (in percent, rounded
to 2 decimals) with a per-year basis/confirmed flag; tariff_schedule.csv gives the lines;
events.csv the dates. Tolerance for rates: 0.005 percentage points (the CSV rounding) =
5e-5 as a fraction (plus float noise).
"""
from __future__ import annotations

import csv
import datetime as dt
import math
import re

import pandas as pd
import pytest

from tradepact.agreements import builtin_agreements, changes, load_agreement, quotas, rate, rates, text_as_of

RATE_TOL = 5.1e-5  # 0.005 pp: the CSV's rounding to 2 decimals of a percent


@pytest.fixture(scope="module")
def korus():
    return load_agreement("korus")


def _read(shared_data, name):
    with open(shared_data / "korus" / name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


# ---------------------------------------------------------------- the checks the issue lists

def test_builtins_listed():
    assert "korus" in builtin_agreements()


def test_korus_header(korus):
    assert korus.parties == ["USA", "KOR"]
    assert korus.entry_into_force == dt.date(2012, 3, 15)
    assert [a.id for a in korus.amendments] == ["KORUS-2010-SUPPLEMENT", "KORUS-2018-PROTOCOL",
                                                "US-232-STEEL-KOREA-2018"]
    # the staging calendar is data in the file, not code
    cal = korus.staging.calendar
    assert cal.year_1_starts == dt.date(2012, 3, 15) and cal.later_cuts_on == "01-01"


def test_beef_muscle_meat(korus):
    r = rate(korus, importer="KOR", exporter="USA", hs="020130", year=2018)
    assert r.base_rate == pytest.approx(0.40)
    assert r.rate == pytest.approx(0.40 * (1 - 7 / 15), abs=1e-12)  # year 7 of 15 equal cuts
    assert abs(r.rate - 0.213) < 0.0005  # "21.3% in 2018"
    assert r.line_id == "KR-BEEF-MUSCLE" and r.category == "EQ15" and r.confirmed
    assert rate(korus, "KOR", "USA", "0202", 2011).rate == pytest.approx(0.40)  # before entry into force
    for y in range(2026, 2035):
        assert rate(korus, "KOR", "USA", "020130", y).rate == 0.0
    assert rate(korus, "KOR", "USA", "020130", 2025).rate > 0


def test_korea_cars(korus):
    assert rate(korus, "KOR", "USA", "8703", 2011).rate == pytest.approx(0.08)
    for y in (2012, 2013, 2014, 2015):
        r = rate(korus, "KOR", "USA", "870323", y)
        assert r.rate == pytest.approx(0.04) and r.amendment == "KORUS-2010-SUPPLEMENT"
    assert rate(korus, "KOR", "USA", "8703", 2016).rate == 0.0
    # the 2007 text (before the supplement took effect) eliminated the tariff at once
    assert rate(korus, "KOR", "USA", "8703", 2012, as_of=dt.date(2011, 12, 31)).rate == 0.0


def test_us_cars(korus):
    assert rate(korus, "USA", "KOR", "8703", 2011).rate == pytest.approx(0.025)
    assert rate(korus, "USA", "KOR", "8703", 2015).rate == pytest.approx(0.025)
    assert rate(korus, "USA", "KOR", "8703", 2016).rate == 0.0


def test_us_light_trucks_2018_protocol(korus):
    for y in range(2012, 2041):
        r = rate(korus, "USA", "KOR", "8704", y)
        assert r.rate == pytest.approx(0.25), y
    r41 = rate(korus, "USA", "KOR", "870421", 2041)
    assert r41.rate == 0.0 and r41.amendment == "KORUS-2018-PROTOCOL" and r41.confirmed
    assert not rate(korus, "USA", "KOR", "8704", 2030).confirmed  # 2019-2040 'assumed' in the reference
    assert rate(korus, "USA", "KOR", "8704", 2018).confirmed


def test_us_light_trucks_as_of_original_terms(korus):
    """--as-of 2017-12-31: the 2010 terms (25% to year 7, phase-out years 8-10, zero 2021)."""
    asof = dt.date(2017, 12, 31)
    path = {y: rate(korus, "USA", "KOR", "8704", y, as_of=asof) for y in range(2012, 2031)}
    assert all(path[y].rate == pytest.approx(0.25) for y in range(2012, 2019))
    assert path[2019].rate == pytest.approx(0.25 * 2 / 3)
    assert path[2020].rate == pytest.approx(0.25 / 3)
    assert all(path[y].rate == 0.0 for y in range(2021, 2031))
    assert path[2025].amendment == "KORUS-2010-SUPPLEMENT"
    # string dates work too, and the protocol's own effective date switches terms
    assert rate(korus, "USA", "KOR", "8704", 2021, as_of="2018-12-31").rate == 0.0
    assert rate(korus, "USA", "KOR", "8704", 2021, as_of="2019-01-01").rate == pytest.approx(0.25)


def test_non_party_pays_mfn(korus):
    r = rate(korus, "KOR", "AUS", "020130", 2018)
    assert r.rate == pytest.approx(0.40) and r.category == "MFN" and r.amendment is None
    r = rate(korus, "USA", "JPN", "8704", 2041)
    assert r.rate == pytest.approx(0.25) and r.category == "MFN"


def test_unscheduled_code_is_nan(korus):
    r = rate(korus, "KOR", "USA", "9999", 2018)
    assert math.isnan(r.rate) and r.category == "unscheduled" and r.line_id is None and not r.confirmed


def test_seasonal_oranges(korus):
    off = rate(korus, "KOR", "USA", "080510", 2014, day="05-01")
    on = rate(korus, "KOR", "USA", "080510", 2014, day="11-15")
    assert off.line_id == "KR-ORANGE-OFFSEASON" and off.rate == pytest.approx(0.20)
    assert on.line_id == "KR-ORANGE-INSEASON" and on.rate == pytest.approx(0.50)
    assert on.quota.kind == "tariff_rate_quota" and on.quota.in_quota_rate == 0.0
    assert on.quota.volume == pytest.approx(2500 * 1.03 ** 2)


# ---------------------------------------------------------------- against the reference tables

# commitments whose CSV HS code is ambiguous, or needs a season day, and the query that finds them
QUERY_OVERRIDES = {
    "KR-PORK-FROZEN-BELLIES": ("0203291000", None),  # shares 0203.29 with 'frozen other'; HSK line mapped
    "KR-ORANGE-OFFSEASON": ("080510", "06-01"),
    "KR-ORANGE-INSEASON": ("080510", "12-01"),
    "KR-EV": ("870380", None),
    "US-EV": ("870380", None),
}
NOT_MODELLED = {"KR-AG-TRQ-GROUP"}  # volumes and HS lines not found in the sources


def _first_code(text: str) -> str:
    m = re.search(r"\d{4}(?:\.\d{2})?(?:\.\d{2,4})?", text)
    return m.group(0).replace(".", "")


def test_every_ad_valorem_reference_value(korus, shared_data):
    sched = {r["commitment_id"]: r for r in _read(shared_data, "tariff_schedule.csv")}
    rows = [r for r in _read(shared_data, "tariff_rates_by_year.csv")
            if r["unit"].startswith("% ad valorem") and r["commitment_id"] not in NOT_MODELLED]
    assert len(rows) > 120
    recs = []
    for r in rows:
        s = sched[r["commitment_id"]]
        hs, day = QUERY_OVERRIDES.get(r["commitment_id"], (_first_code(s["hs_code"]), None))
        other = "USA" if s["importing_party"] == "KOR" else "KOR"
        recs.append(dict(importer=s["importing_party"], exporter=other, hs=hs, year=int(r["year"]), day=day,
                         expected=float(r["value"]) / 100, expected_confirmed=r["confirmed"] == "yes",
                         cid=r["commitment_id"]))
    frame = pd.DataFrame(recs)
    got = rates(korus, frame)
    bad = got[(got["rate"] - got["expected"]).abs() > RATE_TOL]
    assert bad.empty, bad[["cid", "year", "rate", "expected"]].to_string()
    assert (got["line_id"] == got["cid"]).all(), got.loc[got["line_id"] != got["cid"], ["cid", "line_id"]]
    badc = got[got["confirmed"] != got["expected_confirmed"]]
    assert badc.empty, badc[["cid", "year", "confirmed", "expected_confirmed"]].to_string()
    # the scalar query agrees row by row
    for rec in recs[::7]:
        r = rate(korus, rec["importer"], rec["exporter"], rec["hs"], rec["year"], day=rec["day"])
        assert abs(r.rate - rec["expected"]) <= RATE_TOL and r.confirmed == rec["expected_confirmed"]


def test_base_rates_and_flags_match_schedule(korus, shared_data):
    sched = {r["commitment_id"]: r for r in _read(shared_data, "tariff_schedule.csv")}
    text = text_as_of(korus, None)
    for ln in text.lines:
        s = sched[ln.id]
        assert ln.source, ln.id
        assert ln.importer == s["importing_party"]
        try:
            expected_base = float(s["base_rate"]) / 100
        except ValueError:
            expected_base = None  # blank or "27 or 30": the file leaves it unknown
        if expected_base is None:
            assert ln.base_rate is None, ln.id
        else:
            assert ln.base_rate == pytest.approx(expected_base), ln.id
        assert ln.confirmed == (s["confirmed"] == "yes"), ln.id
        assert ln.hs_confirmed == s["hs_code_confirmed"].startswith("yes"), ln.id


def test_trq_volumes(korus, shared_data):
    ref = [r for r in _read(shared_data, "tariff_rates_by_year.csv") if r["commitment_id"] == "KR-ORANGE-TRQ"]
    frame = pd.DataFrame({"importer": "KOR", "exporter": "USA", "hs": "080510", "day": "12-01",
                          "year": [int(r["year"]) for r in ref]})
    got = rates(korus, frame)
    expected = [float(r["value"]) for r in ref]
    assert got["quota_volume"].to_numpy() == pytest.approx(expected, abs=0.051)  # CSV rounds to 0.1 t
    assert (got["in_quota_rate"] == 0.0).all() and (got["rate"] == 0.5).all()


def test_quantity_measures(korus):
    def q(year, as_of=None):
        return quotas(korus, year, as_of=as_of).set_index("id")

    assert q(2012).loc["KR-FMVSS-ALLOWANCE", "volume"] == 25000
    assert q(2019).loc["KR-FMVSS-ALLOWANCE", "volume"] == 50000
    assert q(2019, as_of=dt.date(2017, 12, 31)).loc["KR-FMVSS-ALLOWANCE", "volume"] == 25000
    pre = q(2012, as_of=dt.date(2011, 1, 1)).loc["KR-FMVSS-ALLOWANCE"]
    assert pre["volume"] == 6500 and not pre["confirmed"]  # implied 2007 level, not stated
    sg = q(2012).loc["KR-BEEF-MUSCLE:safeguard", "volume"], q(2026).loc["KR-BEEF-MUSCLE:safeguard", "volume"]
    assert sg == (270000, 354000)
    assert q(2013).loc["KR-BEEF-MUSCLE:safeguard", "volume"] == pytest.approx(270000 * 1.02)
    # Section 232 steel quota: a US measure outside the agreement, from May 2018
    assert "US-STEEL-232-QUOTA" not in q(2017).index
    steel = q(2018).loc["US-STEEL-232-QUOTA"]
    assert steel["volume"] == 2_680_000 and bool(steel["outside_agreement"]) and steel["importer"] == "USA"
    r = rate(korus, "USA", "KOR", "720851", 2018)
    assert r.quota is not None and r.quota.id == "US-STEEL-232-QUOTA" and r.quota.outside_agreement
    assert rate(korus, "KOR", "USA", "8703", 2020).quota.volume == 50000


def test_dates_match_events(korus, shared_data):
    ev = _read(shared_data, "events.csv")
    dates = {(r["category"], r["date"]) for r in ev}
    assert ("entry into force", korus.entry_into_force.isoformat()) in dates
    ams = {a.id: a for a in korus.amendments}
    assert ("entry into force", ams["KORUS-2018-PROTOCOL"].effective.isoformat()) in dates
    assert ("signature", ams["KORUS-2018-PROTOCOL"].agreed.isoformat()) in dates
    assert ("renegotiation", ams["KORUS-2010-SUPPLEMENT"].agreed.isoformat()) in dates
    assert any(r["date"] == "2018-04-30" and "232" in r["event"] for r in ev)


def test_changes_table(korus):
    ch = changes(korus)
    assert {"amendment", "effective", "target", "field", "before", "after", "source", "confirmed"} <= set(ch.columns)
    trucks = ch[(ch["amendment"] == "KORUS-2018-PROTOCOL") & (ch["target"] == "US-LIGHT-TRUCKS")]
    assert len(trucks) == 1
    assert trucks.iloc[0]["before"].startswith("US-TRUCK-HOLD7-EQ3")
    assert trucks.iloc[0]["after"].startswith("US-TRUCK-2041") and "2041" in trucks.iloc[0]["after"]
    fmvss = ch[(ch["amendment"] == "KORUS-2018-PROTOCOL") & (ch["target"] == "KR-FMVSS-ALLOWANCE")].iloc[0]
    assert fmvss["before"].startswith("25,000") and fmvss["after"].startswith("50,000")
    steel = ch[ch["target"] == "US-STEEL-232-QUOTA"].iloc[0]
    assert bool(steel["outside_agreement"]) and "2,680,000" in steel["after"]
    assert set(ch.loc[ch["amendment"] == "KORUS-2010-SUPPLEMENT", "target"]) >= {"KR-CARS", "US-CARS", "KR-EV",
                                                                                 "US-EV", "US-LIGHT-TRUCKS"}
