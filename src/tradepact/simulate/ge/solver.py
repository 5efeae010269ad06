"""Solving for the counterfactual equilibrium.

Algorithm: the tâtonnement fixed point of Alvarez & Lucas (2007) / Stata ``ge_gravity``,
``ln ŵ ← ln ŵ + λ ln(1 + Z(ŵ))`` with ``λ = 1/(1+θ̄)`` (full endowment; ``1/θ̄`` for the
conditional closure, whose "prices" only shift demand), followed by renormalization
``Σ ŵ Y = Σ Y``, accelerated with Anderson mixing (depth 6, restarted when a step does
not reduce the residual). Each iteration is a handful of vectorized array operations on
``(S, N, N)`` arrays.

Convergence: ``max_i |Z_i| ≤ tol`` where ``Z_i`` is country i's excess demand for its
output relative to its output (default ``tol = 1e-10``). The solver reports the number
of iterations and the residual history, and raises :class:`NotConvergedError` — never
returns an unconverged equilibrium.
"""
from __future__ import annotations

import numpy as np

from tradepact.errors import ConfigError, NotConvergedError, ParameterError, check_choice
from tradepact.simulate.ge.equilibrium import Economy, Shock
from tradepact.simulate.ge.results import GEResult, SolverReport

DEFAULT_TOL = 1e-10


def solve_prices(econ: Economy, deficits: str = "multiplicative", conditional: bool = False,
                 tol: float = DEFAULT_TOL, max_iter: int = 20_000, depth: int = 6):
    """Return ``(w, state, report)``: factory-gate price changes (N,), the state dict, and a report."""
    y = econ.Y
    ysum = y.sum()
    lam = 1.0 / econ.theta_bar if conditional else 1.0 / (1.0 + econ.theta_bar)

    def normalize(x):
        w = np.exp(x)
        return x - np.log((w * y).sum() / ysum)

    def G(x):
        st = econ.evaluate(np.exp(x), deficits, fixed_expenditure=conditional)
        return normalize(x + lam * np.log1p(st["Z"])), st

    x = np.zeros(econ.baseline.n)
    hist: list[float] = []
    xs, fs = [], []
    best = np.inf
    for it in range(1, max_iter + 1):
        gx, st = G(x)
        res = float(np.max(np.abs(st["Z"])))
        hist.append(res)
        if not np.isfinite(res):
            break
        if res <= tol:
            return np.exp(x), st, SolverReport(True, it, res, tol, hist)
        f = gx - x
        if res > 2.0 * best:  # Anderson went astray: restart from the plain step
            xs, fs = [], []
        best = min(best, res)
        xs.append(x.copy())
        fs.append(f.copy())
        if len(xs) > depth + 1:
            xs.pop(0)
            fs.pop(0)
        if len(xs) >= 2:
            dX = np.diff(np.array(xs), axis=0).T
            dF = np.diff(np.array(fs), axis=0).T
            gamma, *_ = np.linalg.lstsq(dF, f, rcond=None)
            x_new = x + f - (dX + dF) @ gamma
            if not np.all(np.isfinite(x_new)) or np.max(np.abs(x_new - x)) > 5.0:
                x_new = gx
                xs, fs = [], []
            x = normalize(x_new)
        else:
            x = gx
    raise NotConvergedError(
        f"GE solver did not converge: max relative excess demand {hist[-1]:.3e} > tol {tol:g} after "
        f"{len(hist)} iterations (closure {'conditional' if conditional else 'full'}, deficits {deficits})")


CLOSURES = ("full", "conditional", "gegravity")


