"""General-equilibrium structural gravity: exact hat algebra with tariffs, deficits and sectors.

Public API::

    from tradepact.simulate.ge import solve, Baseline, Shock, GEResult

    base = Baseline.from_frame(df, theta=6)                # observed, domestic flows included
    res = solve(base, Shock.bilateral_tariffs(base, {("KOR", "USA"): 0.05}),
                closure="full", deficits="additive")
    res.to_frame(); res.pairs(); res.balance_decomposition("USA", "KOR"); res.summary()

Modules: :mod:`.baseline` (observed / fitted baselines), :mod:`.equilibrium` (shocks and the
equilibrium conditions), :mod:`.solver` (fixed point, tolerance, ``solve``),
:mod:`.results` (tidy outputs and the solver's report), :mod:`.uncertainty` (Monte Carlo bands),
:mod:`.costs` (trade costs from gravity variables and coefficients).
"""
from tradepact.simulate.ge.baseline import Baseline
from tradepact.simulate.ge.equilibrium import Economy, Shock
from tradepact.simulate.ge.results import GEResult, SolverReport
from tradepact.simulate.ge.solver import DEFAULT_TOL, solve

__all__ = ["Baseline", "Shock", "GEResult", "solve", "SolverReport", "Economy", "DEFAULT_TOL"]
