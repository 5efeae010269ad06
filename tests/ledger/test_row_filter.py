"""``--where`` is one boolean expression over the file's columns: parsed, checked, refused otherwise."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from tradepact.errors import ConfigError
from tradepact.ledger.row_filter import compile_where

COLS = ["year", "exporter", "importer", "trade", "hs"]
FRAME = pd.DataFrame({"year": [1986, 1990, 1994, 2000], "exporter": ["USA", "KOR", "USA", "O'Neil"],
                      "importer": ["KOR", "USA", "CAN", "USA"], "trade": [1.5, -2.0, 0.0, None],
                      "hs": ["8703", "8704", "0201", "8703"]})


def _rows(expr: str) -> list[int]:
    con = duckdb.connect()
    try:
        return sorted(con.from_df(FRAME).filter(compile_where(expr, FRAME.columns)).df()["year"].tolist())
    finally:
        con.close()


@pytest.mark.parametrize("expr, years", [
    ("year in (1986,1990,1994)", [1986, 1990, 1994]),
    ("year >= 1990 and exporter = 'USA'", [1994]),
    ("not (year between 1986 and 1990) or importer <> 'USA'", [1986, 1994, 2000]),
    ("trade is null", [2000]),
    ("trade is not null and trade < -1.5", [1990]),
    ("exporter not in ('USA', 'KOR')", [2000]),
    ("exporter = 'O''Neil'", [2000]),
    ("hs like '87%' and year - 1986 > 3", [1990, 2000]),
    ("YEAR = 1986 OR year = 2000", [1986, 2000]),
])
def test_allowed_expressions_select_the_same_rows_as_pandas(expr, years):
    assert _rows(expr) == years


@pytest.mark.parametrize("expr, says", [
    ("1=1; DROP TABLE t", "statements"),
    ("year = 1 union select * from read_csv('/etc/passwd')", "boolean expression"),
    ("read_csv('/etc/passwd') is not null", "function call read_csv()"),
    ("year in (select year from read_parquet('x.parquet'))", "subquery"),
    ("getenv('HOME') = 'x'", "function call getenv()"),
    ("cast(year as varchar) = '1986'", "cast"),
    ("year = ?", "parameter"),
    ("t.year = 1986", "qualified name"),
    ("yearz > 1", "no column 'yearz'"),
    ("year = 1986 order by year", "boolean expression"),
    ("year >", "cannot read"),
    ("", "empty"),
])
def test_everything_else_is_refused_with_a_reason(expr, says):
    with pytest.raises(ConfigError, match="--where") as info:
        compile_where(expr, COLS)
    assert says in str(info.value)


def test_cli_refuses_a_second_statement_and_reads_paths_with_quotes(tmp_path, capsys):
    from tradepact.cli import main

    d = tmp_path / "it's here"
    d.mkdir()
    f = d / "panel.csv"
    FRAME.assign(RTA=[0, 1, 0, 1], trade=[1.0, 2.0, 3.0, 4.0]).to_csv(f, index=False)
    assert main(["estimate", str(f), "-f", "trade ~ RTA", "--where", "year > 0; COPY (SELECT 1) TO 'x.csv'"]) == 2
    err = capsys.readouterr().err
    assert "statements" in err and "Traceback" not in err
    assert not (tmp_path / "x.csv").exists()
    assert main(["estimate", str(f), "-f", "trade ~ RTA", "--where", "year >= 1990", "--format", "json",
                 "--vcov", "hetero"]) == 0
    assert '"nobs": 3' in capsys.readouterr().out
