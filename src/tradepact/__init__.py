"""tradepact: trade-policy analysis — ledger, agreements, gravity, simulation, reports.

Money is USD millions unless a name says otherwise; countries are ISO3; tariffs are
fractions (0.08 = 8%).

The front door (each name loads its engine on first use, so ``import tradepact`` stays light)::

    import tradepact as tp
    res = tp.ppml(formula="trade ~ rta | exp_year + imp_year + pair_id", data=df)   # GravityResults
    tp.run_scenario("auto-tariff-25").summary()                                     # ScenarioResult
    tp.solve_ge(baseline, shock)                                                    # GEResult
    tp.expost("KORUS", "USA").summary()                                             # ExPostResult
    tp.simulate_pe(frame), tp.load_agreement("korus"), tp.LedgerStore.open()

Every result has ``summary()``, ``to_frame()``, ``to_dict()`` and ``to_json()``.
"""
__version__ = "0.1.0"

from tradepact.errors import ConfigError, DataFormatError, NotConvergedError, TradepactError  # noqa: E402

#: Front-door names and the module that defines each (loaded on first access).
_FRONT_DOOR = {name: "tradepact.front_door" for name in
               ("ppml", "ols", "simulate_pe", "run_scenario", "solve_ge", "expost", "load_agreement", "LedgerStore")}

__all__ = ["__version__", "TradepactError", "DataFormatError", "ConfigError", "NotConvergedError",
           *_FRONT_DOOR]


def __getattr__(name: str):
    module = _FRONT_DOOR.get(name)
    if module is None:
        raise AttributeError(f"module 'tradepact' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FRONT_DOOR))
