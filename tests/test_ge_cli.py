"""`tradepact ge` command line and the Monte Carlo bands."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tradepact.cli import main

BOOK = "ln_DIST=-0.7912879,CNTG=0.6736456,INTL_BRDR=-2.47445"


@pytest.fixture
def small(tmp_path, shared_data):
    """The book's 2006 data restricted to 8 countries (fast)."""
    df = pd.read_csv(shared_data / "agtpa_chapter2_2006" / "trade_without_border_2006.csv")
    keep = ["USA", "CAN", "MEX", "ZZZ", "FRA", "JPN", "KOR", "CHN"]
    df = df[df.exporter.isin(keep) & df.importer.isin(keep)]
    p = tmp_path / "small.csv"
    df.to_csv(p, index=False)
    return p


def run(args, capsys):
    rc = main(args)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_json_keys_and_pairs(small, capsys):
    rc, out, _ = run(["ge", str(small), "--theta", "6", "--costs", BOOK, "--set", "INTL_BRDR=0",
                      "--pairs", "CAN>USA,USA>CAN", "--reference", "ZZZ", "--format", "json"], capsys)
    assert rc == 0
    doc = json.loads(out)
    assert doc["kind"] == "ge_counterfactual" and doc["closure"] == "full" and doc["solver"]["converged"]
    d = doc["countries"]
    assert set(d) == {"USA", "CAN", "MEX", "ZZZ", "FRA", "JPN", "KOR", "CHN"}
    keys = {"exports_change_pct_conditional", "exports_change_pct_full", "real_gdp_change_pct", "price_change_pct"}
    assert keys <= set(d["CAN"])
    assert d["CAN"]["exports_change_pct_full"] > 5 and d["USA"]["real_gdp_change_pct"] > 0
    assert d["ZZZ"]["price_index_change_pct"] == pytest.approx(0, abs=1e-9)  # reference P fixed
    assert d["MEX"]["exports_change_pct_conditional"] < 0  # trade diversion


def test_cli_table_and_observed_baseline(small, capsys):
    rc, out, _ = run(["ge", str(small), "--theta", "6", "--costs", BOOK, "--set", "INTL_BRDR=0",
                      "--baseline", "observed", "--closure", "full", "--deficits", "additive"], capsys)
    assert rc == 0 and "GE counterfactual" in out and "USA" in out


@pytest.mark.parametrize("args,needle", [
    (["--theta", "0"], "theta"),
    (["--theta", "6", "--reference", "XXX"], "XXX"),
    (["--theta", "6", "--pairs", "XXX>USA"], "unknown countries"),
    (["--theta", "6", "--set", "FOO=0"], "FOO"),
    (["--theta", "6", "--closure", "magic"], "closure"),
    (["--theta", "6", "--closure", "ful"], "--closure: expected one of 'full', 'conditional', 'gegravity', got 'ful' "
                                           "(did you mean 'full'?)"),
])
def test_cli_bad_input_exits_2_with_message(small, capsys, args, needle):
    base = ["ge", str(small), "--costs", BOOK, "--set", "INTL_BRDR=0"]
    if "--set" in args:
        base = ["ge", str(small), "--costs", BOOK]
    rc, _, err = run(base + args, capsys)
    assert rc == 2 and needle in err


def test_cli_negative_flow_names_file_row_field(tmp_path, small, capsys):
    df = pd.read_csv(small)
    df.loc[5, "trade"] = -3
    p = tmp_path / "bad.csv"
    df.to_csv(p, index=False)
    rc, _, err = run(["ge", str(p), "--theta", "6", "--costs", BOOK, "--set", "INTL_BRDR=0"], capsys)
    assert rc == 2 and "bad.csv" in err and "row 6" in err and "trade" in err


def test_cli_monte_carlo_bands(small, tmp_path, capsys):
    est = tmp_path / "est.csv"
    pd.DataFrame({"term": ["ln_DIST", "CNTG", "INTL_BRDR"], "estimate": [-0.7912879, 0.6736456, -2.47445],
                  "std_error": [0.0501494, 0.1073719, 0.1193816]}).to_csv(est, index=False)
    rc, out, _ = run(["ge", str(small), "--theta", "6", "--from-estimate", str(est), "--set", "INTL_BRDR=0",
                      "--reference", "ZZZ", "--draws", "12", "--format", "json"], capsys)
    assert rc == 0
    d = json.loads(out)["countries"]
    b = d["USA"]["bands"]
    assert b["real_gdp_change_pct_lo"] <= b["real_gdp_change_pct_median"] <= b["real_gdp_change_pct_hi"]
    assert b["real_gdp_change_pct_lo"] < d["USA"]["real_gdp_change_pct"] < b["real_gdp_change_pct_hi"]


def test_monte_carlo_zero_variance_collapses_to_point():
    from tradepact.simulate.ge import Baseline, Shock, solve
    from tradepact.simulate.ge.uncertainty import monte_carlo

    x = np.array([[50.0, 5, 3], [4, 40, 2], [6, 1, 30]])
    base = Baseline.from_matrix(x, ["A", "B", "C"], theta=4)

    def run_(p):
        lc = np.zeros((3, 3))
        lc[0, 1] = p[0]
        return solve(Baseline.from_matrix(x, ["A", "B", "C"], theta=4), Shock.from_costs(lc)).to_frame()

    mc = monte_carlo(run_, [0.3], [[0.0]], draws=4, n_jobs=1)
    point = solve(base, Shock.from_costs(np.array([[0, .3, 0], [0, 0, 0], [0, 0, 0]]))).to_frame()
    b = mc.bands.set_index("country")
    np.testing.assert_allclose(b.loc[point.country, "welfare_change_pct_lo"], point.welfare_change_pct, rtol=1e-12)
    assert mc.failed == 0 and len(mc.draws) == 12


def test_coefficients_from_an_estimate_object():
    from types import SimpleNamespace

    from tradepact.errors import ConfigError
    from tradepact.simulate.ge.costs import coefficients_from

    res = SimpleNamespace(params=pd.Series({"rta": 0.5, "ln_dist": -0.8}), bse=lambda: {"rta": 0.1, "ln_dist": 0.05})
    c, s = coefficients_from(res, ["rta"])
    assert c == {"rta": 0.5} and s == {"rta": 0.1}
    with pytest.raises(ConfigError, match="no coefficient"):
        coefficients_from(res, ["cntg"])


def test_cli_monte_carlo_with_full_covariance_json(small, tmp_path, capsys):
    names = ["ln_DIST", "CNTG", "INTL_BRDR"]
    v = np.array([[0.0025, 0.001, 0.002], [0.001, 0.0115, 0.0], [0.002, 0.0, 0.0143]])
    est = tmp_path / "est.json"
    est.write_text(json.dumps({"params": dict(zip(names, [-0.7912879, 0.6736456, -2.47445])),
                               "vcov": pd.DataFrame(v, index=names, columns=names).to_dict()}))
    rc, out, _ = run(["ge", str(small), "--theta", "6", "--from-estimate", str(est), "--set", "INTL_BRDR=0",
                      "--reference", "ZZZ", "--draws", "10", "--theta-se", "0.5", "--format", "json"], capsys)
    assert rc == 0
    b = json.loads(out)["countries"]["CAN"]["bands"]
    assert b["welfare_change_pct_lo"] < b["welfare_change_pct_hi"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"coefs": {}}')
    rc, _, err = run(["ge", str(small), "--theta", "6", "--from-estimate", str(bad), "--set", "INTL_BRDR=0"], capsys)
    assert rc == 2 and "bad.json" in err and "params" in err
