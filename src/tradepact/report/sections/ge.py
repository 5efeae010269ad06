"""KORUS report section: general-equilibrium counterfactuals on the built-in 8-region world.

``korus_section()`` runs three experiments (KORUS undone, the 2018 protocol's steel quota,
a 25% US tariff on Korean cars) under additive and multiplicative deficits and shows the
US–Korea bilateral balance change next to the US total balance change, welfare by region,
the inputs with their provenance, and the data caveats. Built-in data only.
"""
from __future__ import annotations

import pandas as pd

from tradepact.report.document import Chart, Note, Section, TableBlock

SOURCE = ("tradepact built-in world8 2016 (US Census, Eurostat, national customs; World Bank WDI GDP) and KORUS "
          "tariff/product facts (USTR, USDA, KAMA); GE model: tradepact.simulate.ge")


def korus_results(theta: float | None = None):
    """Solve every scenario under both deficit closures; returns (baseline, scenarios, results dict)."""
    from tradepact.simulate.ge import solve
    from tradepact.simulate.ge.world8 import DEFAULT_THETA, korus_scenarios, world8_baseline

    base = world8_baseline(2016, theta or DEFAULT_THETA)
    scen = korus_scenarios(base)
    res = {(s.key, d): solve(base, s.shock, closure="full", deficits=d)
           for s in scen for d in ("additive", "multiplicative")}
    return base, scen, res


def balance_table(scen, res) -> pd.DataFrame:
    rows = []
    for s in scen:
        for d in ("additive", "multiplicative"):
            r = res[(s.key, d)]
            dec = r.balance_decomposition("USA", "KOR").set_index("partner")
            f = r.to_frame().set_index("country")
            rows.append({"scenario": s.title, "deficits": d,
                         "US-KOR bilateral balance change (USD m)": dec.at["KOR", "balance_change"],
                         "US total balance change (USD m)": dec.at["TOTAL", "balance_change"],
                         "US balance change with others (USD m)": dec.at["REST", "balance_change"],
                         "US welfare (%)": f.at["USA", "welfare_change_pct"],
                         "KOR welfare (%)": f.at["KOR", "welfare_change_pct"],
                         "confirmed": s.confirmed})
    return pd.DataFrame(rows)


def welfare_table(scen, res, deficits: str = "additive") -> pd.DataFrame:
    out = None
    for s in scen:
        f = res[(s.key, deficits)].to_frame()[["country", "welfare_change_pct"]]
        f = f.rename(columns={"welfare_change_pct": s.title})
        out = f if out is None else out.merge(f, on="country")
    return out.rename(columns={"country": "region"})


def theta_sensitivity(thetas=(3.0, 5.0, 8.0)) -> pd.DataFrame:
    """The car-tariff scenario at several trade elasticities (additive deficits)."""
    from tradepact.simulate.ge import solve
    from tradepact.simulate.ge.world8 import korus_scenarios, world8_baseline

    rows = []
    for th in thetas:
        base = world8_baseline(2016, th)
        sc = {s.key: s for s in korus_scenarios(base)}["car_tariff"]
        r = solve(base, sc.shock, closure="full", deficits="additive")
        dec = r.balance_decomposition("USA", "KOR").set_index("partner")
        f = r.to_frame().set_index("country")
        rows.append({"theta": th, "US-KOR bilateral balance change (USD m)": dec.at["KOR", "balance_change"],
                     "US total balance change (USD m)": dec.at["TOTAL", "balance_change"],
                     "US welfare (%)": f.at["USA", "welfare_change_pct"],
                     "KOR welfare (%)": f.at["KOR", "welfare_change_pct"]})
    return pd.DataFrame(rows)


