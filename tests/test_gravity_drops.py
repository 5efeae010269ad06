"""Every dropped row is counted by its reason, on constructed cases whose answer is known by design."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from tradepact.gravity import ppml


def _panel() -> pd.DataFrame:
    """60 rows in 6 groups of `g` (10 each) x 10 levels of `t`; y > 0 everywhere to start."""
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(6), 10)
    t = np.tile(np.arange(10), 6)
    x1 = rng.normal(size=60)
    y = np.exp(0.3 * x1 + 0.1 * g) * rng.gamma(2.0, 0.5, 60)
    return pd.DataFrame({"y": y, "x1": x1, "x2": 0.0, "g": g.astype(str), "t": t})


def _fit(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ppml(df, "y ~ x1 + x2 | g + t", vcov="hetero", **kw)


def test_each_reason_counted():
    df = _panel()
    df.loc[df["g"] == "5", "y"] = 0.0  # group 5: only zeros -> 10 rows fe_all_zero
    df.loc[3, "x1"] = np.nan  # one missing regressor
    extra = pd.DataFrame({"y": [2.0], "x1": [0.1], "x2": [0.0], "g": ["9"], "t": [0]})  # alone in g=9
    df = pd.concat([df, extra], ignore_index=True)
    df.loc[12, "y"] = 0.0  # a zero whose x2 is the only non-zero x2: separated by x2
    df.loc[12, "x2"] = 1.0
    res = _fit(df)
    assert res.dropped == {"missing": 1, "fe_all_zero": 10, "singleton": 1, "separated": 1}
    assert res.nobs == len(df) - 13
    kept = set(res.fitted.index)
    assert 3 not in kept and 12 not in kept and len(df) - 1 not in kept
    assert not kept & set(df.index[df["g"] == "5"])


def test_singletons_kept_on_request():
    df = pd.concat([_panel(), pd.DataFrame({"y": [2.0], "x1": [0.1], "x2": [0.0], "g": ["9"], "t": [0]})],
                   ignore_index=True)
    df.loc[0, "x2"] = 1.0  # x2 must vary or it is omitted (collinear)
    kept = _fit(df, drop_singletons=False)
    dropped = _fit(df)
    assert kept.nobs == len(df) and kept.dropped == {}
    assert dropped.nobs == len(df) - 1 and dropped.dropped == {"singleton": 1}
    # a singleton's own fixed effect fits it exactly: the slopes do not change
    np.testing.assert_allclose(kept.params.to_numpy(), dropped.params.to_numpy(), rtol=1e-7)


def test_singletons_found_repeatedly():
    """Dropping a singleton can make another row a singleton (chain through a second FE)."""
    df = _panel()
    chain = pd.DataFrame({"y": [1.0, 2.0], "x1": [0.2, 0.3], "x2": [0.0, 0.0], "g": ["7", "8"], "t": [11, 11]})
    df = pd.concat([df, chain, pd.DataFrame({"y": [3.0], "x1": [0.4], "x2": [0.0], "g": ["8"], "t": [12]})],
                   ignore_index=True)
    df.loc[0, "x2"] = 1.0
    # g=7 is a singleton; once it is gone, t=11 is; then g=8 and t=12 are
    res = _fit(df)
    assert res.dropped == {"singleton": 3}


@pytest.mark.parametrize("drop_singletons", [True, False])
def test_no_drop_no_count(drop_singletons):
    df = _panel()
    df.loc[0, "x2"] = 1.0
    assert _fit(df, drop_singletons=drop_singletons).dropped == {}
