"""Report polish: numbers formatted for a reader, CSV rounded to the stated precision, legends only
for series shown, and — in real headless Chromium at 1280 px, network blocked — nothing overflows
the page: wide tables scroll inside their own box. The screenshot is kept in test-artifacts/."""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from tradepact.report.document import (Chart, Note, Report, Section, TableBlock, format_number,
                                       legend_only_shown, rounded_for_csv)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.parametrize("value, fmt, percent, integral, shown", [
    (-0.00000000001, "{:,.4f}", False, False, "0.0000"),   # numerical noise: no "-0.0000"
    (-0.00004, "{:,.4f}", False, False, "-4e-05"),         # small but real: not hidden as zero
    (3.0, "{:,.4f}", False, True, "3"),                     # whole-number column: no "3.0000"
    (-5199.700000000001, "{:,.1f}", False, False, "-5,199.7"),
    (1.23456, "{:,.2f}", True, False, "1.23%"),
    (-0.0, "{:,.3f}", False, False, "0.000"),
])
def test_numbers_for_a_reader(value, fmt, percent, integral, shown):
    assert format_number(value, fmt, percent, integral) == shown


def _csv(block: TableBlock) -> pd.DataFrame:
    b64 = re.search(r'href="data:text/csv;base64,([^"]+)"', block.to_html()).group(1)
    return pd.read_csv(io.StringIO(base64.b64decode(b64).decode()))


def test_table_cells_and_csv_download():
    frame = pd.DataFrame({"region": ["KOR", "USA", "ROW"], "theta": [3.0, 3.0, 3.0],
                          "welfare_pct": [0.1234567, -0.0000000001, -0.0421],
                          "balance": [-5199.700000000001, 12.25, -0.00000001]})
    block = TableBlock(frame, name="ge", floatfmt="{:,.4f}")
    cells = re.findall(r"<td class=num>([^<]*)</td>", block.to_html())
    assert cells[:4] == ["3", "0.1235%", "-5,199.7000", "3"]
    assert "-0.0000" not in block.to_html() and "0.0000%" in cells
    csv = _csv(block)
    assert csv["balance"].tolist() == [-5199.7, 12.25, 0.0]
    raw = base64.b64decode(re.search(r"base64,([^\"]+)", block.to_html()).group(1)).decode()
    assert "5199.700000000001" not in raw and "-0.0," not in raw
    g = rounded_for_csv(pd.DataFrame({"v": [123456.789, 0.000123456, -2.5e-7]}), "{:,.4g}")
    assert g["v"].tolist() == [123500.0, 0.0001235, -2.5e-7]


def test_legend_lists_only_series_that_show():
    fig = go.Figure([go.Bar(x=[2019, 2020], y=[1.0, 2.0], name="8703"),
                     go.Bar(x=[2019, 2020], y=[0.0, 0.0], name="8704"),
                     go.Bar(x=[2019, 2020], y=[None, np.nan], name="0201")])
    legend_only_shown(fig)
    assert [t.showlegend for t in fig.data] == [None, False, False]


def _wide_report() -> Report:
    wide = pd.DataFrame({f"column with a long name {k}": np.linspace(-1e6, 1e6, 12) * (k + 1) for k in range(24)})
    wide.insert(0, "source", ["US Census Bureau annual country file 'U.S. Trade in Goods by Country' " * 2] * 12)
    fig = go.Figure([go.Bar(x=list(range(2000, 2030)), y=list(range(30)), name="series")])
    return Report("Layout check", [
        Section("wide", "A wide table", [
            Note("A note with a long unbroken identifier " + "x" * 300),
            TableBlock(wide, name="wide", caption="Twenty-five columns", source="synthetic"),
            Chart(fig, source="synthetic"),
        ])])


@pytest.mark.browser
def test_nothing_overflows_at_1280_px_offline(tmp_path):
    from playwright.sync_api import sync_playwright

    from tradepact.report.korus import korus_report, korus_sections

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run .ci/system-packages (apt-get install chromium)")
    reports = {"korus": korus_report(korus_sections()), "wide": _wide_report()}
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            for name, report in reports.items():
                path = report.write(tmp_path / name)
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                requested: list[str] = []

                def block(route, req, seen=requested):
                    seen.append(req.url)
                    route.abort()

                context.route(re.compile(r"^https?://"), block)  # offline: nothing may be fetched
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                page.screenshot(path=str(ARTIFACTS / f"report-{name}-1280.png"), full_page=True)
                doc_width = page.evaluate("document.documentElement.scrollWidth")
                inner = page.evaluate("window.innerWidth")
                assert doc_width <= inner, f"{name}: the page is {doc_width} px wide at a {inner} px window"
                sticking_out = page.evaluate("""() => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                                 && !e.closest('.table-wrap, .js-plotly-plot'))
                    .map(e => e.tagName + '.' + e.className).slice(0, 5)""")
                assert not sticking_out, f"{name}: elements past the right edge: {sticking_out}"
                boxes = page.evaluate("""() => [...document.querySelectorAll('.table-wrap')].map(w => ({
                    right: w.getBoundingClientRect().right, scroll: w.scrollWidth, client: w.clientWidth,
                    overflow: getComputedStyle(w).overflowX}))""")
                assert boxes and all(b["right"] <= inner and b["overflow"] == "auto" for b in boxes)
                if name == "wide":
                    assert boxes[0]["scroll"] > boxes[0]["client"], "the wide table should scroll in its box"
                assert not requested, f"{name}: the report asked the network for {requested[:3]}"
                assert not errors, errors
                context.close()
        finally:
            browser.close()
