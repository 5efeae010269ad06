"""KORUS report section "Scenarios": PE effects by product and year of each built-in scenario."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from tradepact.report.document import Chart, Note, Section, TableBlock

_FLOW = {("KOR", "USA"): "US imports from Korea", ("USA", "KOR"): "Korean imports from the US"}


def _label(frame: pd.DataFrame) -> pd.Series:
    desc = frame["description"].fillna("") if "description" in frame else pd.Series("", index=frame.index)
    return (desc.str.replace(r"\s*\(.*\)$", "", regex=True) + " (" + frame["exporter"] + "→" + frame["importer"]
            + ", HS " + frame["hs"] + ")")


def effects_chart(result) -> go.Figure:
    """Change in imports (trade creation + diversion) by product and year, USD millions (stacked bars),
    with the total tariff revenue and consumer surplus changes as lines."""
    df = result.to_frame()
    df["product"] = _label(df)
    fig = go.Figure()
    moved = df.groupby("product")["total_import_change"].apply(lambda s: s.abs().sum())
    for prod in moved[moved > 1e-9].sort_values(ascending=False).index:
        d = df[df["product"] == prod].sort_values("year")
        fig.add_bar(x=d["year"], y=d["total_import_change"], name=prod,
                    hovertemplate="%{x}: %{y:,.1f} USD m<extra>" + prod + "</extra>")
    by_year = result.by("total", ("year",))
    fig.add_scatter(x=by_year["year"], y=by_year["tariff_revenue_change"], name="Tariff revenue change (all lines)",
                    mode="lines+markers", line=dict(color="#7f8c8d", dash="dot"))
    fig.add_scatter(x=by_year["year"], y=by_year["consumer_surplus_change"], name="Consumer surplus change (all lines)",
                    mode="lines+markers", line=dict(color="#c0392b"))
    if by_year["quota_rent_change"].abs().max() > 1e-9:
        fig.add_scatter(x=by_year["year"], y=by_year["quota_rent_change"], name="Quota rent change",
                        mode="lines+markers", line=dict(color="#2e8b57", dash="dash"))
    fig.add_hline(y=0, line_color="#444", line_width=1)
    fig.update_layout(title=f"{result.name}: change in imports by product and year (PE)", barmode="relative",
                      yaxis_title="USD millions", template="plotly_white", height=440,
                      legend=dict(orientation="h", y=-0.2), xaxis=dict(dtick=2))
    return fig


def product_table(result) -> pd.DataFrame:
    """Per product: rates in the first and last simulated year, the effects in the last year and the
    trade creation summed over all years (USD millions)."""
    df = result.to_frame()
    df["product"] = _label(df)
    first, last = df["year"].min(), df["year"].max()
    g = df.groupby("product", sort=False)
    fin = df[df["year"] == last].set_index("product")
    out = pd.DataFrame({
        "base value": g["import_value"].first(),
        f"rate {first} before → after": g.apply(lambda d: _rates(d, first), include_groups=False),
        f"rate {last} before → after": g.apply(lambda d: _rates(d, last), include_groups=False),
        "elasticity": g["import_demand_elasticity"].first(),
        f"imports Δ {last}": fin["total_import_change"],
        f"revenue Δ {last}": fin["tariff_revenue_change"],
        f"cons. surplus Δ {last}": fin["consumer_surplus_change"],
        f"quota rent Δ {last}": fin["quota_rent_change"],
        f"imports Δ Σ {first}–{last}": g["total_import_change"].sum(),
        "confirmed": g["confirmed"].all() & g["rate_confirmed"].all(),
    }).reset_index()
    moved = (g["total_import_change"].apply(lambda v: v.abs().sum()) + g["tariff_revenue_change"].apply(
        lambda v: v.abs().sum()) + g["quota_rent_change"].apply(lambda v: v.abs().sum())).to_numpy() > 1e-9
    out = out[moved]
    return out.sort_values(f"imports Δ Σ {first}–{last}", key=lambda v: -v.abs()).reset_index(drop=True)


def _rates(d: pd.DataFrame, year: int) -> str:
    row = d[d["year"] == year]
    if row.empty:
        return "—"
    b, a = float(row["rate_before"].iloc[0]), float(row["rate_after"].iloc[0])
    fa = "prohibitive" if a == float("inf") else f"{a:.1%}"
    q = row["quota_after"].iloc[0] if "quota_after" in row else float("nan")
    quota = f" (quota {q:,.0f})" if q == q else ""
    return f"{b:.1%} → {fa}{quota}"


def _coverage_note(results) -> Note | None:
    """Share of the bilateral goods totals covered by the product lines simulated (cross-basis, indicative)."""
    from tradepact.data import korus

    if not results:
        return None
    goods = korus().goods
    goods = goods[goods["preferred"].astype(bool)] if "preferred" in goods else goods
    frames = [r.to_frame().assign(base_year=r.scenario.baseline.year) for r in results if r.pe is not None]
    if not frames:
        return None
    used = pd.concat(frames).drop_duplicates(["base_year", "importer", "exporter", "hs"])
    parts = []
    for (year, exp, imp), grp in used.groupby(["base_year", "exporter", "importer"]):
        row = goods[goods["year"] == year]
        if row.empty:
            continue
        total = float(row["imports"].iloc[0] if exp == "KOR" else row["exports"].iloc[0])
        parts.append(f"{_FLOW.get((exp, imp), exp + '→' + imp)} {year}: {grp['import_value'].sum():,.0f} of "
                     f"{total:,.0f} USD m ({grp['import_value'].sum() / total:.0%})")
    if not parts:
        return None
    return Note("Product coverage (lines with trade data and a tariff rate, against the Census goods total of the "
                "same direction; the lines are on Korean and USDA bases, so shares are indicative): "
                + "; ".join(parts) + ".", kind="caveat")


def korus_section() -> Section:
    """Effects by product and year of the built-in scenarios (korus-2018, auto-tariff-25, no-korus)."""
    from tradepact.errors import TradepactError
    from tradepact.simulate.scenario import builtin_scenarios, run_scenario

    sec = Section("scenarios", "Scenarios: what would the renegotiation do?")
    sec.add(Note("Product-level partial equilibrium (SMART, as in the World Bank's WITS, extended with tariff-rate "
                 "quotas and a time path): for each product line the import change from the tariff change "
                 "(trade creation, M·η·Δt/(1+t) to first order), the shift between sources (trade diversion, "
                 "Armington σ = 1.5), the tariff revenue and consumer surplus changes, year by year along the "
                 "agreement's staging. Values in USD millions at the base year's prices; built-in product data "
                 "and CEPII ProTEE elasticities. Scenarios are YAML files (`tradepact scenarios`, "
                 "`tradepact simulate NAME`)."))
    results, summaries = [], []
    for name in builtin_scenarios():
        try:
            res = run_scenario(name)
        except TradepactError as exc:
            sec.add(Note(f"Scenario {name} could not be run: {exc}", kind="caveat"))
            summaries.append(f"{name}: not run")
            continue
        results.append(res)
        sec.add(Note(f"{res.name}: {res.scenario.description}", kind="verdict"))
        if res.pe is None:
            sec.add(Note(f"{res.name}: no traded line with a tariff rate is affected.", kind="caveat"))
            continue
        lines = res.to_frame()
        moved = lines[(lines[["total_import_change", "tariff_revenue_change", "quota_rent_change"]].abs() > 1e-9)
                      .any(axis=1)]
        confirmed = bool(moved["confirmed"].all() and moved["rate_confirmed"].all())
        sec.add(Chart(effects_chart(res), source="tradepact PE (SMART) on built-in KORUS product data; "
                      "tariff paths from tradepact.agreements; CEPII ProTEE 0.1 elasticities",
                      confirmed=confirmed,
                      caption="Bars: change in imports per product (creation + diversion); lines: totals."))
        table = product_table(res)
        if not table.empty:
            sec.add(TableBlock(table, name=f"scenario_{res.name}", caption=f"{res.name}: effects by product in "
                               f"{res.scenario.years[-1]}, and the import change summed over "
                               f"{res.scenario.years[0]}–{res.scenario.years[-1]} (USD millions)",
                               source="tradepact PE", flag_column="confirmed"))
        if len(res.skipped):
            sk = res.skipped.drop_duplicates(["importer", "exporter", "hs"])
            names = ", ".join(f"{d} ({e}→{i})" for d, e, i in zip(sk.get("description", sk["hs"]), sk["exporter"],
                                                                   sk["importer"]))
            sec.add(Note(f"{res.name}: not simulated for lack of a tariff rate in the agreement data: {names}.",
                         kind="caveat"))
        for note in [n for n in res.notes if "skipped" not in n] + res.scenario.caveats:
            sec.add(Note(note, kind="caveat"))
        last = max(res.scenario.years)
        t = res.by("total", ("year",)).set_index("year").loc[last]
        summaries.append(f"{res.name}: imports {t['total_import_change'] / 1000:+,.1f}bn, consumer surplus "
                         f"{t['consumer_surplus_change'] / 1000:+,.2f}bn in {last}")
    cov = _coverage_note(results)
    if cov is not None:
        sec.add(cov)
    sec.add(Note("Elasticities: CEPII ProTEE 0.1 product-level trade elasticities (HS6, common to all importers; "
                 "mean about −10), averaged over the HS6 codes a product line covers. They are several times "
                 "larger in magnitude than Kee–Nicita–Olarreaga import demand elasticities, so these effects are "
                 "upper bounds; the built-in scenarios use the constant-elasticity form so large tariff changes "
                 "stay bounded. No imports from third countries are in the built-in data, so trade diversion "
                 "towards other suppliers is not computed.", kind="caveat"))
    sec.summary = "PE, USD: " + "; ".join(summaries)
    return sec
