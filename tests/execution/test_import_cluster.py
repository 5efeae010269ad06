"""``tradepact data import baci FILE...``: years parsed in parallel on a real Dask scheduler (two
worker processes), then one atomic commit — the store equals a serial import's; a bad year stops
the whole import with its file and row, and the store is left as it was."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from tradepact.cli import main
from tradepact.ledger.store import LedgerStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ledger"))
from ledger_samples import tree_hash  # noqa: E402

CODES = "country_code,country_name,country_iso2,country_iso3\n4,Afghanistan,AF,AFG\n124,Canada,CA,CAN\n" \
        "410,Rep. of Korea,KR,KOR\n842,USA,US,USA\n251,France,FR,FRA\n"


def _baci_years(folder: Path, years=(2015, 2016, 2017), rows=400, seed=0) -> list[Path]:
    """Small BACI files (t,i,j,k,v,q; v in thousand USD), one per year, in BACI's (t,i,j,k) order."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "country_codes_V202401b.csv").write_text(CODES)
    out = []
    codes = [4, 124, 251, 410, 842]
    for t in years:
        i = rng.choice(codes, rows)
        j = rng.choice(codes, rows)
        k = rng.integers(10000, 999999, rows)
        keep = i != j
        frame = pd.DataFrame({"t": t, "i": i[keep], "j": j[keep], "k": k[keep]}).drop_duplicates(["i", "j", "k"])
        frame["v"] = np.round(rng.gamma(1.0, 500.0, len(frame)), 3)
        frame["q"] = np.round(rng.gamma(1.0, 10.0, len(frame)), 3)
        frame = frame.sort_values(["t", "i", "j", "k"])
        p = folder / f"BACI_HS12_Y{t}_V202401b.csv"
        text = "t,i,j,k,v,q\n" + "\n".join(f"{a},{b},{c},{d:06d},{e},{f}" for a, b, c, d, e, f in
                                           frame.itertuples(index=False)) + "\n"
        p.write_text(text)
        out.append(p)
    return out


def _goods(store: Path) -> pd.DataFrame:
    g = LedgerStore.open(store).sql("SELECT * FROM goods")
    return g.sort_values(["year", "exporter", "importer", "product"]).reset_index(drop=True)


def test_years_parsed_in_parallel_equal_a_serial_import(dask_cluster, tmp_path, capsys):
    files = [str(p) for p in _baci_years(tmp_path / "in")]
    serial, par = tmp_path / "serial", tmp_path / "par"
    assert main(["data", "import", "baci", *files, "--store", str(serial), "--scheduler", "serial",
                 "--format", "json"]) == 0
    a = json.loads(capsys.readouterr().out)
    assert main(["data", "import", "baci", *files, "--store", str(par), "--scheduler", dask_cluster.address,
                 "--format", "json"]) == 0
    b = json.loads(capsys.readouterr().out)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # noqa: E731
    assert strip(a["files"]) == strip(b["files"]) and a["dropped"] == b["dropped"]
    ga, gb = _goods(serial), _goods(par)
    assert len(ga) == sum(r["rows_kept"] for r in a["files"]) and sorted(ga["year"].unique()) == [2015, 2016, 2017]
    pd.testing.assert_frame_equal(ga.drop(columns=["source"], errors="ignore"),
                                  gb.drop(columns=["source"], errors="ignore"))


def test_a_bad_year_stops_the_parallel_import_and_leaves_the_store(dask_cluster, tmp_path, capsys):
    files = _baci_years(tmp_path / "in", seed=1)
    store = tmp_path / "store"
    assert main(["data", "import", "baci", str(files[0]), "--store", str(store), "--scheduler", "serial"]) == 0
    capsys.readouterr()
    before = tree_hash(store)
    lines = files[2].read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 2)[0] + ",12x.5,3"  # data row 5: v is not a number
    files[2].write_text("\n".join(lines) + "\n")
    rc = main(["data", "import", "baci", str(files[1]), str(files[2]), "--store", str(store),
               "--scheduler", dask_cluster.address])
    err = capsys.readouterr().err
    assert rc == 2 and files[2].name in err and "row 5" in err and "Traceback" not in err
    assert tree_hash(store) == before
