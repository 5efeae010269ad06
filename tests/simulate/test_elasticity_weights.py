"""Trade-weighted aggregation of HS6 elasticities to product lines, and σ looked up by product and importer,
against hand computations on the shipped tables (Hauk 2012 η; BGW and Hauk 2012 σ).

Tolerance: 1e-12 relative (the same arithmetic done by hand).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import ConfigError
from tradepact.simulate import elasticities as el


def test_trade_weighted_eta_against_hand_computation():
    tab = el.import_demand().set_index("code")
    lines = pd.DataFrame({"importer": ["USA", "USA"], "exporter": ["KOR", "JPN"], "hs": ["8703", "8703"]})
    w = pd.DataFrame({"importer": "USA", "exporter": "KOR", "code": ["870322", "870323", "870324", "870190"],
                      "value": [1000.0, 12000.0, 3000.0, 50.0]})  # 870190 is not under the line: ignored
    r = el.line_ranges(lines, weights=w)
    for col, key in (("central", "eta"), ("low", "eta_low"), ("high", "eta_high")):
        hand = (1000 * tab.at["870322", col] + 12000 * tab.at["870323", col] + 3000 * tab.at["870324", col]) / 16000
        assert r.at[0, key] == pytest.approx(hand, rel=1e-12)
        # the JPN line has no weights of its own pair: the median over the 9 HS6 lines of 8703
        assert r.at[1, key] == pytest.approx(float(tab.loc[tab.index.str.startswith("8703"), col].median()), rel=1e-12)
    assert list(r["eta_weighting"]) == ["trade-weighted", "median"]
    assert r.at[0, "n_codes"] == 9 and "trade-weighted mean over 9 HS6 lines" in r.at[0, "eta_source"]
    # weighting moves the car η: Korea's mix is mostly 870323 (wrong-signed, so its HS4 fallback)
    assert r.at[0, "eta"] != r.at[1, "eta"]


def test_sigma_by_product_and_importer_bgw():
    bgw = el.estimates("bgw")
    v = bgw.set_index(["importer", "code"])["estimate"]
    lines = pd.DataFrame({"importer": ["USA", "KOR", "KOR", "ZZZ"], "exporter": ["KOR", "USA", "USA", "USA"],
                          "hs": ["8703", "0202", "72", "8703"],
                          "hs_prefixes": ["8703", "0201;0202;160250", "72;73", "8703"]})
    r = el.line_substitution(lines, "bgw")
    assert r.at[0, "sigma"] == pytest.approx(v[("USA", "870")], rel=1e-12)
    assert r.at[1, "sigma"] == pytest.approx(np.median([v[("KOR", "020")], v[("KOR", "160")]]), rel=1e-12)
    kor = v.loc["KOR"]
    steel = kor[kor.index.str[:2].isin(["72", "73"])]
    assert r.at[2, "sigma"] == pytest.approx(float(steel.median()), rel=1e-12)
    assert np.isnan(r.at[3, "sigma"]) and r.at[3, "sigma_source"] == ""  # not one of the 73 importers
    assert "bgw σ (KOR imports, HS3)" in r.at[1, "sigma_source"]
    # trade weights summed from HS6 to HS3
    w = pd.DataFrame({"importer": "KOR", "exporter": "USA", "code": ["020130", "020230", "160250"],
                      "value": [100.0, 300.0, 100.0]})
    rw = el.line_substitution(lines.iloc[[1]], "bgw", weights=w)
    assert rw["sigma"].iloc[0] == pytest.approx((400 * v[("KOR", "020")] + 100 * v[("KOR", "160")]) / 500, rel=1e-12)


def test_hauk_sigma_keeps_significantly_above_one_and_falls_back():
    raw = el.estimates("hauk2012-sigma").set_index("code")
    clean = el._substitution_clean("hauk2012-sigma").set_index("code")
    kept = (raw["estimate"] - 1) > el.Z90 * raw["se"]
    assert kept.any() and (~kept).any()
    np.testing.assert_allclose(clean.loc[kept, "sigma"], raw.loc[kept, "estimate"], rtol=1e-15)
    assert (clean["sigma"] > 1).all()
    one = raw.index[~kept][0]
    peers = raw[kept & (raw.index.str[:4] == one[:4])]
    if len(peers):
        assert clean.at[one, "sigma"] == pytest.approx(float(peers["estimate"].median()), rel=1e-12)
    # a KOR line takes the US value as a proxy and says so
    r = el.line_substitution(pd.DataFrame({"importer": ["KOR"], "exporter": ["USA"], "hs": ["870323"]}),
                             "hauk2012-sigma")
    assert r["sigma"].iloc[0] == pytest.approx(clean.at["870323", "sigma"]) and "proxy" in r["sigma_source"].iloc[0]


def test_sigma_table_of_the_wrong_concept_refused():
    with pytest.raises(ConfigError, match="holds the trade elasticity θ, but this model needs the elasticity of "
                                          "substitution between origins σ"):
        el.line_substitution(pd.DataFrame({"importer": ["USA"], "hs": ["8703"]}), "protee")
