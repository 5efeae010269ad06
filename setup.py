"""Build configuration beyond pyproject.toml: the optional C kernels.

``tradepact.ledger.sources._baci_kernels`` (the BACI parser) and ``tradepact.gravity._demean_kernels``
(the fixed-effect demeaning and IRLS steps of the PPML-HDFE engine) are compiled at install time where a C
compiler and the Python headers are available; elsewhere the build goes on without them
(``optional=True``) and the same kernels are compiled by numba on first use
(``tradepact.ledger.sources.baci_parse.kernels``, ``tradepact.gravity._demean.kernels``).
"""
from setuptools import Extension, setup

setup(ext_modules=[
    Extension("tradepact.ledger.sources._baci_kernels", ["src/tradepact/ledger/sources/_baci_kernels.c"],
              optional=True),
    Extension("tradepact.gravity._demean_kernels", ["src/tradepact/gravity/_demean_kernels.c"], optional=True),
])
