"""Compile the GE built-in data from ../shared/data into src/tradepact/data (run once by a maintainer).

Writes
* ``world8_trade.csv``  — 8-region merchandise trade matrix (2016, 2011; off-diagonal only),
  ``year, exporter, importer, value_usd_m, basis, source, confirmed``;
* ``world8_regions.csv`` — ``year, region, gdp_usd_m, goods_va_usd_m, source, va_source, confirmed,
  va_confirmed`` (World Bank WDI GDP; agriculture+manufacturing value added);
* ``world8_korus_lines.csv`` — the KORUS tariff lines and trade values behind the GE scenarios,
  ``component, scenario_use, importer, exporter, product, hs_code, trade_year, trade_usd_m,
  trade_basis, trade_source, trade_confirmed, rate_base, rate_2016, rate_source, rate_confirmed, note``
  (rates as fractions) plus the bilateral totals they are weighted by.

Usage: ``python tools/compile_ge_data.py [--shared ../shared/data]``
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tradepact" / "data"


def yes(v) -> bool:
    return str(v).strip().lower() in ("yes", "true", "1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    a = ap.parse_args()
    sd = Path(a.shared)
    w8 = sd / "world8"
    tm = pd.read_csv(w8 / "trade_matrix.csv")
    trade = pd.DataFrame({"year": tm.year.astype(int), "exporter": tm.exporter, "importer": tm.importer,
                          "value_usd_m": tm.value_usd_m.astype(float), "basis": tm.basis.fillna(""),
                          "source": "world8/trade_matrix.csv: " + tm.source.astype(str),
                          "confirmed": tm.confirmed.map(yes)})
    trade.to_csv(OUT / "world8_trade.csv", index=False)

    rg = pd.read_csv(w8 / "regions.csv")
    rg = rg[rg.year.isin([2011, 2016])]
    regions = pd.DataFrame({"year": rg.year.astype(int), "region": rg.region, "gdp_usd_m": rg.gdp_usd_m.astype(float),
                            "goods_va_usd_m": rg.agri_plus_manuf_va_usd_m.astype(float),
                            "source": "world8/regions.csv: " + rg.source.astype(str),
                            "va_source": "world8/regions.csv: " + rg.va_source.astype(str),
                            "confirmed": rg.confirmed.map(yes), "va_confirmed": rg.va_confirmed.map(yes)})
    regions.to_csv(OUT / "world8_regions.csv", index=False)

    k = sd / "korus"
    pt = pd.read_csv(k / "product_trade.csv")
    ts = pd.read_csv(k / "tariff_schedule.csv").set_index("commitment_id")
    ry = pd.read_csv(k / "tariff_rates_by_year.csv")

    def rate(cid, year):
        r = ry[(ry.commitment_id == cid) & (ry.year == year)]
        return float(r.value.iloc[0]) / 100, yes(r.confirmed.iloc[0])

    def trow(**kw):
        r = pt
        for key, v in kw.items():
            r = r[r[key] == v]
        assert len(r) == 1, (kw, len(r))
        return r.iloc[0]

    rows = []

    def add(component, use, cid, tr, product, note, base=None, r2016=None):
        s = ts.loc[cid]
        b = float(s.base_rate) / 100 if base is None else base
        r16, r16c = rate(cid, 2016) if r2016 is None else (r2016, True)
        rows.append({"component": component, "scenario_use": use, "importer": s.importing_party,
                     "exporter": "USA" if s.importing_party == "KOR" else "KOR", "product": product,
                     "hs_code": str(tr.hs_code), "trade_year": int(tr.year), "trade_usd_m": float(tr.value_usd_m),
                     "trade_basis": tr.basis, "trade_source": "korus/product_trade.csv: " + str(tr.source),
                     "trade_confirmed": yes(tr.confirmed), "rate_base": b, "rate_2016": r16,
                     "rate_source": f"korus/tariff_schedule.csv {cid}: " + str(s.source),
                     "rate_confirmed": yes(s.confirmed) and r16c, "note": note})

    add("KR-CARS", "korus_undone", "KR-CARS", trow(year=2016, exporter="USA", importer="KOR", hs_code="87"),
        "Vehicles (HS 87) at the Korean car rate",
        "HS 87 total (cars, trucks, parts) used as the car line's trade weight; Korean base rate on cars 8% "
        "(trucks were 10%, parts not in the facts): assumption")
    add("KR-BEEF-MUSCLE", "korus_undone", "KR-BEEF-MUSCLE",
        trow(year=2016, exporter="USA", importer="KOR", description="Beef and beef products (USDA group)"),
        "Beef and beef products", "USDA beef group weighted at the muscle-meat rate (40% base, 26.67% in 2016)")
    add("KR-PORK-FROZEN-OTHER", "korus_undone", "KR-PORK-FROZEN-OTHER",
        trow(year=2016, exporter="USA", importer="KOR", description="Pork and pork products (USDA group)"),
        "Pork and pork products", "USDA pork group weighted at the frozen-other rate (25% base, 0 in 2016)")
    add("US-CARS", "korus_undone;car_tariff", "US-CARS",
        trow(year=2016, exporter="KOR", importer="USA", description="Passenger cars (KAMA)"),
        "Passenger cars", "KAMA industry data (FOB) as the weight of US imports of Korean cars")
    add("US-STEEL-232", "protocol_2018", "US-STEEL-232",
        trow(year=2016, exporter="KOR", importer="USA", description="Steel products"),
        "Steel products (Section 232 quota)",
        "2018 protocol: Korea exempt from the 25% Section 232 tariff but held to 70% of its 2015-2017 average "
        "volume; modelled as a 30% cut of 2016 steel exports (iceberg-equivalent; quota rents ignored): assumption",
        base=0.0, r2016=0.0)
    for exporter, importer in (("USA", "KOR"), ("KOR", "USA")):
        tot = trow(year=2016, exporter=exporter, importer=importer, hs_code="TOTAL",
                   basis="US total exports, f.a.s. (Census basis)" if exporter == "USA"
                   else "US general imports, customs value (Census basis)")
        rows.append({"component": f"TOTAL-{exporter}>{importer}", "scenario_use": "weights", "importer": importer,
                     "exporter": exporter, "product": "All goods", "hs_code": "TOTAL", "trade_year": 2016,
                     "trade_usd_m": float(tot.value_usd_m), "trade_basis": tot.basis,
                     "trade_source": "korus/product_trade.csv: " + str(tot.source),
                     "trade_confirmed": yes(tot.confirmed), "rate_base": None, "rate_2016": None,
                     "rate_source": "", "rate_confirmed": False, "note": "bilateral total used as the weight"})
    pd.DataFrame(rows).to_csv(OUT / "world8_korus_lines.csv", index=False)
    print("wrote", OUT / "world8_trade.csv", OUT / "world8_regions.csv", OUT / "world8_korus_lines.csv")


if __name__ == "__main__":
    main()
