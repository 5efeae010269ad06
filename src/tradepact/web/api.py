"""The JSON API under ``/api/``; the dashboard pages call exactly these endpoints."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any, Optional

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from tradepact import __version__
from tradepact.web import models, services
from tradepact.web.auth import principal
from tradepact.web.safety import MAX_SCENARIO_BYTES, InputError, decode_upload

#: old names of query parameters, for the error that points to the new one
RENAMED = {"start": "from", "end": "to"}


def known_query_only(request: Request) -> None:
    """Refuse a query parameter the endpoint does not take (422 naming it and the ones it takes),
    so a typo is an error instead of a silently ignored option. ``token`` (the login link) is
    always accepted."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed, todo = {"token"}, [dependant]
    while todo:  # the endpoint's own query parameters and its dependencies'
        d = todo.pop()
        allowed.update(f.alias for f in d.query_params)
        todo.extend(d.dependencies)
    for key in request.query_params:
        if key not in allowed:
            hint = f" (it is called {RENAMED[key]!r}, as the command line's --{RENAMED[key]})" \
                if RENAMED.get(key) in allowed else ""
            takes = ", ".join(sorted(allowed - {"token"})) or "no query parameters"
            raise InputError(("query", key), f"unknown parameter {key!r}{hint}; this endpoint takes {takes}")


router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(known_query_only)], responses={
    503: {"description": "the engine behind this endpoint is not installed in this build"},
    413: {"description": "request body over the size limit"},
    401: {"description": "no valid credentials (Bearer token or session cookie)"},
})
log = logging.getLogger("tradepact.web")

YEAR_MIN, YEAR_MAX = 1900, 2100
Year = Annotated[Optional[int], Query(ge=YEAR_MIN, le=YEAR_MAX)]
#: the first and last year, named as the command line names them (--from, --to)
FromYear = Annotated[Optional[int], Query(alias="from", ge=YEAR_MIN, le=YEAR_MAX, description="first year (as --from)")]
ToYear = Annotated[Optional[int], Query(alias="to", ge=YEAR_MIN, le=YEAR_MAX, description="last year (as --to)")]
Code = Annotated[str, Query(min_length=2, max_length=3, pattern=r"^[A-Za-z]{2,3}$",
                            description="ISO3 country code (e.g. KOR, USA)")]
HS = Annotated[str, Query(min_length=2, max_length=12, pattern=r"^\d{2}(\.?\d{2}){0,4}$",
                          description="HS code, 2 to 10 digits (dots allowed: 0201.10)")]
RUN_ID = r"^[0-9a-f]{32}$"

ENGINES = {
    "ledger": ("tradepact.ledger.balances", "bilateral"),
    "agreements": ("tradepact.agreements", "builtin_agreements", "load_agreement", "rates"),
    "scenarios": ("tradepact.simulate.scenario", "builtin_scenarios", "load_scenario", "run_scenario"),
}


def _country(value: str, field: str) -> str:
    code = services.valid_country(value)
    if code is None:
        raise InputError(("query", field), f"unknown country code {value!r}; expected an ISO3 code such as KOR or USA")
    return code


def _years(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start > end:
        raise InputError(("query", "to"), f"the last year (to={end}) is before the first (from={start})")


def _store(request: Request):
    return request.app.state.store_dir


def _installed(module: str, *names: str) -> bool:
    try:
        services.engine(module, *names)
    except services.EngineMissing:
        return False
    return True


@router.get("/health", response_model=models.Health, summary="Service status and installed engines")
def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__,
            "engines": {k: _installed(*spec) for k, spec in ENGINES.items()}}


@router.get("/countries", response_model=list[models.Country], summary="Accepted ISO3 country codes")
def countries() -> list[dict[str, str]]:
    return services.country_list()


# ----------------------------------------------------------------------------- ledger
@router.get("/ledger", response_model=models.LedgerResponse,
            summary="A pair's goods and services trade by year (USD millions, a's point of view)")
def ledger(request: Request, a: Code, b: Code, start: FromYear = None, end: ToYear = None,
           since: Annotated[Optional[dt.date], Query(description="split before/after this date")] = None,
           ) -> dict[str, Any]:
    ca, cb = _country(a, "a"), _country(b, "b")
    if ca == cb:
        raise InputError(("query", "b"), f"partner must differ from the reporting country, got {cb} twice")
    _years(start, end)
    return services.ledger(ca, cb, start, end, _store(request), since=since)


# ----------------------------------------------------------------------------- agreements
def _agreement(agreement_id: str):
    ag = services.get_agreement(agreement_id)
    if ag is None:
        raise InputError(("path", "agreement_id"),
                         f"unknown agreement {agreement_id!r}; built-in: {', '.join(services.agreement_ids())}")
    return ag


@router.get("/agreements", response_model=list[models.AgreementInfo], summary="Built-in agreements")
def agreements() -> list[dict[str, Any]]:
    return [services.agreement_info(services.get_agreement(i)) for i in services.agreement_ids()]


@router.get("/agreements/{agreement_id}", response_model=models.AgreementDetail,
            summary="One agreement with its amendments/changes")
def agreement(agreement_id: str) -> dict[str, Any]:
    ag = _agreement(agreement_id)
    from tradepact.results import records

    return {**services.agreement_info(ag), "changes": records(services.agreement_changes(ag))}


@router.get("/agreements/{agreement_id}/lines", response_model=models.ScheduleLines,
            summary="Search schedule lines by HS code prefix or product name")
