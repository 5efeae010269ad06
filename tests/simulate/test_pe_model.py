"""The PE engine against hand-worked SMART cases, analytic results and a per-line reference.

Tolerances: hand-worked cases 1e-12 relative (closed-form arithmetic); the per-line peer
1e-9 scaled; first-order agreement of the constant-elasticity form with SMART 5e-3 relative
for a 0.1 pp tariff change.
"""
from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradepact.errors import ConfigError, DataFormatError
from tradepact.simulate.pe import PESettings, simulate_pe

ROOT = Path(__file__).resolve().parents[2]


def flows(**cols) -> pd.DataFrame:
    n = max(len(v) if isinstance(v, list) else 1 for v in cols.values())
    base = {"importer": "USA", "exporter": "KOR", "hs": "870323", "year": 2020}
    base.update(cols)
    return pd.DataFrame({k: (v if isinstance(v, list) else [v] * n) for k, v in base.items()})


def one(frame, **kw):
    return simulate_pe(frame, PESettings(**kw)).lines


# ---------------------------------------------------------------- SMART, one line, one partner

def test_trade_creation_one_line_hand_worked():
    # M = 100, eta = -1.5, t: 10% -> 5%.  TC = M*eta*dt/(1+t) = 100 * -1.5 * -0.05 / 1.1
    r = one(flows(import_value=100.0, rate_before=0.10, rate_after=0.05, import_demand_elasticity=-1.5)).iloc[0]
    tc = 100 * -1.5 * -0.05 / 1.1
    assert tc == pytest.approx(6.818181818181818, rel=1e-12)
    assert r.trade_creation == pytest.approx(tc, rel=1e-12)
    assert r.trade_diversion == 0.0  # a single source has nothing to divert from
    # revenue: 5% on the new imports minus 10% on the old ones
    assert r.tariff_revenue_change == pytest.approx(0.05 * (100 + tc) - 0.10 * 100, rel=1e-12)
    # consumer surplus: the price falls by 0.05 (world price 1) on the trapezoid M + TC/2
    assert r.consumer_surplus_change == pytest.approx(0.05 * (100 + tc / 2), rel=1e-12)
    assert r.domestic_price_change == pytest.approx(1.05 / 1.10 - 1, rel=1e-12)
    assert r.world_price_change == 0.0


def test_welfare_triangle_when_tariff_goes_to_zero():
    # WITS welfare = 0.5 * dt * TC equals consumer surplus + revenue change when t1 = 0
    r = one(flows(import_value=250.0, rate_before=0.08, rate_after=0.0, import_demand_elasticity=-3.0)).iloc[0]
    assert r.consumer_surplus_change + r.tariff_revenue_change == pytest.approx(0.5 * 0.08 * r.trade_creation, rel=1e-12)


def test_finite_export_supply_elasticity():
    # SMART with export supply elasticity eps: TC = M*eta*dt/(1+t) / (1 - eta/eps)
    M, eta, eps, t0, t1 = 80.0, -2.0, 4.0, 0.2, 0.1
    r = one(flows(import_value=M, rate_before=t0, rate_after=t1, import_demand_elasticity=eta),
            export_supply_elasticity=eps).iloc[0]
    dt = (t1 - t0) / (1 + t0)
    assert r.trade_creation == pytest.approx(M * eta * dt / (1 - eta / eps), rel=1e-12)
    # supply side: dM/M = eps * dPw/Pw; demand side: dM/M = eta * (dPw/Pw + dt/(1+t))
    assert r.trade_creation / M == pytest.approx(eps * r.world_price_change, rel=1e-12)
    assert r.trade_creation / M == pytest.approx(eta * (r.world_price_change + dt), rel=1e-12)
    assert r.world_price_change > 0  # a tariff cut raises the exporters' price when supply is finite


# ---------------------------------------------------------------- diversion, two sources

def test_trade_diversion_two_sources_smart_formula():
    # Korea (100) gets a preference 10% -> 0; others (300) keep 10%; sigma = 1.5.
    # SMART: TD = M1*M2*sigma*x / (M1 + M2 + M1*sigma*x), x = relative price fall = 0.1/1.1
    f = flows(exporter=["KOR", "ROW"], import_value=[100.0, 300.0], rate_before=[0.1, 0.1], rate_after=[0.0, 0.1],
              import_demand_elasticity=-2.0)
    r = one(f, substitution_elasticity=1.5)
    x = 0.1 / 1.1
    td = 100 * 300 * 1.5 * x / (100 + 300 + 100 * 1.5 * x)
    assert td == pytest.approx(9.89010989010989, rel=1e-12)
    assert r.trade_diversion.iloc[0] == pytest.approx(td, rel=1e-12)
    assert r.trade_diversion.iloc[1] == pytest.approx(-td, rel=1e-12)
    assert r.trade_creation.iloc[1] == 0.0
    # the partner's gain is creation + diversion; the market's total change is creation only
    assert r.total_import_change.sum() == pytest.approx(r.trade_creation.sum(), rel=1e-12)


