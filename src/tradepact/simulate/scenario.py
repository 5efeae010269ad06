"""Scenario files: what changes, when, and which models run; validated, then run all-or-nothing.

A scenario is a YAML file (or a built-in name, see :func:`builtin_scenarios`)::

    name: auto-tariff-25
    description: A 25% US tariff on Korean passenger cars from 2019.
    baseline:
      agreement: korus          # tariff paths from tradepact.agreements (name or YAML path)
      as_of: 2018-12-31         # optional: the agreement text in force on that day
      year: 2017                # year of the trade values the PE model starts from
      data: builtin:korus       # or a CSV of flows (importer, exporter, hs, year, import_value[, rate])
    years: 2019-2030            # or [2019, 2025] or {from: 2019, to: 2030}
    changes:
      - kind: tariff            # new rate (fraction), "mfn" (the base rate), a path or equal-cut staging
        importer: USA
        exporter: KOR
        hs: "8703"
        rate: 0.25
        from_year: 2019
      - kind: quota             # a (tariff-rate) quota; volume in USD millions at baseline prices
        importer: USA
        exporter: KOR
        hs: "72"
        share_of_base: 0.70
        in_quota_rate: 0.0
        out_of_quota_rate: prohibitive
      - kind: trade_cost        # iceberg trade-cost shock, for the GE model only
        importer: USA
        exporter: KOR
        change: -0.05
    models: [pe]                # pe, ge
    elasticities:
      substitution_table: bgw   # σ by product and importer (bgw, hauk2012-sigma) or none
      substitution: 1.5         # σ where the table has no value (everywhere with substitution_table: none)
      export_supply: null       # null = infinite
      import_demand_table: hauk2012   # η by HS6 (protee holds θ: refused unless allow_concept_mismatch)
      import_demand_proxy: true # use the US η for other importers (an assumption, listed in the result)
      import_demand_default: -1.0
      import_demand: {"8703": -2.0}   # overrides by HS prefix (longest wins)
      functional_form: smart
    draws: {n: 200, seed: 1, spread: 0.25}

Every field is checked before anything runs; an error names the file and the field
(``changes[2].hs``) with what was expected and what was found, and nothing is run.

Tariff paths: for each flow and year the *before* rate is the baseline agreement's rate
(:func:`tradepact.agreements.rates`) or the data file's ``rate`` column; the *after* rate is the
before rate with the changes applied in order. Changes match flows whose HS code starts with the
change's code (a change at HS4 applies to every HS6 line under it).
"""
from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from tradepact.fields import StrictModel, check_hs_code, check_iso3, parse_year_range
from tradepact.errors import ConfigError, TradepactError
from tradepact.results import Result, records
from tradepact.simulate import data as pe_data
from tradepact.simulate import elasticities as el_data
from tradepact.simulate.pe import PEResult, PESettings, simulate_pe

BUILTIN_PACKAGE = "tradepact.simulate.builtin"

class BaselineSpec(StrictModel):
    """Where the before-path comes from: the agreement (as of a date) and the trade values of ``year``."""

    agreement: str | None = None
    as_of: dt.date | None = None
    year: int = Field(ge=1950, le=2100)
    data: str = "builtin:korus"
    #: where imports from third countries come from: ``ledger`` (the store in $TRADEPACT_STORE, when set) or ``none``
    other_origins: Literal["ledger", "none"] = "ledger"


class Staging(StrictModel):
    """Equal annual steps from ``start_rate`` in ``from_year`` to ``end_rate`` in ``to_year``; the end
    rate holds afterwards."""

    from_year: int
    to_year: int
    start_rate: float = Field(ge=0)
    end_rate: float = Field(ge=0)

    @model_validator(mode="after")
    def _check_years_in_order(self):
        if self.to_year < self.from_year:
            raise ValueError(f"expected to_year >= from_year, got {self.to_year} < {self.from_year}")
        return self

    def at(self, years: np.ndarray) -> np.ndarray:
        span = max(self.to_year - self.from_year, 1)
        frac = np.clip((years - self.from_year) / span, 0.0, 1.0)
        return self.start_rate + (self.end_rate - self.start_rate) * frac


class _Flow(StrictModel):
    importer: str | None = None
    exporter: str | None = None
    hs: str | list[str] | None = None
    from_year: int | None = None
    to_year: int | None = None
    also_baseline: bool = False
    note: str | None = None

    @field_validator("importer", "exporter", mode="before")
    @classmethod
    def _check_countries(cls, v):
        return None if v is None else check_iso3(v)

    @field_validator("hs", mode="before")
    @classmethod
    def _check_hs_codes(cls, v):
        if v is None:
            return None
        if isinstance(v, list):
            return [check_hs_code(x) for x in v]
        return check_hs_code(v)

    def hs_list(self) -> list[str] | None:
        return None if self.hs is None else ([self.hs] if isinstance(self.hs, str) else list(self.hs))


class TariffChange(_Flow):
    """A new ad valorem rate (fraction), the base (MFN) rate, a year path or an equal-cut staging."""

    kind: Literal["tariff"]
    rate: float | Literal["mfn"] | None = None
    rates: dict[int, Annotated[float, Field(ge=0)]] | None = None
    staging: Staging | None = None

    @field_validator("rate", mode="before")
    @classmethod
    def _read_rate_or_mfn(cls, v):
        if isinstance(v, str) and v.strip().lower() in ("mfn", "base"):
            return "mfn"
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"expected a tariff rate >= 0 as a fraction (0.25 = 25%), got {v!r}")
            if v > 5:
                raise ValueError(f"expected a fraction (0.25 = 25%), got {v!r}: is it a percentage?")
            return float(v)
        if v is None:
            return None
        raise ValueError(f"expected a tariff rate >= 0 (fraction) or 'mfn', got {v!r}")

    @model_validator(mode="after")
    def _check_one_rate_form(self):
        given = [k for k in ("rate", "rates", "staging") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"expected exactly one of rate, rates, staging; got {given or 'none'}")
        return self