def korus_section() -> Section:
    import plotly.graph_objects as go

    from tradepact.simulate.ge.world8 import world8_tables

    base, scen, res = korus_results()
    bal = balance_table(scen, res)
    wel = welfare_table(scen, res)
    trade, regions, lines = world8_tables()
    t16 = trade[trade.year == 2016]
    n_conf, n_all = int(t16.confirmed.sum()), len(t16)

    sec = Section(id="ge", title="General equilibrium: who gains, and what happens to the deficits")
    sec.add(Note(
        "A structural-gravity general-equilibrium model of 8 regions (USA, Korea, China, Japan, EU, Canada, "
        "Mexico, rest of world; 2016 goods trade) answers what the bilateral numbers cannot: when tariffs "
        "between the US and Korea change, trade is diverted to and from third countries, prices and incomes "
        "adjust everywhere, and a country's total trade balance is pinned down by its saving and spending, "
        "not by one partner. With deficits held fixed (additive closure) a bilateral tariff moves the "
        "US–Korea balance but leaves the US total balance unchanged to the last dollar; with expenditure "
        "held proportional to output (multiplicative) the total moves only slightly."))
    for s in scen:
        sec.add(Note(f"{s.title}: {s.description}."))
    sec.add(Note(
        f"Data caveat: only {n_conf} of the {n_all} 2016 trade cells are confirmed against a cited source; the "
        "rest (including every rest-of-world cell) are recollections or residuals. Domestic flows are "
        "approximated as GDP minus goods exports, baseline tariffs are set to zero, the shocks are "
        "ad valorem equivalents on aggregate bilateral trade (one sector), and θ = 5. Treat the magnitudes as "
        "illustrative; the signs and the bilateral-versus-total contrast are the robust findings.",
        kind="caveat"))

    fig = go.Figure()
    for d, pattern in (("additive", ""), ("multiplicative", "/")):
        sub = bal[bal.deficits == d]
        fig.add_bar(name=f"US–Korea bilateral ({d})", x=sub.scenario,
                    y=sub["US-KOR bilateral balance change (USD m)"], marker_pattern_shape=pattern,
                    marker_color="#1f4e79")
        fig.add_bar(name=f"US total ({d})", x=sub.scenario, y=sub["US total balance change (USD m)"],
                    marker_pattern_shape=pattern, marker_color="#e0a000")
    fig.update_layout(barmode="group", title="US goods balance change: with Korea vs. with the world",
                      yaxis_title="USD millions (2016)", legend_orientation="h")
    sec.add(Chart(fig, source=SOURCE, confirmed=False,
                  caption="A bilateral tariff shifts the bilateral balance; the total balance barely moves."))
    sec.add(TableBlock(bal, name="ge_balances", caption="Bilateral versus total balance change, by scenario",
                       source=SOURCE, confirmed=False, flag_column="confirmed", floatfmt="{:,.3f}"))

    fig2 = go.Figure()
    for s in scen:
        fig2.add_bar(name=s.title, x=wel.region, y=wel[s.title])
    fig2.update_layout(barmode="group", title="Welfare (real expenditure) change by region, additive deficits",
                       yaxis_title="percent", legend_orientation="h")
    sec.add(Chart(fig2, source=SOURCE, confirmed=False, caption="Consumers in both countries and third countries."))
    sec.add(TableBlock(wel, name="ge_welfare", caption="Welfare change by region (percent, additive deficits)",
                       source=SOURCE, confirmed=False, floatfmt="{:,.4f}"))
    sec.add(TableBlock(theta_sensitivity(), name="ge_theta_sensitivity",
                       caption="25% US car tariff: sensitivity to the trade elasticity θ (additive deficits)",
                       source=SOURCE, confirmed=False, floatfmt="{:,.4f}"))
    inp = lines[["component", "scenario_use", "importer", "exporter", "product", "trade_year", "trade_usd_m",
                 "rate_base", "rate_2016", "trade_confirmed", "rate_confirmed", "note"]].copy()
    inp["confirmed"] = inp.trade_confirmed & (inp.rate_confirmed | inp.rate_base.isna())
    sec.add(TableBlock(inp.drop(columns=["trade_confirmed", "rate_confirmed"]), name="ge_inputs",
                       caption="Tariff lines and trade weights behind the scenarios (rates as fractions)",
                       source="KORUS facts: tariff_schedule, product_trade (compiled)", confirmed=True,
                       flag_column="confirmed", floatfmt="{:,.4f}"))
    car = bal[(bal.scenario.str.startswith("25%")) & (bal.deficits == "additive")].iloc[0]
    sec.summary = (f"GE: a 25% US car tariff would move the US–Korea balance by "
                   f"{car['US-KOR bilateral balance change (USD m)'] / 1000:+.1f}bn but the US total by "
                   f"{car['US total balance change (USD m)'] / 1000:+.1f}bn (deficits fixed); "
                   f"US welfare {car['US welfare (%)']:+.3f}%, Korea {car['KOR welfare (%)']:+.3f}% (unconfirmed data)")
    return sec
