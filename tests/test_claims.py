"""Claims of the KORUS debate checked against the ledger: verdict rules on hand-made and real data."""
import pandas as pd
import pytest

from tradepact.data import korus
from tradepact.errors import ConfigError
from tradepact.ledger.balances import bilateral
from tradepact.ledger.claims import check_claim, check_claims


def _frame(**cols):
    base = {"year": [2011, 2016], "goods_confirmed": [True, True], "services_confirmed": [True, True],
            "confirmed": [True, True], "source": ["s", "s"]}
    base.update(cols)
    return pd.DataFrame(base)


@pytest.mark.parametrize("data, verdict", [(-27640.0, "holds"), (-27660.0, "holds within rounding"),
                                           (-27749.0, "holds within rounding"), (-27760.0, "does not hold")])
def test_value_verdicts(data, verdict):
    claim = {"id": "c", "checks": [{"metric": "goods_balance", "kind": "value", "year": 2016,
                                    "claimed": -27600, "precision": 100}]}
    out = check_claim(claim, _frame(goods_balance=[-13000.0, data]))
    assert out["verdict"].iloc[0] == verdict


def test_unconfirmed_and_missing_and_bad_metric():
    claim = {"id": "c", "checks": [{"metric": "goods_balance", "kind": "value", "year": 2016,
                                    "claimed": -27600, "precision": 100}]}
    f = _frame(goods_balance=[-13000.0, -27600.0])
    f.loc[1, "goods_confirmed"] = False
    assert check_claim(claim, f)["verdict"].iloc[0] == "unconfirmed data"
    claim["checks"][0]["year"] = 2020
    assert check_claim(claim, f)["verdict"].iloc[0] == "no data"
    claim["checks"][0]["metric"] = "gdp"
    with pytest.raises(ConfigError, match="unknown metric 'gdp'"):
        check_claim(claim, f)


def test_korus_claims_on_builtin_data():
    summary, details = check_claims(korus().claims, bilateral("USA", "KOR"))
    v = summary.set_index("claim_id")["verdict"]
    assert v["deficit-doubled"] == "holds"          # -13,199.7 -> -27,624.6, ratio 2.09
    assert v["deficit-2016-27.7"] == "holds within rounding"  # 27.62 rounds to 27.6, not 27.7
    assert v["services-surplus-2016"] == "holds"
    assert v["overall-deficit-2016"] == "holds"     # -16,924.6 ~ -17B
    # 43,461.6 (2011) > 42,262.2 (2016), but 2014 (44,649.6), 2015 (43,484.0) and 2017 on are above 2011
    assert v["exports-down"] == "depends on the end year"
    ev = summary.set_index("claim_id").loc["exports-down", "evidence"]
    assert "holds for 2011→2012–2013, 2016" in ev and "does not hold for 2011→2014–2015, 2017–2024" in ev
    assert "by 2024" in ev and "+51%" in ev          # 65,771.2 / 43,461.6 - 1 = +51%
    ratio = details[details["check"].str.contains("/")]["data"].iloc[0]
    assert ratio == pytest.approx(27624.6 / 13199.7)


def test_decrease_verdict_depends_on_the_end_year():
    f = _frame(goods_exports=[100.0, 90.0])
    f = pd.concat([f, pd.DataFrame({"year": [2017, 2018], "goods_exports": [110.0, 95.0], "goods_confirmed": True,
                                    "services_confirmed": True, "confirmed": True, "source": "s"})],
                  ignore_index=True)
    chk = {"metric": "goods_exports", "kind": "decrease", "year": 2016, "base_year": 2011}
    assert check_claim({"id": "c", "checks": [chk]}, f)["verdict"].iloc[0] == "holds"  # 2011→2016 only
    out = check_claim({"id": "c", "checks": [dict(chk, through="latest")]}, f).iloc[0]
    assert out["verdict"] == "depends on the end year"
    assert out["by_end_year"] == "holds for 2011→2016, 2018; does not hold for 2011→2017"
    f.loc[f.year == 2017, "goods_exports"] = 99.0
    assert check_claim({"id": "c", "checks": [dict(chk, through="latest")]}, f)["verdict"].iloc[0] == "holds"
