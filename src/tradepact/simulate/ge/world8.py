"""The built-in 8-region world (USA, KOR, CHN, JPN, EU, CAN, MEX, ROW) and the KORUS GE scenarios.

Data (compiled into ``tradepact/data`` by ``tools/compile_ge_data.py`` from
``../shared/data/world8`` and ``../shared/data/korus``; every figure keeps ``source`` and
``confirmed``):

* merchandise trade between the regions, 2016 and 2011, USD millions (intra-EU excluded,
  ROW→ROW dropped: it is internal to the ROW region);
* GDP per region (World Bank WDI).

**Approximation (flagged in every result):** the matrix has no domestic flows, and no
goods gross output was found; the domestic flow of each region is approximated as
``GDP − goods exports`` (the region's absorption of its own production of a GDP-wide
composite good). Goods value added (agriculture + manufacturing) cannot serve: Korea's
goods exports exceed it. This dilutes trade shares, so welfare effects are smaller than in
a goods-only model. Baseline tariffs are set to zero (applied MFN rates by pair are not in
the facts); scenario tariffs are *changes* on the US–Korea flows.

Scenarios (one sector; ad valorem equivalents on the aggregate bilateral flow, weighted by
2016 trade from the KORUS product facts):

* ``korus_undone`` — each side's tariffs back to the pre-KORUS base (MFN) rates on the lines
  in the facts: Korea on US vehicles (8%), beef (40% vs 26.67% in 2016), pork (25%); the US on
  Korean cars (2.5%). Lines not in the facts are left unchanged, so this *understates* the
  agreement (documented, with the covered share of trade).
* ``protocol_2018`` — the Section 232 steel quota (70% of the 2015–2017 average volume)
  modelled as a 30% cut of Korea's 2016 steel exports to the US, as an iceberg-equivalent
  trade-cost increase on the bilateral flow; the light-truck tariff deferral has no trade
  weight (Korea exported no pickups) and the FMVSS allowance is non-tariff.
* ``car_tariff`` — a 25% US tariff on Korean passenger cars, **sector-true**: a two-sector
  baseline splits passenger cars out (KOR→USA cars from the KAMA figure; every other cell, domestic
  absorption included, assumed :func:`car_share` of its flow, derived from the built-in lines) and the tariff hits the car sector
  only; revenue rebated to the US. Other US imports from Korea move only through prices and
  incomes (:meth:`GEResult.pair_split` bounds that effect).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

from tradepact.simulate.ge.baseline import Baseline, split_sector
from tradepact.simulate.ge.equilibrium import Shock

REGIONS = ("USA", "KOR", "CHN", "JPN", "EU", "CAN", "MEX", "ROW")
DEFAULT_THETA = 5.0  # σ = 6: a central value of the trade elasticity (Head & Mayer 2014 survey)


def _read(name: str) -> pd.DataFrame:
    with resources.files("tradepact.data").joinpath(name).open("rb") as fh:
        return pd.read_csv(fh)


@lru_cache(maxsize=None)
def world8_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(trade, regions, korus_lines) package tables; treat as read-only."""
    return _read("world8_trade.csv"), _read("world8_regions.csv"), _read("world8_korus_lines.csv")


def world8_baseline(year: int = 2016, theta: float = DEFAULT_THETA) -> Baseline:
    """One-sector observed baseline for ``year`` with domestic flows = GDP − goods exports (flagged)."""
    trade, regions, _ = world8_tables()
    t = trade[(trade.year == year) & (trade.exporter != trade.importer)]
    gdp = regions[regions.year == year].set_index("region").gdp_usd_m
    b = Baseline.from_international(t, gdp, theta, value="value_usd_m", file="tradepact/data/world8_trade.csv",
                                    output_label="GDP")
    return Baseline(countries=b.countries, flows=b.flows, theta=b.theta, tariffs=b.tariffs, sectors=b.sectors,
                    domestic_approximated=b.domestic_approximated,
                    notes=("domestic flows approximated as GDP − goods exports (no goods gross output in the "
                           "built-in data); baseline tariffs set to zero",),
                    source=f"tradepact built-in world8 {year} (from ../shared/data/world8)")


@dataclass(frozen=True)
class ContentShare:
    """An assumed share of a product sector in the trade cells the data do not break down (fraction), with
    the figures it is derived from; shown with every result that uses it."""

    value: float
    derivation: str
    source: str


def car_share() -> ContentShare:
    """Vehicles' (HS 87) share of US goods exports to Korea in 2016, from the built-in KORUS lines
    (``world8_korus_lines.csv``: KR-CARS over TOTAL-USA>KOR; USTR 'U.S.-Korea Trade Facts')."""
    ln = _lines().set_index("component")
    v, tot = float(ln.at["KR-CARS", "trade_usd_m"]), float(ln.at["TOTAL-USA>KOR", "trade_usd_m"])
    return ContentShare(v / tot, f"vehicles (HS 87) share of US goods exports to Korea, 2016: {v:,.0f} / "
                                 f"{tot:,.0f} USD m", str(ln.at["KR-CARS", "trade_source"]))


