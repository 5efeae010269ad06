"""The dashboard's calls into the library: one function per page, returning JSON-ready dicts.

The web layer only parses, calls the engines and renders; everything here is a thin
adapter. When an engine module is genuinely not installed, :class:`EngineMissing` is
raised (the API answers 503 and the page says which engine is missing) — nothing is faked.
"""
from __future__ import annotations

import importlib
import inspect
import math
import os
from functools import lru_cache
from typing import Any

import pandas as pd

from tradepact.results import json_safe, records
from tradepact.errors import TradepactError


class EngineMissing(TradepactError):
    """A tradepact engine module needed by this page is not installed in this build."""

    def __init__(self, module: str, detail: str):
        super().__init__(f"engine not installed: {module} ({detail})")
        self.module = module


def engine(module: str, *names: str) -> Any:
    """Import ``names`` from a tradepact engine module; :class:`EngineMissing` if absent.

    Only a missing *tradepact* module or name counts as "not installed"; a missing
    third-party dependency is a real error and propagates.
    """
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == module or module.startswith(exc.name + ".") or exc.name.startswith("tradepact")):
            raise EngineMissing(module, str(exc)) from None
        raise
    missing = [n for n in names if not hasattr(mod, n)]
    if missing:
        raise EngineMissing(module, f"no {', '.join(missing)}")
    got = tuple(getattr(mod, n) for n in names)
    return got[0] if len(got) == 1 else got


# ----------------------------------------------------------------------------- countries
@lru_cache(maxsize=1)
def country_list() -> list[dict[str, str]]:
    """Every accepted ISO3 country code with its short name, sorted by name."""
    from tradepact.countries import _coco

    data = _coco().data[["ISO3", "name_short"]].dropna().drop_duplicates("ISO3")
    data = data.sort_values("name_short")
    return [{"code": c, "name": n} for c, n in zip(data["ISO3"], data["name_short"])]


def valid_country(code: str) -> str | None:
    """Upper-case ISO3 code if ``code`` is an accepted country/region code, else None.

    Deliberately does not fuzzy-match names: the API takes codes.
    """
    from tradepact.countries import LEGACY_CODES, iso3_codes

    if not isinstance(code, str):
        return None
    up = code.strip().upper()
    if up in iso3_codes():
        return up
    return LEGACY_CODES.get(up)


# ----------------------------------------------------------------------------- ledger
LEDGER_COLUMNS = ["year", "goods_exports", "goods_imports", "goods_balance", "services_exports",
                  "services_imports", "services_balance", "total_balance", "confirmed", "source"]


def open_ledger_store(store_dir: Any):
    """The ledger store in ``store_dir``, or None when this build has no ledger store module
    (then only built-in facts are used)."""
    if store_dir is None:
        return None
    try:
        engine("tradepact.ledger.store", "LedgerStore")
    except EngineMissing:
        return None
    return store_dir


def _pair_events(a: str, b: str) -> list:
    """Agreement dates to mark on a pair's chart (KORUS for USA–KOR)."""
    if {a, b} != {"USA", "KOR"}:
        return []
    from tradepact.data import korus

    facts = korus()
    return [(facts.entry_into_force, "KORUS in force")]


#: Sub-directory of the store that holds the dashboard's own files (saved runs).
RUNS_DIR = "dashboard"


def store_fingerprint(store_dir: Any) -> tuple:
    """Modification times of the store directory and its sub-directories (not the runs
    database): changes whenever a file is added, replaced or removed (atomic writes rename
    into a directory). Used to key cached answers so an import is seen at once."""
    if store_dir is None:
        return ()
    out = []
    stack = [str(store_dir)]
    while stack and len(out) < 10_000:
        d = stack.pop()
        try:
            out.append((d, os.stat(d).st_mtime_ns))
            with os.scandir(d) as it:
                stack.extend(e.path for e in it if e.is_dir(follow_symlinks=False) and e.name != RUNS_DIR)
        except OSError:
            continue
    return tuple(sorted(out))


def ledger(a: str, b: str, start: int | None, end: int | None, store_dir: Any,
           since: Any = None) -> dict[str, Any]:
    """``a``'s goods and services trade with ``b`` by year (USD millions), with a chart.

    Returns ``{a, b, start, end, rows, figure, before_after, sources, unconfirmed_years,
    message}``; when neither the store nor the built-in facts have the pair, ``rows`` is
    empty and ``message`` says what to import. Answers are cached per request and store
    state (:func:`store_fingerprint`); building the plotly figure dominates the cost.
    """
    key = (a, b, start, end, since, None if store_dir is None else str(store_dir), store_fingerprint(store_dir))
    return dict(_ledger_cached(*key))


