"""Plotly chart builders shared by report sections and the web dashboard."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import plotly.graph_objects as go

PALETTE = {"goods": "#1f4e79", "services": "#2e8b57", "total": "#c0392b", "neutral": "#7f8c8d",
           "unconfirmed": "#e0a000"}


def _year_fraction(day: dt.date) -> float:
    return day.year + (day.timetuple().tm_yday - 1) / 365.25


def balance_chart(frame: pd.DataFrame, title: str, events: list[tuple[dt.date, str]] = ()) -> go.Figure:
    """Goods and services balances (bars) and total balance (line) per year, USD billions.

    ``frame``: a ledger ``bilateral`` frame (USD millions). Unconfirmed figures are drawn
    hatched and listed in the hover text. ``events``: (date, label) vertical markers.
    """
    fig = go.Figure()
    years = frame["year"]
    for col, name, color, flag in (("goods_balance", "Goods balance", PALETTE["goods"], "goods_confirmed"),
                                   ("services_balance", "Services balance", PALETTE["services"], "services_confirmed")):
        conf = frame[flag] if flag in frame else pd.Series(True, index=frame.index)
        fig.add_bar(x=years, y=frame[col] / 1000, name=name, marker_color=color,
                    marker_pattern_shape=["" if c else "/" for c in conf],
                    customdata=["" if c else " (unconfirmed)" for c in conf],
                    hovertemplate="%{x}: %{y:,.1f} bn USD%{customdata}<extra>" + name + "</extra>")
    total = frame  # NaN years break the line: no total is drawn across years without services data
    fig.add_scatter(x=total["year"], y=total["total_balance"] / 1000, name="Total (goods + services)",
                    mode="lines+markers", line=dict(color=PALETTE["total"], width=2), connectgaps=False,
                    marker=dict(size=9, symbol=["circle" if c else "circle-open" for c in total["confirmed"]]),
                    hovertemplate="%{x}: %{y:,.1f} bn USD<extra>Total</extra>")
    for day, label in events:
        x = _year_fraction(day)
        fig.add_vline(x=x, line_dash="dash", line_color=PALETTE["neutral"])
        fig.add_annotation(x=x, y=1.02, yref="paper", text=label, showarrow=False,
                           font=dict(size=11, color=PALETTE["neutral"]), xanchor="left")
    fig.add_hline(y=0, line_color="#444", line_width=1)
    fig.update_layout(title=title, barmode="relative", yaxis_title="USD billions",
                      xaxis=dict(dtick=2), legend=dict(orientation="h", y=-0.15), template="plotly_white",
                      margin=dict(t=70, b=40), height=460)
    return fig


def flows_chart(frame: pd.DataFrame, title: str, a: str, b: str) -> go.Figure:
    """Goods exports and imports of ``a`` with ``b`` per year (USD billions)."""
    fig = go.Figure()
    fig.add_scatter(x=frame["year"], y=frame["goods_exports"] / 1000, name=f"{a} goods exports to {b}",
                    mode="lines+markers", line=dict(color=PALETTE["goods"]))
    fig.add_scatter(x=frame["year"], y=frame["goods_imports"] / 1000, name=f"{a} goods imports from {b}",
                    mode="lines+markers", line=dict(color=PALETTE["total"]))
    fig.update_layout(title=title, yaxis_title="USD billions", template="plotly_white",
                      legend=dict(orientation="h", y=-0.15), height=380, xaxis=dict(dtick=2))
    return fig


_LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=60, b=50),
               legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0))


def rate_path_figure(frame: pd.DataFrame, title: str) -> Any:
    """Tariff rate by year, one line per (importer, exporter, hs) series; rates in percent.

    ``frame``: columns ``year, rate`` (fraction) and optionally ``hs, importer, exporter,
    confirmed``.
    """
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
