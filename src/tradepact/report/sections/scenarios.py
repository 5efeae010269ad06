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
    """Per product: rates in the first and last simulated year, the import-demand elasticity range and
    the effects in the last year (USD millions a year; the import change at the low / high η too)."""
    df = result.to_frame()
    df["product"] = _label(df)
    first, last = df["year"].min(), df["year"].max()
    g = df.groupby("product", sort=False)
    fin = df[df["year"] == last].set_index("product")
    eta = g[["eta_low", "import_demand_elasticity", "eta_high"]].first() if "eta_low" in df else None
    out = pd.DataFrame({
        "base value": g["import_value"].first(),
        f"rate {first} before → after": g.apply(lambda d: _rates(d, first), include_groups=False),
        f"rate {last} before → after": g.apply(lambda d: _rates(d, last), include_groups=False),
        "η low / central / high": (eta.apply(lambda r: " / ".join(f"{v:.2f}" for v in r), axis=1)
                                   if eta is not None else g["import_demand_elasticity"].first()),
        f"imports Δ {last}": fin["total_import_change"],
        f"imports Δ {last} %": 100 * fin["total_import_change"] / fin["import_value"].where(fin["import_value"] > 0),
        f"revenue Δ {last}": fin["tariff_revenue_change"],
        f"cons. surplus Δ {last}": fin["consumer_surplus_change"],
        f"quota rent Δ {last}": fin["quota_rent_change"],
        "confirmed": g["confirmed"].all() & g["rate_confirmed"].all(),
    }).reset_index()
    moved = (g["total_import_change"].apply(lambda v: v.abs().sum()) + g["tariff_revenue_change"].apply(
        lambda v: v.abs().sum()) + g["quota_rent_change"].apply(lambda v: v.abs().sum())).to_numpy() > 1e-9
    out = out[moved]
    return out.sort_values(f"imports Δ {last}", key=lambda v: -v.abs()).reset_index(drop=True)


def changed_flows(result) -> str:
    """What the scenario changes, named exactly: 'US imports of Cars from Korea (HS 8703)'."""
    df = result.to_frame()
    moved = df[(df[["total_import_change", "tariff_revenue_change", "quota_rent_change"]].abs() > 1e-9).any(axis=1)]
    moved = moved.drop_duplicates(["importer", "exporter", "hs"])
    names = {"USA": "US", "KOR": "Korean"}
    partner = {"USA": "the US", "KOR": "Korea"}
    desc = moved["description"].fillna("").str.replace(r"\s*\(.*\)$", "", regex=True) if "description" in moved \
        else moved["hs"]
    return "; ".join(f"{names.get(i, i)} imports of {d} from {partner.get(e, e)} (HS {h})"
                     for i, e, h, d in zip(moved["importer"], moved["exporter"], moved["hs"], desc))


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


def _headline(res) -> str:
    """The last simulated year's import change with its η range, and coverage of the lines moved."""
    h = res.headline()
    last = max(res.scenario.years)
    c = h["central"]["total_import_change"]
    lo, hi = sorted((h["low"]["total_import_change"], h["high"]["total_import_change"])) if "low" in h else (c, c)
    if hi - lo > 1e-6:
        rng = f"{c / 1000:+,.1f}bn (range {lo / 1000:+,.1f} to {hi / 1000:+,.1f}bn)"
    else:
        rng = f"{c / 1000:+,.1f}bn (the same at every η)"
    df = res.to_frame()
    d = df[df["year"] == last]
    moved = d[(d[["total_import_change", "tariff_revenue_change", "quota_rent_change"]].abs() > 1e-9).any(axis=1)]
    base = float(moved["import_value"].sum())
    pct = f", {c / base:+.0%} of their {base / 1000:,.1f}bn" if base > 0 else ""
    return f"{res.name} ({last}): imports of the lines it changes {rng}{pct}{_coverage(res, moved)}"


