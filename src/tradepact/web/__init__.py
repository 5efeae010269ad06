"""The web dashboard: ``create_app(store)`` (FastAPI: JSON API under /api, Jinja2 pages, plotly charts).

Modules: ``app`` (the app factory, middleware, pages), ``api`` (the JSON endpoints),
``models`` (their request/response schemas), ``services`` (thin calls into the engines),
``runs`` (saved runs in SQLite), ``worker`` (the run pool), ``safety`` (client input checks),
``auth`` (token, password, session cookie, CSRF), ``quota`` (per-client run limits).
Start it with ``tradepact serve``.
"""


def create_app(*args, **kwargs):
    """See :func:`tradepact.web.app.create_app` (imported lazily: FastAPI loads only when used)."""
    from tradepact.web.app import create_app as _create_app

    return _create_app(*args, **kwargs)


__all__ = ["create_app"]
