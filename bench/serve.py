"""Load test of the dashboard API on loopback: throughput and latency, and no failed or lost run.

Starts ``tradepact serve`` (uvicorn, 127.0.0.1, a free port, a temporary store, a 2-process run
pool, a token made here and passed in ``TRADEPACT_TOKEN``) in a subprocess, then drives it with
a bounded number of client threads for a bounded time, every request carrying the token as
``Authorization: Bearer``:

1. ``GET /api/ledger`` (USA–KOR, varying year windows) — C clients for T seconds;
2. ``GET /api/agreements/korus/rates`` (beef, cars, trucks) — C clients for T seconds;
3. scenario runs: C clients each submit R runs of distinct scenarios (``POST /api/runs``) and
   poll them to the end, while one more client keeps reading the ledger (long runs must not
   block other requests). Every run must end ``done`` with the result of its own scenario:
   totals equal to a direct ``run_scenario`` of the same text (to 1e-9 relative).

The "peer" is the library itself called directly in this process (no HTTP, no cache): the
ratio column compares a request's median latency with computing the same answer directly.
The server caches ledger and rate-path answers (keyed by the store's state), so repeated
reads cost less than a fresh computation; scenario runs are never cached. Run: ``python bench/serve.py [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

MAX_CLIENTS = 32
MAX_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(q * (len(xs) - 1)))))
    return xs[k]


class Server:
    """``tradepact serve`` in a subprocess on 127.0.0.1 (stopped by its pid on exit); every client
    sends :attr:`headers` (the Bearer token). All clients share the token, so they are one client
    to the per-client run limits: the queue limit is raised to the number of clients."""

    def __init__(self, store: str, workers: int, clients: int):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = secrets.token_hex(24)
        self.headers = {"Authorization": f"Bearer {self.token}"}
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--store", store, "--workers",
                str(workers), "--max-queued-per-client", str(clients)]
        code = "import sys; from tradepact.cli import main; sys.exit(main())"
        env = {k: v for k, v in os.environ.items() if k != "TRADEPACT_STORE"}
        env["TRADEPACT_TOKEN"] = self.token
        self.proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stderr=subprocess.DEVNULL)

    def __enter__(self):
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited at start-up")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not start")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def hammer(url: str, headers: dict, paths: list[str], clients: int, seconds: float) -> dict:
    """``clients`` threads GET ``paths`` round-robin for ``seconds``; latencies in ms."""
    import httpx

    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    with httpx.Client(base_url=url, timeout=60, headers=headers) as c:  # warm-up: each path once, not counted
        for p in paths:
            c.get(p)
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        mine, bad = [], []
        with httpx.Client(base_url=url, timeout=30, headers=headers) as c:
            i = k
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = c.get(paths[i % len(paths)])
                mine.append((time.perf_counter() - t0) * 1e3)
                if r.status_code != 200:
                    bad.append(f"{r.status_code} {paths[i % len(paths)]}")
                i += 1
        with lock:
            lat.extend(mine)
            errors.extend(bad)

    wall = run_threads([threading.Thread(target=worker, args=(k,)) for k in range(clients)])
    return {"n": len(lat), "rps": len(lat) / wall, "p50": _pct(lat, 0.5), "p95": _pct(lat, 0.95),
            "errors": errors}


def run_threads(threads: list[threading.Thread]) -> float:
    """Start the client threads together, wait for all; returns the wall time in seconds."""
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def direct_ms(fn, n: int) -> float:
    """Median wall time of ``fn()`` in ms over ``n`` calls (after one warm-up)."""
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def scenario_texts(base: str, count: int) -> list[str]:
    """``count`` distinct variants of the auto-tariff scenario (car tariff 1%..count%)."""
    out = []
    for k in range(count):
        rate = (k % 49 + 1) / 100
        out.append(base.replace("name: auto-tariff-25", f"name: bench-{k}").replace("rate: 0.25", f"rate: {rate}"))
    return out


def run_scenarios(url: str, headers: dict, texts: list[str], clients: int, ledger_path: str) -> dict:
    """Submit every text from ``clients`` threads, poll each run to its end; meanwhile one
    client reads the ledger. A 429 (run limits) is retried after its Retry-After and counted.
    Returns latencies and the runs as stored."""
    import httpx

    submit_lat, total_lat, runs = [], [], {}
    lock = threading.Lock()
    queue = list(enumerate(texts))
    done_event = threading.Event()
    ledger_lat: list[float] = []
    ledger_errors: list[str] = []
    refused = [0]

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60, headers=headers) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    i, text = queue.pop()
                t0 = time.perf_counter()
                r = c.post("/api/runs", json={"scenario_text": text})
                while r.status_code == 429:
                    with lock:
                        refused[0] += 1
                    time.sleep(float(r.headers.get("retry-after", "1")))
                    r = c.post("/api/runs", json={"scenario_text": text})
                t1 = time.perf_counter()
                if r.status_code != 202:
                    with lock:
                        runs[i] = {"status": f"HTTP {r.status_code}", "error": r.text}
                    continue
                rid = r.json()["id"]
                while True:
                    run = c.get(f"/api/runs/{rid}").json()
                    if run["status"] in ("done", "failed"):
                        break
                    time.sleep(0.05)
                t2 = time.perf_counter()
                with lock:
                    submit_lat.append((t1 - t0) * 1e3)
                    total_lat.append((t2 - t0) * 1e3)
                    runs[i] = run

    def ledger_reader() -> None:
        with httpx.Client(base_url=url, timeout=30, headers=headers) as c:
            while not done_event.is_set():
                t0 = time.perf_counter()
                r = c.get(ledger_path)
                ledger_lat.append((time.perf_counter() - t0) * 1e3)
                if r.status_code != 200:
                    ledger_errors.append(str(r.status_code))

    reader = threading.Thread(target=ledger_reader)
    reader.start()
    wall = run_threads([threading.Thread(target=client) for _ in range(clients)])
    done_event.set()
    reader.join()
    return {"wall": wall, "submit": submit_lat, "total": total_lat, "runs": runs, "refused": refused[0],
            "ledger_during": ledger_lat, "ledger_errors": ledger_errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small run (about 20 s)")
    ap.add_argument("--clients", type=int, default=None, help=f"concurrent clients (max {MAX_CLIENTS})")
    ap.add_argument("--seconds", type=float, default=None, help=f"per read phase (max {MAX_SECONDS:.0f})")
    ap.add_argument("--runs", type=int, default=None, help="scenario runs to submit (max 200)")
    args = ap.parse_args(argv)
    clients = min(MAX_CLIENTS, args.clients or (4 if args.quick else 8))
    seconds = min(MAX_SECONDS, args.seconds or (3.0 if args.quick else 10.0))
    n_runs = min(200, args.runs or (8 if args.quick else 40))

    import yaml

    from tradepact.ledger.balances import bilateral
    from tradepact.report.charts import balance_chart
    from tradepact.simulate.scenario import run_scenario
    from tradepact.web.services import _rate_path, get_agreement, json_safe, scenario_catalog

    ledger_paths = [f"/api/ledger?a=USA&b=KOR&from={s}&to={s + 10}" for s in range(2006, 2014)] + \
                   ["/api/ledger?a=KOR&b=USA"]
    rate_paths = [f"/api/agreements/korus/rates?importer={i}&exporter={e}&hs={h}&from=2010&to=2045"
                  for i, e, h in (("KOR", "USA", "0201"), ("USA", "KOR", "8703"), ("USA", "KOR", "870421"))]
    base = next(s["text"] for s in scenario_catalog() if s["name"] == "auto-tariff-25")
    texts = scenario_texts(base, n_runs)

    # the library called directly (the "peer" of each endpoint)
    def ledger_direct():
        f = bilateral("USA", "KOR", start=2006, end=2016)
        json_safe(balance_chart(f, "t").to_plotly_json())

    ag = get_agreement("korus")
    d_ledger = direct_ms(ledger_direct, 20)
    d_rates = direct_ms(lambda: _rate_path(ag, "USA", "KOR", "8703", 2010, 2045), 20)
    d_run = direct_ms(lambda: run_scenario(yaml.safe_load(texts[0])).to_dict(), 5)
    expected = {i: run_scenario(yaml.safe_load(t)).totals() for i, t in enumerate(texts)}

    with tempfile.TemporaryDirectory(prefix="tradepact-bench-") as store, Server(store, workers=2, clients=clients) as srv:
        led = hammer(srv.url, srv.headers, ledger_paths, clients, seconds)
        rat = hammer(srv.url, srv.headers, rate_paths, clients, seconds)
        sc = run_scenarios(srv.url, srv.headers, texts, clients, ledger_paths[0])

    # every run: done, its own result, nothing lost
    problems = []
    if len(sc["runs"]) != len(texts):
        problems.append(f"lost runs: {len(texts) - len(sc['runs'])} of {len(texts)} never came back")
    for i, run in sorted(sc["runs"].items()):
        if run.get("status") != "done":
            problems.append(f"run {i}: {run.get('status')} {run.get('error')}")
            continue
        if run["scenario_text"] != texts[i]:
            problems.append(f"run {i}: stored scenario text is another run's")
        got = run["result"]["totals"]
        for k, v in expected[i].items():
            if abs(got[k] - v) > 1e-9 * max(1.0, abs(v)):
                problems.append(f"run {i}: total {k} {got[k]} != direct {v}")
                break
    problems += [f"ledger: {e}" for e in led["errors"][:5]] + [f"rates: {e}" for e in rat["errors"][:5]]
    problems += [f"ledger during runs: HTTP {e}" for e in sc["ledger_errors"][:5]]

    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"tradepact serve on 127.0.0.1: {clients} clients, {seconds:.0f} s per read phase, "
                    f"{n_runs} scenario runs on 2 worker processes")
    for col in ("endpoint", "requests", "req/s", "p50 ms", "p95 ms", "library direct ms", "p50 / direct"):
        t.add_column(col, justify="left" if col == "endpoint" else "right")
    t.add_row("GET /api/ledger", str(led["n"]), f"{led['rps']:,.1f}", f"{led['p50']:.1f}", f"{led['p95']:.1f}",
              f"{d_ledger:.1f}", f"{led['p50'] / d_ledger:.2f}")
    t.add_row("GET /api/agreements/korus/rates", str(rat["n"]), f"{rat['rps']:,.1f}", f"{rat['p50']:.1f}",
              f"{rat['p95']:.1f}", f"{d_rates:.1f}", f"{rat['p50'] / d_rates:.2f}")
    t.add_row("POST /api/runs (submit)", str(len(sc["submit"])), f"{len(sc['submit']) / sc['wall']:,.1f}",
              f"{_pct(sc['submit'], .5):.1f}", f"{_pct(sc['submit'], .95):.1f}", "", "")
    t.add_row("run, submit to done", str(len(sc["total"])), f"{len(sc['total']) / sc['wall']:,.2f}",
              f"{_pct(sc['total'], .5):.1f}", f"{_pct(sc['total'], .95):.1f}", f"{d_run:.1f}",
              f"{_pct(sc['total'], .5) / d_run:.2f}")
    t.add_row("GET /api/ledger while runs go", str(len(sc["ledger_during"])), "",
              f"{_pct(sc['ledger_during'], .5):.1f}", f"{_pct(sc['ledger_during'], .95):.1f}", f"{d_ledger:.1f}",
              f"{_pct(sc['ledger_during'], .5) / d_ledger:.2f}")
    console = Console(width=max(120, Console().width))
    console.print(t)
    done = sum(1 for r in sc["runs"].values() if r.get("status") == "done")
    console.print(f"runs: {len(texts)} submitted, {done} done with their own results, "
                  f"{len(texts) - done} failed or lost; {sc['refused']} submissions answered 429 and retried")
    if problems:
        for p in problems[:20]:
            console.print(f"[red]problem:[/] {p}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
