"""Export a report's charts as PNG/PDF/SVG files for briefs.

Two engines:

* ``kaleido`` (v1): plotly's own renderer, the image looks exactly like the interactive
  chart. It drives a headless Chrome/Chromium through ``choreographer``; on Debian it finds
  ``/usr/bin/chromium`` (``BROWSER_PATH`` overrides). All charts go through one browser
  session (``plotly.io.write_images``), so the start-up cost is paid once.
* ``matplotlib``: redraws bar and line charts from the figure's data (title, axis titles,
  trace names, hatching for unconfirmed bars, open markers kept as hollow points). Used when
  no browser is available, or on request.

``engine="auto"`` tries kaleido and falls back to matplotlib.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Sequence

from tradepact.errors import ConfigError, TradepactError

FORMATS = ("png", "pdf", "svg")
ENGINES = ("auto", "kaleido", "matplotlib")


class ExportError(TradepactError):
    """A chart could not be exported (no renderer available, or the renderer failed)."""


def _check(formats: Sequence[str], engine: str) -> tuple[str, ...]:
    formats = tuple(f.lower().strip() for f in formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ConfigError(f"chart format {bad[0]!r} not supported; expected one of {', '.join(FORMATS)}")
    if engine not in ENGINES:
        raise ConfigError(f"chart engine {engine!r} not supported; expected one of {', '.join(ENGINES)}")
    return formats


def find_browser() -> str | None:
    """Path of a Chrome/Chromium kaleido can drive: ``BROWSER_PATH`` or one on PATH."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).exists():
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        hit = shutil.which(name)
        if hit:
            return hit
    return None


def export_figures(figures: Sequence[Any], paths: Sequence[Path], engine: str = "auto",
                   width: int = 1000, height: int = 560) -> str:
    """Write each plotly figure to its path (format from the suffix); returns the engine used."""
    if not figures:
        return "none"
    if engine in ("auto", "kaleido"):
        try:
            _kaleido(figures, paths, width, height)
            return "kaleido"
        except Exception as exc:  # noqa: BLE001 - fall back, or report why kaleido failed
            if engine == "kaleido":
                raise ExportError(f"kaleido could not export charts ({type(exc).__name__}: {exc}); "
                                  "install Chromium (apt-get install chromium) or set BROWSER_PATH, "
                                  "or use --chart-engine matplotlib") from exc
    _matplotlib(figures, paths, width, height)
    return "matplotlib"


def export_charts(report: Any, out_dir: str | Path, formats: Sequence[str] = ("png",),
                  engine: str = "auto") -> list[Path]:
    """Export every chart of ``report`` to ``out_dir/<section>-<n>.<fmt>``; returns the files.

    Each chart's ``files`` is set to the paths relative to ``out_dir``'s parent (the folder
    of the HTML report), so the report links them.
    """
    formats = _check(formats, engine)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    named = report.charts()
    figures, paths = [], []
    for fmt in formats:
        for name, chart in named:
            figures.append(chart.figure)
            paths.append(out / f"{name}.{fmt}")
    export_figures(figures, paths, engine=engine)
    for fmt in formats:
        for name, chart in named:
            chart.files[fmt] = f"{out.name}/{name}.{fmt}"
    return paths


def _kaleido(figures: Sequence[Any], paths: Sequence[Path], width: int, height: int) -> None:
    """Render through kaleido v1, asking it for each figure's error (plotly's ``write_images``
    discards them, so a render that timed out on a loaded machine left only a missing file);
    figures that failed are rendered once more, then their first error is raised."""
    import kaleido
    import plotly.io as pio

    browser = find_browser()
    if browser is None:
        raise ExportError("no Chrome/Chromium found (BROWSER_PATH or PATH)")
    os.environ.setdefault("BROWSER_PATH", browser)
    kopts = {k: getattr(pio.defaults, k) for k in ("plotlyjs", "mathjax") if getattr(pio.defaults, k, None)}
    specs = [{"fig": fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig, "path": Path(path),
              "opts": {"format": Path(path).suffix.lstrip(".").lower(), "width": width, "height": height,
                       "scale": 1}, "topojson": getattr(pio.defaults, "topojson", None)}
             for fig, path in zip(figures, paths)]
    errors: tuple = ()
    for _attempt in range(2):
        errors = tuple(kaleido.write_fig_from_object_sync(specs, kopts=kopts, cancel_on_error=False) or ())
        specs = [s for s in specs if not s["path"].is_file() or s["path"].stat().st_size == 0]
        if not specs:
            return
    detail = f": {type(errors[0]).__name__}: {errors[0]}" if errors else ""
    raise ExportError(f"kaleido wrote no file for {specs[0]['path']}{detail}")


# ----------------------------------------------------------------------------- matplotlib
def _matplotlib(figures: Sequence[Any], paths: Sequence[Path], width: int, height: int) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ExportError("neither kaleido (with Chromium) nor matplotlib is available to export charts") from exc
    dpi = 100
    for fig, path in zip(figures, paths):
        spec = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else fig
        mfig, ax = plt.subplots(figsize=(width / dpi, height / dpi), dpi=dpi)
        try:
            _draw(ax, spec)
            mfig.tight_layout()
            mfig.savefig(path, format=Path(path).suffix.lstrip("."))
        finally:
            plt.close(mfig)