def _coverage(res, moved: pd.DataFrame) -> str:
    """'; the lines cover 21% of US imports from Korea (2017)' — share of the bilateral goods total."""
    from tradepact.data import korus

    goods = korus().goods
    goods = goods[goods["preferred"].astype(bool) & (goods["series"] == "US_CENSUS")]
    year = res.scenario.baseline.year
    row = goods[goods["year"] == year]
    if row.empty or moved.empty:
        return ""
    parts = []
    for (exp, imp), grp in moved.groupby(["exporter", "importer"]):
        total = float(row["imports"].iloc[0] if exp == "KOR" else row["exports"].iloc[0])
        parts.append(f"{grp['import_value'].sum() / total:.0%} of {_FLOW.get((exp, imp), exp + '→' + imp)}")
    return f"; the lines cover {' and '.join(parts)} ({year}, Census total)"


def korus_section() -> Section:
    """Effects by product and year of the built-in scenarios (korus-2018, auto-tariff-25, no-korus)."""
    from tradepact.errors import TradepactError
    from tradepact.simulate.scenario import builtin_scenarios, run_scenario

    sec = Section("scenarios", "Scenarios: what would the renegotiation do?")
    sec.add(Note("Product-level partial equilibrium (SMART, as in the World Bank's WITS, extended with tariff-rate "
                 "quotas and a time path): for each product line the change in the importer's imports of that "
                 "line from the partner when its tariff changes (trade creation, constant-elasticity demand with "
                 "the import-demand elasticity η), the shift between suppliers (trade diversion, with the "
                 "elasticity of substitution σ of the importer and product from Broda, Greenfield & Weinstein), and the tariff revenue and consumer surplus changes (the exact area under the demand "
                 "curve), year by year along the agreement's staging. Every effect is one year's, in USD millions "
                 "at the base year's values, and is shown as a range: low / central / high η. Scenarios are YAML "
                 "files (`tradepact scenarios`, `tradepact simulate NAME`)."))
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
        what = changed_flows(res)
        head = _headline(res)
        sec.add(Note(f"{head}. What changes: {what or 'no traded line'}.", kind="verdict"))
        sec.add(Chart(effects_chart(res), source="tradepact PE (SMART) on built-in KORUS product data; "
                      "tariff paths from tradepact.agreements; import-demand elasticities η from Hauk (2012)",
                      confirmed=confirmed,
                      caption="Bars: change in imports per product (creation + diversion), central η; lines: totals."))
        table = product_table(res)
        if not table.empty:
            sec.add(TableBlock(table, name=f"scenario_{res.name}", caption=f"{res.name}: effects by product in "
                               f"{res.scenario.years[-1]} (USD millions a year; η range low / central / high)",
                               source="tradepact PE", flag_column="confirmed"))
        if len(res.skipped):
            sk = res.skipped.drop_duplicates(["importer", "exporter", "hs"])
            names = ", ".join(f"{d} ({e}→{i})" for d, e, i in zip(sk.get("description", sk["hs"]), sk["exporter"],
                                                                   sk["importer"]))
            sec.add(Note(f"{res.name}: not simulated for lack of a tariff rate in the agreement data: {names}.",
                         kind="caveat"))
        for note in [n for n in res.notes if "skipped" not in n] + res.scenario.caveats:
            sec.add(Note(note, kind="caveat"))
        summaries.append(head)
    cov = _coverage_note(results)
    if cov is not None:
        sec.add(cov)
    sec.add(Note("Elasticities: import-demand elasticities η of US imports by HS6 from Hauk (2012), with their "
                 "standard errors. Lines with a wrong-signed or insignificant estimate (about two in five) take "
                 "the median of their HS4 group's kept estimates. A product line takes the trade-weighted mean "
                 "over its HS6 lines when a ledger store (TRADEPACT_STORE) holds its pair's HS6 imports, else the "
                 "median; the table of assumptions says which was used. The range is each estimate's 90% "
                 "interval. σ is looked up by importer and product (HS3, Broda–Greenfield–Weinstein). CEPII "
                 "ProTEE values are trade elasticities θ, not η, and are not used here.", kind="caveat"))
    rows = [dict(scenario=r.name, **a) for r in results for a in r.assumptions()]
    if rows:
        sec.add(TableBlock(pd.DataFrame(rows), name="scenario_assumptions",
                           caption="Assumptions of the scenario runs: taken as given, not measured (value used and "
                                   "source)", source="tradepact scenario runs", confirmed=True))
    sec.summary = "PE, one year each, USD: " + "; ".join(summaries)
    return sec