def content_share(hs_codes, pair_value: float, lines_value: float) -> ContentShare:
    """The assumed content of the changed products in every GE cell the data do not break down.

    Vehicles (all codes under HS 87): :func:`car_share`, the one product share of a whole flow the built-in
    data give. Other products: their share of the pair's own flow in the GE table (``lines_value /
    pair_value``), i.e. the assumption that other countries trade them in the same proportion.
    """
    codes = [str(c) for c in hs_codes]
    if codes and all(c.startswith("87") for c in codes):
        return car_share()
    return ContentShare(lines_value / pair_value, f"share of the changed lines in their pair's flow "
                                                  f"({lines_value:,.0f} / {pair_value:,.0f} USD m), assumed for "
                                                  "every other cell", "scenario lines and tradepact world8 2016")


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    shock: Shock
    description: str
    inputs: pd.DataFrame  # the lines and weights behind the shock
    confirmed: bool
    baseline: Baseline | None = None  # own baseline (a sector split), else the shared one-sector one
    touched: tuple[str, ...] = ("all",)  # sectors the shock acts on


def sector_baseline(baseline: Baseline, name: str, known: dict[tuple[str, str], float],
                    share: ContentShare | None = None) -> Baseline:
    """``baseline`` with product sector ``name`` split out (see :func:`split_sector`); the other cells'
    content is ``share`` (default :func:`car_share`)."""
    share = share or car_share()
    return split_sector(baseline, name, share=share.value, known=known, note=share.derivation)


def _lines() -> pd.DataFrame:
    return world8_tables()[2]


def scenario_inputs() -> dict[str, float]:
    """Trade-weighted tariff changes and shares derived from the KORUS lines (fractions)."""
    ln = _lines()
    tot = {(r.exporter, r.importer): r.trade_usd_m for r in ln[ln.scenario_use == "weights"].itertuples()}
    und = ln[ln.scenario_use.str.contains("korus_undone")]
    out = {}
    for (ex, im), total in tot.items():
        sub = und[(und.exporter == ex) & (und.importer == im)]
        out[f"undone_{ex}>{im}"] = float((sub.trade_usd_m * (sub.rate_base - sub.rate_2016)).sum() / total)
        out[f"undone_cover_{ex}>{im}"] = float(sub.trade_usd_m.sum() / total)
    cars = ln[ln.component == "US-CARS"].iloc[0]
    out["car_share_KOR>USA"] = float(cars.trade_usd_m / tot[("KOR", "USA")])
    steel = ln[ln.component == "US-STEEL-232"].iloc[0]
    out["steel_share_KOR>USA"] = float(steel.trade_usd_m / tot[("KOR", "USA")])
    return out


def korus_scenarios(baseline: Baseline) -> list[Scenario]:
    """The three KORUS experiments on a world8 baseline."""
    ln = _lines()
    v = scenario_inputs()
    und = Shock.bilateral_tariffs(baseline, {("USA", "KOR"): v["undone_USA>KOR"], ("KOR", "USA"): v["undone_KOR>USA"]},
                                  label="KORUS undone")
    lc = np.zeros((1, baseline.n, baseline.n))
    lc[0, baseline.index("KOR"), baseline.index("USA")] = np.log(1 - 0.30 * v["steel_share_KOR>USA"])
    prot = Shock(log_cost_change=lc, label="2018 protocol (steel quota)")
    cars = ln[ln.component == "US-CARS"].iloc[0]
    car_base = sector_baseline(baseline, "cars", {("KOR", "USA"): float(cars.trade_usd_m)})
    car = Shock.bilateral_tariffs(car_base, {("KOR", "USA"): 0.25}, sector="cars",
                                  label="25% US tariff on Korean cars")

    def rows(use):
        return ln[ln.scenario_use.str.contains(use) | (ln.scenario_use == "weights")]

    return [
        Scenario("korus_undone", "KORUS undone (tariffs back to base/MFN rates)", und,
                 f"Korea's tariff on US goods +{100 * v['undone_USA>KOR']:.2f} pp and the US tariff on Korean goods "
                 f"+{100 * v['undone_KOR>USA']:.2f} pp (trade-weighted over the lines in the facts, covering "
                 f"{100 * v['undone_cover_USA>KOR']:.0f}% and {100 * v['undone_cover_KOR>USA']:.0f}% of 2016 "
                 "bilateral trade; other lines unchanged, so the agreement's effect is understated)",
                 rows("korus_undone"), bool(rows("korus_undone").trade_confirmed.all())),
        Scenario("protocol_2018", "2018 protocol (steel quota)", prot,
                 f"Korean steel exports to the US cut 30% (quota at 70% of 2015-2017 volume); steel is "
                 f"{100 * v['steel_share_KOR>USA']:.1f}% of US imports from Korea; light-truck deferral carries no "
                 "trade weight", rows("protocol_2018"), bool(rows("protocol_2018").trade_confirmed.all())),
        Scenario("car_tariff", "25% US tariff on Korean cars", car,
                 f"a 25% tariff on the car sector only: Korean cars sold in the US "
                 f"({cars.trade_usd_m / 1000:,.1f}bn, {100 * v['car_share_KOR>USA']:.1f}% of US imports from Korea) "
                 f"in a car sector split out of the world8 table; other cells' car content assumed "
                 f"{100 * car_share().value:.1f}% of their flow ({car_share().derivation})", rows("car_tariff"), bool(rows("car_tariff").trade_confirmed.all()),
                 baseline=car_base, touched=("cars",)),
    ]