def test_diversion_grows_with_sigma_and_is_bounded():
    f = flows(exporter=["KOR", "ROW"], import_value=[100.0, 300.0], rate_before=[0.3, 0.3], rate_after=[0.0, 0.3])
    tds = [one(f, substitution_elasticity=s).trade_diversion.iloc[0] for s in (0.5, 1.5, 5.0, 50.0, 5000.0)]
    assert all(a < b for a, b in zip(tds, tds[1:]))
    assert tds[-1] < 300.0  # never more than the other sources had
    assert tds[-1] == pytest.approx(300.0, rel=1e-2)


def test_constant_elasticity_form_matches_smart_to_first_order():
    f = flows(exporter=["KOR", "ROW"], import_value=[100.0, 300.0], rate_before=[0.1, 0.1],
              rate_after=[0.099, 0.1], import_demand_elasticity=-4.0)
    a = one(f)
    b = one(f, functional_form="constant_elasticity")
    for col in ("trade_creation", "trade_diversion", "consumer_surplus_change"):
        assert b[col].iloc[0] == pytest.approx(a[col].iloc[0], rel=5e-3)  # second order: (eta-1)/2*dp ~ 2.3e-3
    # exact constant-elasticity creation
    assert b.trade_creation.iloc[0] == pytest.approx(100 * ((1.099 / 1.1) ** -4.0 - 1), rel=1e-12)


def test_linear_response_capped_at_all_imports():
    r = one(flows(import_value=10.0, rate_before=0.0, rate_after=1.0, import_demand_elasticity=-5.0)).iloc[0]
    assert r.trade_creation == -10.0 and r.import_value_after == 0.0 and bool(r.clipped)


# ---------------------------------------------------------------- zero change, aggregation, peer

