"""JSON API of the dashboard (FastAPI TestClient): answers, errors naming the field, safety limits."""
from __future__ import annotations

import pytest

from tradepact.web.safety import MAX_SCENARIO_BYTES


def test_health_names_engines(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and set(body["engines"]) == {"ledger", "agreements", "scenarios"}
    assert body["engines"]["ledger"] is True


def test_countries_are_iso3_with_names(client):
    rows = client.get("/api/countries").json()
    codes = {r["code"]: r["name"] for r in rows}
    assert codes["KOR"] and codes["USA"] and len(codes) > 200
    assert all(len(c) == 3 and c.isupper() for c in codes)


def test_ledger_matches_published_korus_headlines(client):
    """USTR/Census headlines (issue 2): US goods deficit with Korea $13.2B (2011) and $27.6B (2016),
    US services surplus $10.7B (2016), overall deficit about $17B (2016). Tolerance: the headlines
    are rounded to $0.1B (goods, services) and to $1B (overall), so ±$0.1B / ±$1B."""
    r = client.get("/api/ledger", params={"a": "USA", "b": "KOR"})
    assert r.status_code == 200, r.text
    body = r.json()
    by_year = {row["year"]: row for row in body["rows"]}
    assert by_year[2011]["goods_balance"] == pytest.approx(-13_200, abs=100)
    assert by_year[2016]["goods_balance"] == pytest.approx(-27_600, abs=100)
    assert by_year[2016]["services_balance"] == pytest.approx(10_700, abs=100)
    assert by_year[2016]["total_balance"] == pytest.approx(-17_000, abs=1_000)
    assert body["sources"] and body["figure"]["data"], "chart and sources come with the data"
    assert [t["type"] for t in body["figure"]["data"]].count("bar") == 2


def test_ledger_other_point_of_view_flips_signs(client):
    us = {r["year"]: r for r in client.get("/api/ledger?a=USA&b=KOR").json()["rows"]}
    kr = {r["year"]: r for r in client.get("/api/ledger?a=kor&b=usa").json()["rows"]}
    assert us.keys() == kr.keys()
    for y in us:
        assert kr[y]["goods_balance"] == pytest.approx(-us[y]["goods_balance"], rel=1e-12)
        assert kr[y]["goods_exports"] == pytest.approx(us[y]["goods_imports"], rel=1e-12)


def test_ledger_years_and_before_after(client):
    body = client.get("/api/ledger?a=USA&b=KOR&from=2009&to=2014&since=2012-03-15").json()
    assert [r["year"] for r in body["rows"]] == list(range(2009, 2015))
    ba = {r["measure"]: r for r in body["before_after"]}
    goods_before = [r["goods_balance"] for r in body["rows"] if r["year"] < 2012]
    assert ba["goods_balance"]["before_avg"] == pytest.approx(sum(goods_before) / len(goods_before), rel=1e-12)


def test_ledger_pair_without_data_says_what_to_do(client):
    body = client.get("/api/ledger?a=FRA&b=DEU").json()
    assert body["rows"] == [] and "import" in body["message"]


@pytest.mark.parametrize("query, field", [
    ("a=XXX&b=USA", "a"),
    ("a=USA&b=QQQ", "b"),
    ("a=USA&b=USA", "b"),
    ("a=US1&b=KOR", "a"),
    ("a=USA&b=KOR&from=2015&to=2010", "to"),
    ("a=USA&b=KOR&from=abc", "from"),
    ("a=USA&b=KOR&from=1200", "from"),
    ("a=USA&b=KOR&start=2010", "start"),
    ("b=KOR", "a"),
    ("a=USA&b=KOR&since=yesterday", "since"),
])
def test_ledger_bad_input_is_422_naming_the_field(client, query, field):
    r = client.get("/api/ledger?" + query)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["loc"][-1] == field
    assert body["message"].startswith(field + ":")


def test_runs_request_needs_exactly_one_source(client):
    for payload in ({}, {"builtin": "x", "scenario_text": "name: y"}):
        r = client.post("/api/runs", json=payload)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"]
    r = client.post("/api/runs", json={"scenario_txt": "name: y"})
    assert r.status_code == 422 and "scenario_txt" in r.json()["detail"][0]["loc"]


@pytest.mark.parametrize("text, words", [
    ("name: [unclosed", "not valid YAML"),
    ("- a\n- b\n", "expected a YAML mapping"),
    ("a: &x [1]\nb: *x\n", "aliases"),
    ("name: !!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
    ("name: t\nbaseline:\n  data: /etc/passwd\n", "names a file"),
    ("name: t\nbaseline:\n  data_path: ../../secret.csv\n", "names a file"),
])
def test_scenario_text_is_parsed_safely(client, text, words):
    r = client.post("/api/runs", json={"scenario_text": text})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["detail"][0]["loc"] == ["body", "scenario_text"]
    assert words in body["detail"][0]["msg"]
    assert client.get("/api/runs").json() == [], "nothing is stored for a refused scenario"


def test_upload_limits(client):
    big = b"name: x\n" + b"#" * MAX_SCENARIO_BYTES
    r = client.post("/api/runs/upload", files={"file": ("s.yaml", big, "text/yaml")})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    r = client.post("/api/runs/upload", files={"file": ("s.yaml", b"\xff\xfe\x00bad", "text/yaml")})
    assert r.status_code == 422 and "UTF-8" in r.json()["detail"][0]["msg"]
    r = client.post("/api/runs/upload", content=b"x" * (2 * 1024 * 1024),
                    headers={"content-type": "application/octet-stream"})
    assert r.status_code == 413


def test_run_lookup_errors(client):
    assert client.get("/api/runs/../../etc").status_code in (404, 422)
    r = client.get("/api/runs/not-an-id")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "run_id"]
    assert client.get("/api/runs/" + "0" * 32).status_code == 404
    r = client.get("/api/runs?status=weird")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "status"


def test_pages_render_and_use_the_api(client):
    for path, marker in (("/", "/api/health"), ("/ledger?a=KOR&b=USA", "/api/ledger"),
                         ("/agreements", "/api/agreements"), ("/scenarios", "/api/scenarios"),
                         ("/runs", "/api/runs"), ("/runs/" + "0" * 32, "pollRun(runId")):
        r = client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert marker in r.text, path
    page = client.get("/ledger?a=KOR&b=USA").text
    assert '<option value="KOR" selected>' in page and '<option value="USA" selected>' in page
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and "plotly.js" in js.text[:200]


def test_openapi_documents_every_api_endpoint(client):
    schema = client.get("/openapi.json").json()
    paths = set(schema["paths"])
    assert {"/api/ledger", "/api/agreements", "/api/agreements/{agreement_id}/lines",
            "/api/agreements/{agreement_id}/rates", "/api/scenarios", "/api/runs", "/api/runs/upload",
            "/api/runs/{run_id}"} <= paths
    assert all(p.startswith("/api/") for p in paths), "pages stay out of the API schema"


def test_default_bind_is_loopback():
    import inspect

    from tradepact.cli.serve import serve

    assert inspect.signature(serve).parameters["host"].default.default == "127.0.0.1"


def test_foreign_host_header_is_refused(client):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 cannot drive the dashboard."""
    r = client.get("/api/health", headers={"host": "evil.example:8000"})
    assert r.status_code == 400
    assert client.get("/api/health", headers={"host": "127.0.0.1:8000"}).status_code == 200
    assert client.get("/api/health", headers={"host": "localhost:8000"}).status_code == 200


def test_ledger_reads_the_store_and_sees_an_import_at_once(client, web_store, tmp_path):
    """A pair the built-in facts do not cover: no rows until ITPD-E data are imported into the
    dashboard's store, then the API answers from the store (same app: the cached answer is keyed
    by the store's state). ITPD-E ``trade`` is in USD millions."""
    from tradepact.ledger.store import LedgerStore

    assert client.get("/api/ledger?a=FRA&b=DEU").json()["rows"] == []
    cols = ["exporter_iso3", "exporter_name", "importer_iso3", "importer_name", "year", "industry_id",
            "industry_descr", "broad_sector", "trade", "flag_mirror", "flag_zero"]
    rows = [["FRA", "France", "DEU", "Germany", "2016", "110", "Motor vehicles", "Manufacturing", "1000", "0", "p"],
            ["FRA", "France", "DEU", "Germany", "2016", "1", "Wheat", "Agriculture", "200.5", "0", "p"],
            ["DEU", "Germany", "FRA", "France", "2016", "110", "Motor vehicles", "Manufacturing", "1500", "0", "p"],
            # a services row too: the ITPD-E loader fails on a file with no services rows (reported)
            ["FRA", "France", "DEU", "Germany", "2016", "160", "Transport services", "Services", "300", "0", "p"]]
    f = tmp_path / "ITPDE_R02_2016.csv"
    f.write_text("\n".join(",".join(r) for r in [cols] + rows) + "\n")
    LedgerStore.open(web_store).import_files("itpd-e", [f])
    body = client.get("/api/ledger?a=FRA&b=DEU").json()
    assert [r["year"] for r in body["rows"]] == [2016]
    row = body["rows"][0]
    assert row["goods_exports"] == pytest.approx(1200.5) and row["goods_imports"] == pytest.approx(1500)
    assert row["goods_balance"] == pytest.approx(-299.5)
    assert any("ledger store" in s for s in body["sources"])