def _label(trace: dict):
    """A trace's legend entry; none for traces kept out of the legend (``showlegend: false``)."""
    return "_nolegend_" if trace.get("showlegend") is False else trace.get("name")


def _title(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return "" if obj is None else str(obj)


def _values(v: Any) -> list:
    """A trace's data array as a list: plain lists, numpy arrays, or plotly's typed-array
    encoding ``{"dtype": "f8", "bdata": base64, "shape": ...}``."""
    import numpy as np

    if v is None:
        return []
    if isinstance(v, dict) and "bdata" in v:
        import base64

        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v.get("dtype", "f8")))
        return arr.tolist()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return list(v)


def _draw(ax, spec: dict[str, Any]) -> None:
    import numpy as np

    layout = spec.get("layout", {}) or {}
    traces = [t for t in spec.get("data", []) if t.get("visible", True) is not False]
    bars = [t for t in traces if t.get("type") == "bar"]
    for t in traces:
        for key in ("x", "y"):
            t[key] = _values(t.get(key))
    categorical = any(isinstance(x, str) for t in traces for x in t["x"])
    cats: list = []
    if categorical:
        for t in traces:
            for x in t["x"]:
                if x not in cats:
                    cats.append(x)

    def xpos(xs):
        return np.array([cats.index(x) for x in xs], float) if categorical else np.asarray(xs, float)

    barmode = layout.get("barmode", "group")
    width = 0.8 / max(1, len(bars)) if barmode == "group" else 0.8
    pos_base: dict[float, float] = {}
    neg_base: dict[float, float] = {}
    for i, t in enumerate(bars):
        x = xpos(t.get("x") or [])
        y = np.array([np.nan if v is None else v for v in (t.get("y") or [])], float)
        marker = t.get("marker") or {}
        color = marker.get("color") if isinstance(marker.get("color"), str) else None
        shapes = (marker.get("pattern") or {}).get("shape")
        hatch = [("//" if s else None) for s in shapes] if isinstance(shapes, list) else [None] * len(x)
        if barmode == "group":
            xs, bottom = x - 0.4 + width * (i + 0.5), np.zeros_like(y)
        else:
            bottom = np.array([(pos_base if v >= 0 else neg_base).get(xx, 0.0) for xx, v in zip(x, np.nan_to_num(y))])
            xs = x
            for xx, v, b in zip(x, np.nan_to_num(y), bottom):
                (pos_base if v >= 0 else neg_base)[xx] = b + v
        rects = ax.bar(xs, np.nan_to_num(y), width=width, bottom=bottom, label=_label(t), color=color)
        for r, h in zip(rects, hatch):
            if h:
                r.set_hatch(h)
    for t in traces:
        if t.get("type", "scatter") != "scatter":
            continue
        x = xpos(t.get("x") or [])
        y = np.array([np.nan if v is None else v for v in (t.get("y") or [])], float)
        line = t.get("line") or {}
        color = line.get("color")
        mode = t.get("mode", "lines+markers")
        drawstyle = "steps-post" if line.get("shape") == "hv" else "default"
        lines = ax.plot(x, y, "-" if "lines" in mode else "", drawstyle=drawstyle, color=color, label=_label(t))
        if "markers" in mode:
            symbols = (t.get("marker") or {}).get("symbol")
            symbols = symbols if isinstance(symbols, list) else [symbols] * len(x)
            c = lines[0].get_color()
            open_ = np.array([isinstance(s, str) and s.endswith("-open") for s in symbols], bool)
            ax.scatter(x[~open_], y[~open_], color=c, zorder=3, s=25)
            ax.scatter(x[open_], y[open_], facecolors="none", edgecolors=c, zorder=3, s=25)
    for shape in layout.get("shapes", []) or []:
        if shape.get("type") != "line":
            continue
        if shape.get("y0") == shape.get("y1") and shape.get("xref") == "x domain":  # add_hline
            ax.axhline(shape.get("y0", 0), color="#888", linewidth=0.8)
        elif shape.get("x0") == shape.get("x1") and shape.get("yref") == "y domain":  # add_vline
            ax.axvline(shape["x0"], color="#888", linewidth=1, linestyle="--")
    for note in layout.get("annotations", []) or []:
        if note.get("yref") == "paper" and note.get("x") is not None and note.get("text"):
            ax.annotate(str(note["text"]), xy=(note["x"], 1.0), xycoords=("data", "axes fraction"),
                        fontsize="small", color="#666", va="bottom")
    if not categorical:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if categorical:
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels([str(c) for c in cats], rotation=45 if len(cats) > 8 else 0, ha="right" if len(cats) > 8 else "center")
    ax.set_title(_title(layout.get("title")), pad=18 if layout.get("annotations") else 6)
    ax.set_xlabel(_title((layout.get("xaxis") or {}).get("title")))
    ax.set_ylabel(_title((layout.get("yaxis") or {}).get("title")))
    ax.grid(axis="y", alpha=0.3)
    if any(t.get("name") for t in traces):
        ax.legend(fontsize="small")
