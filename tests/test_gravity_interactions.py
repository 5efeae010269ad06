"""``a^b`` fixed effects and clusters as integer codes, against pyfixest on a real subset.

Data: the World Bank trade-agreements panel (../shared/data/wb_trade_agreements, 1988–2016,
every four years) restricted to 24 countries incl. KOR and USA, half large and half small traders (551 pairs,
3,843 rows, 11% zeros). Variables as in issue #13: ``korus_us`` (USA→KOR under KORUS, agreement id 211),
``korus_kor`` (KOR→USA), ``pta_other`` (any other agreement in force). Tolerances: coefficients
1e-6 and standard errors 1e-5 relative on the same sample and small-sample convention (fixest's);
pyfixest demeans to 1e-8 only, which moves its clustered SEs here by ~1e-6 from run to run.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import ConfigError, DataFormatError
from tradepact.gravity import ppml
from tradepact.gravity.factors import factor_codes

pf = pytest.importorskip("pyfixest")

RTOL = 1e-6
SE_RTOL = 1e-5
FML = "export ~ korus_us + korus_kor + pta_other | exp^time + imp^time + exp^imp"
COUNTRIES = ["USA", "KOR", "JPN", "CHN", "DEU", "FRA", "GBR", "CAN", "MEX", "AUS", "CHL", "SGP",
             "VNM", "CIV", "LTU", "KEN", "COG", "SEN", "ZWE", "AZE", "TTO", "UGA", "GEO", "PAN"]


@pytest.fixture(scope="module")
def wb(shared_data) -> pd.DataFrame:
    df = pd.read_parquet(shared_data / "wb_trade_agreements" / "trade.parquet",
                         columns=["exp", "imp", "time", "export", "id"])
    df = df[df["time"].between(1988, 2016) & df["exp"].isin(COUNTRIES) & df["imp"].isin(COUNTRIES)]
    df = df.assign(korus_us=((df["id"] == 211) & (df["exp"] == "USA") & (df["imp"] == "KOR")).astype(int),
                   korus_kor=((df["id"] == 211) & (df["exp"] == "KOR") & (df["imp"] == "USA")).astype(int),
                   pta_other=((df["id"] != 0) & (df["id"] != 211)).astype(int))
    df["pair"] = df["exp"] + "_" + df["imp"]  # pyfixest's cluster column (tradepact takes exp^imp)
    return df.reset_index(drop=True)


def _peer(df, vcov):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fepois(FML, data=df, vcov=vcov)


def test_subset_is_the_real_thing(wb):
    assert wb["korus_us"].sum() == 2 and wb["korus_kor"].sum() == 2  # 2012 and 2016
    assert 0.1 < (wb["export"] == 0).mean() < 0.5 and wb[["exp", "imp"]].drop_duplicates().shape[0] == 551


@pytest.mark.parametrize("ours_vcov,peer_vcov", [
    ({"CRV1": "exp^imp"}, {"CRV1": "pair"}),
    ({"CRV1": "exp^imp + time"}, {"CRV1": "pair+time"}),
    ("hetero", "hetero"),
])
def test_interaction_fe_and_clusters_match_pyfixest(wb, ours_vcov, peer_vcov, demean_kernels):
    ours = ppml(wb, FML, vcov=ours_vcov)
    peer = _peer(wb, peer_vcov)
    assert ours.nobs == peer._N == 3805 and ours.dropped == {"fe_all_zero": 38}
    np.testing.assert_allclose(ours.params.to_numpy(), peer.coef().to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.bse.to_numpy(), peer.se().to_numpy(), rtol=SE_RTOL)


def test_cluster_option_takes_an_interaction(wb):
    a = ppml(wb, FML, cluster="exp^imp")
    b = ppml(wb, FML, cluster="pair")
    np.testing.assert_allclose(a.bse.to_numpy(), b.bse.to_numpy(), rtol=1e-12)


def test_interaction_codes_equal_string_join_codes(wb):
    f = factor_codes(wb, "exp^time")
    joined = wb["exp"] + "^" + wb["time"].astype(str)
    codes, uniques = pd.factorize(joined)
    # the same partition of the rows: a bijection between the two codings
    pairs = pd.DataFrame({"a": f.codes, "b": codes}).drop_duplicates()
    assert len(pairs) == f.n_levels == len(uniques)
    assert set(f.labels[f.codes]) == set(joined)
    assert (f.labels[f.codes] == joined.to_numpy()).all()


def test_interaction_with_missing_part_is_missing():
    df = pd.DataFrame({"a": ["x", "y", None, "x"], "b": [1, 2, 3, np.nan]})
    f = factor_codes(df, "a^b")
    assert f.missing.tolist() == [False, False, True, True] and f.codes[2] == f.codes[3] == -1
    assert f.labels.tolist() == ["x^1.0", "y^2.0"]


def test_three_way_interaction(wb):
    f = factor_codes(wb, "exp^imp^time")
    assert f.n_levels == len(wb)  # one row per exporter-importer-year


def test_missing_column_in_interaction_is_one_clear_error(wb):
    with pytest.raises(DataFormatError, match="'expp' not found"):
        ppml(wb, "export ~ pta_other | expp^time + imp^time")
    with pytest.raises(ConfigError, match="cluster variable 'exp\\^impp' names 'impp', which is not a column"):
        ppml(wb, FML, cluster="exp^impp")


def test_caret_in_the_wrong_place_is_one_clear_error(wb):
    with pytest.raises(ConfigError, match="cannot read regressor 'pta_other\\^time'"):
        ppml(wb, "export ~ pta_other^time | exp^time")
    with pytest.raises(ConfigError, match="cannot read fixed effect 'exp\\^'"):
        ppml(wb, "export ~ pta_other | exp^ + imp^time")
    with pytest.raises(ConfigError, match="empty part"):
        ppml(wb, FML, cluster="exp^")


def test_cluster_with_one_group_is_one_clear_error(wb):
    one = wb[wb["time"] == 2016]
    with pytest.raises(ConfigError, match="'time' has a single group"):
        ppml(one, "export ~ pta_other | exp + imp", vcov={"CRV1": "time"})


def test_warm_start_from_a_previous_fit(wb):
    """A placebo-style second fit on the same panel, started from the first fit's means: the same
    estimates (to the convergence tolerance) in fewer IRLS iterations."""
    first = ppml(wb, FML, cluster="exp^imp")
    placebo = wb.assign(korus_us=((wb["exp"] == "USA") & (wb["imp"] == "KOR") & (wb["time"] >= 2008)).astype(int))
    cold = ppml(placebo, FML, cluster="exp^imp", tol=1e-10)  # tight: the two paths stop at different
    warm = ppml(placebo, FML, cluster="exp^imp", start=first, tol=1e-10)  # points within the tolerance
    np.testing.assert_allclose(warm.params.to_numpy(), cold.params.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(warm.bse.to_numpy(), cold.bse.to_numpy(), rtol=1e-6)
    assert warm.iterations < cold.iterations
    arr = ppml(placebo, FML, cluster="exp^imp", start=first.fitted.reindex(wb.index).to_numpy(), tol=1e-10)
    np.testing.assert_allclose(arr.params.to_numpy(), cold.params.to_numpy(), rtol=1e-6)
    with pytest.raises(ConfigError, match="start must be"):
        ppml(placebo, FML, start=np.ones(3))
