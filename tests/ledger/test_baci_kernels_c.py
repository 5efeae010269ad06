"""The C kernels of the BACI parser (``_baci_kernels``, an optional extension built by ``pip install``):
built wherever a compiler exists, and checking their arguments. Their results are compared with the
Arrow path (and the numba kernels) in test_baci_parse.py.
"""
from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from tradepact.ledger.sources import baci_parse


def _can_compile() -> bool:
    """A C compiler and the Python headers: what ``pip install`` needs to build the C kernels."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) is not None and (Path(sysconfig.get_paths()["include"]) / "Python.h").exists()


def _c_kernels():
    try:
        from tradepact.ledger.sources import _baci_kernels
    except ImportError:
        if _can_compile():
            raise
        pytest.skip("the C kernels are not built: no C compiler or Python headers at install")
    return _baci_kernels


def test_c_kernels_are_built_where_a_compiler_exists():
    """``pip install`` compiles the C kernels when it can (setup.py: an optional extension)."""
    if _can_compile():
        from tradepact.ledger.sources import _baci_kernels  # noqa: F401 - ImportError fails the test


@pytest.mark.parametrize("bad", ["int64 lut", "short present", "end past buf", "float year"])
def test_kernel_arguments_are_checked(bad):
    """Wrong dtypes or short arrays raise instead of writing out of bounds (stage() then declines
    to the next path). The numba kernels do not check: baci_fast sizes every array it passes."""
    kernels = _c_kernels()
    buf = np.frombuffer(b"2016,1,2,100199,1.5,2\n", dtype=np.uint8)
    i4, f8 = (lambda n: np.zeros(n, np.int32)), (lambda n: np.zeros(n, np.float64))
    args = dict(buf=buf, start=0, end=len(buf), lut=np.array([0, 0, 1], np.int32), order_base=3,
                pow10=baci_parse._POW10, year=i4(4), exporter=i4(4), importer=i4(4), product=i4(4),
                value=f8(4), quantity=f8(4), qbits=np.zeros(1, np.uint8),
                present=np.zeros(1_000_000, np.uint8), years=np.zeros(401, np.uint8),
                used=np.zeros(3, np.uint8), stats=np.zeros(8, np.int64), keys=np.empty(0, np.int64), ne=2)
    assert kernels.parse_chunk(*args.values()) == baci_parse.OK and args["stats"][baci_parse.ROWS] == 1
    change = {"int64 lut": ("lut", np.array([0, 0, 1], np.int64)), "short present": ("present", np.zeros(10, np.uint8)),
              "end past buf": ("end", len(buf) + 1), "float year": ("year", f8(4))}[bad]
    args[change[0]] = change[1]
    with pytest.raises(ValueError, match=change[0] if bad != "end past buf" else "outside"):
        kernels.parse_chunk(*args.values())


def test_more_lines_than_the_arrays_hold_is_declined_not_written():
    """Output arrays bound the rows written: a chunk with more lines than they hold is declined."""
    kernels = _c_kernels()
    buf = np.frombuffer(b"2016,1,2,100199,1.5,2\n2016,1,2,100200,1.5,2\n", dtype=np.uint8)
    year = np.full(3, -7, np.int32)  # one slot for the chunk, two guards after it
    stats = np.zeros(8, np.int64)
    out = kernels.parse_chunk(buf, 0, len(buf), np.array([0, 0, 1], np.int32), 3, baci_parse._POW10,
                              year[:1], *(np.zeros(1, np.int32) for _ in range(3)), np.zeros(1), np.zeros(1),
                              np.zeros(1, np.uint8), np.zeros(1_000_000, np.uint8), np.zeros(401, np.uint8),
                              np.zeros(3, np.uint8), stats, np.empty(0, np.int64), 2)
    assert out != baci_parse.OK and stats[baci_parse.ROWS] == 1
    assert year.tolist() == [2016, -7, -7]
