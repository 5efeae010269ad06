"""The KORUS report's Agreement section: built from the built-in agreement, with its checks visible."""
from __future__ import annotations

import pytest

from tradepact.report.document import Chart, Note, Report, TableBlock
from tradepact.report.sections.agreement import HEADLINE, korus_section, rate_paths


@pytest.fixture(scope="module")
def section():
    return korus_section()


def test_section_summary_and_blocks(section):
    assert section.id == "agreement"
    assert "21.3%" in section.summary and "2041" in section.summary and "2021" in section.summary
    kinds = [type(b) for b in section.blocks]
    assert Chart in kinds and TableBlock in kinds and Note in kinds


def test_rate_paths_chart(section):
    chart = next(b for b in section.blocks if isinstance(b, Chart))
    names = [t.name for t in chart.figure.data]
    assert names == [h[0] for h in HEADLINE]
    trucks = next(t for t in chart.figure.data if t.name.endswith("2018 protocol"))
    ys = dict(zip(trucks.x, trucks.y))
    assert ys[2040] == pytest.approx(25.0) and ys[2041] == 0.0
    old = next(t for t in chart.figure.data if t.name.endswith("before 2018"))
    assert dict(zip(old.x, old.y))[2021] == 0.0
    beef = dict(zip(chart.figure.data[0].x, chart.figure.data[0].y))
    assert beef[2018] == pytest.approx(40 * 8 / 15) and beef[2026] == 0.0
    # unconfirmed years are drawn with open markers and the chart is flagged
    assert "circle-open" in trucks.marker.symbol and not chart.confirmed


def test_checkpoints_table(section):
    tab = next(b for b in section.blocks if isinstance(b, TableBlock) and b.name == "korus_rate_checkpoints")
    row = tab.frame.set_index("product").loc["Korea: passenger cars (8703)"]
    assert (row["2011"], row["2012"], row["2016"]) == ("8.00%", "4.00%", "0.00%")
    us = tab.frame.set_index("product").loc["US: passenger cars (8703)"]
    assert (us["2011"], us["2016"]) == ("2.50%", "0.00%")


def test_what_2018_changed(section):
    verdict = next(b for b in section.blocks if isinstance(b, Note) and b.kind == "verdict")
    assert "2041" in verdict.text and "50,000" in verdict.text and "Section 232" in verdict.text
    tab = next(b for b in section.blocks if isinstance(b, TableBlock) and b.name == "korus_2018_changes")
    assert set(tab.frame["target"]) == {"US-LIGHT-TRUCKS", "KR-FMVSS-ALLOWANCE", "US-STEEL-232-QUOTA"}
    steel = tab.frame[tab.frame["target"] == "US-STEEL-232-QUOTA"].iloc[0]
    assert steel["outside the agreement"].startswith("yes")


def test_unconfirmed_marked(section):
    tab = next(b for b in section.blocks if isinstance(b, TableBlock) and b.name == "korus_unconfirmed_lines")
    lines = set(tab.frame["line"])
    assert {"US-LIGHT-TRUCKS", "KR-PORK-CHILLED", "KR-APPLES"} <= lines and "KR-BEEF-MUSCLE" not in lines
    trucks = tab.frame.set_index("line").loc["US-LIGHT-TRUCKS", "unconfirmed"]
    assert "2019–2040" in trucks
    html = Report("t", [section]).to_html()
    assert "⚠ unconfirmed" in html and "Sources of the built-in schedule" in html


def test_rate_paths_frame():
    from tradepact.agreements import load_agreement

    paths = rate_paths(load_agreement("korus"))
    assert len(paths) == len(HEADLINE) * 33 and (paths["rate"] >= 0).all()