class QuotaChange(_Flow):
    """A quota on a flow: ``volume`` (USD millions at baseline prices) or ``share_of_base``
    (fraction of the baseline value); imports within it pay ``in_quota_rate``, beyond it
    ``out_of_quota_rate`` (``prohibitive`` = none allowed; omitted = the flow's own rate)."""

    kind: Literal["quota"]
    volume: float | None = Field(default=None, ge=0)
    share_of_base: float | None = Field(default=None, ge=0)
    in_quota_rate: float = Field(default=0.0, ge=0)
    out_of_quota_rate: float | Literal["prohibitive"] | None = None

    @field_validator("out_of_quota_rate", mode="before")
    @classmethod
    def _read_out_of_quota_rate(cls, v):
        if isinstance(v, str) and v.strip().lower() in ("prohibitive", "inf", "none allowed"):
            return "prohibitive"
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0:
            raise ValueError(f"expected a rate >= 0 or 'prohibitive', got {v!r}")
        return v

    @model_validator(mode="after")
    def _check_one_volume_form(self):
        if (self.volume is None) == (self.share_of_base is None):
            raise ValueError("expected exactly one of volume, share_of_base")
        return self


class TradeCostChange(_Flow):
    """An iceberg trade-cost shock between two countries (``change`` = tau_hat - 1), GE only."""

    kind: Literal["trade_cost"]
    change: float = Field(gt=-1)


Change = Annotated[Union[TariffChange, QuotaChange, TradeCostChange], Field(discriminator="kind")]


class Elasticities(StrictModel):
    """Elasticities of the PE model. ``import_demand_table`` must hold import-demand elasticities η
    (``hauk2012``) and ``substitution_table`` elasticities of substitution between origins σ (``bgw``,
    ``hauk2012-sigma``); a table of another concept (``protee`` holds trade elasticities θ) is refused
    unless ``allow_concept_mismatch``. ``substitution`` is σ where the table has no value for a line.
    ``import_demand_proxy``: lines of importers the η table does not cover take its estimates as a
    proxy (listed among the result's assumptions), else ``import_demand_default``. ``range``: also run
    the low and high ends of each line's η range (see :mod:`tradepact.simulate.elasticities`)."""

    substitution: float = Field(default=1.5, gt=0)
    substitution_table: Literal["bgw", "hauk2012-sigma", "none"] = "bgw"
    import_demand_proxy: bool = True
    export_supply: float | None = Field(default=None, gt=0)
    import_demand_table: Literal["hauk2012", "protee", "none"] = "hauk2012"
    allow_concept_mismatch: bool = False
    range: bool = True
    import_demand_default: float = Field(default=-1.0, lt=0)
    import_demand: dict[str, Annotated[float, Field(lt=0)]] = Field(default_factory=dict)
    include_flagged: bool = False
    functional_form: Literal["smart", "constant_elasticity"] = "smart"
    domestic_substitution: bool = False
    composite_demand: float = Field(default=-1.0, le=0)
    domestic_substitution_elasticity: float = Field(default=2.0, gt=0)

    @field_validator("import_demand", mode="before")
    @classmethod
    def _check_hs_keys(cls, v):
        if isinstance(v, dict):
            return {check_hs_code(str(k) if isinstance(k, int) else k): val for k, val in v.items()}
        return v


class Draws(StrictModel):
    """Monte Carlo over elasticities, one draw per product line: η from a normal with its estimate's
    standard error where the table gives one (truncated at −0.01), else scaled by a log-normal factor with
    log-sd ``spread`` (mean 1, signs kept); σ scaled by one log-normal factor per draw."""

    n: int = Field(default=0, ge=0, le=10000)
    seed: int = 0
    spread: float = Field(default=0.25, gt=0, le=3)


class Scenario(StrictModel):
    """A validated scenario (see the module docstring for the file format)."""

    name: str = Field(min_length=1)
    description: str = ""
    baseline: BaselineSpec
    years: list[int] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    models: list[Literal["pe", "ge"]] = Field(default_factory=lambda: ["pe"], min_length=1)
    elasticities: Elasticities = Field(default_factory=Elasticities)
    draws: Draws = Field(default_factory=Draws)
    caveats: list[str] = Field(default_factory=list)
    _file: str = PrivateAttr(default="<scenario>")
    _lines: Any = PrivateAttr(default=None)

    @field_validator("years", mode="before")
    @classmethod
    def _read_years(cls, v):
        if isinstance(v, int) and not isinstance(v, bool):
            return [v]
        if isinstance(v, (str, dict)):
            first, last = parse_year_range(v)
            return list(range(first, last + 1))
        return v

    @model_validator(mode="after")
    def _default_years_to_baseline_year(self):
        if not self.years:
            self.years = [self.baseline.year]
        self.years = sorted(set(self.years))
        return self

    @property
    def file(self) -> str:
        return self._file


# --------------------------------------------------------------------------- loading

