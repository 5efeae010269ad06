"""KORUS report section: general-equilibrium counterfactuals on the built-in 8-region world.

``korus_section()`` runs three experiments (KORUS undone, the 2018 protocol's steel quota,
a 25% US tariff on Korean cars as a shock to its own sector) under additive and multiplicative
deficits, at low / central / high θ, and shows the US–Korea bilateral balance change, welfare by
region, PE and GE side by side for the car tariff, the inputs with their provenance, and the data
caveats. Every result states its closure and the outcomes the closure fixes; those are shown as
"fixed by assumption", never as results. Built-in data only.
"""
from __future__ import annotations

import pandas as pd

from tradepact.report.document import Chart, Note, Section, TableBlock

SOURCE = ("tradepact built-in world8 2016 (US Census, Eurostat, national customs; World Bank WDI GDP) and KORUS "
          "tariff/product facts (USTR, USDA, KAMA); GE model: tradepact.simulate.ge")


THETAS = ("low", "central", "high")


def _solve(base, s, deficits: str):
    from tradepact.simulate.ge import solve

    return solve(s.baseline if s.baseline is not None else base, s.shock, closure="full", deficits=deficits)


def korus_results(theta: float | None = None):
    """Solve every scenario under both deficit closures; returns (baseline, scenarios, results dict)."""
    from tradepact.simulate.ge.world8 import DEFAULT_THETA, korus_scenarios, world8_baseline

    base = world8_baseline(2016, theta or DEFAULT_THETA)
    scen = korus_scenarios(base)
    res = {(s.key, d): _solve(base, s, d) for s in scen for d in ("additive", "multiplicative")}
    return base, scen, res


def _total_balance_text(r) -> str:
    dec = r.balance_decomposition("USA", "KOR").set_index("partner")
    if r.closure == "full" and r.deficits == "additive":
        return "fixed by assumption"
    return f"{dec.at['TOTAL', 'balance_change']:+,.0f} (moves only with output: E/Y fixed by assumption)"


