"""Panel builder and the CEPII Gravity / USITC DGD loaders (fixtures in tests/fixtures/gravity)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import ConfigError, DataFormatError
from tradepact.gravity import build_panel
from tradepact.gravity.panel import load_cepii_gravity, load_usitc_dgd, pair_ids

FIX = Path(__file__).parent / "fixtures" / "gravity"


def _ledger(years=range(2000, 2013)):
    """Ledger-layout trade (two products per flow) for 3 countries incl. domestic flows."""
    rows = []
    for y in years:
        for e in ["KOR", "USA", "CAN"]:
            for i in ["KOR", "USA", "CAN"]:
                for prod in ["850110", "870323"]:
                    rows.append((y, e, i, prod, "H4", 1.0 + (y - 2000) + (e == i) * 100))
    return pd.DataFrame(rows, columns=["year", "exporter", "importer", "product", "hs_rev", "value"])


def _rta(years=range(2000, 2013)):
    rows = []
    for y in years:
        for e in ["KOR", "USA", "CAN"]:
            for i in ["KOR", "USA", "CAN"]:
                nafta = {e, i} == {"USA", "CAN"}
                korus = {e, i} == {"USA", "KOR"} and y >= 2012
                rows.append((e, i, y, int(nafta or korus), 1000.0))
    return pd.DataFrame(rows, columns=["exporter", "importer", "year", "rta", "dist"])


def test_build_panel_lags_leads_agreements_borders():
    p = build_panel(_ledger(), _rta(), lags=[4, 8], leads=[4], interval=4,
                    agreements={"KORUS": {"members": ["KOR", "USA"], "entry": 2012, "lags": [4]}})
    assert sorted(p["year"].unique()) == [2000, 2004, 2008, 2012]
    assert len(p) == 4 * 9  # domestic flows kept
    # products summed: 2 products per flow
    row = p[(p.exporter == "KOR") & (p.importer == "USA") & (p.year == 2004)].iloc[0]
    assert row["trade"] == 2 * 5.0
    # lags are computed on the annual data before the 4-year selection
    ku = p[(p.exporter == "KOR") & (p.importer == "USA")].set_index("year")
    assert ku.loc[2012, "rta"] == 1 and ku.loc[2012, "RTA_LAG4"] == 0 and ku.loc[2008, "RTA_LEAD4"] == 1
    assert ku.loc[2004, "RTA_LEAD4"] == 0
    assert ku.loc[2012, "KORUS"] == 1 and ku.loc[2008, "KORUS"] == 0 and ku.loc[2012, "KORUS_LAG4"] == 0
    uc = p[(p.exporter == "USA") & (p.importer == "CAN")].set_index("year")
    assert uc.loc[2000, "RTA_LAG4"] == 0  # 1996 is outside the data: fill 0 by default
    assert uc.loc[2008, "RTA_LAG8"] == 1 and uc["KORUS"].sum() == 0
    # domestic flows: no agreement dummy, no border
    dom = p[p.exporter == p.importer]
    assert (dom["KORUS"] == 0).all() and (dom["INTL_BRDR"] == 0).all()
    # border x year dummies for every year but the reference (last) one
    assert [c for c in p.columns if c.startswith("INTL_BRDR_")] == ["INTL_BRDR_2000", "INTL_BRDR_2004", "INTL_BRDR_2008"]
    intl = p[p.exporter != p.importer]
    assert (intl.loc[intl.year == 2004, "INTL_BRDR_2004"] == 1).all() and (intl.loc[intl.year == 2000, "INTL_BRDR_2004"] == 0).all()
    # symmetric pair ids and FE ids
    assert ku["pair_id"].iloc[0] == "KOR-USA" == p[(p.exporter == "USA") & (p.importer == "KOR")]["pair_id"].iloc[0]
    assert ku.loc[2012, "exp_year"] == "KOR_2012" and ku.loc[2012, "imp_year"] == "USA_2012"


def test_build_panel_options_and_errors():
    p = build_panel(_ledger(), _rta(), keep_domestic=False, symmetric_pairs=False, border_years=False, years=[2012])
    assert (p.exporter != p.importer).all() and set(p.year) == {2012}
    assert set(p.pair_id) == {f"{e}-{i}" for e, i in zip(p.exporter, p.importer)} and p.pair_id.nunique() == 6
    assert "INTL_BRDR" not in p.columns
    p2 = build_panel(_ledger(), _rta(), lags=[4], fill_lags=None, years=[2000, 2004])
    assert p2.loc[p2.year == 2000, "RTA_LAG4"].isna().all() and p2.loc[p2.year == 2004, "RTA_LAG4"].notna().all()
    with pytest.raises(DataFormatError, match="exporter"):
        build_panel(_ledger().drop(columns="exporter"))
    with pytest.raises(DataFormatError, match="policy"):
        build_panel(_ledger(), lags=[4])  # no rta column without covariates
    with pytest.raises(ConfigError, match="border_reference_year"):
        build_panel(_ledger(), _rta(), border_reference_year=1990)


def test_pair_ids():
    e = pd.Series(["USA", "KOR", "USA"])
    i = pd.Series(["KOR", "USA", "USA"])
    assert pair_ids(e, i).tolist() == ["KOR-USA", "KOR-USA", "USA-USA"]
    assert pair_ids(e, i, symmetric=False).tolist() == ["USA-KOR", "KOR-USA", "USA-USA"]


def test_cepii_loader_maps_columns_and_units():
    g = load_cepii_gravity(FIX / "cepii_gravity_sample.csv")
    assert list(g.columns[:8]) == ["exporter", "importer", "year", "dist", "cntg", "lang", "clny", "rta"]
    assert len(g) == 7  # the historical entity without an ISO3 code is dropped
    r = g[(g.exporter == "KOR") & (g.importer == "USA")].set_index("year")
    assert r.loc[2012, "rta"] == 1 and r.loc[2011, "rta"] == 0 and r.loc[2012, "dist"] == pytest.approx(11075.1)
    assert r.loc[2012, "trade"] == pytest.approx(57012.3456)  # thousands of USD -> USD millions
    fd = g[(g.exporter == "FRA")].iloc[0]
    assert fd["clny"] == 1 and fd["lang"] == 1 and fd["cntg"] == 0
    assert load_cepii_gravity(FIX / "cepii_gravity_sample.csv", years=[2011])["year"].unique().tolist() == [2011]


def test_usitc_dgd_loader():
    g = load_usitc_dgd(FIX / "usitc_dgd_sample.csv")
    assert len(g) == 5
    r = g.set_index(["exporter", "importer", "year"])
    assert r.loc[("KOR", "USA", 2012), "rta"] == 1 and r.loc[("KOR", "USA", 2011), "rta"] == 0
    assert r.loc[("FRA", "DZA", 2012), "rta"] == 1  # partial-scope agreement counts
    assert r.loc[("FRA", "DZA", 2012), "clny"] == 1 and r.loc[("USA", "CAN", 2012), "cntg"] == 1


def test_loaders_reject_bad_layouts(tmp_path):
    bad = pd.read_csv(FIX / "cepii_gravity_sample.csv").drop(columns="comlang_off")
    f = tmp_path / "g.csv"
    bad.to_csv(f, index=False)
    with pytest.raises(DataFormatError, match="comlang_off") as ei:
        load_cepii_gravity(f)
    assert ei.value.file == str(f)
    bad = pd.read_csv(FIX / "usitc_dgd_sample.csv")
    bad.loc[2, "contiguity"] = 7
    f2 = tmp_path / "d.csv"
    bad.to_csv(f2, index=False)
    with pytest.raises(DataFormatError, match="row 3") as ei:
        load_usitc_dgd(f2)
    assert ei.value.field == "contiguity"
    with pytest.raises(DataFormatError, match="no such file"):
        load_usitc_dgd(tmp_path / "missing.csv")


def test_panel_feeds_the_estimator():
    from tradepact.gravity import ppml

    rng = np.random.default_rng(0)
    led = _ledger()
    led["value"] = rng.gamma(2.0, 10.0, len(led))
    p = build_panel(led, _rta())
    res = ppml(p, "trade ~ rta | exp_year + imp_year + pair_id")
    assert res.converged and "rta" in res.params.index and np.isfinite(res.bse["rta"])
