"""Shared test fixtures. Reference data live in ../shared/data beside the checkout."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRADEPACT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (the reference datasets); fails loudly if absent."""
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"reference data not found at {SHARED_DATA}; set TRADEPACT_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture(scope="session")
def agtpa_panel(shared_data):
    """The AGTPA applications panel, 1986-2006 every 4 years, with the exporter-year and importer-year
    keys (``exp_year``, ``imp_year``), ``intl`` (1 for international pairs), ``ln_dist`` and ``ln_trade``
    (NaN where trade is zero). Tests copy it before changing it."""
    import numpy as np
    import pandas as pd

    df = pd.read_parquet(shared_data / "agtpa_applications" / "agtpa_applications.parquet")
    df = df[df["year"].isin(range(1986, 2007, 4))].copy()
    df["exp_year"] = df["exporter"] + df["year"].astype(str)
    df["imp_year"] = df["importer"] + df["year"].astype(str)
    df["intl"] = (df["exporter"] != df["importer"]).astype(float)
    df["ln_dist"] = np.log(df["dist"])
    df["ln_trade"] = np.log(df["trade"].where(df["trade"] > 0))
    return df.reset_index(drop=True)


@pytest.fixture
def store_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty ledger store location, also exported as TRADEPACT_STORE."""
    d = tmp_path / "store"
    monkeypatch.setenv("TRADEPACT_STORE", str(d))
    return d


EXAMPLES = ROOT / "examples" / "agtpa"


@pytest.fixture(scope="session")
def load_example():
    """Import a script of examples/agtpa by name (the examples are scripts, not a package)."""

    def load(name: str):
        spec = importlib.util.spec_from_file_location(f"agtpa_{name}", EXAMPLES / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load


def _can_compile_c() -> bool:
    """A C compiler and the Python headers: what ``pip install`` needs to build the C kernels."""
    import shutil
    import sysconfig

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None and (Path(sysconfig.get_paths()["include"]) / "Python.h").exists()


@pytest.fixture(params=["c", "numba"])
def demean_kernels(request, monkeypatch) -> str:
    """Runs a test once with each implementation of the demeaning kernels: the C extension built at install
    (``tradepact.gravity._demean_kernels``; a failure if a compiler exists but it was not built) and the numba
    fallback, forced through ``$TRADEPACT_DEMEAN_KERNELS``."""
    from tradepact.gravity import _demean

    if request.param == "c" and _demean._c_kernels() is None:
        if _can_compile_c():
            pytest.fail("a C compiler exists but tradepact.gravity._demean_kernels was not built")
        pytest.skip("the C kernels are not built: no C compiler or Python headers at install")
    if request.param == "numba" and not _demean.HAVE_NUMBA:
        pytest.skip("numba not installed")
    monkeypatch.setenv(_demean.KERNELS_ENV, request.param)
    assert _demean.backend() == request.param
    return request.param


@pytest.fixture(scope="session")
def c_compiler() -> bool:
    """Whether a C compiler and the Python headers exist (then ``pip install`` builds the C extensions)."""
    return _can_compile_c()
