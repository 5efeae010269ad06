"""Lazy command loading: ``tradepact --help`` lists every command without importing any command module;
``tradepact estimate`` imports nothing from the web, report, simulation or ledger-loader layers before it
reads the data; the registry's help lines are the commands' own."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import typer.main

from typer.core import TyperCommand, TyperGroup

from tradepact.cli.app import COMMANDS, app, load_command

PROBE = """
import json, sys
from tradepact.cli import main
code = main({argv!r})
mods = sorted(m for m in sys.modules if m.startswith("tradepact") or m.split(".")[0] in ("numba", "scipy", "formulaic", "plotly",
              "fastapi", "starlette", "jinja2", "dask", "distributed"))
print("\\n" + json.dumps({{"code": code, "modules": mods}}))
"""


def _run(argv):
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True)
    return out.stdout, json.loads(out.stdout.strip().splitlines()[-1])


def test_help_lists_every_command_without_importing_them():
    text, r = _run(["--help"])
    assert r["code"] == 0
    for name in COMMANDS:
        assert f" {name} " in text, name
    loaded = [m for m in r["modules"] if m.startswith("tradepact.cli.") and m != "tradepact.cli.app"]
    assert loaded == [], loaded


def test_estimate_before_reading_loads_only_what_it_needs(tmp_path):
    _, r = _run(["estimate", str(tmp_path / "missing.parquet"), "-f", "y ~ x | a"])
    assert r["code"] == 2  # the one-line "no such file" error, after everything needed to read was imported
    heavy = [m for m in r["modules"] if m.split(".")[0] in ("numba", "plotly", "fastapi", "starlette", "jinja2", "dask",
                                                           "distributed")
             or m.startswith(("tradepact.web", "tradepact.report", "tradepact.simulate", "tradepact.ledger.sources",
                              "scipy.stats", "tradepact.cli.ge", "tradepact.cli.report", "tradepact.cli.serve"))]
    assert heavy == [], heavy


def test_registry_help_is_each_commands_own_help():
    for name, (module, help_line) in COMMANDS.items():
        cmd = load_command(name)
        assert isinstance(cmd, (TyperCommand, TyperGroup)) and cmd.name == name
        own = (cmd.help or "").strip().split("\n\n")[0].replace("\n", " ")
        assert own == help_line, (name, own)


def test_every_registered_command_is_in_the_registry():
    for module in {m for m, _ in COMMANDS.values()}:
        importlib.import_module(f"tradepact.cli.{module}")
    group = typer.main.get_group(app)
    names = {i.name or typer.main.get_command_name(i.callback.__name__) for i in app.registered_commands}
    names |= {g.name for g in app.registered_groups}
    assert names == set(COMMANDS)
    assert set(group.list_commands(None)) == set(COMMANDS)


def test_estimate_with_plain_columns_loads_no_formula_engine_scipy_or_numba(tmp_path):
    """A PPML fit of plain numeric columns (the usual gravity formula) reads them directly (no formulaic),
    computes p-values, intervals and the log-likelihood with the standard library (no SciPy), and, where the
    C demeaning kernels are built, never loads numba: ~1 s less per command than with all three."""
    import numpy as np
    import pandas as pd

    from tradepact.gravity import _demean

    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({"y": rng.gamma(2.0, 1.0, n) + 0.1, "x": rng.normal(size=n), "a": np.arange(n) % 7,
                       "b": np.arange(n) % 11})
    path = tmp_path / "plain.parquet"
    df.to_parquet(path)
    out, r = _run(["estimate", str(path), "-f", "y ~ x | a + b", "--format", "json"])
    assert r["code"] == 0
    doc = json.loads(out[:out.rindex("\n{")])
    assert set(doc["coefficients"]) == {"x"} and np.isfinite(doc["loglik"])
    loaded = {m.split(".")[0] for m in r["modules"]}
    assert "scipy" not in loaded and "formulaic" not in loaded
    if _demean._c_kernels() is not None:
        assert "numba" not in loaded
    _, r2 = _run(["estimate", str(path), "-f", "y ~ log(x + 10) | a + b", "--format", "json"])
    assert r2["code"] == 0 and "formulaic" in {m.split(".")[0] for m in r2["modules"]}  # functions: formulaic
