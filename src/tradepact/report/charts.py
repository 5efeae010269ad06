"""Chart builders shared by the report and the dashboard (plotly figures from tidy frames).

Each function takes the tidy frame an engine returns and gives a ``plotly.graph_objects.Figure``.
Values are USD millions unless the axis says otherwise; tariffs (fractions in data) are
shown in percent. Unconfirmed points are drawn with open markers / hatched bars.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=50),
               legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))


def _go():
    import plotly.graph_objects as go

    return go


def ledger_figure(frame: pd.DataFrame, a: str, b: str) -> Any:
    """Goods, services and total balance of ``a`` with ``b`` by year (bars + line).

    ``frame``: columns ``year, goods_balance, services_balance, total_balance`` and
    optionally ``confirmed`` (bool); USD millions from ``a``'s point of view.
    """
    go = _go()
    fig = go.Figure()
    years = frame["year"].astype(int).tolist() if len(frame) else []
    confirmed = frame["confirmed"].astype(bool) if "confirmed" in frame else pd.Series(True, index=frame.index)
    pattern = ["" if c else "/" for c in confirmed]
    for col, label, color in (("goods_balance", "Goods balance", "#1f4e79"),
                              ("services_balance", "Services balance", "#6aa84f")):
        if col in frame:
            fig.add_bar(x=years, y=frame[col].tolist(), name=label, marker_color=color,
                        marker_pattern_shape=pattern)
    if "total_balance" in frame:
        fig.add_scatter(x=years, y=frame["total_balance"].tolist(), name="Total balance",
                        mode="lines+markers", line=dict(color="#c00000", width=2),
                        marker=dict(symbol=["circle" if c else "circle-open" for c in confirmed], size=8))
    fig.update_layout(title=f"{a}'s trade balance with {b} (USD millions)", barmode="group",
                      yaxis_title="USD millions", xaxis_title="year", **_LAYOUT)
    fig.add_hline(y=0, line_width=1, line_color="#888")
    fig.update_xaxes(tickformat="d")
    return fig


def rate_path_figure(frame: pd.DataFrame, title: str) -> Any:
    """Tariff rate by year, one line per (importer, exporter, hs) series; rates in percent.

    ``frame``: columns ``year, rate`` (fraction) and optionally ``hs, importer, exporter,
    confirmed``.
    """
    go = _go()
    fig = go.Figure()
    keys = [k for k in ("importer", "exporter", "hs") if k in frame]
    groups = frame.groupby(keys, sort=True) if keys else [((), frame)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        g = g.sort_values("year")
        conf = g["confirmed"].astype(bool) if "confirmed" in g else pd.Series(True, index=g.index)
        name = " ".join(str(k) for k in key) or "rate"
        fig.add_scatter(x=g["year"].astype(int).tolist(), y=(g["rate"].astype(float) * 100).tolist(),
                        mode="lines+markers", name=name, line_shape="hv",
                        marker=dict(symbol=["circle" if c else "circle-open" for c in conf], size=7))
    fig.update_layout(title=title, yaxis_title="tariff rate (%)", xaxis_title="year", **_LAYOUT)
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(tickformat="d")
    return fig


def scenario_figure(lines: pd.DataFrame, title: str, value: str = "trade_creation") -> Any:
    """A scenario's effect (``value``, USD millions) by year, stacked by HS code.

    ``lines``: the scenario's per-line frame with columns ``year``, ``hs`` and ``value``.
    With one year only, bars by HS code.
    """
    go = _go()
    fig = go.Figure()
    if len(lines) and value in lines:
        by = lines.groupby(["hs", "year"], sort=True)[value].sum().reset_index()
        years = sorted(by["year"].unique())
        if len(years) == 1:
            fig.add_bar(x=by["hs"].astype(str).tolist(), y=by[value].tolist(), name=value)
            fig.update_layout(xaxis_title="HS code", xaxis_type="category")
        else:
            for hs, g in by.groupby("hs", sort=True):
                fig.add_bar(x=g["year"].astype(int).tolist(), y=g[value].tolist(), name=str(hs))
            fig.update_layout(barmode="relative", xaxis_title="year")
            fig.update_xaxes(tickformat="d")
    fig.update_layout(title=title, yaxis_title=f"{value.replace('_', ' ')} (USD millions)", **_LAYOUT)
    return fig
