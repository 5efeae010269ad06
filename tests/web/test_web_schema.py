"""Property-based tests of the JSON API against its own OpenAPI schema (schemathesis):
generated valid and invalid requests (with the server's Bearer token) never give a 5xx, and
responses match the schema."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tradepact.web.app import create_app

os.environ.pop("TRADEPACT_STORE", None)
_STORE = tempfile.mkdtemp(prefix="tradepact-schema-")
atexit.register(shutil.rmtree, _STORE, True)
app = create_app(_STORE, workers=1, mode="thread")
AUTH = {"Authorization": f"Bearer {app.state.auth.token}"}
schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=AUTH)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    app.state.manager.shutdown(wait=True)


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_api_never_errors_and_matches_schema(case):
    response = case.call(headers=AUTH)
    case.validate_response(response, checks=(not_a_server_error, response_schema_conformance))
