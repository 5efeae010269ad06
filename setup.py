"""Build configuration beyond pyproject.toml: the optional C kernels of the BACI parser.

``tradepact.ledger.sources._baci_kernels`` is compiled at install time where a C compiler and the
Python headers are available; elsewhere the build goes on without it (``optional=True``) and the
same kernels are compiled by numba on first use (``tradepact.ledger.sources.baci_parse.kernels``).
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("tradepact.ledger.sources._baci_kernels",
                             ["src/tradepact/ledger/sources/_baci_kernels.c"], optional=True)])
