"""The README as a test: every ``tradepact`` command shown in its code blocks runs, in README order,
on built-in data, the sample files of each published layout (tests/ledger/ledger_samples.py) and
the reference panels in ../shared/data; and every command's ``--help`` ends with examples, which
run too. Optional parts in brackets (``[--format table|csv|json]``) are left out; placeholders
(``DIR``, ``DATA``, file names) are mapped to real files below; lines holding ``…`` are output
samples, and lines starting with an environment variable are left to the reader.
"""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from tradepact.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "ledger"))
import ledger_samples  # noqa: E402


def _code_lines(text: str) -> list[str]:
    """Commands from the README's indented code blocks (continuations joined, comments cut)."""
    out, cur = [], ""
    for line in text.splitlines():
        if not line.startswith("    "):
            cur = ""
            continue
        body = line[4:]
        cur = (cur + " " + body.strip()) if cur else body.strip()
        if cur.endswith("\\"):
            cur = cur[:-1].rstrip()
            continue
        out.append(cur)
        cur = ""
    return out


def _drop_optional(cmd: str) -> str:
    """Remove ``[...]`` groups (balanced) — the README's optional parts."""
    out, depth = [], 0
    for ch in cmd:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return re.sub(r"\s+", " ", "".join(out)).strip()


def readme_commands(text: str) -> list[list[str]]:
    cmds = []
    for line in _code_lines(text):
        if "…" in line:  # an output sample or a placeholder line, not a command
            continue
        if "tcp://head" in line:  # needs a running Dask cluster ("Running on a cluster"): shown, not run
            continue
        for part in line.split("&&"):
            argv = shlex.split(_drop_optional(part), comments=True)
            if argv and argv[0] == "tradepact":
                cmds.append(argv[1:])
    return cmds


def help_examples() -> dict[str, list[list[str]]]:
    """Each leaf command's ``--help`` epilog examples (lines starting with ``tradepact``)."""
    from tradepact.cli.app import COMMANDS, load_command

    # every command module is loaded here: the root group lists unloaded commands by their help line
    # only, so what this sees must not depend on which tests ran earlier in the same process
    leaves = {}
    for name, cmd in ((n, load_command(n)) for n in COMMANDS):
        for sub, c in (getattr(cmd, "commands", None) or {None: cmd}).items():
            leaves[" ".join(x for x in (name, sub) if x)] = c
    return {name: [shlex.split(ln.strip(), comments=True)[1:] for ln in (c.epilog or "").splitlines()
                   if ln.strip().startswith("tradepact ")]
            for name, c in leaves.items()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, shared_data):
    """Files the README names, written in their published layouts."""
    d = tmp_path_factory.mktemp("readme")
    samples = d / "samples"
    baci = ledger_samples.baci_sample().write(samples / "baci")
    subs = {
        "BACI_HS17_Y2022_V202401b.csv": str(baci),
        "country_codes_V202401b.csv": str(baci.parent / "country_codes_V202401b.csv"),
        "comtrade_usa_2016.csv": str(ledger_samples.comtrade_sample().write(samples / "comtrade")),
        "ITPDE_R02.csv": str(ledger_samples.itpd_sample().write(samples / "itpd")),
        "agtpa_applications.csv": str(shared_data / "agtpa_applications" / "agtpa_applications.csv"),
        "batis.csv": str(ledger_samples.services_sample().write(samples / "services")),
        "DATA": str(shared_data / "agtpa_chapter2_2006" / "trade_without_border_2006.csv"),
        "trade_without_border_2006.csv": str(shared_data / "agtpa_chapter2_2006" / "trade_without_border_2006.csv"),
    }
    from importlib import resources

    panel = pd.read_parquet(shared_data / "agtpa_applications" / "agtpa_applications.parquet")
    panel = panel[panel["year"].isin([1994, 1998, 2002, 2006])]
    sectors = pd.concat([panel.assign(sector="goods"), panel.assign(sector="more goods", trade=panel["trade"] * 0.5)])
    sectors.to_parquet(d / "sectors.parquet")
    subs["sectors.parquet"] = str(d / "sectors.parquet")
    my = d / "my.yaml"
    my.write_text((resources.files("tradepact.agreements") / "builtin" / "korus.yaml").read_text(encoding="utf-8"))
    subs["my.yaml"] = str(my)
    subs["trade.parquet"] = str(shared_data / "wb_trade_agreements" / "trade.parquet")
    subs["country.xlsx"] = str(shared_data / "census_country" / "country.xlsx")
    wb = pd.read_parquet(shared_data / "wb_trade_agreements" / "trade.parquet")
    wb[wb["imp"].isin(["USA", "KOR", "JPN"]) & wb["exp"].isin(["USA", "KOR", "JPN"])] \
        [["exp", "imp", "time", "export"]].to_csv(d / "my.csv", index=False)
    subs["my.csv"] = str(d / "my.csv")
    return d, subs


