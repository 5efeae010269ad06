"""No traceback reaches a user: every CLI command, run with bad inputs, prints one clear
``error:`` line on stderr and exits non-zero.

Each case is run in-process through :func:`tradepact.cli.main` (the console-script entry point).
A new command must add its cases to ``CASES`` — the coverage test below fails until it does.
"""
from __future__ import annotations

import os

import pandas as pd
import pytest

from tradepact.cli import app, main


def _command_names() -> set[str]:
    """Every leaf command as 'name' or 'group sub', read from the typer app."""
    import typer

    root = typer.main.get_command(app)
    out = set()
    for name, cmd in root.commands.items():
        subs = getattr(cmd, "commands", None)
        if subs:
            out.update(f"{name} {s}" for s in subs)
        else:
            out.add(name)
    return out


@pytest.fixture
def bad_inputs(tmp_path, monkeypatch):
    """A working directory holding one of each kind of broken input."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADEPACT_STORE", str(tmp_path / "store"))
    (tmp_path / "existing.html").write_text("<p>mine</p>")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "index.html").write_text("<p>a page someone else saved</p>")
    (tmp_path / "ragged.csv").write_text("exporter,importer,year,trade,rta\nA,B,2000,1,1\nA,C,2000,3,0,7\n")
    (tmp_path / "text.csv").write_text("exporter,importer,year,trade,rta\nA,B,2000,1,1\nA,C,2000,lots,0\n")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n  id: {\n")
    (tmp_path / "list.yaml").write_text("- just\n- a list\n")
    pd.DataFrame({"exporter": ["A", "B"], "importer": ["B", "A"], "trade": [1.0, 2.0], "dist": [1.0, 1.0]}) \
        .to_csv(tmp_path / "pairs.csv", index=False)
    return tmp_path


# command -> list of (argv after the command, a word the error line must contain)
CASES: dict[str, list[tuple[list[str], str]]] = {
    "korus": [(["--out", "existing.html"], "existing file"),
              (["--out", "/proc/no/such/dir"], "cannot create"),
              (["--out", "foreign"], "did not write")],
    "ledger": [(["USA", "KOR", "--from", "2014", "--to", "2004"], "--from 2014 is after --to 2004"),
               (["USA", "KOR", "--from", "1850", "--to", "1860"], "the data cover"),
               (["USA", "XXX"], "unknown country"),
               (["USA", "KOR", "--since", "March 2012"], "--since"),
               (["USA", "KOR", "--agreement", "nope.yaml"], "nope.yaml"),
               (["USA", "KOR", "--store", "/proc/no/store"], "/proc/no/store")],
    "agreements": [(["--file", "broken.yaml"], "line 2"),
                   (["--file", "list.yaml"], "list.yaml"),
                   (["--file", "missing.yaml"], "not found")],
    "schedule": [(["nope"], "nope"),
                 (["korus", "--importer", "KOR", "--hs", "0201", "--years", "2026-2012"], "first year is after"),
                 (["korus", "--importer", "KOR", "--hs", "0201", "--as-of", "yesterday"], "--as-of"),
                 (["korus", "--importer", "XXX", "--hs", "0201"], "--importer"),
                 (["--file", "broken.yaml", "--importer", "KOR", "--hs", "0201"], "not valid YAML")],
    "simulate": [(["broken.yaml"], "line 2"),
                 (["list.yaml"], "list.yaml"),
                 (["missing.yaml"], "not found"),
                 (["no-such-scenario"], "unknown scenario"),
                 (["auto-tariff-25", "--out", "existing.html"], "existing file"),
                 (["auto-tariff-25", "--out", "existing.html/sub"], "cannot create"),
                 (["auto-tariff-25", "--level", "galaxy"], "--level")],
    "compare": [(["no-such-scenario", "auto-tariff-25"], "unknown scenario"),
                (["broken.yaml", "auto-tariff-25"], "not valid YAML")],
    "scenarios": [(["--format", "xml"], "--format")],
    "report": [(["korus", "--out", "existing.html"], "existing file"),
               (["korus", "--out", "/proc/no/such/dir"], "cannot create"),
               (["korus", "--out", "foreign"], "did not write"),
               (["broken.yaml", "--out", "r"], "line 2"),
               (["no-such-scenario", "--out", "r"], "unknown scenario"),
               (["korus", "--out", "r", "--charts", "gif"], "--charts")],
    "serve": [(["--port", "99999"], "--port"),
              (["--workers", "0"], "--workers")],
    "estimate": [(["missing.csv", "-f", "trade ~ rta"], "no such file"),
                 (["ragged.csv", "-f", "trade ~ rta"], "row 2"),
                 (["text.csv", "-f", "trade ~ rta"], "text.csv, row 2, field 'trade'"),
                 (["broken.parquet", "-f", "trade ~ rta"], "broken.parquet"),
                 (["pairs.csv", "-f", "trade ~ nope"], "nope"),
                 (["pairs.csv", "-f", "trade ~ dist", "--where", "year > 0; select 1"], "--where"),
                 (["pairs.csv", "-f", "trade dist"], "formula"),
                 (["ledger:", "-f", "trade ~ rta", "--store", "/proc/no/store"], "/proc/no/store"),
                 (["pairs.csv", "-f", "trade ~ dist", "--by", "sector"], "sector")],
    "ge": [(["missing.csv", "--theta", "6", "--costs", "dist=-1", "--set", "dist=0"], "missing.csv"),
           (["ragged.csv", "--theta", "6", "--costs", "dist=-1", "--set", "dist=0"], "ragged.csv"),
           (["broken.parquet", "--theta", "6", "--costs", "dist=-1", "--set", "dist=0"], "broken.parquet"),
           (["pairs.csv", "--theta", "-6", "--costs", "dist=-1", "--set", "dist=0"], "theta"),
           (["pairs.csv", "--theta", "6", "--costs", "dist=", "--set", "dist=0"], "--costs")],
    "data import": [(["nope", "ragged.csv"], "unknown format"),
                    (["baci", "missing.csv"], "missing.csv"),
                    (["baci", "ragged.csv"], "ragged.csv"),
                    (["itpd-e", "text.csv"], "text.csv"),
                    (["baci", "ragged.csv", "--store", "/proc/no/store"], "/proc/no/store")],
    "data list": [(["--store", "/proc/no/store"], "/proc/no/store")],
    "expost": [(["nosuch-agreement"], "not in the panel"),
               (["211", "--window", "1988-2008"], "no year with"),
               (["211", "--window", "2016-1988"], "first year is after"),
               (["211", "--country", "FRA"], "not party"),
               (["211", "--data", "missing.csv"], "--data")],
}


def test_every_command_has_bad_input_cases():
    missing = _command_names() - set(CASES)
    assert not missing, f"add bad-input cases for {sorted(missing)} to CASES in {__file__}"


def _one_clear_line(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.strip()]


@pytest.mark.parametrize("command, argv, says",
                         [(c, a, s) for c, cases in CASES.items() for a, s in cases],
                         ids=lambda v: v if isinstance(v, str) else " ".join(v) if isinstance(v, list) else None)
def test_bad_input_gives_one_error_line(bad_inputs, capsys, command, argv, says):
    code = main([*command.split(), *argv])
    err = capsys.readouterr().err
    lines = [ln for ln in _one_clear_line(err) if not ln.startswith("warning:")]
    assert code != 0, f"exit status 0 for {command} {argv}; stderr: {err}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert says in lines[0], f"expected {says!r} in {lines[0]!r}"


@pytest.mark.parametrize("command", sorted(CASES))
def test_unknown_option_is_one_usage_line(bad_inputs, capsys, command):
    code = main([*command.split(), "--no-such-option"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = _one_clear_line(err)
    assert len(lines) == 1 and "--no-such-option" in lines[0] and "--help" in lines[0], err


def test_an_unexpected_failure_is_one_line_unless_debugging(capsys, monkeypatch):
    """The console script (``run``) reports a bug as one line, with how to get the traceback."""
    from tradepact.cli import run
    import tradepact.cli.agreements as agreements_cli

    def boom(name):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(agreements_cli, "load_agreement", boom)
    assert run(["agreements"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error (ZeroDivisionError" in err and "TRADEPACT_DEBUG" in err
    with pytest.raises(ZeroDivisionError):  # main(), which tests call, lets a bug raise
        main(["agreements"])
    monkeypatch.setenv("TRADEPACT_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        run(["agreements"])


def test_the_console_script_is_run():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert meta["project"]["scripts"]["tradepact"] == "tradepact.cli:run"