@lru_cache(maxsize=512)
def _ledger_cached(a: str, b: str, start: int | None, end: int | None, since: Any, store_dir: Any,
                   fingerprint: tuple) -> dict[str, Any]:
    from tradepact.errors import ConfigError
    from tradepact.report.charts import balance_chart

    bilateral, distinct_sources = engine("tradepact.ledger.balances", "bilateral", "distinct_sources")
    out: dict[str, Any] = {"a": a, "b": b, "start": start, "end": end, "rows": [], "figure": {},
                           "sources": [], "unconfirmed_years": [], "before_after": None, "message": None}
    try:
        frame = bilateral(a, b, start=start, end=end, store=open_ledger_store(store_dir))
    except ConfigError as exc:
        out["message"] = str(exc)
        return out
    frame = frame.sort_values("year").reset_index(drop=True)
    title = f"{a}'s balance with {b}: goods, services and total"
    out.update({
        "rows": records(frame),
        "figure": json_safe(balance_chart(frame, title, _pair_events(a, b)).to_plotly_json()),
        "sources": distinct_sources(frame["source"]),
        "unconfirmed_years": [int(y) for y in frame.loc[~frame["confirmed"].astype(bool), "year"]],
    })
    if since is not None:
        before_after = engine("tradepact.ledger.balances", "before_after")
        out["before_after"] = records(before_after(frame, since))
    return out


# ----------------------------------------------------------------------------- scenarios
SCENARIO_MODULE = "tradepact.simulate.scenario"


@lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, Any], ...]:
    from importlib import resources

    import yaml

    builtin_scenarios = engine(SCENARIO_MODULE, "builtin_scenarios")
    package = getattr(importlib.import_module(SCENARIO_MODULE), "BUILTIN_PACKAGE", "tradepact.simulate.builtin")
    out = []
    for name in builtin_scenarios():
        text = resources.files(package).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        doc = yaml.safe_load(text) or {}
        out.append({"name": str(name), "description": " ".join(str(doc.get("description", "")).split()),
                    "text": text})
    return tuple(out)


def scenario_catalog() -> list[dict[str, Any]]:
    """Built-in scenarios: ``[{name, description, text}]`` (text = the YAML a user can edit)."""
    return [dict(x) for x in _catalog()]


def check_scenario(text: str, loc: tuple[str, ...]) -> tuple[str, Any]:
    """Parse and validate a scenario's YAML text without running it; returns (name, scenario).

    The text is parsed with the safe loader (no aliases, no file paths: see
    :mod:`tradepact.web.safety`) and handed to the engine as a mapping; any error is an
    :class:`~tradepact.web.safety.InputError` (422) on ``loc``.
    """
    from tradepact.web.safety import InputError, parse_scenario_yaml

    doc = parse_scenario_yaml(text, loc)
    load_scenario = engine(SCENARIO_MODULE, "load_scenario")
    try:
        scenario = load_scenario(doc)
    except TradepactError as exc:
        raise InputError(loc, str(exc)) from None
    return str(getattr(scenario, "name", None) or doc.get("name") or "unnamed"), scenario


def run_scenario_text(text: str, progress=None) -> tuple[dict[str, Any], str]:
    """Run a scenario given as YAML text; returns (JSON result, one-line summary)."""
    run_scenario = engine(SCENARIO_MODULE, "run_scenario")
    if progress:
        progress(0.1, "validating scenario")
    _, scenario = check_scenario(text, ("body", "scenario_text"))
    if progress:
        progress(0.25, "running models")
    kwargs = {}
    if progress and "progress" in inspect.signature(run_scenario).parameters:
        kwargs["progress"] = lambda step, total: progress(0.25 + 0.6 * step / max(total, 1),
                                                          f"running models (draw {step} of {total})")
    result = run_scenario(scenario, **kwargs)
    if progress:
        progress(0.9, "saving results")
    payload = json_safe(result.to_dict())
    summary = result.summary()
    return payload, " ".join(str(summary).split())[:500]


# ----------------------------------------------------------------------------- agreements
AGREEMENT_MODULE = "tradepact.agreements"


@lru_cache(maxsize=1)
def _agreements() -> dict[str, Any]:
    """Built-in agreements by id, loaded once per process (they are read-only here)."""
    builtin_agreements, load_agreement = engine(AGREEMENT_MODULE, "builtin_agreements", "load_agreement")
    out = {}
    for name in builtin_agreements():
        ag = load_agreement(name)
        out[str(ag.id)] = ag
    return out


def agreement_ids() -> list[str]:
    return sorted(_agreements())


def get_agreement(agreement_id: str) -> Any | None:
    return _agreements().get(agreement_id)


#: Columns of the schedule-line table shown by the browser.
LINE_COLUMNS = ["id", "importer", "hs", "description", "base_rate", "category", "trq", "confirmed", "source"]