def _run(argv: list[str], d: Path, subs: dict[str, str], n: int, capsys) -> tuple[int, str]:
    args = [subs.get(a, a) for a in argv]
    args = [str(d / f"out{n}") if a == "DIR" else a for a in args]
    code = main(args)
    err = capsys.readouterr().err
    return code, err


def _serve(argv: list[str], d: Path) -> None:
    """``tradepact serve`` blocks: start it on a free port, wait for its health check, stop it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("TRADEPACT_STORE", "TRADEPACT_TOKEN")}
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    log = (d / f"serve-{port}.log").open("w")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from tradepact.cli import main; sys.exit(main())",
                             *argv, "--port", str(port), "--store", str(d / "serve-store")],
                            env=env, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as r:
                    assert r.status == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, (d / f"serve-{port}.log").read_text()
                assert time.time() < deadline, "tradepact serve did not answer within 120 s"
                time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_readme_lists_commands_that_exist():
    cmds = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    known = set(help_examples())
    for c in cmds:
        assert (" ".join(c[:2]) if c[0] == "data" else c[0]) in known, f"README shows unknown command {c}"
    assert len(cmds) >= 15


def test_every_readme_command_runs(workspace, capsys, monkeypatch):
    d, subs = workspace
    monkeypatch.chdir(d)
    monkeypatch.setenv("TRADEPACT_STORE", str(d / "store"))
    failures = []
    cmds = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    # imports first: other commands (e.g. ``expost 211 --data ledger``) read what they store
    cmds.sort(key=lambda argv: argv[:2] != ["data", "import"])
    for n, argv in enumerate(cmds):
        if argv[0] == "serve":
            _serve(argv, d)
            continue
        code, err = _run(argv, d, subs, n, capsys)
        if code != 0:
            failures.append(f"tradepact {' '.join(argv)} -> exit {code}: {err.strip()[:300]}")
    assert not failures, "\n".join(failures)


def test_every_help_ends_with_examples_that_run(workspace, capsys, monkeypatch):
    d, subs = workspace
    monkeypatch.chdir(d)
    monkeypatch.setenv("TRADEPACT_STORE", str(d / "help-store"))
    examples = help_examples()
    missing = [name for name, ex in examples.items() if not ex]
    assert not missing, f"--help without an example: {missing}"
    for name, ex in examples.items():
        assert main([*name.split(), "--help"]) == 0
        out = capsys.readouterr().out
        tail = " ".join(out.split()[-40:])
        assert "tradepact" in tail, f"{name} --help does not end with its examples"
    failures = []
    for n, (name, ex) in enumerate(sorted(examples.items())):
        for k, argv in enumerate(ex):
            assert " ".join(argv).startswith(name), f"example {argv} under {name}"
            if name == "serve":
                _serve(argv, d)
                continue
            code, err = _run(argv, d, subs, 1000 + 10 * n + k, capsys)
            if code != 0:
                failures.append(f"tradepact {' '.join(argv)} -> exit {code}: {err.strip()[:300]}")
    assert not failures, "\n".join(failures)
