"""KORUS report section: the US–Korea goods, services and total balance, before and after."""
from __future__ import annotations

import html

from tradepact.report.charts import balance_chart, flows_chart
from tradepact.report.document import Chart, Note, Section, TableBlock


def korus_section() -> Section:
    """Balances 2006–2024 from built-in Census/BEA facts, entry into force marked."""
    from tradepact.data import korus
    from tradepact.ledger.balances import before_after, builtin_bilateral, distinct_sources, vintages

    facts = korus()
    # the built-in official figures this section describes — not whatever a ledger store holds for the pair
    frame = builtin_bilateral("USA", "KOR")
    eif = facts.entry_into_force
    amend = facts.events[facts.events["event"].str.contains("amendments enter into force", case=False)]
    events = [(eif, "KORUS in force")]
    if len(amend):
        import datetime as dt

        events.append((dt.date.fromisoformat(amend["date"].iloc[0]), "2018 protocol in force"))
    sec = Section("ledger", "The ledger: US trade with Korea")
    g11, g16 = (frame.set_index("year").loc[y, "goods_balance"] for y in (2011, 2016))
    last = frame.iloc[-1]
    sec.summary = (f"US goods balance with Korea: {g11 / 1000:,.1f}bn (2011) → {g16 / 1000:,.1f}bn (2016) → "
                   f"{last.goods_balance / 1000:,.1f}bn ({int(last.year)}); services surplus 2016 "
                   f"{frame.set_index('year').loc[2016, 'services_balance'] / 1000:,.1f}bn")
    sec.add(Note(f"From the US point of view, in USD. Goods: US Census (total exports f.a.s., general imports "
                 f"customs value). Services: BEA figures as published by USTR; official US services figures by "
                 f"partner exist in the built-in facts only for 2011, 2012, 2016, 2017 (and exports for 2018), so "
                 f"the total balance is shown only for those years. KORUS entered into force on {eif:%d %B %Y}."))
    unconfirmed = frame[~frame["confirmed"]]
    sec.add(Chart(balance_chart(frame, "US balance with Korea: goods, services and total", events),
                  source="US Census Bureau (goods), BEA via USTR (services); tradepact built-in KORUS facts",
                  confirmed=unconfirmed.empty,
                  caption="Hatched bars and open markers are unconfirmed figures."))
    sec.add(Chart(flows_chart(frame, "US goods exports to and imports from Korea", "US", "Korea"),
                  source="US Census Bureau (c5800 country series)"))
    ba = before_after(frame, eif)
    for col in ("before_growth", "after_growth"):
        ba[col] = [f"{v:+.1%} a year" if v == v else "—" for v in ba[col]]
    sec.add(TableBlock(ba, name="before_after", caption="Yearly averages before and after entry into force over "
                       "exactly the years listed (USD millions; growth = compound annual growth of the level). An "
                       "average over a period with missing years is refused, and the note says which are missing",
                       source="tradepact ledger", flag_column="confirmed", floatfmt="{:,.0f}"))
    if not unconfirmed.empty:
        years = ", ".join(str(y) for y in unconfirmed["year"])
        sec.add(Note(f"Unconfirmed figures: {years} (marked). Check them against the Census/BEA releases "
                     f"before relying on them.", kind="caveat"))
    table = frame.drop(columns=["goods_confirmed", "services_confirmed", "source"])
    sec.add(TableBlock(table, name="us_korea_ledger", caption="Per year (USD millions)",
                       source="the documents listed below (per-year sources: tradepact ledger USA KOR --format json)",
                       flag_column="confirmed"))
    sec.add(Note("Data vintages (when each figure was published; later releases revise the last years): "
                 + vintages(frame) + "."))
    items = "".join(f"<li>{html.escape(s)}</li>" for s in distinct_sources(frame["source"]))
    sec.add(Note(html_text=f"Sources:<ul class='sources'>{items}</ul>"))
    return sec
