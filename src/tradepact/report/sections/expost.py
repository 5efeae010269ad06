"""KORUS report section "Did KORUS raise trade?": the ex-post answer on the built-in world panel.

Runs :func:`tradepact.gravity.expost.expost` for KORUS and the USA on the built-in UN Comtrade ×
World Bank DTA panel (1988–2016, every four years), with placebo pairs, and
:func:`~tradepact.gravity.expost.agreements_ranking` for every US agreement in the panel; then sets
the answer beside what was predicted (USITC 2007 ex-ante, USITC 2016 ex-post) and the raw Census
before/after change. Comtrade-basis and Census-basis dollars are kept in separate columns.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from tradepact.report.document import Chart, Note, Section, TableBlock

#: placebo pairs re-estimated for the report's permutation p-value (resolution 1/(N+1))
KORUS_PLACEBOS = 40
#: Census before/after years: the last full year before entry into force and the panel's last year
BEFORE, AFTER = 2011, 2016
PANEL_SOURCE = ("UN Comtrade flows × World Bank Deep Trade Agreements (penppml data, MIT; World Bank data CC BY 4.0); "
                "tradepact PPML-HDFE")


@lru_cache(maxsize=2)
def korus_expost(placebos: int = KORUS_PLACEBOS):
    """The KORUS ex-post result (USA; built-in panel) with ``us_agreements`` and ``predicted_vs_realized``
    in its ``extra`` (cached: the report and ``korus --format json`` share one run)."""
    from tradepact.data import dta_agreements, dta_panel
    from tradepact.gravity.expost import expost

    panel, names = dta_panel(), dta_agreements()
    res = expost(panel, "korus", "USA", placebos=placebos, names=names, rank_agreements=True)
    res.extra["predicted_vs_realized"] = predicted_vs_realized(res).to_dict("records")
    return res


def predicted_vs_realized(res) -> pd.DataFrame:
    """What was predicted and what happened, one row per source and measure (USD millions).

    Columns: ``source, kind, measure, period, usitc_low_usd_mn, usitc_high_usd_mn, comtrade_basis_usd_mn,
    census_basis_usd_mn, confirmed``; each row fills only the column of its own basis.
    """
    from tradepact.data import korus

    facts = korus()
    a = facts.assessments
    rows: list[dict] = []

    def add(source, kind, measure, period, lo=None, hi=None, comtrade=None, census=None, confirmed=True):
        rows.append({"source": source, "kind": kind, "measure": measure, "period": period,
                     "usitc_low_usd_mn": lo, "usitc_high_usd_mn": hi, "comtrade_basis_usd_mn": comtrade,
                     "census_basis_usd_mn": census, "confirmed": bool(confirmed)})

    def pick(study, text):
        hit = a[(a["study_id"] == study) & a["indicator"].str.contains(text, case=False, regex=False)]
        return None if hit.empty else hit.iloc[0]

    x07, m07 = pick("USITC2007", "merchandise exports to Korea"), pick("USITC2007", "merchandise imports from Korea")
    if x07 is not None and m07 is not None:
        conf = bool(x07["confirmed"]) and bool(m07["confirmed"])
        add("USITC 2007 (Pub. 3949)", "ex-ante (CGE)", "US exports to Korea", "annual, full implementation",
            x07["value_low"], x07["value_high"], confirmed=x07["confirmed"])
        add("USITC 2007 (Pub. 3949)", "ex-ante (CGE)", "US imports from Korea", "annual, full implementation",
            m07["value_low"], m07["value_high"], confirmed=m07["confirmed"])
        add("USITC 2007 (Pub. 3949)", "ex-ante (CGE)", "US balance with Korea", "annual, full implementation",
            x07["value_low"] - m07["value_high"], x07["value_high"] - m07["value_low"], confirmed=conf)
    x16, b16 = pick("USITC2016", "Increase in US exports"), pick("USITC2016", "trade balance")
    if x16 is not None:
        add("USITC 2016 report", "ex-post (econometric)", "US exports to Korea", "through 2015",
            x16["value_low"], x16["value_high"], confirmed=x16["confirmed"])
    if b16 is not None:
        add("USITC 2016 report", "ex-post (econometric)", "US balance with Korea", "2015",
            b16["value_low"], b16["value_high"], confirmed=b16["confirmed"])
    t = res.terms
    last = res.window[1]
    x, m = t["exports"]["usd_mn"], t["imports"]["usd_mn"]
    add("tradepact gravity (this report)", "ex-post (PPML, pair FE)", "US exports to Korea", f"{last} flow", comtrade=x)
    add("tradepact gravity (this report)", "ex-post (PPML, pair FE)", "US imports from Korea", f"{last} flow", comtrade=m)
    add("tradepact gravity (this report)", "ex-post (PPML, pair FE)", "US balance with Korea", f"{last} flow",
        comtrade=None if x is None or m is None else x - m)
    g = facts.goods
    g = g[(g["series"] == "US_CENSUS") & g["preferred"].astype(bool)].set_index("year")
    if BEFORE in g.index and AFTER in g.index:
        b, f = g.loc[BEFORE], g.loc[AFTER]
        conf = bool(b["confirmed"]) and bool(f["confirmed"])
        period = f"{BEFORE} → {AFTER}"
        add("US Census goods", "raw before/after change", "US exports to Korea", period,
            census=f["exports"] - b["exports"], confirmed=conf)
        add("US Census goods", "raw before/after change", "US imports from Korea", period,
            census=f["imports"] - b["imports"], confirmed=conf)
        add("US Census goods", "raw before/after change", "US balance with Korea", period,
            census=(f["exports"] - f["imports"]) - (b["exports"] - b["imports"]), confirmed=conf)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- charts
def coefficient_chart(res):
    import plotly.graph_objects as go

    rows = [(f"{k} ({res.window[0]}-{res.window[1]})", v["estimate"], v["se"]) for k, v in res.terms.items()
            if v["estimate"] is not None]
    rows += [(f"{s['term']} ({s['window'][0]}-{s['window'][1]}, {s['spec']})", s["estimate"], s["se"])
             for s in res.sensitivity if not (list(s["window"]) == list(res.window) and s["spec"] == "directional")]
    labels = [r[0] for r in rows][::-1]
    est = np.array([r[1] for r in rows][::-1])
    se = np.array([r[2] for r in rows][::-1])
    fig = go.Figure(go.Scatter(x=est, y=labels, mode="markers", marker=dict(size=9, color="#1f4e79"),
                               error_x=dict(type="data", array=1.96 * se), hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="#7f8c8d")
    fig.update_layout(title="KORUS terms and their sensitivity (log points, 95% intervals)",
                      xaxis_title="estimate (log points; e^b − 1 = % change)", height=420, margin=dict(l=260))
    return fig


def event_chart(res):
    import plotly.graph_objects as go

    ev = res.event_frame()
    fig = go.Figure()
    for d, color in (("exports", "#1f4e79"), ("imports", "#c0392b")):
        e = ev[ev["direction"] == d]
        fig.add_scatter(x=e["year"], y=e["estimate"], mode="lines+markers", name=f"US {d}",
                        line=dict(color=color), error_y=dict(type="data", array=1.96 * e["se"]))
    fig.add_vline(x=res.agreement.entry - 0.5, line_dash="dash", line_color="#7f8c8d",
                  annotation_text="KORUS in force (March 2012)")
    fig.add_hline(y=0, line_color="#bbb")
    ref = ", ".join(map(str, res.pretrend.get("reference", [])))
    fig.update_layout(title="US–Korea trade relative to its pair baseline, by year (log points, 95% intervals)",
                      xaxis_title=f"year (reference: {ref})", yaxis_title="log points", height=420)
    return fig


def placebo_chart(res):
    import plotly.graph_objects as go

    fig = go.Figure()
    for d, color in (("exports", "#1f4e79"), ("imports", "#c0392b")):
        draws = np.asarray(res.placebo.get(d, []), dtype=float)
        fig.add_histogram(x=draws[np.isfinite(draws)], name=f"placebo {d}", marker_color=color, opacity=0.55,
                          nbinsx=30)
        b = res.terms[d]["estimate"]
        if b is not None:
            fig.add_vline(x=b, line_color=color, line_width=3, annotation_text=f"KORUS {d} {b:+.2f}",
                          annotation_position="top left" if d == "exports" else "top right")
    fig.update_layout(barmode="overlay", height=400, xaxis_title="placebo estimate (log points)",
                      title=f"{res.placebo['n']} placebo pairs vs KORUS (US exports and imports terms)")
    return fig


def ranking_chart(rank: pd.DataFrame):
    import plotly.graph_objects as go

    colors = ["#c0392b" if i == 211 else "#1f4e79" for i in rank["agreement_id"]]
    labels = [f"{n} ({e})" for n, e in zip(rank["agreement"], rank["entry"])]
    fig = go.Figure(go.Scatter(x=rank["estimate"], y=labels, mode="markers", marker=dict(color=colors, size=9),
                               error_x=dict(type="data", array=1.96 * rank["se"]),
                               hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.add_vline(x=0, line_dash="dash", line_color="#7f8c8d")
    fig.update_layout(title="US exports under each US agreement in the panel, one regression (log points, 95%)",
                      height=480, margin=dict(l=320), xaxis_title="estimate (log points)")
    return fig


# ----------------------------------------------------------------------------- section
def korus_section() -> Section:
    """The "Did KORUS raise trade?" section (built-in panel; about a minute of CPU, shared over the cores)."""
    res = korus_expost()
    sec = Section("expost", "Did KORUS raise trade? The ex-post answer")
    t, p = res.terms, res.placebo
    x, m = t["exports"], t["imports"]
    sec.summary = (f"US exports to Korea {x['estimate']:+.2f} log points (se {x['se']:.2f}; placebo p = "
                   f"{p['p_exports']:.2f}), imports {m['estimate']:+.2f} (se {m['se']:.2f}); a pre-trend and the "
                   "window decide the sign")
    sig = abs(x["estimate"] / x["se"]) > 1.96
    sec.add(Note(
        f"On a panel of every country pair's merchandise trade ({res.window[0]}–{res.window[1]}, every four years, "
        f"{res.nobs:,} observations), US exports to Korea in the years KORUS was in force were "
        f"{x['pct'] * 100:+.0f}% relative to what exporter-year, importer-year and pair fixed effects predict "
        f"({x['estimate']:+.3f}, clustered se {x['se']:.3f}{', significant at 5%' if sig else ''}); US imports from Korea "
        f"{m['pct'] * 100:+.0f}% ({m['estimate']:+.3f}, se {m['se']:.3f}). The +$10–11B of exports predicted in 2007 "
        f"does not appear in the trade data — but read the next three findings before taking any single number.",
        kind="verdict"))
    ev = res.event_frame()
    if len(ev):
        e = ev[ev["direction"] == "exports"].set_index("year")["estimate"]
        sec.add(Note(
            "A pre-trend, a window choice and one treated pair decide the headline: by year, US exports to Korea were "
            + ", ".join(f"{v:+.2f} in {y}" for y, v in e.items())
            + f" against their pair baseline — already below it in {max(y for y in e.index if y < res.agreement.entry)}, "
            f"before entry into force (pre-trend test chi2({res.pretrend['df']}) = {res.pretrend['chi2']:.1f}, "
            f"{_p(res.pretrend['p'])}). Relative to that last pre-agreement year the post-entry change is "
            + ", ".join(f"{r.change_vs_last_pre:+.2f} (se {r.change_se:.2f}) in {r.year}"
                        for r in ev[(ev["direction"] == "exports") & ev["change_vs_last_pre"].notna()].itertuples())
            + "."))
    sens = pd.DataFrame(res.sensitivity)
    if len(sens):
        sx = sens[sens["term"] == "exports"]
        sec.add(Note("The window matters: the US-exports term is "
                     + ", ".join(f"{r.estimate:+.2f} on {r.window[0]}–{r.window[1]}" for r in sx.itertuples()) + "."))
    verdict = ("many comparable pairs moved as much as US–Korea trade did without any agreement"
               if p["p_exports"] > 0.1 else "few comparable pairs moved as much without an agreement")
    sec.add(Note(
        f"With one treated pair the clustered standard error leans on one cluster. Assigning the same two "
        f"directional terms to {p['n']} untreated pairs (never under an agreement, trading before and after, each "
        f"direction at least a tenth of US–Korea trade before 2012) and re-estimating gives a permutation p-value of "
        f"{p['p_exports']:.2f} for exports and {p['p_imports']:.2f} for imports: {verdict}.", kind="caveat"))
    sec.add(Chart(coefficient_chart(res), source=PANEL_SOURCE,
                  caption="Directional KORUS terms, the other-agreements term, and the same terms on other windows "
                          "and pooled over both directions."))
    sec.add(Chart(event_chart(res), source=PANEL_SOURCE, caption="Event study: leads and lags of the two "
                                                                  "directions; the dashed line marks entry into force."))
    if p["n"]:
        sec.add(Chart(placebo_chart(res), source=PANEL_SOURCE,
                      caption="Placebo distribution: the same terms on untreated pairs, with KORUS marked."))
    table = res.to_frame()
    table = table.assign(pct=table["pct"] * 100)
    sec.add(TableBlock(table, name="expost_terms", caption="Ex-post terms (log points; pct = e^b − 1 in %; usd_mn = "
                       f"{res.window[1]} flow × (1 − e^−b), Comtrade basis, USD millions)", source=PANEL_SOURCE,
                       floatfmt="{:,.3f}"))
    rank = pd.DataFrame(res.extra.get("us_agreements", []))
    if len(rank):
        sec.add(Chart(ranking_chart(rank), source=PANEL_SOURCE,
                      caption="KORUS (red) among all US agreements in the panel: each agreement's own US-exports term."))
    pvr = pd.DataFrame(res.extra.get("predicted_vs_realized", []))
    if len(pvr):
        sec.add(Note(
            "An ex-ante estimate is a counterfactual: how much higher trade would be with the agreement than without "
            "it, everything else equal. A before/after change mixes the agreement with everything else that moved "
            "trade in those years (growth, exchange rates, prices of oil and chips), so it can fall while the "
            "agreement's effect is positive, or rise while it is nil. The gravity estimate is the ex-post "
            "counterfactual: it nets out what happened to each country's trade with everyone."))
        sec.add(TableBlock(pvr, name="predicted_vs_realized",
                           caption="Predicted vs realised (USD millions). USITC figures as published; the gravity "
                                   "estimate on the Comtrade basis; the raw change on the Census basis — never mixed "
                                   "in one column.",
                           source="USITC Pub. 3949 (2007); USITC 2016 report (via Yonhap); tradepact; US Census Bureau",
                           flag_column="confirmed", floatfmt="{:,.0f}"))
    sec.add(Note("Data: UN Comtrade merchandise exports (USD, exporter basis) with the agreement in force from the "
                 "World Bank Deep Trade Agreements database, as compiled in the penppml R package (Ferreras Garrucho, "
                 "Zylkin, Cruz & Apfel; MIT licence; World Bank data CC BY 4.0). Comtrade values differ from the "
                 "Census figures in the rest of this report (US exports to Korea 2016: 35.5bn here, 42.3bn Census)."))
    return sec


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
