"""tradepact: trade-policy analysis — ledger, agreements, gravity, simulation, reports.

Money is USD millions unless a name says otherwise; countries are ISO3; tariffs are
fractions (0.08 = 8%).
"""
__version__ = "0.1.0"

from tradepact.errors import ConfigError, DataFormatError, NotConvergedError, TradepactError  # noqa: E402

__all__ = ["__version__", "TradepactError", "DataFormatError", "ConfigError", "NotConvergedError"]
