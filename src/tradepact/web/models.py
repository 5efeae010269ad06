"""Request and response models of the JSON API (they make the OpenAPI schema)."""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    engines: dict[str, bool] = Field(description="which engine modules are installed")


class Country(BaseModel):
    code: str = Field(description="ISO3 code")
    name: str


class LedgerRow(BaseModel):
    model_config = ConfigDict(extra="allow")
    year: int
    goods_exports: Optional[float] = None
    goods_imports: Optional[float] = None
    goods_balance: Optional[float] = None
    services_exports: Optional[float] = None
    services_imports: Optional[float] = None
    services_balance: Optional[float] = None
    total_balance: Optional[float] = None
    confirmed: Optional[bool] = None
    goods_confirmed: Optional[bool] = None
    services_confirmed: Optional[bool] = None
    source: Optional[str] = None


class LedgerResponse(BaseModel):
    a: str = Field(description="reporting country (ISO3); figures are from its point of view")
    b: str = Field(description="partner country (ISO3)")
    start: Optional[int] = None
    end: Optional[int] = None
    rows: list[LedgerRow] = Field(description="one row per year, USD millions")
    figure: dict[str, Any] = Field(description="plotly figure JSON")
    before_after: Optional[list[dict[str, Any]]] = None
    sources: list[str]
    unconfirmed_years: list[int]
    message: Optional[str] = Field(None, description="why there are no rows, when there are none")


class AgreementInfo(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    parties: list[str]
    in_force: Optional[str] = Field(None, description="entry into force (ISO date)")
    signed: Optional[str] = None
    amendments: list[str] = Field(default_factory=list)
    lines: int = Field(description="number of schedule lines")


class AgreementDetail(AgreementInfo):
    changes: list[dict[str, Any]] = Field(description="amendments and changes, one row each")


class ScheduleLines(BaseModel):
    agreement: str
    query: str
    total: int = Field(description="lines matching before the limit")
    lines: list[dict[str, Any]]


class RatePath(BaseModel):
    agreement: str
    importer: str
    exporter: str
    hs: str
    as_of: Optional[str] = None
    rows: list[dict[str, Any]] = Field(description="one row per year; rate and base_rate are fractions")
    figure: dict[str, Any]
    changes: list[dict[str, Any]] = Field(description="amendments that touch this line")


class Scenario(BaseModel):
    name: str
    description: str = ""
    text: str = Field(description="the scenario as YAML")


class RunRequest(BaseModel):
    """Either ``builtin`` (a built-in scenario's name) or ``scenario_text`` (YAML), not both."""

    model_config = ConfigDict(extra="forbid")
    builtin: Optional[str] = Field(None, max_length=200, description="name of a built-in scenario")
    scenario_text: Optional[str] = Field(None, description="scenario YAML (at most 256 KiB)")


class RunSummary(BaseModel):
    id: str
    created_at: str
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(description="0..1")
    stage: str
    scenario_name: str
    origin: str
    tradepact_version: str
    summary: Optional[str] = None
    error: Optional[str] = None


class Run(RunSummary):
    scenario_text: str
    error_detail: Optional[str] = None
    result: Optional[dict[str, Any]] = Field(None, description="the scenario result JSON when done")
    figures: list[dict[str, Any]] = Field(default_factory=list, description="plotly figures of the result")
