"""The compiled parser of the BACI fast path: parse the CSV bytes straight into typed arrays.

A BACI year is ~10 million lines ``t,i,j,k,v,q`` of plain numbers. A general CSV reader
(Arrow, DuckDB) tokenizes every line into fields and then converts each field; here one compiled
loop per chunk of the file reads each number where it stands, maps the country codes through a
lookup table, checks every rule and updates the chunk's statistics, with the GIL released so
that the Parquet writer runs on the other core at the same time
(:mod:`tradepact.ledger.sources.baci_fast` drives it). The loop exists twice, with the same
functions, arguments and results: in C (``_baci_kernels.c``, compiled when the package is
installed, so a fresh process starts it at once) and in numba (:mod:`.baci_kernels_numba`, used
where no C compiler was available at install; loading numba costs ~1 s per process). This module
holds the grammar below and the choice of implementation (:func:`kernels`); the ``stats`` slots,
status codes and bounds both implementations share are in :mod:`.baci_layout`.

The grammar accepted is deliberately narrow; anything else makes :func:`parse_chunk` return a
nonzero status and the caller falls back to the Arrow reader, then to the general path (which
names the offending row). Per line, ``,``-separated, ``\\n`` or ``\\r\\n`` terminated (the
file's last line may lack it; no empty lines):

* ``t``, ``i``, ``j``, ``k``: 1-9 ASCII digits (leading zeros allowed), nothing else;
  ``1800 <= t <= 2200``, ``10000 <= k <= 999999`` (a 6-digit HS code, first two digits >= 01),
  ``i`` and ``j`` listed in the country code file with a known ISO3 code;
* ``v``: spaces, then ``digits`` or ``digits.digits``; ``q``: the same, or empty, or spaces then
  ``NA`` (null).

Numbers are converted exactly as a correctly rounded ``strtod`` (Arrow's reader) does: all digits
go into an integer mantissa ``m`` with ``f`` fractional digits, and only ``m <= 2**53`` and
``f <= 22`` are accepted, so ``m`` and ``10**f`` are exact doubles and ``m / 10**f`` is one
correctly rounded IEEE division (Clinger's fast path): bit-identical to the Arrow path. Longer
mantissas decline. ``v`` is then divided by 1000 (thousand USD -> USD millions) as the other
paths do.
"""
from __future__ import annotations

import os

import numpy as np

from tradepact.errors import ConfigError

#: ``TRADEPACT_BACI_KERNELS``: ``c`` or ``numba`` to force one implementation (tests, benchmarks).
KERNELS_ENV = "TRADEPACT_BACI_KERNELS"


def kernels(allow_numba: bool = True):
    """The module of parser kernels: the C extension built at install time (``_baci_kernels``) if
    present, else the numba kernels (:mod:`.baci_kernels_numba`, compiled on first use and cached).

    Both provide ``parse_chunk``, ``remap``, ``mark_packed``, ``mark_keys`` and ``line_keys`` with
    the same arguments and results. ``$TRADEPACT_BACI_KERNELS`` = ``c`` or ``numba`` forces one.
    ImportError if none is available (``allow_numba=False``: numba's do not count).
    """
    which = os.environ.get(KERNELS_ENV) or None
    if which not in (None, "c", "numba"):
        raise ConfigError(f"environment variable {KERNELS_ENV} must be 'c' or 'numba', not {which!r}")
    if which != "numba":
        try:
            from tradepact.ledger.sources import _baci_kernels
            return _baci_kernels
        except ImportError:
            if which == "c":
                raise
    if not allow_numba:
        raise ImportError("the C kernels are not built and numba's are not wanted here")
    from tradepact.ledger.sources import baci_kernels_numba
    return baci_kernels_numba


def next_line_start(buf, pos: int) -> int:
    """The offset just past the first ``\\n`` at or after ``pos`` (len(buf) if none)."""
    hit = np.flatnonzero(buf[pos:pos + (1 << 20)] == 10)
    while len(hit) == 0 and pos < len(buf):
        pos += 1 << 20
        hit = np.flatnonzero(buf[pos:pos + (1 << 20)] == 10)
    return len(buf) if len(hit) == 0 else pos + int(hit[0]) + 1


def last_line_start(buf, start: int) -> int:
    """The offset where the last line of ``buf`` begins (not before ``start``)."""
    width = 1 << 16
    while True:
        lo = max(start, len(buf) - width)
        hit = np.flatnonzero(buf[lo:len(buf) - 1] == 10)
        if len(hit):
            return lo + int(hit[-1]) + 1
        if lo == start:
            return start
        width *= 16
