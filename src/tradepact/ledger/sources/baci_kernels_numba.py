"""The numba implementation of the BACI parser kernels (grammar, rules and exact float conversion:
see :mod:`.baci_parse`; shared slots and codes: :mod:`.baci_layout`). Used where the C extension ``_baci_kernels`` was not built at install;
compiled on first use and cached on disk by numba. Same functions, arguments and results as the C
kernels; the tests run both against the Arrow path.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from tradepact.ledger.sources.baci_layout import (
    BAD_NUMBER,
    BAD_SYNTAX,
    BAD_VALUE,
    FIRST_KEY,
    LAST_KEY,
    MANT_MAX,
    NULLS,
    OK,
    ORDERED,
    PRODUCT_MAX,
    PRODUCT_MIN,
    ROWS,
    STATUS,
    YEAR0,
    YEAR1,
    ZEROS,
)


@njit(nogil=True, cache=True)
def _int(buf, pos, end):
    """1-9 digits at ``pos``: (value, new pos) or (-1, pos) if none or too many. No bounds
    check: the caller guarantees a non-digit (the line's ``\n``) before the end of ``buf``."""
    x = 0
    d = 0
    while True:  # stops at the line's '\n' at the latest
        c = buf[pos]
        if c < 48 or c > 57:
            break
        x = x * 10 + (c - 48)
        d += 1
        pos += 1
    if d == 0 or d > 9:
        return -1, pos
    return x, pos


@njit(nogil=True, cache=True)
def _number(buf, pos, end, pow10):
    """Spaces then ``digits[.digits]`` at ``pos``: (status, value, new pos); status OK,
    BAD_SYNTAX = not a number here (position unchanged past the spaces), BAD_NUMBER = outside the exact
    fast path."""
    while buf[pos] == 32:
        pos += 1
    m = 0
    nd = 0
    while True:  # stops at the line's '\n' at the latest
        c = buf[pos]
        if c < 48 or c > 57:
            break
        m = m * 10 + (c - 48)
        nd += 1
        pos += 1
    if nd == 0:
        return BAD_SYNTAX, 0.0, pos
    f = 0
    if buf[pos] == 46:  # '.'
        pos += 1
        while True:
            c = buf[pos]
            if c < 48 or c > 57:
                break
            m = m * 10 + (c - 48)
            nd += 1
            f += 1
            pos += 1
        if f == 0:
            return BAD_SYNTAX, 0.0, pos
    if nd > 18 or m > MANT_MAX or f > 22:  # 18 digits cannot overflow int64
        return BAD_NUMBER, 0.0, pos
    return OK, np.float64(m) / pow10[f], pos


@njit(nogil=True, cache=True)
def parse_chunk(buf, start, end, lut, order_base, pow10,
                year, exporter, importer, product, value, quantity, qbits,
                present, years, used, stats, keys, ne):
    """Parse the lines in ``buf[start:end]`` into the output arrays (row 0 = first line);
    ``buf[end - 1]`` must be ``\n`` (the caller pads a last line that lacks it).

    ``lut`` maps a BACI country code to its index in the sorted ISO3 list (-1 = unknown);
    ``exporter``/``importer`` get those indices, ``product`` the HS code as an integer, ``value``
    USD millions, ``quantity`` tonnes with validity bits in ``qbits`` (Arrow's LSB-first layout,
    zeroed by the caller). ``present[k]``, ``years[t - 1800]`` and ``used[code]`` are set for what
    occurs. ``stats`` gets ROWS, STATUS (OK = every line valid), ZEROS (values == 0), NULLS (null
    quantities), ORDERED (1 if the raw keys (t, i, j, k) strictly increase, compared as
    ``((t * order_base + i) * order_base + j) * 10**6 + k``; only if ``order_base > 0``),
    FIRST_KEY and LAST_KEY. If ``keys`` is not empty, ``keys[r]`` gets the packed key of row ``r``,
    ``(((t - 1800) * ne + exporter) * ne + importer) * 10**6 + k`` (see :func:`mark_packed`).
    """
    pos = start
    n = 0
    if end > start and buf[end - 1] != 10:  # the field loops rely on a final '\n'
        stats[STATUS] = BAD_SYNTAX
        return BAD_SYNTAX
    zeros = 0
    nulls = 0
    ordered = 1 if order_base > 0 else 0
    prev = -1
    first = -1
    top = len(lut)
    collect = len(keys) > 0
    status = OK
    while pos < end:
        t, pos = _int(buf, pos, end)
        if t < 0 or pos >= end or buf[pos] != 44:
            status = BAD_SYNTAX
            break
        i, pos = _int(buf, pos + 1, end)
        if i < 0 or pos >= end or buf[pos] != 44:
            status = BAD_SYNTAX
            break
        j, pos = _int(buf, pos + 1, end)
        if j < 0 or pos >= end or buf[pos] != 44:
            status = BAD_SYNTAX
            break
        k, pos = _int(buf, pos + 1, end)
        if k < 0 or pos >= end or buf[pos] != 44:
            status = BAD_SYNTAX
            break
        st, v, pos = _number(buf, pos + 1, end, pow10)
        if st != OK:
            status = st
            break
        if pos >= end or buf[pos] != 44:
            status = BAD_SYNTAX
            break
        pos += 1
        # q: empty, spaces + NA, or a number
        qs = pos
        while buf[pos] == 32:
            pos += 1
        valid = True
        q = 0.0
        if pos >= end or buf[pos] == 10 or buf[pos] == 13:
            if pos != qs:  # blanks only
                status = BAD_SYNTAX
                break
            valid = False
        elif buf[pos] == 78:  # 'N'
            if pos + 1 < end and buf[pos + 1] == 65:  # 'A'
                pos += 2
                valid = False
            else:
                status = BAD_SYNTAX
                break
        else:
            st, q, pos = _number(buf, pos, end, pow10)
            if st != OK:
                status = st
                break
        # end of line
        if pos < end:
            c = buf[pos]
            if c == 13:
                if pos + 1 < end and buf[pos + 1] == 10:
                    pos += 2
                else:
                    status = BAD_SYNTAX
                    break
            elif c == 10:
                pos += 1
            else:
                status = BAD_SYNTAX
                break
        # rules
        if t < YEAR0 or t > YEAR1 or k < PRODUCT_MIN or k > PRODUCT_MAX or i >= top or j >= top:
            status = BAD_VALUE
            break
        ei = lut[i]
        mi = lut[j]
        if ei < 0 or mi < 0:
            status = BAD_VALUE
            break
        year[n] = t
        exporter[n] = ei
        importer[n] = mi
        product[n] = k
        value[n] = v / 1000.0  # thousand USD -> USD millions
        if v == 0.0:
            zeros += 1
        if valid:
            quantity[n] = q
            qbits[n >> 3] |= np.uint8(1 << (n & 7))
        else:
            quantity[n] = 0.0
            nulls += 1
        present[k] = 1
        years[t - YEAR0] = 1
        used[i] = 1
        used[j] = 1
        if order_base > 0:
            key = ((t * order_base + i) * order_base + j) * 1000000 + k
            if n == 0:
                first = key
            elif key <= prev:
                ordered = 0
            prev = key
        if collect:
            keys[n] = ((np.int64(t - YEAR0) * ne + ei) * ne + mi) * 1000000 + k
        n += 1
    stats[ROWS] = n
    stats[STATUS] = status
    stats[ZEROS] = zeros
    stats[NULLS] = nulls
    stats[ORDERED] = ordered
    stats[FIRST_KEY] = first
    stats[LAST_KEY] = prev
    return status


@njit(nogil=True, cache=True)
def remap(src, lut, out):
    """``out[r] = lut[src[r]]`` (the product codes of a chunk -> its dictionary indices)."""
    for r in range(len(src)):
        out[r] = lut[src[r]]


@njit(nogil=True, cache=True)
def _line_key(buf, pos, end, lut, plut, ymin, ne, npr):
    """(key, start of the next line) of an already validated line at ``pos``."""
    t, pos = _int(buf, pos, end)
    i, pos = _int(buf, pos + 1, end)
    j, pos = _int(buf, pos + 1, end)
    k, pos = _int(buf, pos + 1, end)
    while pos < end and buf[pos] != 10:
        pos += 1
    key = ((np.int64(t - ymin) * ne + lut[i]) * ne + lut[j]) * npr + plut[k]
    return key, pos + 1


@njit(nogil=True, cache=True)
def mark_keys(buf, start, end, lut, plut, ymin, ne, npr, seen):
    """Second pass over validated lines: set bit ``key`` in ``seen`` per line, key =
    ((year - ymin) * ne + exporter) * ne + importer) * npr + plut[product] (dictionary indices);
    False as soon as a key is already set (two lines with the same flow)."""
    pos = start
    while pos < end:
        key, pos = _line_key(buf, pos, end, lut, plut, ymin, ne, npr)
        b = np.uint8(1 << (key & 7))
        w = key >> 3
        if seen[w] & b:
            return False
        seen[w] |= b
    return True


@njit(nogil=True, cache=True)
def mark_packed(keys, yoff, plut, npr, seen):
    """Set bit ``(key // 10**6 - yoff) * npr + plut[key % 10**6]`` in ``seen`` for every packed
    key of :func:`parse_chunk` (``yoff`` = (first year - 1800) * ne * ne; ``plut`` = HS code ->
    index among the products present); False as soon as a bit is already set (a repeated key)."""
    for r in range(len(keys)):
        rest = keys[r] // 1000000
        bit = (rest - yoff) * npr + plut[keys[r] - rest * 1000000]
        b = np.uint8(1 << (bit & 7))
        w = bit >> 3
        if seen[w] & b:
            return False
        seen[w] |= b
    return True


@njit(nogil=True, cache=True)
def line_keys(buf, start, end, lut, plut, ymin, ne, npr, out):
    """Second pass over validated lines: the key of each (as in :func:`mark_keys`) into ``out``;
    returns the number of lines."""
    pos = start
    n = 0
    while pos < end:
        out[n], pos = _line_key(buf, pos, end, lut, plut, ymin, ne, npr)
        n += 1
    return n


