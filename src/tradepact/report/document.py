"""The report document model and its self-contained HTML renderer.

A :class:`Report` is a title plus a list of :class:`Section`; a section is a list of
blocks (:class:`Note` text, :class:`Chart` plotly figures, :class:`TableBlock` frames).
Every chart and table carries its ``source`` and a ``confirmed`` flag; unconfirmed
material is marked visibly. Engines never import this module; report sections
(``tradepact.report.sections.*``) call the engines and build blocks.
"""
from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pandas as pd

UNCONFIRMED_MARK = "⚠ unconfirmed"


@dataclass
class Note:
    """A paragraph of text. ``html_text`` is trusted HTML; ``text`` is escaped."""

    text: str = ""
    html_text: str | None = None
    kind: str = "text"  # text | caveat | verdict

    def to_html(self) -> str:
        body = self.html_text if self.html_text is not None else html.escape(self.text)
        return f'<p class="note {self.kind}">{body}</p>'


@dataclass
class Chart:
    """A plotly figure with its provenance."""

    figure: object  # plotly.graph_objects.Figure
    source: str = ""
    confirmed: bool = True
    caption: str = ""
    #: exported image files of this chart, format -> path relative to the HTML file
    #: (filled by :meth:`Report.write` when it is asked to export charts)
    files: dict[str, str] = field(default_factory=dict)

    def to_html(self) -> str:
        legend_only_shown(self.figure)
        fig_html = self.figure.to_html(full_html=False, include_plotlyjs=False,
                                       config={"displaylogo": False, "responsive": True})
        mark = "" if self.confirmed else f' <span class="unconfirmed">{UNCONFIRMED_MARK}</span>'
        cap = f"<div class='caption'>{html.escape(self.caption)}</div>" if self.caption else ""
        links = " · ".join(f'<a class="download" href="{html.escape(p)}">{html.escape(fmt.upper())}</a>'
                           for fmt, p in self.files.items())
        links = f" · {links}" if links else ""
        src = (f"<div class='source'>Source: {html.escape(self.source)}{mark}{links}</div>"
               if (self.source or mark or links) else "")
        return f'<figure class="chart">{fig_html}{cap}{src}</figure>'


_PERCENT_NAMES = ("_pct", "pct_", "percent", "(%)")


def legend_only_shown(figure) -> object:
    """Keep series that show nothing (every value zero or missing) out of the legend, so a legend
    lists only what the chart draws. Changes ``figure`` in place and returns it."""
    import numpy as np

    for trace in getattr(figure, "data", ()):
        values = getattr(trace, "y", None) if getattr(trace, "orientation", None) != "h" else getattr(trace, "x", None)
        if values is None or trace.showlegend is False:
            continue
        try:
            arr = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        except (TypeError, ValueError):
            continue
        if arr.size and bool(np.all(np.nan_to_num(arr) == 0)):
            trace.showlegend = False
    return figure


def _precision(floatfmt: str) -> tuple[int, str]:
    """(digits, kind) of a format such as ``"{:,.3f}"`` (3, "f") or ``"{:,.4g}"`` (4, "g")."""
    import re

    m = re.search(r"\.(\d+)([fgeE%])", floatfmt)
    return (int(m.group(1)), m.group(2)) if m else (1, "f")


def _is_percent(name: object, declared: tuple[str, ...]) -> bool:
    text = str(name).lower()
    return str(name) in declared or any(k in text for k in _PERCENT_NAMES)


def _no_negative_zero(text: str) -> str:
    """``"-0.000"`` -> ``"0.000"`` (a value that rounds to zero has no sign)."""
    return text[1:] if text.startswith("-") and not any(ch in "123456789" for ch in text) else text


def format_number(v: float, floatfmt: str = "{:,.1f}", percent: bool = False, integral: bool = False) -> str:
    """A number for a reader: ``floatfmt`` digits, no ``-0.0``, whole-number columns without decimals,
    a value too small for the digits shown with two significant digits instead of ``0.0000`` (below
    1e-9 in absolute value it shows as zero), and
    ``%`` after values in percent."""
    if integral:
        out = f"{v:,.0f}"
    else:
        out = floatfmt.format(v)
        if abs(v) >= 1e-9 and not any(ch in "123456789" for ch in out.split("e")[0]):
            out = f"{v:.2g}"  # below 1e-9 a value is numerical noise and shows as zero
    out = _no_negative_zero(out)
    return out + "%" if percent else out


