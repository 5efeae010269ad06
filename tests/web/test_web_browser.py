"""End-to-end in real headless Chromium (Debian's /usr/bin/chromium driven by Playwright):
`tradepact serve` started as a user starts it, logged into through the URL it prints, clicked
through like a user would. Screenshots are kept in test-artifacts/ at the repository root."""
from __future__ import annotations

from pathlib import Path

import importlib.util

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# The scenario engine (issue 6) lands on main separately: until its module file exists these
# tests are skipped; once it exists they run (and an import error fails them).
requires_scenarios = pytest.mark.skipif(
    importlib.util.find_spec("tradepact.simulate.scenario") is None,
    reason="tradepact.simulate.scenario is not on this branch yet")



@pytest.fixture(scope="module")
def live(tmp_path_factory, serve_process_cls):
    """`tradepact serve` in a subprocess (token generated at start, one worker process)."""
    with serve_process_cls(tmp_path_factory.mktemp("browser-store"), workers=1) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: run .ci/system-packages (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.js_errors = errors
    return context, pg


@pytest.fixture
def page(browser, live):
    """A fresh browser logged in by opening the URL `tradepact serve` printed."""
    context, pg = _new_page(browser)
    pg.goto(live.login_url)
    assert pg.url == live.url + "/", "the token leaves the address bar"
    yield pg
    context.close()


@pytest.fixture
def stranger(browser):
    """A fresh browser that has not logged in."""
    context, pg = _new_page(browser)
    yield pg
    context.close()


def test_login_through_the_printed_url_and_the_form(live, page, stranger):
    assert live.token and live.login_url.endswith(f"/?token={live.token}")
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]
    assert cookie["value"] != live.token
    page.wait_for_selector("#engines:has-text('engines')")
    assert page.evaluate("document.cookie") == "", "page scripts cannot read the session cookie"
    # without the link: the login page, then in with the token typed into the form
    response = stranger.goto(live.url + "/agreements")
    assert response.status == 401 and stranger.is_visible("#login-form")
    stranger.fill("#secret", "not the token")
    stranger.click("#login")
    assert "wrong password or token" in stranger.inner_text("#login-status")
    stranger.fill("#secret", live.token)
    stranger.click("#login")
    stranger.wait_for_selector("#agreement option[value='korus']", state="attached")
    assert stranger.url == live.url + "/agreements"
    assert stranger.js_errors == []
    stranger.click("#logout")
    stranger.wait_for_selector("#login-form")
    assert stranger.context.cookies() == []
    assert stranger.goto(live.url + "/agreements").status == 401
    # a page whose session ends under it (logged out in another tab) shows the login form on its next call
    stranger.fill("#secret", live.token)
    stranger.click("#login")
    stranger.wait_for_selector("#agreement option[value='korus']", state="attached")
    assert stranger.evaluate("fetch('/logout', {method: 'POST'}).then(r => r.redirected)") is True
    stranger.fill("#q", "beef")
    stranger.click("#search")
    stranger.wait_for_selector("#login-form")


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_ledger_kor_usa_chart_renders(live, page):
    page.goto(live.url + "/ledger")
    page.select_option("#a", "KOR")
    page.select_option("#b", "USA")
    page.click("#show")
    page.wait_for_selector("#ledger-chart[data-state=ready]")
    assert "a=KOR" in page.url and "b=USA" in page.url
    # plotly drew the figure: an SVG with bar traces, and the legend names the series
    assert page.locator("#ledger-chart .main-svg").count() >= 1
    assert page.locator("#ledger-chart g.trace.bars path").count() > 10
    legend = page.locator("#ledger-chart .legend").text_content()
    assert "Goods balance" in legend and "Services balance" in legend
    rows = page.locator("#ledger-table tbody tr")
    assert rows.count() >= 15
    # Korea's goods surplus with the US in 2016: positive from Korea's side (US deficit $27.6B)
    row_2016 = page.locator("#ledger-table tbody tr", has_text="2016").first.inner_text()
    assert "27,6" in row_2016
    assert "KOR with USA" in page.inner_text("#ledger-status")
    assert page.js_errors == []
    shot(page, "ledger-KOR-USA.png")
    # before/after the entry into force: a table of yearly averages appears
    page.fill("#since", "2012-03-15")
    page.click("#show")
    page.wait_for_selector("#before-after-table tbody tr")
    assert "goods_balance" in page.inner_text("#before-after-table")
    assert "since=2012-03-15" in page.url


@requires_scenarios
def test_scenario_runner_runs_auto_tariff_25(live, page):
    page.goto(live.url + "/scenarios")
    page.wait_for_selector("#builtin option[value='auto-tariff-25']", state="attached")
    page.select_option("#builtin", "auto-tariff-25")
    assert "name: auto-tariff-25" in page.input_value("#scenario-text")
    page.click("#run")
    page.wait_for_selector("#result[data-state=done]", timeout=120_000)
    summary = page.inner_text("#run-summary")
    assert summary.startswith("auto-tariff-25") and "imports of the affected lines" in summary and "range" in summary
    assert page.locator("#totals-table tbody tr").count() >= 4
    page.wait_for_selector("#run-chart-0 .main-svg")
    assert page.locator("#run-chart-0 g.trace.bars path").count() > 0
    lines = page.inner_text("#lines-table")
    assert "8703" in lines  # passenger cars carry the change
    assert page.js_errors == []
    shot(page, "scenario-auto-tariff-25.png")

    page.goto(live.url + "/runs")
    page.wait_for_selector("#runs-table tbody tr")
    first = page.locator("#runs-table tbody tr").first.inner_text()
    assert "auto-tariff-25" in first and "done" in first
    shot(page, "saved-runs.png")


@requires_scenarios
def test_scenario_runner_reports_bad_yaml_field(live, page):
    page.goto(live.url + "/scenarios")
    page.wait_for_selector("#builtin option[value='auto-tariff-25']", state="attached")
    page.select_option("#builtin", "auto-tariff-25")
    text = page.input_value("#scenario-text").replace("importer: USA", "importer: XXX")
    page.fill("#scenario-text", text)
    page.click("#run")
    page.wait_for_selector("#run-status.error")
    msg = page.inner_text("#run-status")
    assert "scenario_text" in msg and "importer" in msg
    assert page.js_errors == []


def test_agreement_browser_beef_rate_path(live, page):
    page.goto(live.url + "/agreements")
    page.wait_for_selector("#agreement option[value='korus']", state="attached")
    page.fill("#q", "beef")
    page.click("#search")
    page.wait_for_selector("#lines-table tbody tr")
    page.locator("#lines-table tbody tr", has_text="Beef muscle").first.click()
    page.wait_for_selector("#rate-chart[data-state=ready]")
    assert page.locator("#rate-chart .main-svg").count() >= 1
    table = page.inner_text("#rate-table")
    assert "2026" in table and "EQ15" in table
    assert page.js_errors == []
    shot(page, "agreement-beef.png")