def random_frame(seed: int, lines: int = 40, partners: int = 6) -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("bench_pe", ROOT / "bench" / "pe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.synthetic(lines, partners, seed=seed), mod


def test_zero_tariff_change_gives_zero_effect():
    f, _ = random_frame(1)
    f["rate_after"] = f["rate_before"]
    f["domestic_output"] = 1000.0
    for form in ("smart", "constant_elasticity"):
        for eps in (None, 3.0):
            r = simulate_pe(f, PESettings(functional_form=form, export_supply_elasticity=eps,
                                          domestic_substitution=True)).lines
            for col in ("trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change",
                        "quota_rent_change", "domestic_output_change", "world_price_change"):
                assert np.abs(r[col].to_numpy()).max() < 1e-12, col


def test_hs2_aggregation_equals_sum_of_lines():
    f, _ = random_frame(2)
    res = simulate_pe(f)
    agg = res.aggregate("hs2", by=("year",)).set_index(["year", "hs2"])
    lines = res.lines.assign(hs2=res.lines["hs"].str[:2])
    for (year, hs2), grp in lines.groupby(["year", "hs2"]):
        for col in ("trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change"):
            assert agg.loc[(year, hs2), col] == pytest.approx(grp[col].sum(), rel=1e-12, abs=1e-12)
    tot = res.aggregate("total", by=())
    assert tot["trade_creation"].iloc[0] == pytest.approx(res.lines["trade_creation"].sum(), rel=1e-12)
    sec = res.aggregate("sector", by=("year",))
    assert sec["trade_creation"].sum() == pytest.approx(res.lines["trade_creation"].sum(), rel=1e-12)


def test_matches_the_per_line_reference_implementation():
    f, mod = random_frame(3, lines=60, partners=8)
    ours = simulate_pe(f).lines
    peer = mod.smart_per_line(f)
    for col in peer.columns:
        np.testing.assert_allclose(ours[col].to_numpy(), peer[col].to_numpy(), rtol=1e-9, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(M=st.floats(0.01, 1e5), t0=st.floats(0.0, 1.0), cut_a=st.floats(0.0, 1.0), cut_b=st.floats(0.0, 1.0),
       eta=st.floats(-20.0, -0.05), eps=st.one_of(st.none(), st.floats(0.1, 50.0)),
       form=st.sampled_from(["smart", "constant_elasticity"]))
def test_larger_cut_never_gives_less_trade_creation(M, t0, cut_a, cut_b, eta, eps, form):
    small, large = sorted((cut_a, cut_b))
    f = flows(import_value=[M, M], hs=["870323", "870324"], rate_before=[t0, t0],
              rate_after=[t0 * (1 - small), t0 * (1 - large)], import_demand_elasticity=eta)
    r = one(f, export_supply_elasticity=eps, functional_form=form)
    assert r.trade_creation.iloc[1] >= r.trade_creation.iloc[0] - 1e-9 * M
    assert r.consumer_surplus_change.iloc[1] >= r.consumer_surplus_change.iloc[0] - 1e-9 * M


# ---------------------------------------------------------------- tariff-rate quotas

def test_new_binding_quota_hand_worked():
    # 50 imported at 20%; a quota of 40 with nothing allowed beyond it, in-quota rate 0, eta = -2 (linear).
    # Demand through (p0 = 1.2, M = 50): M(p) = 50 (1 - 2 (p/1.2 - 1)) = 40  =>  p = 1.2 * 1.1 = 1.32
    f = flows(hs="0202", import_value=50.0, rate_before=0.2, rate_after=math.inf, quota_after=40.0,
              in_quota_rate_after=0.0, import_demand_elasticity=-2.0)
    r = one(f).iloc[0]
    assert r.quota_regime_after == "binding"
    assert r.trade_creation == pytest.approx(-10.0, rel=1e-12)
    assert r.domestic_price_change == pytest.approx(1.32 / 1.2 - 1, rel=1e-12)
    assert r.quota_rent_change == pytest.approx((1.32 - 1.0) * 40, rel=1e-12)
    assert r.tariff_revenue_change == pytest.approx(-0.2 * 50, rel=1e-12)
    assert r.consumer_surplus_change == pytest.approx(-(1.32 - 1.2) * (50 - 5), rel=1e-12)


def test_binding_quota_turns_a_tariff_cut_into_rent():
    # quota binds before and after: cutting the in-quota rate changes rent and revenue, not price or volume
    base = dict(hs="0805", import_value=30.0, quota_before=30.0, quota_after=30.0, rate_before=0.5, rate_after=0.5,
                import_demand_elasticity=-3.0)
    before = one(flows(in_quota_rate_before=0.3, in_quota_rate_after=0.3, **base)).iloc[0]
    assert abs(before.trade_creation) < 1e-12 and abs(before.quota_rent_change) < 1e-12
    r = one(flows(in_quota_rate_before=0.3, in_quota_rate_after=0.1, **base)).iloc[0]
    assert r.quota_regime_before == "in" and r.quota_regime_after == "binding"
    assert r.trade_creation == pytest.approx(0.0, abs=1e-12)
    assert r.domestic_price_change == pytest.approx(0.0, abs=1e-12)
    assert r.consumer_surplus_change == pytest.approx(0.0, abs=1e-12)
    assert r.quota_rent_change == pytest.approx(0.2 * 30, rel=1e-12)
    assert r.tariff_revenue_change == pytest.approx(-0.2 * 30, rel=1e-12)


def test_over_quota_and_unfilled_quota_regimes():
    # over quota: the marginal unit pays the out-of-quota rate; an in-quota cut is pure rent
    f = flows(hs="0805", import_value=100.0, quota_before=40.0, quota_after=40.0, in_quota_rate_before=0.2,
              in_quota_rate_after=0.0, rate_before=0.5, rate_after=0.5, import_demand_elasticity=-2.0)
    r = one(f).iloc[0]
    assert r.quota_regime_after == "over" and r.trade_creation == pytest.approx(0.0, abs=1e-12)
    assert r.quota_rent_change == pytest.approx(0.2 * 40, rel=1e-12)
    # an out-of-quota cut moves price and volume like a plain tariff on the marginal rate
    f2 = f.assign(rate_after=0.4)
    r2 = one(f2).iloc[0]
    assert r2.trade_creation == pytest.approx(100 * -2.0 * (0.4 - 0.5) / 1.5, rel=1e-12)
    # unfilled quota: behaves as a plain tariff at the in-quota rate
    f3 = flows(hs="0805", import_value=10.0, quota_before=40.0, quota_after=40.0, in_quota_rate_before=0.2,
               in_quota_rate_after=0.1, rate_before=0.5, rate_after=0.5, import_demand_elasticity=-2.0)
    r3 = one(f3).iloc[0]
    assert r3.quota_regime_after == "in"
    assert r3.trade_creation == pytest.approx(10 * -2.0 * -0.1 / 1.2, rel=1e-12)
    assert r3.quota_rent_change == 0.0


# ---------------------------------------------------------------- GSIM-style domestic substitution

def test_domestic_substitution_nested_armington():
    # D = 300 domestic sales, M = 100 imports at t0 = 0 -> s_M = 0.25; eps_c = -1, sigma_d = 2:
    # import demand elasticity = eps_c*s_M - sigma_d*s_D = -0.25 - 1.5 = -1.75
    # a 10% tariff: TC = 100 * -1.75 * 0.1 = -17.5; domestic sales: D*s_M*(sigma_d+eps_c)*p = 300*.25*1*.1 = 7.5
    f = flows(import_value=100.0, rate_before=0.0, rate_after=0.1, domestic_output=300.0)
    r = one(f, domestic_substitution=True, composite_demand_elasticity=-1.0,
            domestic_substitution_elasticity=2.0).iloc[0]
    assert r.import_demand_elasticity == pytest.approx(-1.75, rel=1e-12)
    assert r.trade_creation == pytest.approx(-17.5, rel=1e-12)
    assert r.domestic_output_change == pytest.approx(7.5, rel=1e-12)
    # composite quantity change = s_M * M_hat + s_D * D_hat = eps_c * s_M * p (composite demand)
    comp = 0.25 * (-17.5 / 100) + 0.75 * (7.5 / 300)
    assert comp == pytest.approx(-1.0 * 0.25 * 0.1, rel=1e-12)
    # without domestic output the table elasticity is used
    g = one(flows(import_value=100.0, rate_before=0.0, rate_after=0.1, import_demand_elasticity=-4.0),
            domestic_substitution=True).iloc[0]
    assert g.import_demand_elasticity == -4.0 and g.domestic_output_change == 0.0


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("col,value,expected", [
    ("hs", "87A3", "HS code"),
    ("rate_after", -0.1, ">= 0"),
    ("import_demand_elasticity", 1.2, "negative"),
    ("import_value", float("nan"), "a number"),
])
def test_bad_rows_name_row_and_field(col, value, expected):
    f = flows(exporter=["KOR", "JPN"], import_value=[1.0, 2.0], rate_before=0.1, rate_after=0.0,
              import_demand_elasticity=-1.0)
    f[col] = f[col].astype(object)
    f.loc[1, col] = value
    with pytest.raises(DataFormatError) as ei:
        simulate_pe(f, source="flows.csv")
    msg = str(ei.value)
    assert "flows.csv" in msg and "row 2" in msg and f"'{col}'" in msg and expected in msg


def test_bad_settings():
    with pytest.raises(ConfigError, match="substitution_elasticity"):
        PESettings(substitution_elasticity=-1)
    with pytest.raises(ConfigError, match="import_demand_elasticity"):
        PESettings(import_demand_elasticity=0.5)
    with pytest.raises(DataFormatError, match="duplicate flow"):
        simulate_pe(flows(import_value=[1.0, 1.0], rate_before=0.1, rate_after=0.0))
    with pytest.raises(DataFormatError, match="prohibitive"):
        simulate_pe(flows(import_value=[1.0], rate_before=0.1, rate_after=math.inf))


def test_input_frame_is_not_modified():
    f = flows(import_value=[5.0], rate_before=0.1, rate_after=0.0, hs=["870323"])
    before = f.copy()
    simulate_pe(f)
    pd.testing.assert_frame_equal(f, before)


@settings(max_examples=40, deadline=None)
@given(m1=st.floats(0.1, 1e4), m2=st.floats(0.1, 1e4), t0=st.floats(0.01, 1.0), a=st.floats(0, 1), b=st.floats(0, 1),
       sigma=st.floats(0.1, 20.0), form=st.sampled_from(["smart", "constant_elasticity"]))
def test_deeper_preference_never_diverts_less(m1, m2, t0, a, b, sigma, form):
    small, large = sorted((a, b))
    res = []
    for cut in (small, large):
        f = flows(exporter=["KOR", "ROW"], import_value=[m1, m2], rate_before=[t0, t0],
                  rate_after=[t0 * (1 - cut), t0], import_demand_elasticity=-2.0)
        r = one(f, substitution_elasticity=sigma, functional_form=form)
        assert r.trade_diversion.sum() == pytest.approx(0.0, abs=1e-9 * (m1 + m2))
        assert -1e-9 * m2 <= r.trade_diversion.iloc[0] <= m2 * (1 + 1e-12)
        res.append(r.trade_diversion.iloc[0])
    assert res[1] >= res[0] - 1e-9 * (m1 + m2)