def _fmt(v: object, floatfmt: str, percent: bool = False, integral: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return format_number(v, floatfmt, percent, integral)
    if percent and isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}%"
    return html.escape(str(v))


def rounded_for_csv(frame: pd.DataFrame, floatfmt: str) -> pd.DataFrame:
    """Float columns rounded to the precision the table states (``floatfmt``) — no float noise
    such as ``-5199.700000000001`` in downloads; ``-0.0`` becomes ``0.0``."""
    import numpy as np

    digits, kind = _precision(floatfmt)
    out = frame.copy()
    for c in out.columns:
        col = out[c]
        if not pd.api.types.is_float_dtype(col):
            continue
        vals = col.to_numpy(dtype=float)
        if kind in ("g", "e", "E"):
            with np.errstate(divide="ignore", invalid="ignore"):
                mag = np.floor(np.log10(np.abs(vals)))
            mag = np.where(np.isfinite(mag), mag, 0)
            scale = 10.0 ** (digits - 1 - mag)
            vals = np.round(vals * scale) / scale
        else:
            vals = np.round(vals, digits + (2 if kind == "%" else 0))
        out[c] = vals + 0.0  # + 0.0 turns -0.0 into 0.0
    return out


@dataclass
class TableBlock:
    """A table with provenance; downloadable as CSV from the report.

    Rows whose ``flag_column`` is False get the unconfirmed mark and a highlight. Numbers are
    shown with ``floatfmt`` (whole-number columns without decimals, never ``-0.0``); columns in
    ``percent`` — and columns whose name says so (``…_pct``, ``percent``, ``(%)``) — hold values
    in percent and are shown with ``%``. The CSV download is rounded to the same precision. Wide
    tables scroll inside their own box.
    """

    frame: pd.DataFrame
    name: str = "table"
    caption: str = ""
    source: str = ""
    confirmed: bool = True
    flag_column: str | None = None
    floatfmt: str = "{:,.1f}"
    percent: tuple[str, ...] = ()

    def to_html(self) -> str:
        frame = self.frame
        cols = [c for c in frame.columns if c != self.flag_column]
        numeric = {c for c in cols if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}
        pct = {c for c in numeric if _is_percent(c, tuple(self.percent))}
        whole = {c for c in numeric if pd.api.types.is_float_dtype(frame[c]) and len(frame[c].dropna())
                 and bool((frame[c].dropna() % 1 == 0).all()) and frame[c].abs().max() >= 1}
        head = "".join(f"<th{' class=num' if c in numeric else ''}>{html.escape(str(c))}</th>" for c in cols)
        rows = []
        for rec in frame.to_dict("records"):
            flagged = self.flag_column is not None and not bool(rec.get(self.flag_column, True))
            cells = "".join(f"<td{' class=num' if c in numeric else ''}>"
                            f"{_fmt(rec[c], self.floatfmt, c in pct, c in whole)}</td>" for c in cols)
            if flagged:
                cells += f'<td class="unconfirmed">{UNCONFIRMED_MARK}</td>'
            rows.append(f'<tr class="{"flagged" if flagged else ""}">{cells}</tr>')
        csv_b64 = base64.b64encode(rounded_for_csv(frame, self.floatfmt).to_csv(index=False).encode()).decode()
        dl = (f'<a class="download" download="{html.escape(self.name)}.csv" '
              f'href="data:text/csv;base64,{csv_b64}">Download CSV</a>')
        mark = "" if self.confirmed else f' <span class="unconfirmed">{UNCONFIRMED_MARK}</span>'
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        src = f"<div class='source'>Source: {html.escape(self.source)}{mark} · {dl}</div>"
        return (f'<div class="table-block"><div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
                f'<tbody>{"".join(rows)}</tbody></table></div>{src}</div>')