def agreement_lines(agreement_id: str,
                    q: Annotated[str, Query(max_length=100, description="HS code prefix or words of the description")] = "",
                    importer: Annotated[Optional[str], Query(max_length=3, pattern=r"^[A-Za-z]{2,3}$")] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict[str, Any]:
    ag = _agreement(agreement_id)
    imp = _country(importer, "importer") if importer else None
    total, lines = services.search_lines(ag, q, imp, limit)
    return {"agreement": agreement_id, "query": q, "total": total, "lines": lines}


@router.get("/agreements/{agreement_id}/rates", response_model=models.RatePath,
            summary="Tariff path of one HS code by year (rates as fractions)")
def agreement_rates(agreement_id: str, importer: Code, hs: HS,
                    exporter: Annotated[Optional[str], Query(min_length=2, max_length=3, pattern=r"^[A-Za-z]{2,3}$",
                                                             description="ISO3; default: the other party of a "
                                                             "two-party agreement (as the command line)")] = None,
                    start: FromYear = None, end: ToYear = None,
                    as_of: Annotated[Optional[dt.date], Query(description="see the agreement as it stood on this date")] = None,
                    ) -> dict[str, Any]:
    ag = _agreement(agreement_id)
    imp = _country(importer, "importer")
    if exporter is None:
        others = [p for p in ag.parties if p != imp]
        if len(ag.parties) != 2 or len(others) != 1:
            raise InputError(("query", "exporter"), f"exporter is required ({imp} is not one of two parties "
                             f"{', '.join(ag.parties)})")
        exporter = others[0]
    exp = _country(exporter, "exporter")
    start = start if start is not None else 2010
    end = end if end is not None else max(start, 2035)
    _years(start, end)
    if end - start > 100:
        raise InputError(("query", "to"), "at most 100 years at a time")
    out = services.rate_path(ag, imp, exp, hs.replace(".", ""), start, end, as_of=as_of)
    return {"agreement": agreement_id, "importer": imp, "exporter": exp, "hs": hs.replace(".", ""),
            "as_of": None if as_of is None else as_of.isoformat(), **out}


# ----------------------------------------------------------------------------- scenarios
@router.get("/scenarios", response_model=list[models.Scenario], summary="Built-in scenarios with their YAML")
def scenarios() -> list[dict[str, Any]]:
    return services.scenario_catalog()


@router.get("/scenarios/{name}", response_model=models.Scenario, summary="One built-in scenario")
def scenario(name: str) -> dict[str, Any]:
    for s in services.scenario_catalog():
        if s["name"] == name:
            return s
    raise InputError(("path", "name"), f"unknown built-in scenario {name!r}")


# ----------------------------------------------------------------------------- runs
def _submit(request: Request, text: str, origin: str, loc: tuple[str, ...]) -> JSONResponse:
    name, _ = services.check_scenario(text, loc)  # 422 before anything is stored
    runs = request.app.state.runs
    who = principal(request)
    with request.app.state.quota.reserve(who.client) as ticket:  # 429 before anything is stored
        run_id = runs.create(name, text, origin, __version__)
        ticket.submit(run_id, text)
    log.info("run %s (%s, %s) queued by %s from %s", run_id, name, origin, who.id,
             request.client.host if request.client else "unknown")
    return JSONResponse(status_code=202, content=runs.get(run_id), headers={"Location": f"/api/runs/{run_id}"})


RUN_LIMITS = {429: {"description": "this client is at its limit of concurrent and queued runs (see Retry-After)"}}


@router.post("/runs", response_model=models.Run, status_code=202, responses=RUN_LIMITS,
             summary="Start a run of a built-in scenario or of scenario YAML; returns at once")
def create_run(request: Request, body: models.RunRequest) -> JSONResponse:
    if (body.builtin is None) == (body.scenario_text is None):
        raise InputError(("body",), "give exactly one of 'builtin' or 'scenario_text'")
    if body.builtin is not None:
        for s in services.scenario_catalog():
            if s["name"] == body.builtin:
                return _submit(request, s["text"], "builtin", ("body", "builtin"))
        raise InputError(("body", "builtin"), f"unknown built-in scenario {body.builtin!r}")
    return _submit(request, body.scenario_text, "text", ("body", "scenario_text"))


@router.post("/runs/upload", response_model=models.Run, status_code=202, responses=RUN_LIMITS,
             summary=f"Start a run from an uploaded YAML file (at most {MAX_SCENARIO_BYTES // 1024} KiB)")
async def upload_run(request: Request, file: UploadFile = File(...)) -> JSONResponse:
    data = await file.read(MAX_SCENARIO_BYTES + 1)
    text = decode_upload(data, ("body", "file"))
    import anyio

    return await anyio.to_thread.run_sync(_submit, request, text, "upload", ("body", "file"))


@router.get("/runs", response_model=list[models.RunSummary], summary="Saved runs, newest first")
def list_runs(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
              status: Annotated[Optional[str], Query(pattern="^(queued|running|done|failed)$")] = None,
              ) -> list[dict[str, Any]]:
    return request.app.state.runs.list(limit=limit, status=status)


@router.get("/runs/{run_id}", response_model=models.Run, summary="One run with its scenario and result",
            responses={404: {"description": "no run with this id"}})
def get_run(request: Request, run_id: str) -> Any:
    import re

    if not re.fullmatch(RUN_ID, run_id):
        raise InputError(("path", "run_id"), "expected a run id of 32 hexadecimal characters")
    run = request.app.state.runs.get(run_id)
    if run is None:
        return JSONResponse(status_code=404, content={"detail": f"no run {run_id}"})
    run["figures"] = services.run_figures(run["result"], run["scenario_name"]) if run["status"] == "done" else []
    return run
