"""ppml_by: one model per sector over worker processes equals the per-sector fits."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import TradepactError
from tradepact.gravity import ppml, ppml_by


def _panel(sectors=3, N=12, T=5, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    parts = []
    for s in range(sectors):
        ex, im, yr = np.meshgrid(np.arange(N), np.arange(N), np.arange(T), indexing="ij")
        ex, im, yr = ex.ravel(), im.ravel(), yr.ravel()
        rta = ((ex + im) % 3 == 0) & (yr >= 2) & (ex != im)
        mu = np.exp(0.3 * (s + 1) * rta + 0.1 * ex - 0.05 * im + 0.2 * (ex == im))
        parts.append(pd.DataFrame({"sector": f"S{s}", "trade": rng.poisson(mu * 20).astype(float),
                                   "RTA": rta.astype(float), "exp_year": ex * 100 + yr, "imp_year": im * 100 + yr,
                                   "pair": ex * 100 + im}))
    return pd.concat(parts, ignore_index=True)


def test_by_sector_equals_each_sector_fitted_alone():
    df = _panel()
    fml = "trade ~ RTA | exp_year + imp_year + pair"
    out = ppml_by(df, fml, by="sector", n_jobs=2, vcov={"CRV1": "pair"})
    assert list(out) == ["S0", "S1", "S2"]
    for key, res in out.items():
        alone = ppml(df[df["sector"] == key], fml, vcov={"CRV1": "pair"})
        # same code and tolerances; only BLAS thread counts differ (one per worker): rtol 1e-12
        assert res.params["RTA"] == pytest.approx(alone.params["RTA"], rel=1e-12)
        assert res.bse["RTA"] == pytest.approx(alone.bse["RTA"], rel=1e-12)
        assert res.nobs == alone.nobs
    # the true effects differ by sector (0.3, 0.6, 0.9): the fits are not all the same model
    assert out["S0"].params["RTA"] < out["S1"].params["RTA"] < out["S2"].params["RTA"]


def test_a_failing_group_is_named():
    df = _panel(sectors=2)
    df.loc[df["sector"] == "S1", "trade"] *= -1  # negative flows: PPML refuses them
    with pytest.raises(TradepactError, match=r"group sector='S1': DataFormatError"):
        ppml_by(df, "trade ~ RTA | exp_year + imp_year", by="sector", n_jobs=1)
    with pytest.raises(TradepactError, match=r"missing column|not found"):
        ppml_by(df, "trade ~ RTA | exp_year", by="industry")


def test_rows_without_a_group_are_counted_not_silently_dropped():
    df = _panel(sectors=2)
    df.loc[:9, "sector"] = None
    with pytest.warns(UserWarning, match=r"^10 rows have no value of sector"):
        out = ppml_by(df, "trade ~ RTA | exp_year + imp_year", by="sector", n_jobs=1)
    assert out["S0"].n_input == int((df["sector"] == "S0").sum())
