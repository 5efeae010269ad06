"""The dashboard: ``create_app(store)`` builds the FastAPI app (JSON API + Jinja2 pages).

Run it with ``tradepact serve`` (127.0.0.1:8000 by default). The store directory holds
the ledger store (if any) and ``runs.sqlite`` with the saved scenario runs.
"""
from __future__ import annotations

import functools
import os
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from tradepact import __version__
from tradepact.errors import ConfigError, DataFormatError, StoreError, TradepactError
from tradepact.web import services
from tradepact.web.api import router as api_router
from tradepact.web.auth import Auth, AuthMiddleware, document_security, logout_route
from tradepact.web.quota import MAX_QUEUED, MAX_RUNNING, RunQuota, TooManyRuns
from tradepact.web.runs import RunStore
from tradepact.web.safety import InputError
from tradepact.web.worker import RUN_TIME_LIMIT, RunManager, execute_run

HERE = Path(__file__).parent

#: Largest request body accepted (bytes); scenario uploads are further limited to 256 KiB.
MAX_BODY_BYTES = 1024 * 1024


def default_store() -> Path:
    """``$TRADEPACT_STORE`` or the per-user data directory (platformdirs)."""
    env = os.environ.get("TRADEPACT_STORE")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("tradepact", appauthor=False)) / "store"


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413 (checks the
    declared Content-Length and counts streamed bytes)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.max_bytes:
                return await _too_large(send, self.max_bytes)
        seen = 0

        async def limited():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return msg

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _too_large(send, limit: int) -> None:
    body = f'{{"detail":"request body over the {limit} byte limit"}}'.encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _unprocessable(loc: tuple, message: str) -> JSONResponse:
    field = ".".join(str(x) for x in loc[1:]) or str(loc[0])
    return JSONResponse(status_code=422, content={
        "detail": [{"loc": list(loc), "msg": message, "type": "value_error"}],
        "message": f"{field}: {message}"})


@lru_cache(maxsize=1)
def _plotly_js() -> bytes:
    import plotly.offline

    return plotly.offline.get_plotlyjs().encode()


#: Host headers accepted by default: the dashboard is for this machine (refusing other names
#: blocks DNS-rebinding pages from driving it through the user's browser).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "testserver")