def balance_table(scen, res) -> pd.DataFrame:
    rows = []
    for s in scen:
        for d in ("additive", "multiplicative"):
            r = res[(s.key, d)]
            dec = r.balance_decomposition("USA", "KOR").set_index("partner")
            f = r.to_frame().set_index("country")
            split = r.pair_split("KOR", "USA", s.touched)
            rows.append({"scenario": s.title, "deficits": d,
                         "US imports from Korea Δ (USD m)": split["total_change"],
                         "US-KOR bilateral balance change (USD m)": dec.at["KOR", "balance_change"],
                         "US balance change with others (USD m)": dec.at["REST", "balance_change"],
                         "US total balance": _total_balance_text(r),
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


def car_tariff_range() -> pd.DataFrame:
    """The car tariff at the low / central / high trade elasticity θ (``gravity`` table), additive deficits.

    No total-balance column: under this closure it is fixed by assumption.
    """
    from tradepact.simulate.elasticities import theta_range
    from tradepact.simulate.ge.world8 import korus_scenarios, world8_baseline

    rows = []
    for case, th in theta_range().items():
        base = world8_baseline(2016, th)
        sc = {s.key: s for s in korus_scenarios(base)}["car_tariff"]
        r = _solve(base, sc, "additive")
        split = r.pair_split("KOR", "USA", sc.touched)
        dec = r.balance_decomposition("USA", "KOR").set_index("partner")
        f = r.to_frame().set_index("country")
        rows.append({"case": case, "theta": th, "cars from Korea Δ (USD m)": split["touched_change"],
                     "other goods from Korea Δ (USD m)": split["untouched_change"],
                     "bound on the other-goods change (USD m)": split["income_bound"],
                     "all US imports from Korea Δ (USD m)": split["total_change"],
                     "US-KOR bilateral balance change (USD m)": dec.at["KOR", "balance_change"],
                     "US welfare (%)": f.at["USA", "welfare_change_pct"],
                     "KOR welfare (%)": f.at["KOR", "welfare_change_pct"]})
    return pd.DataFrame(rows)


#: kept for callers of the earlier name; the range table has no closure-fixed column
def theta_sensitivity(thetas=None) -> pd.DataFrame:
    return car_tariff_range()


def pe_ge_reconciliation(ge_range: pd.DataFrame) -> pd.DataFrame:
    """The 25% car tariff through PE and GE on the same base (KAMA 2016 Korean car sales in the US).

    PE rows: constant-elasticity demand at the Hauk (2012) η range, and at η = −(1+θ) = −σ, the
    elasticity of the pre-tariff value the GE model implies for a small supplier; GE rows at
    θ low / central / high. Columns say which margins each model has.
    """
    from tradepact.simulate import elasticities as el
    from tradepact.simulate.ge.world8 import world8_tables
    from tradepact.simulate.pe import PESettings, simulate_pe

    lines = world8_tables()[2]
    M = float(lines[lines.component == "US-CARS"].iloc[0].trade_usd_m)
    r = el.line_ranges(pd.DataFrame({"hs": ["8703"]})).iloc[0]
    theta_c = float(ge_range.set_index("case").at["central", "theta"])
    cases = [(f"PE, η {lab} (Hauk 2012, import demand)", r[col], "η of all US car imports; no income effects; "
              "no other suppliers in the data, so no diversion") for lab, col in
             (("low", "eta_low"), ("central", "eta"), ("high", "eta_high"))]
    cases.append((f"PE, η = −(1+θ) = {-(1 + theta_c):g} (the GE's own elasticity)", -(1 + theta_c),
                  "same elasticity as the GE at θ central, partial equilibrium: no price or income effects"))
    rows = []
    for label, eta, why in cases:
        f = pd.DataFrame({"importer": ["USA"], "exporter": ["KOR"], "hs": ["8703"], "year": [2016],
                          "import_value": [M], "rate_before": [0.0], "rate_after": [0.25],
                          "import_demand_elasticity": [float(eta)]})
        t = simulate_pe(f, PESettings(functional_form="constant_elasticity")).lines.iloc[0]
        rows.append({"model": label, "cars from Korea Δ (USD m)": t["total_import_change"],
                     "other goods from Korea Δ (USD m)": 0.0, "all US imports from Korea Δ (USD m)":
                     t["total_import_change"], "why it differs": why})
    for g in ge_range.itertuples(index=False):
        rows.append({"model": f"GE, θ {g.case} = {g.theta:g} (σ = {g.theta + 1:g})",
                     "cars from Korea Δ (USD m)": g[2], "other goods from Korea Δ (USD m)": g[3],
                     "all US imports from Korea Δ (USD m)": g[5],
                     "why it differs": "substitution to US and third-country cars inside the car sector; prices "
                                       "and incomes adjust everywhere (other Korean goods get cheaper)"})
    return pd.DataFrame(rows)


def korus_section() -> Section:
    import plotly.graph_objects as go

    from tradepact.simulate.ge.results import closure_fixes
    from tradepact.simulate.ge.world8 import car_share, world8_tables

    base, scen, res = korus_results()
    bal = balance_table(scen, res)
    wel = welfare_table(scen, res)
    rng = car_tariff_range()
    trade, regions, lines = world8_tables()
    t16 = trade[trade.year == 2016]
    n_conf, n_all = int(t16.confirmed.sum()), len(t16)

    sec = Section(id="ge", title="General equilibrium: who gains, and what happens to the deficits")
    sec.add(Note(
        "A structural-gravity general-equilibrium model of 8 regions (USA, Korea, China, Japan, EU, Canada, "
        "Mexico, rest of world; 2016 goods trade) adds what product-level numbers cannot: when tariffs between "
        "the US and Korea change, trade is diverted to and from third countries and prices and incomes adjust "
        "everywhere. The argument that a country's total trade balance is set by its saving and spending, not "
        "by one partner's tariffs, is the article's and macroeconomists' argument; this model does not test "
        "it. It is built in: the model is run with each region's total deficit held fixed, and shows what a "
        "tariff does to the bilateral balance and to welfare given that assumption."))
    sec.add(Note("Closure: full endowment (wages, incomes and tariff revenue adjust). With additive deficits "
                 "it fixes by assumption " + "; ".join(closure_fixes("full", "additive")) + ". With "
                 "multiplicative deficits it fixes " + "; ".join(closure_fixes("full", "multiplicative"))
                 + ". These outcomes are shown as 'fixed by assumption', not as results.", kind="caveat"))
    for s in scen:
        sec.add(Note(f"{s.title}: {s.description}."))
    sec.add(Note(
        f"Data caveat: only {n_conf} of the {n_all} 2016 trade cells are confirmed against a cited source; the "
        "rest (including every rest-of-world cell) are recollections or residuals. Domestic flows are "
        "approximated as GDP minus goods exports and baseline tariffs are set to zero. KORUS undone and the "
        "steel quota are ad valorem equivalents on the aggregate bilateral flow; the car tariff is a shock to "
        f"its own sector (cars split out of the table; car content of the other cells assumed "
        f"{car_share().value:.1%} of each flow: {car_share().derivation}). Treat the magnitudes as illustrative and read them as ranges over θ.", kind="caveat"))

    fig = go.Figure()
    for d, pattern in (("additive", ""), ("multiplicative", "/")):
        sub = bal[bal.deficits == d]
        fig.add_bar(name=f"US–Korea bilateral balance ({d} deficits)", x=sub.scenario,
                    y=sub["US-KOR bilateral balance change (USD m)"], marker_pattern_shape=pattern,
                    marker_color="#1f4e79")
    fig.update_layout(barmode="group", title="US goods balance with Korea: change by scenario (θ = 5)",
                      yaxis_title="USD millions (2016)", legend_orientation="h")
    sec.add(Chart(fig, source=SOURCE, confirmed=False,
                  caption="The US total balance is not shown: the closure holds it fixed by assumption."))
    sec.add(TableBlock(bal, name="ge_balances", caption="Bilateral balance change by scenario (θ = 5); the total "
                       "balance column states what the closure fixes", source=SOURCE, confirmed=False,
                       flag_column="confirmed", floatfmt="{:,.3f}"))

    fig2 = go.Figure()
    for s in scen:
        fig2.add_bar(name=s.title, x=wel.region, y=wel[s.title])
    fig2.update_layout(barmode="group", title="Welfare (real expenditure) change by region, additive deficits",
                       yaxis_title="percent", legend_orientation="h")
    sec.add(Chart(fig2, source=SOURCE, confirmed=False, caption="Consumers in both countries and third countries."))
    sec.add(TableBlock(wel, name="ge_welfare", caption="Welfare change by region (percent, additive deficits)",
                       source=SOURCE, confirmed=False, floatfmt="{:,.4f}"))
    sec.add(TableBlock(rng, name="ge_theta_sensitivity",
                       caption="25% US car tariff at low / central / high θ (Head & Mayer 2014: 5; 3 and 8 as "
                               "the range), additive deficits. The other-goods change is the general-equilibrium "
                               "price and income effect, bounded as stated (2θ·max|ln ŵ| + |ln Ê|)",
                       source=SOURCE, confirmed=False, floatfmt="{:,.4f}"))
    sec.add(TableBlock(pe_ge_reconciliation(rng), name="ge_pe_reconciliation",
                       caption="The same 25% car tariff through PE and GE, on the same base (Korean car sales in "
                               "the US, 2016, KAMA): why the numbers differ", source=SOURCE + "; tradepact PE",
                       confirmed=False, floatfmt="{:,.1f}"))
    inp = lines[["component", "scenario_use", "importer", "exporter", "product", "trade_year", "trade_usd_m",
                 "rate_base", "rate_2016", "trade_confirmed", "rate_confirmed", "note"]].copy()
    inp["confirmed"] = inp.trade_confirmed & (inp.rate_confirmed | inp.rate_base.isna())
    sec.add(TableBlock(inp.drop(columns=["trade_confirmed", "rate_confirmed"]), name="ge_inputs",
                       caption="Tariff lines and trade weights behind the scenarios (rates as fractions)",
                       source="KORUS facts: tariff_schedule, product_trade (compiled)", confirmed=True,
                       flag_column="confirmed", floatfmt="{:,.4f}"))
    g = rng.set_index("case")

    def span(col: str, scale: float = 1000.0, fmt: str = "{:+.1f}") -> str:
        lo, hi = sorted((g.at["low", col] / scale, g.at["high", col] / scale))
        return f"{fmt.format(g.at['central', col] / scale)} ({fmt.format(lo)} to {fmt.format(hi)})"

    sec.summary = (f"GE, 25% US car tariff (θ 5, range 3–8): US imports from Korea "
                   f"{span('all US imports from Korea Δ (USD m)')}bn, of which cars "
                   f"{span('cars from Korea Δ (USD m)')}bn; the US–Korea balance "
                   f"{span('US-KOR bilateral balance change (USD m)')}bn; the US total balance is fixed by the "
                   f"closure (an assumption, not a result); US welfare {span('US welfare (%)', 1, '{:+.3f}')}%, "
                   f"Korea {span('KOR welfare (%)', 1, '{:+.3f}')}% (unconfirmed data)")
    return sec
