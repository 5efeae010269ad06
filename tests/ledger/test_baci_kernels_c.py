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

from tradepact.ledger.sources import baci_layout


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
                pow10=baci_layout.POW10, year=i4(4), exporter=i4(4), importer=i4(4), product=i4(4),
                value=f8(4), quantity=f8(4), qbits=np.zeros(1, np.uint8),
                present=np.zeros(1_000_000, np.uint8), years=np.zeros(401, np.uint8),
                used=np.zeros(3, np.uint8), stats=np.zeros(8, np.int64), keys=np.empty(0, np.int64), ne=2)
    assert kernels.parse_chunk(*args.values()) == baci_layout.OK and args["stats"][baci_layout.ROWS] == 1
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
    out = kernels.parse_chunk(buf, 0, len(buf), np.array([0, 0, 1], np.int32), 3, baci_layout.POW10,
                              year[:1], *(np.zeros(1, np.int32) for _ in range(3)), np.zeros(1), np.zeros(1),
                              np.zeros(1, np.uint8), np.zeros(1_000_000, np.uint8), np.zeros(401, np.uint8),
                              np.zeros(3, np.uint8), stats, np.empty(0, np.int64), 2)
    assert out != baci_layout.OK and stats[baci_layout.ROWS] == 1
    assert year.tolist() == [2016, -7, -7]


def test_c_constants_match_the_shared_layout():
    """The C source's enums and bounds equal :mod:`baci_layout` (one layout, two implementations)."""
    import re
    from pathlib import Path

    src = (Path(baci_layout.__file__).parent / "_baci_kernels.c").read_text()
    stats = re.search(r"enum \{ ROWS, STATUS, ZEROS, NULLS, ORDERED, FIRST_KEY, LAST_KEY, NSTATS = (\d+) \};", src)
    assert stats and int(stats.group(1)) == baci_layout.NSTATS
    assert [baci_layout.ROWS, baci_layout.STATUS, baci_layout.ZEROS, baci_layout.NULLS, baci_layout.ORDERED,
            baci_layout.FIRST_KEY, baci_layout.LAST_KEY] == list(range(7))
    codes = dict((k, int(v)) for k, v in re.findall(r"(OK|BAD_SYNTAX|BAD_VALUE|BAD_NUMBER) = (\d+)", src))
    assert codes == {"OK": baci_layout.OK, "BAD_SYNTAX": baci_layout.BAD_SYNTAX, "BAD_VALUE": baci_layout.BAD_VALUE,
                     "BAD_NUMBER": baci_layout.BAD_NUMBER}
    assert int(re.search(r"#define YEAR0 (\d+)", src).group(1)) == baci_layout.YEAR0
    assert int(re.search(r"#define YEAR1 (\d+)", src).group(1)) == baci_layout.YEAR1
    assert int(re.search(r"#define MANT_MAX (\d+)ULL", src).group(1)) == baci_layout.MANT_MAX