def _docs_routes(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` with their scripts and styles served from this server
    (the files shipped by the ``fastapi-offline`` package) instead of a CDN, so the API docs work
    offline and behind firewalls. Like every page they need a login."""
    from importlib import resources

    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    assets = Path(str(resources.files("fastapi_offline") / "static"))
    app.mount("/static/docs", StaticFiles(directory=assets), name="docs-assets")
    title = f"{app.title} — API"

    # the pages may load nothing from elsewhere (redoc's bundle would fetch its footer logo from a CDN)
    same_origin = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
                   "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
                   "worker-src 'self' blob:; connect-src 'self'"}

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url, title=title,
                                   swagger_js_url="/static/docs/swagger-ui-bundle.js",
                                   swagger_css_url="/static/docs/swagger-ui.css",
                                   swagger_favicon_url="/static/docs/favicon.png")
        page.headers.update(same_origin)
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url=app.openapi_url, title=title,
                              redoc_js_url="/static/docs/redoc.standalone.js",
                              redoc_favicon_url="/static/docs/favicon.png", with_google_fonts=False)
        page.headers.update(same_origin)
        return page


def create_app(store: str | os.PathLike | None = None, *, workers: int = 2, mode: str = "process",
               run_time_limit: float | None = RUN_TIME_LIMIT, run_target=None,
               allowed_hosts: tuple[str, ...] | list[str] = LOOPBACK_HOSTS, auth: Auth | None = None,
               max_runs_per_client: int = MAX_RUNNING, max_queued_per_client: int = MAX_QUEUED) -> FastAPI:
    """The dashboard app on ``store`` (default :func:`default_store`).

    ``workers``/``mode`` size the scenario-run pool (``"process"`` or ``"thread"``);
    ``run_time_limit`` (seconds, None = none) stops a run that takes longer.
    ``allowed_hosts``: accepted ``Host`` headers (``["*"]`` when serving a network).
    ``auth``: who may use it (:mod:`tradepact.web.auth`); default a fresh random token
    (``app.state.auth.token``) plus the password stored in the store, if any.
    ``max_runs_per_client``/``max_queued_per_client``: per-client run limits (:mod:`tradepact.web.quota`).
    Saved runs live in ``<store>/dashboard/runs.sqlite``. Runs left queued/running by a
    previous server on this store are marked failed.
    """
    store_dir = Path(store) if store is not None else default_store()
    runs = RunStore.open(store_dir / services.RUNS_DIR)
    runs.fail_unfinished("the server stopped before this run finished")
    if run_target is None:
        run_target = functools.partial(execute_run, time_limit=run_time_limit)
    manager = RunManager(runs, workers=workers, mode=mode, target=run_target)
    quota = RunQuota(manager, max_runs_per_client, max_queued_per_client)
    auth = auth if auth is not None else Auth.default(store_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        manager.start()
        yield
        quota.shutdown()
        manager.shutdown(wait=True)

    app = FastAPI(title="tradepact dashboard", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Trade ledger, agreements and scenario runs. Money in USD millions, "
                              "tariffs as fractions, countries as ISO3 codes.")
    app.state.store_dir = store_dir
    app.state.runs = runs
    app.state.manager = manager
    app.state.quota = quota
    app.state.auth = auth
    app.add_middleware(AuthMiddleware, auth=auth)  # inside the body limit: the login form is limited too
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if list(allowed_hosts) != ["*"]:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=[h.strip("[]") for h in allowed_hosts]
                           + list(allowed_hosts))

    @app.exception_handler(InputError)
    async def _input_error(request: Request, exc: InputError):
        return _unprocessable(exc.loc, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        first = errors[0] if errors else {"loc": ["request"], "msg": "invalid"}
        field = ".".join(str(x) for x in first["loc"][1:]) or str(first["loc"][0])
        return JSONResponse(status_code=422, content={"detail": errors, "message": f"{field}: {first['msg']}"})

    @app.exception_handler(TooManyRuns)
    async def _too_many_runs(request: Request, exc: TooManyRuns):
        return JSONResponse(status_code=429, content={"detail": str(exc)},
                            headers={"Retry-After": str(exc.retry_after)})

    @app.exception_handler(services.EngineMissing)
    async def _engine_missing(request: Request, exc: services.EngineMissing):
        return JSONResponse(status_code=503, content={"detail": str(exc)})

    @app.exception_handler(TradepactError)
    async def _tradepact_error(request: Request, exc: TradepactError):
        if isinstance(exc, StoreError) or not isinstance(exc, (ConfigError, DataFormatError)):
            return JSONResponse(status_code=503 if isinstance(exc, StoreError) else 422, content={"detail": str(exc),
                                "message": str(exc)})
        loc = ("query", exc.field) if isinstance(exc, DataFormatError) and exc.field else ("query",)
        return _unprocessable(loc, str(exc))

    app.include_router(api_router)
    logout_route(app)
    document_security(app)

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return Response(_plotly_js(), media_type="application/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})

    _docs_routes(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    templates = Jinja2Templates(directory=HERE / "templates")

    def page(request: Request, name: str, **ctx: Any) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"version": __version__, "page": name, **ctx})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return page(request, "index.html")

    @app.get("/ledger", response_class=HTMLResponse, include_in_schema=False)
    def ledger_page(request: Request, a: str = "USA", b: str = "KOR"):
        return page(request, "ledger.html", countries=services.country_list(),
                    a=services.valid_country(a) or "USA", b=services.valid_country(b) or "KOR")

    @app.get("/agreements", response_class=HTMLResponse, include_in_schema=False)
    def agreements_page(request: Request):
        return page(request, "agreements.html", countries=services.country_list())

    @app.get("/scenarios", response_class=HTMLResponse, include_in_schema=False)
    def scenarios_page(request: Request):
        from tradepact.web.safety import MAX_SCENARIO_BYTES

        return page(request, "scenarios.html", max_bytes=MAX_SCENARIO_BYTES)

    @app.get("/runs", response_class=HTMLResponse, include_in_schema=False)
    def runs_page(request: Request):
        return page(request, "runs.html")

    @app.get("/runs/{run_id}", response_class=HTMLResponse, include_in_schema=False)
    def run_page(request: Request, run_id: str):
        return page(request, "run.html", run_id=run_id)

    return app
