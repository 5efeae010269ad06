"""`tradepact ledger` on data imported into a store (the real Yotov et al. panel), not built-in facts."""
import json

import pandas as pd
import pytest

from tradepact.cli import main


@pytest.mark.slow
def test_ledger_reads_imported_gravity_panel(shared_data, store_dir, capsys):
    path = shared_data / "agtpa_applications" / "agtpa_applications.csv"
    assert main(["data", "import", "gravity-panel", str(path), "--store", str(store_dir)]) == 0
    capsys.readouterr()
    assert main(["ledger", "USA", "CAN", "--format", "json", "--store", str(store_dir)]) == 0
    records = {r["year"]: r for r in json.loads(capsys.readouterr().out)}
    raw = pd.read_csv(path)
    for year in (1986, 2006):
        x = raw[(raw.exporter == "USA") & (raw.importer == "CAN") & (raw.year == year)].trade.sum()
        m = raw[(raw.exporter == "CAN") & (raw.importer == "USA") & (raw.year == year)].trade.sum()
        assert records[year]["goods_exports"] == pytest.approx(x, rel=1e-12)
        assert records[year]["goods_balance"] == pytest.approx(x - m, rel=1e-9)
        assert records[year]["services_balance"] is None
        # the panel's unit (USD millions) is inferred, so its rows are unconfirmed
        assert records[year]["confirmed"] is False
        assert "ledger store" in records[year]["source"]
