"""Ledger balances and before/after comparisons on the built-in US–Korea facts."""
import datetime as dt
import math

import pandas as pd
import pytest

from tradepact.errors import ConfigError
from tradepact.ledger.balances import before_after, bilateral, first_year_after


def test_official_figures_us_view():
    f = bilateral("USA", "KOR").set_index("year")
    assert f.loc[2011, "goods_balance"] == pytest.approx(-13199.7)
    assert f.loc[2016, "goods_balance"] == pytest.approx(-27624.6)
    assert f.loc[2016, "services_balance"] == pytest.approx(10700)
    assert f.loc[2016, "total_balance"] == pytest.approx(-27624.6 + 10700)
    # balance = exports - imports wherever both are given
    both = f.dropna(subset=["goods_exports", "goods_imports"])
    assert ((both.goods_exports - both.goods_imports - both.goods_balance).abs() < 0.15).all()
    assert math.isnan(f.loc[2013, "services_balance"]) and math.isnan(f.loc[2013, "total_balance"])
    assert not f.loc[2024, "confirmed"] and f.loc[2024, "goods_confirmed"]
    assert f.loc[2016, "confirmed"]


def test_korea_view_is_mirror():
    us = bilateral("USA", "KOR").set_index("year")
    kr = bilateral("KOR", "USA").set_index("year")
    assert (kr["goods_exports"] == us["goods_imports"]).all()
    pd.testing.assert_series_equal(kr["goods_balance"], -us["goods_balance"])
    pd.testing.assert_series_equal(kr["total_balance"], -us["total_balance"])


def test_year_window_and_errors():
    f = bilateral("usa", "Korea, Republic of", 2010, 2012)
    assert f["year"].tolist() == [2010, 2011, 2012]
    with pytest.raises(ConfigError, match="unknown country 'XYZ'"):
        bilateral("USA", "XYZ")
    with pytest.raises(ConfigError, match="import data first"):
        bilateral("USA", "FRA")
    with pytest.raises(ConfigError, match="no USA–KOR data"):
        bilateral("USA", "KOR", 1990, 1995)


def test_before_after_hand_computed():
    f = bilateral("USA", "KOR", 2009, 2016)
    assert first_year_after(dt.date(2012, 3, 15)) == 2012
    assert first_year_after(dt.date(2012, 9, 1)) == 2013
    ba = before_after(f, dt.date(2012, 3, 15)).set_index("measure")
    # 2009-2011 vs 2012-2016 means of the Census figures, by hand
    before = (28611.9 + 38820.6 + 43461.6) / 3
    after = (42282.6 + 41648.7 + 44649.6 + 43484.0 + 42262.2) / 5
    assert ba.loc["goods_exports", "before_avg"] == pytest.approx(before)
    assert ba.loc["goods_exports", "after_avg"] == pytest.approx(after)
    assert ba.loc["goods_exports", "change"] == pytest.approx(after - before)
    assert ba.loc["goods_exports", "after_growth"] == pytest.approx((42262.2 / 42282.6) ** (1 / 4) - 1)
    assert ba.loc["goods_balance", "before_years"] == "2009–2011"
    assert math.isnan(ba.loc["goods_balance", "before_growth"])


def test_before_after_names_years_and_refuses_gaps():
    f = bilateral("USA", "KOR", 2009, 2018)
    ba = before_after(f, dt.date(2012, 3, 15)).set_index("measure")
    # services: 2011 before; 2012, 2016-2017 and 2018 (exports only, so no balance) after: a gap 2013-2015
    assert ba.loc["services_balance", "after_years"] == "2012, 2016–2017"
    assert math.isnan(ba.loc["services_balance", "after_avg"]) and math.isnan(ba.loc["services_balance", "change"])
    assert "no data for 2013–2015" in ba.loc["services_balance", "note"] and "refused" in ba.loc["services_balance", "note"]
    assert ba.loc["goods_exports", "note"] == "" and ba.loc["goods_exports", "after_years"] == "2012–2018"
    ok = before_after(f, dt.date(2012, 3, 15), allow_gaps=True).set_index("measure")
    assert ok.loc["services_balance", "after_avg"] == pytest.approx((9000 + 10700 + 13300) / 3)
    assert "no data for 2013–2015" in ok.loc["services_balance", "note"] and "refused" not in ok.loc["services_balance", "note"]


def test_vintages_shown():
    from tradepact.ledger.balances import vintages

    f = bilateral("USA", "KOR", 2011, 2017)
    assert f.set_index("year").loc[2011, "vintage"] == "goods published 2024-11; services published 2018-03"
    assert vintages(f).startswith("goods published 2024-11 (2011–2017); services published 2018-03 (2011)")