@lru_cache(maxsize=8)
def _lines_frame(agreement_id: str) -> pd.DataFrame:
    """One row per (line, HS code) of the agreement's schedule; ``hs_list`` joins a line's codes."""
    ag = get_agreement(agreement_id)
    rows = [{"id": ln.id, "importer": ln.importer, "hs_list": ";".join(ln.hs), "hs": list(ln.hs),
             "description": ln.description, "base_rate": ln.effective_base, "category": ln.category,
             "trq": ln.trq is not None, "confirmed": bool(ln.confirmed), "source": ln.source}
            for ln in ag.lines]
    frame = pd.DataFrame(rows, columns=LINE_COLUMNS + ["hs_list"])
    return frame.explode("hs").reset_index(drop=True)


def agreement_info(ag: Any) -> dict[str, Any]:
    return {"id": str(ag.id), "name": str(ag.name), "parties": [str(p) for p in ag.parties],
            "in_force": ag.entry_into_force.isoformat(),
            "signed": None if getattr(ag, "signed", None) is None else ag.signed.isoformat(),
            "amendments": [str(a.id) for a in getattr(ag, "amendments", [])],
            "lines": int(len(ag.lines))}


def agreement_changes(ag: Any) -> pd.DataFrame:
    from tradepact.agreements import changes

    return changes(ag)


def search_lines(ag: Any, q: str, importer: str | None, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """Schedule lines matching ``q``: an HS code (dots/spaces ignored) matches lines whose code
    starts with it or that contain it (an HS6 query finds an HS4 line); words match the
    description (case-insensitive). Optionally one importer only. One row per line."""
    frame = _lines_frame(str(ag.id))
    mask = pd.Series(True, index=frame.index)
    q = q.strip()
    digits = q.replace(".", "").replace(" ", "")
    if digits.isdigit():
        prefixes = {digits[:k] for k in (2, 4, 6, 8, 10) if k <= len(digits)}
        hs = frame["hs"].astype(str)
        mask &= hs.str.startswith(digits) | hs.isin(prefixes)
    elif q:
        mask &= frame["description"].astype(str).str.contains(q, case=False, regex=False)
    if importer:
        mask &= frame["importer"] == importer
    hit = frame[mask].drop_duplicates("id")
    hit = hit.assign(hs=hit["hs_list"]).drop(columns="hs_list")
    return int(len(hit)), records(hit.head(limit))


def rate_path(ag: Any, importer: str, exporter: str, hs: str, start: int, end: int,
              as_of: Any = None) -> dict[str, Any]:
    """The tariff ``importer`` applies to ``exporter``'s ``hs`` each year ``start..end`` (fractions),
    with a chart and the amendments that touched the deciding line(s). Cached for built-in
    agreements (they do not change while the server runs)."""
    if get_agreement(str(ag.id)) is ag:
        return dict(_rate_path_cached(str(ag.id), importer, exporter, hs, start, end, as_of))
    return _rate_path(ag, importer, exporter, hs, start, end, as_of)


@lru_cache(maxsize=1024)
def _rate_path_cached(agreement_id: str, importer: str, exporter: str, hs: str, start: int, end: int,
                      as_of: Any) -> dict[str, Any]:
    return _rate_path(get_agreement(agreement_id), importer, exporter, hs, start, end, as_of)


def _rate_path(ag: Any, importer: str, exporter: str, hs: str, start: int, end: int,
               as_of: Any = None) -> dict[str, Any]:
    from tradepact.report.charts import rate_path_figure

    rates = engine(AGREEMENT_MODULE, "rates")
    frame = pd.DataFrame({"importer": importer, "exporter": exporter, "hs": hs, "year": range(start, end + 1)})
    out = rates(ag, frame, as_of=as_of)
    title = f"{importer} tariff on HS {hs} from {exporter}" + (f" (text as of {as_of})" if as_of else "")
    changes = agreement_changes(ag)
    if len(changes) and "target" in changes and "line_id" in out:
        changes = changes[changes["target"].isin(out["line_id"].dropna().unique())]
    else:
        changes = changes.iloc[0:0]
    return {"rows": records(out), "figure": json_safe(rate_path_figure(out, title).to_plotly_json()),
            "changes": records(changes)}


def run_figures(result: dict[str, Any] | None, name: str) -> list[dict[str, Any]]:
    """Charts of a finished run's result JSON: trade creation by HS code and year."""
    from tradepact.report.charts import scenario_figure

    if not result or not result.get("lines"):
        return []
    lines = pd.DataFrame(result["lines"])
    if not {"hs", "year"} <= set(lines.columns):
        return []
    figs = []
    for value in ("trade_creation", "tariff_revenue_change"):
        if value in lines:
            title = f"{name}: {value.replace('_', ' ')} by HS code (USD millions)"
            figs.append(json_safe(scenario_figure(lines, title, value=value).to_plotly_json()))
    return figs
