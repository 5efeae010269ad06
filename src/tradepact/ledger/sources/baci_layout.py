"""The BACI fast path's shared layout: ``stats`` slots, status codes and number bounds.

One definition read by every implementation of the parser kernels (the numba kernels in
:mod:`.baci_kernels_numba`; the C kernels in ``_baci_kernels.c`` mirror these values in their
enums, which a test compares with these) and by their driver :mod:`.baci_fast`. The
grammar they implement is described in :mod:`.baci_parse`.
"""
from __future__ import annotations

import numpy as np

#: ``stats`` slots filled by ``parse_chunk``.
ROWS, STATUS, ZEROS, NULLS, ORDERED, FIRST_KEY, LAST_KEY = range(7)
#: Length of the ``stats`` array (one spare slot).
NSTATS = 8
#: Accepted years ``t`` (inclusive).
YEAR0, YEAR1 = 1800, 2200
#: Accepted product codes ``k``: 6-digit HS codes with a chapter >= 01.
PRODUCT_MIN, PRODUCT_MAX = 10000, 999999
#: Status codes (nonzero = declined; the position is irrelevant, the general path reports it).
OK, BAD_SYNTAX, BAD_VALUE, BAD_NUMBER = 0, 1, 2, 3

#: Powers of ten 10**0 .. 10**22, all exact doubles (Clinger's fast path divides by them).
POW10 = np.array([10.0 ** e for e in range(23)], dtype=np.float64)
#: Largest mantissa accepted (every integer up to it is an exact double).
MANT_MAX = 1 << 53
