"""KORUS report section: the agreement's tariff paths, what the 2018 renegotiation changed,
and which of the built-in schedule's figures are unconfirmed (built-in data only)."""
from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import plotly.graph_objects as go

from tradepact.report.document import Chart, Note, Section, TableBlock

#: Headline products for the chart: (label, importer, exporter, hs, day, as_of, dash)
HEADLINE = [
    ("Korea: beef muscle meat (0201)", "KOR", "USA", "0201", None, None, "solid"),
    ("Korea: chilled pork (0203.11)", "KOR", "USA", "020311", None, None, "solid"),
    ("Korea: oranges, off-season (0805.10)", "KOR", "USA", "080510", "06-01", None, "solid"),
    ("Korea: passenger cars (8703)", "KOR", "USA", "8703", None, None, "solid"),
    ("US: passenger cars (8703)", "USA", "KOR", "8703", None, None, "solid"),
    ("US: light trucks (8704), 2018 protocol", "USA", "KOR", "8704", None, None, "solid"),
    ("US: light trucks (8704), terms before 2018", "USA", "KOR", "8704", None, dt.date(2017, 12, 31), "dash"),
]
YEARS = list(range(2010, 2043))
CHECKPOINTS = [2011, 2012, 2016, 2018, 2021, 2026, 2041]
COLORS = ["#8e44ad", "#d35400", "#f39c12", "#1f4e79", "#2e8b57", "#c0392b", "#c0392b"]


def rate_paths(ag) -> pd.DataFrame:
    """Headline rate paths: one row per product and year (``product, year, rate, confirmed, ...``)."""
    from tradepact.agreements import rates

    parts = []
    for label, imp, exp, hs, day, as_of, _ in HEADLINE:
        frame = pd.DataFrame({"importer": imp, "exporter": exp, "hs": hs, "year": YEARS})
        if day:
            frame["day"] = day
        out = rates(ag, frame, as_of=as_of)
        out.insert(0, "product", label)
        out["as_of"] = as_of
        parts.append(out)
    return pd.concat(parts, ignore_index=True)


def rate_paths_chart(paths: pd.DataFrame, events: list[tuple[dt.date, str]]) -> go.Figure:
    """Tariff (percent) by year for each product; open markers = unconfirmed years."""
    fig = go.Figure()
    for (label, *_rest, dash), color in zip(HEADLINE, COLORS):
        sub = paths[paths["product"] == label]
        conf = sub["confirmed"].to_numpy()
        fig.add_scatter(
            x=sub["year"], y=100 * sub["rate"], name=label, mode="lines+markers", line=dict(color=color, dash=dash,
                                                                                             shape="hv"),
            marker=dict(size=6, symbol=["circle" if c else "circle-open" for c in conf]),
            customdata=["" if c else " (unconfirmed)" for c in conf],
            hovertemplate="%{x}: %{y:.2f}%%{customdata}<extra>" + html.escape(label) + "</extra>")
    for day, label in events:
        x = day.year + (day.timetuple().tm_yday - 1) / 365.25
        fig.add_vline(x=x, line_dash="dot", line_color="#7f8c8d")
        fig.add_annotation(x=x, y=1.04, yref="paper", text=label, showarrow=False, font=dict(size=11))
    fig.update_layout(title="KORUS tariff paths of headline products (partner-country goods)",
                      xaxis_title="year (rate in force at year end)", yaxis_title="tariff, % ad valorem",
                      legend=dict(orientation="h", y=-0.2), margin=dict(t=70), template="plotly_white",
                      height=520)
    return fig


def _day(d: dt.date) -> str:
    return f"{d.day} {d:%B %Y}"


def _years_text(ranges) -> str:
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges)


