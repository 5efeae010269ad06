"""The dashboard's calls into the library: one function per page, returning JSON-ready dicts.

The web layer only parses, calls the engines and renders; everything here is a thin
adapter. When an engine module is genuinely not installed, :class:`EngineMissing` is
raised (the API answers 503 and the page says which engine is missing) — nothing is faked.
"""
from __future__ import annotations

import importlib
import math
from functools import lru_cache
from typing import Any

import pandas as pd

from tradepact.cli.output import records
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


def json_safe(obj: Any) -> Any:
    """Recursively turn NaN/inf into None, numpy scalars into Python, dates into ISO text."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return records(obj)
    if obj is None or isinstance(obj, (str, bool, int)):
        return obj
    if isinstance(obj, float):
        return None if (math.isnan(obj) or math.isinf(obj)) else obj
    if hasattr(obj, "item") and not isinstance(obj, (bytes, bytearray)):
        try:
            return json_safe(obj.item())
        except (ValueError, TypeError):
            pass
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):
        return json_safe(obj.model_dump())
    return str(obj)


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


def ledger(a: str, b: str, start: int | None, end: int | None, store_dir: Any,
           since: Any = None) -> dict[str, Any]:
    """``a``'s goods and services trade with ``b`` by year (USD millions), with a chart.

    Returns ``{a, b, start, end, rows, figure, before_after, sources, unconfirmed_years,
    message}``; when neither the store nor the built-in facts have the pair, ``rows`` is
    empty and ``message`` says what to import.
    """
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


def scenario_catalog() -> list[dict[str, Any]]:
    """Built-in scenarios: ``[{name, description, text}]`` (text = the YAML a user can edit)."""
    builtin_scenarios = engine(SCENARIO_MODULE, "builtin_scenarios")
    return [_scenario_entry(name, obj) for name, obj in _builtin_items(builtin_scenarios())]


def _builtin_items(got: Any) -> list[tuple[str, Any]]:
    if isinstance(got, dict):
        return sorted(got.items())
    return sorted((str(getattr(x, "name", x)), x) for x in got)


def _scenario_entry(name: str, obj: Any) -> dict[str, Any]:
    from pathlib import Path

    text = None
    if isinstance(obj, (str, Path)) and Path(str(obj)).suffix in (".yaml", ".yml") and Path(str(obj)).is_file():
        text = Path(str(obj)).read_text(encoding="utf-8")
    elif hasattr(obj, "text") and isinstance(getattr(obj, "text"), str):
        text = obj.text
    elif hasattr(obj, "to_yaml"):
        text = obj.to_yaml()
    description = str(getattr(obj, "description", "") or "")
    if text is None:
        import yaml

        text = yaml.safe_dump(json_safe(obj.model_dump() if hasattr(obj, "model_dump") else obj), sort_keys=False)
    return {"name": name, "description": description, "text": text}


def check_scenario(text: str, loc: tuple[str, ...]) -> tuple[str, Any]:
    """Parse and validate a scenario's YAML text without running it; returns (name, scenario).

    Raises :class:`~tradepact.web.safety.InputError` (422) for anything wrong with the text.
    """
    from tradepact.errors import TradepactError
    from tradepact.web.safety import InputError, parse_scenario_yaml

    doc = parse_scenario_yaml(text, loc)
    load_scenario = engine(SCENARIO_MODULE, "load_scenario")
    try:
        scenario = load_scenario(doc)
    except TradepactError as exc:
        raise InputError(loc, str(exc)) from None
    name = str(getattr(scenario, "name", None) or doc.get("name") or "unnamed")
    return name, scenario


def run_scenario_text(text: str, progress=None) -> tuple[dict[str, Any], str]:
    """Run a scenario given as YAML text; returns (JSON result, one-line summary)."""
    run_scenario = engine(SCENARIO_MODULE, "run_scenario")
    if progress:
        progress(0.1, "validating scenario")
    _, scenario = check_scenario(text, ("body", "scenario_text"))
    if progress:
        progress(0.25, "running models")
    result = run_scenario(scenario)
    if progress:
        progress(0.9, "saving results")
    payload = json_safe(result.to_json())
    summary = result.summary()
    return payload, " ".join(str(summary).split())[:500]


# ----------------------------------------------------------------------------- agreements
AGREEMENT_MODULE = "tradepact.agreements"


def _agreements() -> dict[str, Any]:
    builtin_agreements, load_agreement = engine(AGREEMENT_MODULE, "builtin_agreements", "load_agreement")
    got = builtin_agreements()
    items = got.items() if isinstance(got, dict) else [(getattr(x, "id", x), x) for x in got]
    out = {}
    for key, obj in items:
        ag = obj if hasattr(obj, "lines") else load_agreement(obj)
        out[str(getattr(ag, "id", key))] = ag
    return out


def agreement_ids() -> list[str]:
    return sorted(_agreements())


def get_agreement(agreement_id: str) -> Any | None:
    return _agreements().get(agreement_id)


def _lines_frame(ag: Any) -> pd.DataFrame:
    lines = ag.lines
    if isinstance(lines, pd.DataFrame):
        return lines.copy()
    rows = [json_safe(line.model_dump() if hasattr(line, "model_dump") else dict(line)) for line in lines]
    return pd.DataFrame(rows)


def agreement_info(ag: Any) -> dict[str, Any]:
    in_force = getattr(ag, "in_force", None) or getattr(ag, "entry_into_force", None)
    return {"id": str(ag.id), "name": str(getattr(ag, "name", ag.id)),
            "parties": [str(p) for p in getattr(ag, "parties", [])],
            "in_force": None if in_force is None else str(in_force),
            "lines": int(len(_lines_frame(ag)))}


def agreement_changes(ag: Any) -> pd.DataFrame:
    changes = ag.changes()
    return changes if isinstance(changes, pd.DataFrame) else pd.DataFrame(json_safe(changes))


def search_lines(ag: Any, q: str, importer: str | None, limit: int) -> tuple[int, list[dict[str, Any]]]:
    """Schedule lines whose HS code starts with ``q`` (digits, dots ignored) or whose
    description contains ``q`` (case-insensitive); optionally one importer only."""
    frame = _lines_frame(ag)
    hs_col = "hs" if "hs" in frame else "hs_code"
    imp_col = "importer" if "importer" in frame else ("party" if "party" in frame else None)
    mask = pd.Series(True, index=frame.index)
    q = q.strip()
    if q:
        digits = q.replace(".", "").replace(" ", "")
        by_text = frame.get("description", pd.Series("", index=frame.index)).astype(str).str.contains(
            q, case=False, regex=False)
        if digits.isdigit():
            by_hs = frame[hs_col].astype(str).str.replace(".", "", regex=False).str.startswith(digits) | \
                pd.Series([digits.startswith(str(h).replace(".", "")) for h in frame[hs_col]], index=frame.index)
            mask &= by_hs | by_text
        else:
            mask &= by_text
    if importer and imp_col:
        mask &= frame[imp_col].astype(str) == importer
    hit = frame[mask]
    return int(len(hit)), records(hit.head(limit))


def rate_path(ag: Any, importer: str, exporter: str, hs: str, start: int, end: int,
              as_of: Any = None) -> dict[str, Any]:
    """The tariff ``importer`` applies to ``exporter``'s ``hs`` each year ``start..end``."""
    from tradepact.report.charts import rate_path_figure

    rates = engine(AGREEMENT_MODULE, "rates")
    years = list(range(start, end + 1))
    frame = pd.DataFrame({"importer": importer, "exporter": exporter, "hs": hs, "year": years})
    out = rates(ag, frame, as_of=as_of)
    title = f"{importer} tariff on HS {hs} from {exporter}" + (f" (as of {as_of})" if as_of else "")
    changes = agreement_changes(ag)
    if len(changes) and "line_id" in out and "line_id" in changes:
        changes = changes[changes["line_id"].isin(out["line_id"].dropna().unique())]
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
