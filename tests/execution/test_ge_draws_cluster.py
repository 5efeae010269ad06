"""``tradepact ge --draws`` on a real Dask scheduler with two worker processes equals the serial run
(same seed: same draws), and a re-run with the same ``--results`` solves nothing again."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from tradepact.cli import main


@pytest.fixture
def small(tmp_path, shared_data):
    """The book's 2006 data (Yotov et al. 2016 ch. 2) restricted to 8 countries."""
    df = pd.read_csv(shared_data / "agtpa_chapter2_2006" / "trade_without_border_2006.csv")
    keep = ["USA", "CAN", "MEX", "ZZZ", "FRA", "JPN", "KOR", "CHN"]
    p = tmp_path / "small.csv"
    df[df.exporter.isin(keep) & df.importer.isin(keep)].to_csv(p, index=False)
    est = tmp_path / "est.csv"
    pd.DataFrame({"term": ["ln_DIST", "CNTG", "INTL_BRDR"], "estimate": [-0.7912879, 0.6736456, -2.47445],
                  "std_error": [0.0501494, 0.1073719, 0.1193816]}).to_csv(est, index=False)
    return p, est


def _ge(capsys, data, est, *extra):
    rc = main(["ge", str(data), "--theta", "6", "--from-estimate", str(est), "--set", "INTL_BRDR=0",
               "--reference", "ZZZ", "--draws", "40", "--seed", "7", "--format", "json", *extra])
    cap = capsys.readouterr()
    return rc, (json.loads(cap.out)["countries"] if rc == 0 else None), cap.err


def test_monte_carlo_on_a_scheduler_equals_serial_and_resumes(dask_cluster, small, tmp_path, capsys):
    data, est = small
    rc, serial, err = _ge(capsys, data, est, "--scheduler", "serial")
    assert rc == 0, err
    results = tmp_path / "mc"
    rc, dist, err = _ge(capsys, data, est, "--scheduler", dask_cluster.address, "--results", str(results))
    assert rc == 0, err
    for country, row in serial.items():
        for band, value in row["bands"].items():
            assert dist[country]["bands"][band] == pytest.approx(value, rel=1e-9, abs=1e-12), (country, band)
    chunks = sorted(p.name for p in (results / "tasks").glob("*.pkl"))
    assert len(chunks) == 32 and chunks[0] == "draws-000000-000001.pkl"
    rc, again, err = _ge(capsys, data, est, "--scheduler", dask_cluster.address, "--results", str(results))
    assert rc == 0 and again == dist and "resumed 32 of 32" in err
    # the same directory with another seed is another run: refused in one line
    rc, _, err = _ge(capsys, data, est, "--scheduler", "serial", "--results", str(results), "--seed", "8")
    assert rc == 2 and "holds another run" in err