def korus_section() -> Section:
    """The "Agreement" section of the KORUS report, from the built-in agreement only."""
    from tradepact.agreements import changes, load_agreement, quotas, text_as_of
    from tradepact.agreements.staging import describe

    ag = load_agreement("korus")
    ams = {a.id: a for a in ag.amendments}
    protocol = ams["KORUS-2018-PROTOCOL"]
    paths = rate_paths(ag)
    sec = Section("agreement", "The agreement: KORUS tariff commitments year by year")

    def at(label, year):
        row = paths[(paths["product"] == label) & (paths["year"] == year)].iloc[0]
        return row["rate"]

    beef, trucks, trucks_old = HEADLINE[0][0], HEADLINE[5][0], HEADLINE[6][0]
    zero_old = min(y for y in YEARS if at(trucks_old, y) == 0)
    zero_new = min(y for y in YEARS if at(trucks, y) == 0)
    beef_zero = min(y for y in YEARS if at(beef, y) == 0)
    sec.summary = (f"Korea's beef tariff {at(beef, 2011):.0%} → {at(beef, 2018):.1%} (2018) → 0 ({beef_zero}); "
                   f"cars to 0 in 2016 both ways; the 2018 protocol moved the end of the US 25% light-truck "
                   f"tariff from {zero_old} to {zero_new}")
    sec.add(Note(
        f"KORUS entered into force on {_day(ag.entry_into_force)}. Year 1 of every staging category began "
        f"then and later cuts take effect on 1 January, as the agreement file declares; a calendar year shows "
        f"the rate in force at its end. Rates come from tradepact's built-in agreement (headline lines compiled "
        f"from USTR, USDA FAS, USMEF and USITC fact sheets, not the legal Annex 2-B schedule). Query any line "
        f"with `tradepact schedule korus --importer KOR --hs 0201`."))
    events = [(ag.entry_into_force, "in force"), (protocol.effective, "2018 protocol")]
    sec.add(Chart(rate_paths_chart(paths, events),
                  source="tradepact built-in KORUS agreement (per-line sources in the table below)",
                  confirmed=bool(paths["confirmed"].all()),
                  caption="Open markers: years whose value rests on an assumption (e.g. the US truck tariff held "
                          "at 25% in 2019–2040, equal cuts where only the end point is stated). The dashed line "
                          "is the light-truck path under the terms in force before the 2018 protocol "
                          "(as of 2017-12-31)."))
    # checkpoints table
    cp = paths[paths["year"].isin(CHECKPOINTS)]
    wide = cp.pivot_table(index="product", columns="year", values="rate", sort=False).reset_index()
    for y in CHECKPOINTS:
        wide[y] = [f"{100 * v:.2f}%" if v == v else "—" for v in wide[y]]
    conf = cp.groupby("product", sort=False)["confirmed"].all()
    wide["confirmed"] = wide["product"].map(conf)
    wide.columns = [str(c) for c in wide.columns]
    sec.add(TableBlock(wide, name="korus_rate_checkpoints",
                       caption="Tariff on the partner's goods at check points (rate in force at year end)",
                       source="tradepact built-in KORUS agreement", flag_column="confirmed"))

    # what 2018 changed
    ch = changes(ag)
    y18 = ch[ch["effective"].map(lambda d: d.year in (2018, 2019)) & (ch["target_kind"] != "category")]
    table = pd.DataFrame({
        "amendment": y18["amendment"], "in force": y18["effective"].astype(str), "target": y18["target"],
        "before": y18["before"], "after": y18["after"],
        "outside the agreement": y18["outside_agreement"].map({True: "yes (US Section 232)", False: ""}),
        "source": y18["source"], "confirmed": y18["confirmed"]})
    fm_before = quotas(ag, 2018).set_index("id").loc["KR-FMVSS-ALLOWANCE", "volume"]
    fm_after = quotas(ag, 2019).set_index("id").loc["KR-FMVSS-ALLOWANCE", "volume"]
    steel = quotas(ag, 2018).set_index("id").loc["US-STEEL-232-QUOTA"]
    steel_am = ams[ch.loc[ch["target"] == "US-STEEL-232-QUOTA", "amendment"].iloc[0]]
    tariff_lines = sorted(set(ch.loc[(ch["amendment"] == protocol.id) & (ch["target_kind"] == "line"), "target"]))
    others = ("It changed no other tariff line in the built-in schedule (beef and pork access was untouched)."
              if tariff_lines == ["US-LIGHT-TRUCKS"] else f"Tariff lines changed: {', '.join(tariff_lines)}.")
    sec.add(Note(
        f"What the 2018 renegotiation changed. The protocol (signed {_day(protocol.agreed)}, in force "
        f"{_day(protocol.effective)}) kept the US {at(trucks, zero_new - 1):.0%} tariff on Korean light trucks through {zero_new - 1} "
        f"(eliminated 1 January {zero_new}) instead of ending it in {zero_old}, and raised the number of cars per "
        f"US maker that Korea accepts on US safety standards from {fm_before:,.0f} to {fm_after:,.0f}. {others} "
        f"The steel quota agreed alongside it is a US measure outside the agreement text, under "
        f"{steel['legal_basis'].split(' (')[0]}: "
        f"Korea was exempted from the 25% Section 232 steel tariff for an absolute quota of about "
        f"{steel['volume'] / 1e6:.2f} million tonnes a year, from {_day(steel_am.effective)}.", kind="verdict"))
    sec.add(TableBlock(table.drop(columns=["source"]), name="korus_2018_changes",
                       caption="Changes made in 2018 (from `tradepact schedule korus --changes`)",
                       source=" | ".join(dict.fromkeys(s for s in y18["source"])), flag_column="confirmed"))
    q = quotas(ag, 2019)
    q = q[q["kind"] != "safeguard_trigger"][["id", "kind", "importer", "exporter", "hs", "volume", "unit",
                                              "outside_agreement", "confirmed"]]
    sec.add(TableBlock(q, name="korus_quantity_limits_2019", caption="Quantity limits in force in 2019",
                       source="tradepact built-in KORUS agreement", flag_column="confirmed", floatfmt="{:,.0f}"))

    # where the built-in figures are unconfirmed
    text = text_as_of(ag, None)
    rows = []
    for ln in text.lines:
        issues = []
        if ln.unconfirmed_years:
            issues.append(f"values assumed for {_years_text(ln.unconfirmed_years)}")
        if ln.effective_base is None:
            issues.append("base rate not found")
        if not ln.confirmed:
            issues.append("base rate or staging unconfirmed")
        if not ln.hs_confirmed:
            issues.append("HS code mapped by the compiler")
        if issues:
            rows.append({"line": ln.id, "importer": ln.importer, "product": ln.description,
                         "staging": describe(text.categories[ln.category]), "unconfirmed": "; ".join(issues),
                         "note": ln.notes or "",
                         "confirmed": not (ln.unconfirmed_years or ln.effective_base is None or not ln.confirmed)})
    unc = pd.DataFrame(rows)
    n_years = int((~unc["confirmed"]).sum())
    sec.add(Note(
        f"Where the built-in schedule is unconfirmed: {n_years} of {len(text.lines)} lines have years whose value "
        f"rests on an assumption or a base rate the sources do not give, and most HS codes are the compiler's "
        f"mapping of fact-sheet product names. Check these against KORUS Annex 2-B before relying on them.",
        kind="caveat"))
    sec.add(TableBlock(unc[~unc["confirmed"]], name="korus_unconfirmed_lines",
                       caption="Lines with assumed or missing figures", source="tradepact built-in KORUS agreement",
                       flag_column="confirmed"))
    items = "".join(f"<li>{html.escape(s)}</li>"
                    for s in dict.fromkeys(p.strip() for ln in text.lines for p in ln.source.split("|")))
    sec.add(Note(html_text=f"Sources of the built-in schedule:<ul class='sources'>{items}</ul>"))
    return sec