Block = Union[Note, Chart, TableBlock]


@dataclass
class Section:
    """One titled part of a report (e.g. "Ledger", "Agreement", "Estimates")."""

    id: str
    title: str
    blocks: list[Block] = field(default_factory=list)
    summary: str = ""  # one line for the terminal summary

    def add(self, block: Block) -> "Section":
        self.blocks.append(block)
        return self


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:3px solid #1f4e79;padding-bottom:.3em}h2{color:#1f4e79;margin-top:2em;border-bottom:1px solid #ccd}
nav.toc{background:#f4f6fa;padding:.6em 1.2em;border-radius:6px}nav.toc li{margin:.2em 0}
.table-wrap{overflow-x:auto;max-width:100%}table{border-collapse:collapse;width:100%;font-size:.92em;margin:.6em 0}th,td{border-bottom:1px solid #e3e3e3;padding:.3em .5em;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}td:not(.num){min-width:8em;max-width:36em}thead th{background:#eef2f8}tr.flagged{background:#fff7e0}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
.unconfirmed{color:#a15c00;font-weight:600}.source{color:#666;font-size:.85em}.caption{font-size:.9em;color:#444}
.note.caveat{background:#fff7e0;border-left:4px solid #e0a000;padding:.4em .8em}.note.verdict{font-weight:600}
a.download{color:#1f4e79}figure.chart{margin:1em 0;max-width:100%;overflow-x:auto}.table-block{margin:.6em 0 1.2em}
.note,.caption,.source{overflow-wrap:anywhere}footer{margin-top:3em;color:#888;font-size:.85em}
"""


@dataclass
class Report:
    """A titled list of sections; :meth:`write` renders one offline HTML file."""

    title: str
    sections: list[Section] = field(default_factory=list)
    subtitle: str = ""

    def to_html(self) -> str:
        import plotly.offline

        from tradepact import __version__

        plotly_js = plotly.offline.get_plotlyjs()
        toc = "".join(f'<li><a href="#{s.id}">{html.escape(s.title)}</a></li>' for s in self.sections)
        body = []
        for s in self.sections:
            blocks = "\n".join(b.to_html() for b in s.blocks)
            body.append(f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>\n{blocks}</section>')
        sub = f"<p>{html.escape(self.subtitle)}</p>" if self.subtitle else ""
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style>"
            f"<script type='text/javascript'>{plotly_js}</script></head><body>"
            f"<h1>{html.escape(self.title)}</h1>{sub}<nav class='toc'><strong>Contents</strong><ol>{toc}</ol></nav>"
            + "\n".join(body)
            + f"<footer>Generated by tradepact {__version__}. Figures marked {UNCONFIRMED_MARK} were not "
              "confirmed in a cited source; check them before relying on them.</footer></body></html>"
        )

    def charts(self) -> list[tuple[str, Chart]]:
        """Every chart with a stable name ``<section id>-<n>`` (n counts from 1 within the section)."""
        out = []
        for s in self.sections:
            n = 0
            for b in s.blocks:
                if isinstance(b, Chart):
                    n += 1
                    out.append((f"{s.id}-{n}", b))
        return out

    def write(self, out_dir: str | Path, filename: str = "index.html", charts: tuple[str, ...] = (),
              engine: str = "auto") -> Path:
        """Write the report to ``out_dir/filename`` atomically; returns the path.

        ``charts``: image formats (``"png"``, ``"pdf"``, ``"svg"``) to export every chart in,
        to ``out_dir/charts/<section>-<n>.<fmt>``, linked from the HTML beside each chart's
        source (see :func:`tradepact.report.export.export_charts`; ``engine`` picks kaleido or
        matplotlib).
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for _, chart in self.charts():
            legend_only_shown(chart.figure)
        if charts:
            from tradepact.report.export import export_charts

            export_charts(self, out / "charts", formats=tuple(charts), engine=engine)
        path = out / filename
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(self.to_html(), encoding="utf-8")
        tmp.replace(path)
        return path
