"""The API docs (/docs Swagger UI, /redoc) work offline: their scripts and styles come from this
server (files shipped by the fastapi-offline package), checked in real headless Chromium with every
request to another host aborted, after logging in as a user does (the URL `tradepact serve` prints)."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def live(tmp_path_factory, serve_process_cls):
    with serve_process_cls(tmp_path_factory.mktemp("docs-store"), workers=1) as server:
        yield server


def test_docs_and_redoc_render_with_the_network_blocked(live):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run .ci/system-packages (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            elsewhere: list[str] = []

            def offline(route, request):
                if request.url.startswith(live.url):
                    route.continue_()
                else:
                    elsewhere.append(request.url)
                    route.abort()

            context.route("**/*", offline)
            page = context.new_page()
            page.set_default_timeout(60_000)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(live.login_url)
            page.goto(live.url + "/docs")
            page.wait_for_selector(".swagger-ui .info .title:has-text('tradepact dashboard')")
            page.wait_for_selector(".opblock-summary-path:has-text('/api/ledger')", state="attached")
            page.screenshot(path=str(ARTIFACTS / "api-docs-offline.png"))
            page.goto(live.url + "/redoc")
            page.wait_for_selector("h1:has-text('tradepact dashboard')")
            page.wait_for_function("document.body.innerText.includes('/api/ledger')")
            page.screenshot(path=str(ARTIFACTS / "api-redoc-offline.png"))
            assert not elsewhere, f"the docs asked other hosts for {elsewhere[:3]}"
            assert not errors, errors
            html = page.content()
            assert "cdn.jsdelivr" not in html and "fonts.googleapis" not in html
            context.close()
        finally:
            browser.close()


def test_docs_assets_need_a_login_like_every_page(live):
    for path in ("/docs", "/redoc", "/static/docs/swagger-ui-bundle.js", "/static/docs/redoc.standalone.js"):
        assert httpx.get(live.url + path, timeout=30).status_code == 401, path
        ok = httpx.get(live.url + path, headers={"Authorization": f"Bearer {live.token}"}, timeout=30)
        assert ok.status_code == 200 and len(ok.content) > 500, path