def solve(baseline, shock=None, *, closure: str = "full", deficits: str = "multiplicative",
          reference: str | None = None, tol: float = DEFAULT_TOL, max_iter: int = 20_000):
    """Solve a counterfactual; returns a :class:`~tradepact.simulate.ge.results.GEResult`.

    ``closure``:
      * ``"full"`` — full endowment: factory-gate prices, output, expenditure and tariff
        revenue adjust; deficits held fixed (``deficits``).
      * ``"conditional"`` — multilateral resistances only: output and expenditure fixed
        (the book's "conditional general equilibrium").
      * ``"gegravity"`` — compatibility with gegravity 0.3's ``OneSectorGE``: resistances
        solved with the *baseline* output and expenditure shares (so markets do not clear
        exactly at the new prices; residual ~1e-4..1e-3), factory-gate prices from the
        outward resistances, E' = (E/Y)·Y'. Requires a one-sector baseline without tariffs and
        a ``reference`` country. Use ``"full"`` for the correct equilibrium.
    ``deficits``: ``"multiplicative"`` (default; expenditure/output ratios fixed, as in the book
    and gegravity) or ``"additive"`` (deficit levels fixed in world-GDP units).
    ``reference``: report nominal values relative to this country's price index (P̂_ref = 1),
    as the book (DEU) and gegravity do; default: world factory-gate income held fixed.
    """
    check_choice("closure", closure, CLOSURES)
    check_choice("deficits", deficits, ("multiplicative", "additive"))
    if not (tol > 0):
        raise ParameterError("tol", f"must be > 0, got {tol}")
    shock = shock if shock is not None else Shock.none()
    econ = Economy(baseline, shock)
    ref = baseline.index(reference) if reference is not None else None
    th = baseline.theta

    if closure == "gegravity":
        if ref is None:
            raise ConfigError("closure 'gegravity' needs a reference country (gegravity's reference importer)")
        if len(baseline.sectors) != 1 or np.any(econ.t0 != 0) or np.any(econ.t1 != 0):
            raise ConfigError("closure 'gegravity' is one-sector without tariffs (as gegravity 0.3)")
        if deficits != "multiplicative":
            raise ConfigError("closure 'gegravity' has multiplicative deficits only (E' = (E/Y)·Y')")
        return _gegravity(baseline, econ, ref, reference, tol, max_iter, shock)

    conditional = closure == "conditional"
    w, st, report = solve_prices(econ, deficits, conditional=conditional, tol=tol, max_iter=max_iter)
    phat_s = st["phat"] ** (-1.0 / th[:, None])  # P̂_js (S, N)
    phat = np.exp((econ.alpha * np.log(phat_s)).sum(axis=0))
    scale = phat[ref] if ref is not None else 1.0
    nominal = 1.0 if conditional else scale  # conditional keeps Y and E at baseline levels
    w = w / scale
    phat, phat_s = phat / scale, phat_s / scale
    flows1 = st["flows1"] / nominal
    if conditional:
        y1 = flows1.sum(axis=(0, 2))
        e1 = econ.E.copy()
        r1 = (flows1 * econ.t1).sum(axis=(0, 1))
    else:
        y1 = st["Y1"] / nominal
        e1 = st["E1"] / nominal
        r1 = st["R1"] / nominal
    return GEResult(baseline=baseline, closure=closure, deficits=deficits, reference=reference, report=report,
                    factory_price=w, price_index=phat, sector_price_index=phat_s, flows_new=flows1,
                    output_new=y1, expenditure_new=e1, tariff_revenue_new=r1, label=shock.label)


def _gegravity(baseline, econ, ref, reference, tol, max_iter, shock):
    import pandas as pd

    th = float(baseline.theta[0])
    x, st, report = solve_prices(econ, "multiplicative", conditional=True, tol=tol, max_iter=max_iter)
    phat_x = st["phat"][0] ** (-1.0 / th)
    p = x / phat_x[ref]  # factory-gate price change; P̂_ref = 1
    phat = phat_x / phat_x[ref]
    x0 = baseline.flows[0]
    y_mod = x0.sum(axis=1)  # modeled baseline output (row sums of the fitted flows)
    e0 = baseline.expenditure
    shares = baseline.output_shares if baseline.output_shares is not None else y_mod / y_mod.sum()
    y1 = p * y_mod
    e1 = p * e0  # E' = (E/Y)·Y' with Y' = p·Y
    # X'_ij = T'_ij E'_j (Y'_i/ΣY') a'_j b'_i  →  in changes relative to the modeled baseline
    ratio = (np.exp(econ.log_cost_change[0]) * (phat ** th)[None, :] * (p ** (-th))[:, None]
             * p[None, :] * (p / (shares * p).sum())[:, None])
    x1 = x0 * ratio
    n = baseline.n
    off = ~np.eye(n, dtype=bool)

    def pc(a, b):
        return 100 * (a - b) / b

    gg = pd.DataFrame({
        "country": list(baseline.countries),
        "factory gate price change (percent)": 100 * (p - 1),
        "omr change (percent)": 100 * (1 / p - 1),
        "imr change (percent)": 100 * (phat - 1),
        "GDP change (percent)": 100 * (p / phat - 1),
        "welfare statistic": phat / p,
        "terms of trade change (percent)": 100 * (p / phat - 1),
        "output change (percent)": 100 * (p - 1),
        "expenditure change (percent)": 100 * (p - 1),
        "foreign exports change (percent)": pc((x1 * off).sum(1), (x0 * off).sum(1)),
        "foreign imports change (percent)": pc((x1 * off).sum(0), (x0 * off).sum(0)),
        "intranational trade change (percent)": pc(np.diag(x1), np.diag(x0)),
    })
    # market-clearing residual of the gegravity closure at its own solution (documented ~1e-4..1e-3)
    resid = float(np.max(np.abs(x1.sum(axis=1) / y1 - 1)))
    return GEResult(baseline=baseline, closure="gegravity", deficits="multiplicative", reference=reference,
                    report=report, factory_price=p, price_index=phat, sector_price_index=phat[None],
                    flows_new=x1[None], output_new=y1, expenditure_new=e1,
                    tariff_revenue_new=np.zeros(n), label=shock.label,
                    extra={"gegravity": gg, "market_clearing_residual": resid})