def builtin_scenarios() -> list[str]:
    """Names of the built-in scenarios (``korus-2018``, ``auto-tariff-25``, ``no-korus``)."""
    root = resources.files(BUILTIN_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def builtin_scenario_info() -> list[dict]:
    """Name, years, models, baseline and description of each built-in scenario (read, not run)."""
    out = []
    for name in builtin_scenarios():
        raw = yaml.safe_load(resources.files(BUILTIN_PACKAGE).joinpath(f"{name}.yaml").read_text("utf-8"))
        scn = Scenario.model_validate(raw)
        out.append({"name": name, "years": f"{scn.years[0]}-{scn.years[-1]}", "models": ",".join(scn.models),
                    "baseline": f"{scn.baseline.agreement or '-'} / {scn.baseline.data} {scn.baseline.year}",
                    "changes": len(scn.changes), "description": scn.description})
    return out


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("tariff", "quota", "trade_cost") and out.endswith("]"):
            continue  # discriminator tag in the location
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _validation_error(file: str, exc: ValidationError) -> ConfigError:
    msgs = []
    for err in exc.errors()[:5]:
        where = _loc(tuple(err.get("loc", ())))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        got = err.get("input")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        elif err.get("type") == "missing":
            msg = "required field missing"
        shown = "" if isinstance(got, dict) or err.get("type") == "missing" or "got" in msg else f", got {got!r}"
        msgs.append(f"field '{where}': {msg}{shown}")
    more = len(exc.errors()) - 5
    tail = f" (and {more} more)" if more > 0 else ""
    return ConfigError(f"{file}: " + "; ".join(msgs) + tail)


def load_scenario(spec: str | Path | dict | Scenario) -> Scenario:
    """A validated :class:`Scenario` from a built-in name, a YAML path, YAML text or a dict.

    Checks the fields, the agreement, the data file and the models; raises
    :class:`~tradepact.errors.ConfigError` (or DataFormatError for a bad data file) naming the
    file and field. Nothing is run.
    """
    if isinstance(spec, Scenario):
        if spec._lines is None:  # built in code, not loaded: check it the same way once
            _check_semantics(spec, Path.cwd())
        return spec
    base_dir = Path.cwd()
    if isinstance(spec, dict):
        raw, file = spec, "<scenario>"
    else:
        text_or_path = str(spec)
        if text_or_path in builtin_scenarios():
            file = f"builtin:{text_or_path}"
            raw_text = resources.files(BUILTIN_PACKAGE).joinpath(f"{text_or_path}.yaml").read_text("utf-8")
        elif "\n" not in text_or_path and (Path(text_or_path).suffix in (".yaml", ".yml") or Path(text_or_path).is_file()):
            p = Path(text_or_path)
            if not p.is_file():
                raise ConfigError(f"{p}: scenario file not found (built-in scenarios: {', '.join(builtin_scenarios())})")
            file, raw_text, base_dir = str(p), p.read_text(encoding="utf-8"), p.resolve().parent
        elif "\n" in text_or_path or ":" in text_or_path:
            file, raw_text = "<scenario text>", text_or_path
        else:
            raise ConfigError(f"unknown scenario {text_or_path!r}: expected a YAML file or one of "
                              f"{', '.join(builtin_scenarios())}")
        try:
            raw = yaml.safe_load(raw_text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            raise ConfigError(f"{file}: not valid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{file}: expected a YAML mapping with name, baseline, changes, got {type(raw).__name__}")
    try:
        scn = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(file, exc) from None
    scn._file = file
    _check_semantics(scn, base_dir)
    return scn


def _ge_module():
    if importlib.util.find_spec("tradepact.simulate.ge") is None:
        return None
    return importlib.import_module("tradepact.simulate.ge")


def _check_semantics(scn: Scenario, base_dir: Path) -> None:
    f = scn.file
    if "ge" in scn.models and _ge_module() is None:
        raise ConfigError(f"{f}: field 'models': 'ge' asks for the general-equilibrium engine, which is not "
                          "available in this installation (tradepact.simulate.ge is not importable); run with "
                          "models: [pe]")
    if "ge" not in scn.models:
        for i, ch in enumerate(scn.changes):
            if ch.kind == "trade_cost":
                raise ConfigError(f"{f}: field 'changes[{i}]': a trade_cost shock is used only by the GE model; "
                                  "add 'ge' to models or remove it")
    table = scn.elasticities.import_demand_table
    if table != "none":
        el_data.require_concept(table, "eta", allow_mismatch=scn.elasticities.allow_concept_mismatch,
                                where=f"{f}: field 'elasticities.import_demand_table'")
    if scn.elasticities.substitution_table != "none":
        el_data.require_concept(scn.elasticities.substitution_table, "sigma",
                                allow_mismatch=scn.elasticities.allow_concept_mismatch,
                                where=f"{f}: field 'elasticities.substitution_table'")
    if scn.baseline.agreement is not None:
        _agreement(scn)  # raises naming the field
    lines = _lines(scn, base_dir)
    if lines.empty:
        raise ConfigError(f"{f}: field 'baseline.year': no flows in {scn.baseline.data} for {scn.baseline.year}")
    if scn.baseline.agreement is None and "rate" not in lines.columns:
        raise ConfigError(f"{f}: field 'baseline.agreement': expected an agreement, or a 'rate' column in the "
                          f"data file {scn.baseline.data}, to give the before rates")
    scn._lines = lines  # validated flows, reused by run_scenario


def _agreement(scn: Scenario):
    f = scn.file
    try:
        from tradepact.agreements import load_agreement
    except ImportError:
        raise ConfigError(f"{f}: field 'baseline.agreement': the agreements engine (tradepact.agreements) is not "
                          "available in this installation; give before rates in the data file instead") from None
    name = scn.baseline.agreement
    try:
        return _load_agreement_cached(name)
    except TradepactError as exc:
        raise ConfigError(f"{f}: field 'baseline.agreement': cannot load agreement {name!r}: {exc}") from None
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise ConfigError(f"{f}: field 'baseline.agreement': unknown agreement {name!r} ({exc})") from None


@lru_cache(maxsize=8)
def _load_agreement_cached(name: str):
    from tradepact.agreements import load_agreement

    return load_agreement(name)


def _lines(scn: Scenario, base_dir: Path) -> pd.DataFrame:
    src = scn.baseline.data
    if src.startswith("builtin:"):
        which = src.split(":", 1)[1]
        if which != "korus":
            raise ConfigError(f"{scn.file}: field 'baseline.data': unknown built-in data {src!r}; expected "
                              "'builtin:korus' or a CSV path")
        lines = pe_data.korus_lines(scn.baseline.year)
    else:
        p = Path(src)
        if not p.is_absolute():
            p = base_dir / p
        lines = pe_data.read_lines(p)
        lines = lines[lines["year"] == scn.baseline.year].reset_index(drop=True)
    return lines


# --------------------------------------------------------------------------- running

@dataclass(repr=False)
class ScenarioResult(Result):
    """Results of a scenario: PE per flow and year (``pe``), flows left out (``skipped``), notes, and
    Monte Carlo totals (``draws``: one row per draw and year) when asked for. :meth:`to_frame` is
    one row per flow and year; :meth:`to_dict` is the JSON document (inputs next to results)."""

    kind = "scenario"

    scenario: Scenario
    pe: PEResult | None
    skipped: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    draws: pd.DataFrame | None = None
    ge: Any = None
    #: PE totals by year at the low / central / high end of each line's η range (``case`` column)
    pe_range: pd.DataFrame | None = None

    #: per-line JSON keys, in order (the first are the documented contract)
    LINE_KEYS = ["importer", "exporter", "hs", "year", "import_value", "rate_before", "rate_after",
                 "import_demand_elasticity", "substitution_elasticity", "export_supply_elasticity",
                 "trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change",
                 "total_import_change", "world_price_change", "domestic_price_change", "quota_rent_change",
                 "quota_before", "quota_after", "in_quota_rate_before", "in_quota_rate_after",
                 "quota_regime_before", "quota_regime_after", "domestic_output_change", "clipped",
                 "description", "line_id", "basis", "confirmed", "source", "eta_low", "eta_high", "eta_weighting", "elasticity_source", "sigma_source",
                 "rate_source", "rate_confirmed"]

    @property
    def name(self) -> str:
        return self.scenario.name

    def to_frame(self) -> pd.DataFrame:
        """One row per flow and year: inputs next to results (USD millions; rates as fractions)."""
        if self.pe is None:
            return pd.DataFrame(columns=self.LINE_KEYS)
        df = self.pe.lines
        return df[[c for c in self.LINE_KEYS if c in df.columns]].copy()

    def by(self, level: str, by: tuple[str, ...] = ("year",)) -> pd.DataFrame:
        """Flow totals by ``level`` (hs2, sector, total, line) within ``by`` keys."""
        return self.pe.aggregate(level, by=by)

    def totals(self) -> dict[str, float]:
        return self.pe.totals() if self.pe is not None else {}

    def to_dict(self) -> dict:
        """The JSON document: ``kind``, scenario, settings, per-line inputs and results, totals, breakdowns."""
        scn = self.scenario
        lines = self.to_frame()
        out = {
            "kind": self.kind,
            "scenario": scn.name,
            "description": scn.description,
            "file": scn.file,
            "baseline": {"agreement": scn.baseline.agreement,
                         "as_of": scn.baseline.as_of.isoformat() if scn.baseline.as_of else None,
                         "year": scn.baseline.year, "data": scn.baseline.data},
            "years": scn.years,
            "models": scn.models,
            "settings": {
                "functional_form": scn.elasticities.functional_form,
                "substitution_elasticity": scn.elasticities.substitution,
                "export_supply_elasticity": scn.elasticities.export_supply,
                "import_demand_table": scn.elasticities.import_demand_table,
                "substitution_table": scn.elasticities.substitution_table,
                "import_demand_proxy": scn.elasticities.import_demand_proxy,
                "import_demand_default": scn.elasticities.import_demand_default,
                "domestic_substitution": scn.elasticities.domestic_substitution,
                "allow_concept_mismatch": scn.elasticities.allow_concept_mismatch,
                "range": scn.elasticities.range,
            },
            "units": ("USD millions; rates and price changes as fractions; export_supply_elasticity null = "
                      "infinite; rate_after null on a quota line = prohibitive beyond the quota"),
            "lines": records(lines.replace([np.inf], np.nan)),
            "totals": self.totals(),
            "by_year": records(self.by("total", ("year",))) if self.pe is not None else [],
            "by_hs2": records(self.by("hs2", ("year",))) if self.pe is not None else [],
            "by_sector": records(self.by("sector", ("year",))) if self.pe is not None else [],
            "range_by_year": records(self.pe_range) if self.pe_range is not None else [],
            "skipped": records(self.skipped),
            "notes": list(self.notes),
            "caveats": list(scn.caveats),
        }
        if self.ge is not None:
            g = self.ge["result"]
            out["ge"] = {"year": self.ge["year"], "closure": g.closure, "deficits": g.deficits,
                         "fixed_by_closure": g.fixed_outcomes(), "sectors": list(g.baseline.sectors),
                         "notes": list(g.baseline.notes), "world": "tradepact built-in world8 2016",
                         "theta": dict(self.ge.get("thetas") or {}), "countries_at": "central θ",
                         "shock": records(self.ge["shock"]), "countries": records(self.ge["result"].to_frame()),
                         "range": records(self.ge["range"]) if self.ge.get("range") is not None else []}
        out["assumptions"] = self.assumptions()
        if self.draws is not None:
            q = self.draws.groupby("year")[["trade_creation", "trade_diversion", "tariff_revenue_change",
                                            "consumer_surplus_change"]].quantile([0.05, 0.5, 0.95])
            q.index.names = ["year", "quantile"]
            out["uncertainty"] = {"draws": scn.draws.n, "seed": scn.draws.seed, "spread": scn.draws.spread,
                                  "quantiles": records(q.reset_index())}
        return out

    def _repr_html_(self) -> str:  # notebooks
        import html

        body = "" if self.pe is None else self.by("total", ("year",)).to_html(
            index=False, float_format=lambda v: f"{v:,.1f}")
        return f"<p><b>{html.escape(self.name)}</b>: {html.escape(self.summary())}</p>{body}"

    def headline(self, year: int | None = None) -> dict[str, dict[str, float]]:
        """One year's PE totals (default the last simulated year) at the low / central / high end of the
        η range: ``{case: {column: USD m}}`` (only ``central`` when no range was run)."""
        if self.pe is None:
            return {}
        year = int(year if year is not None else max(self.scenario.years))
        cols = [c for c in ("total_import_change", "import_value", "consumer_surplus_change",
                            "tariff_revenue_change", "quota_rent_change") if c in self.pe.lines.columns]
        if self.pe_range is not None:
            r = self.pe_range[self.pe_range["year"] == year].set_index("case")
            return {c: {k: float(r.at[c, k]) for k in cols} for c in ("low", "central", "high") if c in r.index}
        t = self.by("total", ("year",)).set_index("year").loc[year]
        return {"central": {k: float(t[k]) for k in cols}}

    def assumptions(self) -> list[dict[str, str]]:
        """What the run assumed rather than measured, each with its value and source: elasticity proxies and
        weighting, σ fallbacks, the GE product content and θ range, and what the GE closure fixes."""
        out: list[dict[str, str]] = []
        el = self.scenario.elasticities
        lines = self.pe.lines if self.pe is not None else None
        if lines is not None:  # the lines whose results the assumptions bear on
            moved = (lines[["total_import_change", "tariff_revenue_change", "quota_rent_change"]].abs() > 1e-9).any(axis=1)
            lines = lines[moved]
        if lines is not None and len(lines) and "elasticity_source" in lines:
            src = lines["elasticity_source"].astype(str)
            prox = lines.loc[src.str.contains("proxy"), "importer"].unique()
            why = el_data.proxies("hauk2012")
            for imp in sorted(prox):
                out.append({"assumption": f"import-demand η of {imp} imports",
                            "value": "the US estimate of the same HS6 lines (Hauk 2012)",
                            "source": why.get(imp, "no estimate for this importer in the sources")})
            if "eta_weighting" in lines:
                cnt = lines.drop_duplicates(["importer", "exporter", "hs"])["eta_weighting"].value_counts()
                note = next((n.split(": ", 1)[1] for n in self.notes if n.startswith("Elasticity weighting:")), "")
                out.append({"assumption": "aggregation of HS6 η to a product line",
                            "value": "; ".join(f"{k}: {v} lines" for k, v in cnt.items()),
                            "source": note or "scenario settings"})
        if lines is not None and len(lines) and "sigma_source" in lines:
            ss = lines.drop_duplicates(["importer", "exporter", "hs"])["sigma_source"].astype(str)
            fell = int(ss.str.startswith("scenario value").sum())
            out.append({"assumption": "elasticity of substitution between origins σ",
                        "value": (f"{el.substitution_table} by product and importer" if el.substitution_table != "none"
                                  else f"{el.substitution:g} for every line")
                                 + (f"; {fell} lines without a table value take {el.substitution:g}" if fell and
                                    el.substitution_table != "none" else ""),
                        "source": (el_data.table_info(el.substitution_table)["source"]
                                   if el.substitution_table != "none" else "scenario file")})
        if self.ge is not None:
            share = self.ge.get("share")
            if share is not None:
                out.append({"assumption": "GE: content of the changed products in trade cells the data do not "
                                          "break down", "value": f"{share.value:.1%} ({share.derivation})",
                            "source": share.source})
            th = self.ge.get("thetas") or {}
            if th:
                out.append({"assumption": "GE: trade elasticity θ", "value": " / ".join(
                    f"{k} {v:g}" for k, v in th.items()), "source": el_data.table_info("gravity")["source"]})
            g = self.ge["result"]
            out.append({"assumption": f"GE closure: {g.closure} endowment, {g.deficits} deficits",
                        "value": "fixed by assumption: " + "; ".join(g.fixed_outcomes()),
                        "source": "model closure (an assumption, not a finding)"})
        return out

    def ge_headline(self) -> dict[str, dict[str, float]]:
        """GE change in the importer's imports from the partner (USD m) at low / central / high θ, summed over
        the tariff pairs: ``{case: {theta, touched_change, untouched_change, total_change,
        bilateral_balance_change}}``; empty without GE."""
        if self.ge is None or self.ge.get("range") is None or self.ge["range"].empty:
            return {}
        r = self.ge["range"]
        cols = ["touched_change", "untouched_change", "total_change", "bilateral_balance_change"]
        agg = r.groupby("case", sort=False).agg({"theta": "first", **{c: "sum" for c in cols}})
        return {c: {k: float(agg.at[c, k]) for k in ["theta"] + cols} for c in agg.index}

    def summary(self) -> str:
        """One year's effects (the last simulated year) with the η range — never a sum over years — and, with
        GE, the change in imports over the θ range."""
        h = self.headline()
        if not h:
            return f"{self.name}: no flows simulated"
        year = max(self.scenario.years)
        c = h["central"]

        def rng(col: str) -> str:
            if "low" not in h:
                return f"{c[col]:+,.0f}"
            lo, hi = sorted((h["low"][col], h["high"][col]))
            return f"{c[col]:+,.0f} (range {lo:+,.0f} to {hi:+,.0f})"

        text = (f"{self.name}, {year}: imports of the affected lines {rng('total_import_change')}, consumer surplus "
                f"{rng('consumer_surplus_change')}, tariff revenue {rng('tariff_revenue_change')} (USD m a year at "
                f"{self.scenario.baseline.year} values; range = low/high import-demand elasticity; "
                f"{len(self.pe.lines)} flow-years simulated" + (f", {len(self.skipped)} more skipped for lack of a "
                                                               "tariff rate" if len(self.skipped) else "") + ")")
        g = self.ge_headline()
        if g and "central" in g:
            lo, hi = sorted((g["low"]["total_change"], g["high"]["total_change"]))
            text += (f"; GE {self.ge['year']}: imports from the partner {g['central']['total_change']:+,.0f} at θ "
                     f"{g['central']['theta']:g} (range {lo:+,.0f} to {hi:+,.0f} over θ {g['low']['theta']:g}–"
                     f"{g['high']['theta']:g}), of which the changed products {g['central']['touched_change']:+,.0f}")
        return text


def _match(frame: pd.DataFrame, ch) -> np.ndarray:
    m = np.ones(len(frame), dtype=bool)
    if ch.importer is not None:
        m &= frame["importer"].to_numpy() == ch.importer
    if ch.exporter is not None:
        m &= frame["exporter"].to_numpy() == ch.exporter
    codes = ch.hs_list()
    if codes:
        hs = frame["hs"].astype(str)
        hm = np.zeros(len(frame), dtype=bool)
        for c in codes:  # a handful of codes per change
            hm |= hs.str.startswith(c).to_numpy()
        m &= hm
    yr = frame["year"].to_numpy()
    if ch.from_year is not None:
        m &= yr >= ch.from_year
    if ch.to_year is not None:
        m &= yr <= ch.to_year
    return m


def _path_rates(rates: dict[int, float], years: np.ndarray) -> np.ndarray:
    """Step path: each year takes the value of the latest key <= year (NaN before the first)."""
    keys = np.array(sorted(rates), dtype=int)
    vals = np.array([rates[k] for k in keys], dtype=float)
    pos = np.searchsorted(keys, years, side="right") - 1
    return np.where(pos >= 0, vals[np.clip(pos, 0, None)], np.nan)


def _before_rates(scn: Scenario, frame: pd.DataFrame) -> pd.DataFrame:
    """Add rate_before, base_rate, rate_source, rate_confirmed (and the schedule's category)."""
    if scn.baseline.agreement is not None:
        from tradepact.agreements import rates

        ag = _agreement(scn)
        q = frame[["importer", "exporter", "hs", "year"]].copy()
        try:
            r = rates(ag, q, as_of=scn.baseline.as_of)
        except TradepactError as exc:
            raise ConfigError(f"{scn.file}: field 'baseline.agreement': {exc}") from None
        r = r.reset_index(drop=True)
        frame = frame.reset_index(drop=True).copy()
        frame["rate_before"] = pd.to_numeric(r["rate"], errors="coerce").to_numpy(dtype=float)
        frame["base_rate"] = pd.to_numeric(r.get("base_rate"), errors="coerce").to_numpy(dtype=float) \
            if "base_rate" in r else np.nan
        frame["rate_source"] = r["source"].to_numpy() if "source" in r else scn.baseline.agreement
        frame["rate_confirmed"] = r["confirmed"].astype(bool).to_numpy() if "confirmed" in r else True
        frame["schedule_category"] = r["category"].to_numpy() if "category" in r else None
        frame["schedule_line"] = r["line_id"].to_numpy() if "line_id" in r else None
    else:
        frame = frame.copy()
        frame["rate_before"] = pd.to_numeric(frame["rate"], errors="coerce")
        frame["base_rate"] = frame["rate_before"]
        frame["rate_source"] = f"data file {scn.baseline.data}"
        frame["rate_confirmed"] = True
    return frame


def _apply_changes(scn: Scenario, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    frame["rate_after"] = frame["rate_before"].to_numpy(dtype=float)
    for col in ("quota_before", "quota_after", "in_quota_rate_before", "in_quota_rate_after"):
        frame[col] = np.nan
    years = frame["year"].to_numpy()
    for i, ch in enumerate(scn.changes):
        if ch.kind == "trade_cost":
            continue
        m = _match(frame, ch)
        if not m.any():
            what = {"tariff": "tariff change", "quota": "quota"}.get(ch.kind, f"{ch.kind} change")
            hs = ", ".join(ch.hs_list() or []) or "all products"
            notes.append(f"The {what} on {ch.importer or 'all'} imports from {ch.exporter or 'all partners'} of HS "
                         f"{hs} (change {i + 1} in the scenario) has no partial-equilibrium effect: there is no flow of "
                         "those products between those countries in the data.")
            continue
        targets = ["after"] + (["before"] if ch.also_baseline else [])
        if ch.kind == "tariff":
            if ch.rate == "mfn":
                new = frame["base_rate"].to_numpy(dtype=float)
            elif ch.rates is not None:
                new = _path_rates(ch.rates, years)
            elif ch.staging is not None:
                new = np.where(years >= ch.staging.from_year, ch.staging.at(years), np.nan)
            else:
                new = np.full(len(frame), float(ch.rate))
            # a path or staging leaves years before its start unchanged (NaN there); 'mfn' with no base
            # rate makes the rate unknown, and the flow is skipped rather than guessed
            keep_cur = np.isnan(new) if ch.rate != "mfn" else np.zeros(len(frame), bool)
            for tgt in targets:
                col = f"rate_{tgt}"
                cur = frame[col].to_numpy(dtype=float)
                frame[col] = np.where(m & ~keep_cur, new, cur)
        else:  # quota
            vol = (np.full(len(frame), ch.volume) if ch.volume is not None
                   else ch.share_of_base * frame["import_value"].to_numpy(dtype=float))
            for tgt in targets:
                frame[f"quota_{tgt}"] = np.where(m, vol, frame[f"quota_{tgt}"].to_numpy(dtype=float))
                frame[f"in_quota_rate_{tgt}"] = np.where(m, ch.in_quota_rate,
                                                         frame[f"in_quota_rate_{tgt}"].to_numpy(dtype=float))
                if ch.out_of_quota_rate is not None:
                    oq = math.inf if ch.out_of_quota_rate == "prohibitive" else float(ch.out_of_quota_rate)
                    frame[f"rate_{tgt}"] = np.where(m, oq, frame[f"rate_{tgt}"].to_numpy(dtype=float))
    return frame, notes


def _elasticities(scn: Scenario, frame: pd.DataFrame, weights: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add ``import_demand_elasticity`` (central η), ``eta_low``/``eta_high`` (its range; equal to the
    central value where one number is given), ``eta_weighting``, ``elasticity_source``, and
    ``substitution_elasticity`` (σ) with ``sigma_source``. ``weights``: HS6 trade weights
    (:func:`tradepact.simulate.data.hs6_weights`) for aggregating HS6 estimates to a line."""
    el = scn.elasticities
    default = el.import_demand_default
    if "import_demand_elasticity" in frame.columns and frame["import_demand_elasticity"].notna().any():
        given = pd.to_numeric(frame["import_demand_elasticity"], errors="coerce")
    else:
        given = pd.Series(np.nan, index=frame.index)
    if el.import_demand_table == "hauk2012":
        r = el_data.line_ranges(frame, weights=weights)
        proxy = (frame["importer"] != el_data.table_info("hauk2012")["importer"]).to_numpy()
        if not el.import_demand_proxy:
            r.loc[proxy, ["eta", "eta_low", "eta_high"]] = np.nan
        miss = r["eta"].isna()
        look = pd.DataFrame({"elasticity": r["eta"].where(~miss, default),
                             "low": r["eta_low"].where(~miss, default), "high": r["eta_high"].where(~miss, default),
                             "elasticity_source": r["eta_source"].where(~miss, f"default {default:g} (no HS6 "
                                                                            "estimate under the line)")},
                            index=frame.index)
        proxy = proxy & ~miss.to_numpy()
        look["eta_weighting"] = r["eta_weighting"].where(~miss, "default")
        look.loc[proxy, "elasticity_source"] = look.loc[proxy, "elasticity_source"] + " (US estimate used as a proxy)"
    elif el.import_demand_table == "protee":  # allowed only with allow_concept_mismatch (checked on load)
        look = pe_data.lookup_elasticities(frame, pe_data.import_elasticities(), default, el.include_flagged)
        look["elasticity_source"] = "ProTEE trade elasticity θ used as η (concept mismatch allowed): " \
            + look["elasticity_source"]
        look["low"] = look["high"] = look["elasticity"]
    else:
        look = pd.DataFrame({"elasticity": default, "low": default, "high": default,
                             "elasticity_source": f"default {default:g}"}, index=frame.index)
    use_given = given.notna()
    eta = given.where(use_given, look["elasticity"])
    low = given.where(use_given, look["low"])
    high = given.where(use_given, look["high"])
    src = pd.Series(np.where(use_given, "data file", look["elasticity_source"]), index=frame.index)
    if el.import_demand:
        hs = frame["hs"].astype(str)
        best_len = np.zeros(len(frame), dtype=int)
        for code, val in el.import_demand.items():  # a few overrides
            hit = hs.str.startswith(code).to_numpy() & (len(code) > best_len)
            eta, low, high = (x.where(~hit, val) for x in (eta, low, high))
            src = src.where(~hit, f"scenario override for HS {code}")
            best_len = np.where(hit, len(code), best_len)
    frame["import_demand_elasticity"] = eta.to_numpy(dtype=float)
    frame["eta_low"] = low.to_numpy(dtype=float)
    frame["eta_high"] = high.to_numpy(dtype=float)
    frame["elasticity_source"] = src.to_numpy()
    wt = look["eta_weighting"] if "eta_weighting" in look else pd.Series("one value", index=frame.index)
    frame["eta_weighting"] = np.where(src.str.startswith("Hauk").to_numpy(), wt.to_numpy(), "one value")
    sig_default = float(el.substitution)
    given_sig = (pd.to_numeric(frame["substitution_elasticity"], errors="coerce")
                 if "substitution_elasticity" in frame.columns else pd.Series(np.nan, index=frame.index))
    if el.substitution_table != "none":
        sg = el_data.line_substitution(frame, el.substitution_table, weights=weights,
                                       allow_mismatch=el.allow_concept_mismatch)
        has = sg["sigma"].notna()
        frame["substitution_elasticity"] = sg["sigma"].where(has, sig_default).to_numpy(dtype=float)
        frame["sigma_source"] = sg["sigma_source"].where(
            has, f"scenario value {sig_default:g} (no {el.substitution_table} σ for the line)").to_numpy()
    else:
        frame["substitution_elasticity"] = sig_default
        frame["sigma_source"] = f"scenario value {sig_default:g}"
    if given_sig.notna().any():
        frame["substitution_elasticity"] = given_sig.where(given_sig.notna(), frame["substitution_elasticity"])
        frame["sigma_source"] = np.where(given_sig.notna(), "data file", frame["sigma_source"])
    return frame


def _settings(scn: Scenario) -> PESettings:
    el = scn.elasticities
    return PESettings(substitution_elasticity=el.substitution, export_supply_elasticity=el.export_supply,
                      import_demand_elasticity=el.import_demand_default, functional_form=el.functional_form,
                      domestic_substitution=el.domestic_substitution,
                      composite_demand_elasticity=el.composite_demand,
                      domestic_substitution_elasticity=el.domestic_substitution_elasticity)


def prepare(scn: Scenario) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The PE input frame (flows x years with rates, quotas and elasticities), the skipped flows and notes."""
    lines = scn._lines
    if lines is None:
        lines = _lines(scn, Path.cwd())
    origin_note = None
    weights, weight_note = None, None
    if scn.baseline.other_origins == "ledger":
        more, origin_note = pe_data.other_origins(lines)
        if len(more):
            lines = pd.concat([lines.assign(third_country=False), more], ignore_index=True)
    if scn.elasticities.import_demand_table == "hauk2012" or scn.elasticities.substitution_table != "none":
        weights, weight_note = pe_data.hs6_weights(lines)
    base = lines.drop(columns=["year"]).rename(columns={"rate": "rate_data"})
    if "rate_data" in base.columns:
        base["rate"] = base["rate_data"]
    years = pd.DataFrame({"year": np.asarray(scn.years, dtype=int)})
    frame = base.merge(years, how="cross")
    frame["base_year"] = scn.baseline.year
    frame = _before_rates(scn, frame)
    frame, notes = _apply_changes(scn, frame)
    bad = frame["rate_before"].isna() | frame["rate_after"].isna()
    skipped = frame.loc[bad, ["importer", "exporter", "hs", "year"]].copy()
    skipped["reason"] = np.where(frame.loc[bad, "rate_before"].isna(),
                                 "no before rate (the agreement has no line and no MFN rate for it)",
                                 "no after rate (a change asks for the base rate, which the agreement does not give)")
    if "description" in frame.columns:
        skipped.insert(3, "description", frame.loc[bad, "description"].to_numpy())
    frame = frame.loc[~bad].reset_index(drop=True)
    if bad.any():
        notes.append(f"{int(bad.sum())} flow-years skipped for lack of a tariff rate (see 'skipped')")
    frame = _elasticities(scn, frame, weights)
    if origin_note:
        notes.append("Third-country suppliers: " + origin_note)
    if weight_note:
        notes.append("Elasticity weighting: " + weight_note)
    return frame, skipped.reset_index(drop=True), notes


def run_scenario(scenario: str | Path | dict | Scenario, *, progress=None) -> ScenarioResult:
    """Validate (if needed) and run a scenario; all-or-nothing. ``progress(step, total)`` is called per draw."""
    scn = load_scenario(scenario)
    frame, skipped, notes = prepare(scn)
    settings = _settings(scn)
    pe = simulate_pe(frame, settings, source=f"{scn.file} (PE input)") if "pe" in scn.models and len(frame) else None
    pe_range = None
    if pe is not None and scn.elasticities.range:
        cases = []
        for case, col in (("low", "eta_low"), ("central", None), ("high", "eta_high")):
            r = pe if col is None else simulate_pe(frame.assign(import_demand_elasticity=frame[col]), settings,
                                                   source=f"{scn.file} (PE input, {case} η)")
            cases.append(r.aggregate("total", by=("year",)).assign(case=case))
        pe_range = pd.concat(cases, ignore_index=True)
    draws = None
    if pe is not None and scn.draws.n > 0:
        rng = np.random.default_rng(scn.draws.seed)
        s = scn.draws.spread
        rows = []
        eta0 = frame["import_demand_elasticity"].to_numpy(dtype=float)
        sig0 = frame["substitution_elasticity"].to_numpy(dtype=float)
        # one draw per product line (the same η in every year); where the line has an estimated range the
        # draw is normal with the estimate's standard error (range / (2·1.645)), else log-normal with `spread`
        line = pd.factorize(frame[["importer", "exporter", "hs"]].astype(str).agg("|".join, axis=1))[0]
        n_lines = int(line.max()) + 1
        sd = (np.abs(frame["eta_high"] - frame["eta_low"]).to_numpy(dtype=float) / (2 * el_data.Z90)
              if "eta_low" in frame else np.zeros(len(frame)))
        for d in range(scn.draws.n):
            f = frame.copy()
            z = rng.standard_normal(n_lines)[line]
            k_eta = np.exp(-0.5 * s * s + s * rng.standard_normal(n_lines))[line]
            k_sig = np.exp(rng.normal(-0.5 * s * s, s))
            f["import_demand_elasticity"] = np.where(sd > 0, np.minimum(eta0 + sd * z, -0.01), eta0 * k_eta)
            f["substitution_elasticity"] = sig0 * k_sig
            r = simulate_pe(f, settings, source=scn.file)
            t = r.aggregate("total", by=("year",))
            t["draw"] = d
            rows.append(t)
            if progress is not None:
                progress(d + 1, scn.draws.n)
        draws = pd.concat(rows, ignore_index=True)
    ge = None
    if "ge" in scn.models:
        from tradepact.simulate.bridge_ge import run_ge_range

        g = run_ge_range(scn, frame)
        ge = {"year": max(scn.years), "result": g["results"]["central"], "results": g["results"],
              "thetas": g["thetas"], "shock": g["shock"], "range": g["range"], "share": g["share"]}
        if any(frame.get("quota_after", pd.Series(dtype=float)).notna()):
            notes.append("GE: quota changes are not passed to the GE model (tariff and trade-cost changes only)")
    return ScenarioResult(scenario=scn, pe=pe, skipped=skipped, notes=notes, draws=draws, ge=ge, pe_range=pe_range)


def compare(a: ScenarioResult, b: ScenarioResult, level: str = "hs2") -> pd.DataFrame:
    """Two scenarios' results side by side by year and ``level`` with differences (b − a)."""
    keys = ["year"] + ({"hs2": ["hs2"], "sector": ["sector"], "total": [], "line": ["hs"]}[level])
    cols = ["trade_creation", "trade_diversion", "total_import_change", "tariff_revenue_change",
            "consumer_surplus_change", "quota_rent_change"]
    if level == "line":
        fa = a.pe.aggregate("line", by=("year", "importer", "exporter"))
        fb = b.pe.aggregate("line", by=("year", "importer", "exporter"))
        keys = ["year", "importer", "exporter", "hs"]
        fa = fa.groupby(keys)[cols].sum().reset_index()
        fb = fb.groupby(keys)[cols].sum().reset_index()
    else:
        fa = a.by(level, ("year",))
        fb = b.by(level, ("year",))
    m = fa[keys + cols].merge(fb[keys + cols], on=keys, how="outer", suffixes=(f"_a", f"_b")).fillna(0.0) \
        if keys else None
    out = m[keys].copy()
    for c in cols:
        out[f"{c}_a"] = m[f"{c}_a"]
        out[f"{c}_b"] = m[f"{c}_b"]
        out[f"{c}_diff"] = m[f"{c}_b"] - m[f"{c}_a"]
    return out.sort_values(keys).reset_index(drop=True)
