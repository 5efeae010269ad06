"""Integer codes for fixed effects and cluster variables, including ``a^b`` interactions.

A *factor term* is a column name or columns joined by ``^`` (``exp^time``, ``exp^imp^sector``).
Each column is factorized once (``pd.factorize``, hashing, no per-row Python) and the codes are
combined arithmetically (mixed radix, ``code_a · L_b + code_b``), then compacted to ``0..G-1``.
Level labels are built only for the ``G`` distinct combinations (``"USA^2012"``), never per row.
A row with a missing value in any part has code ``-1``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError

#: bound on the mixed-radix product of the parts' level counts (it must fit in int64)
_MAX_CODE = np.iinfo(np.int64).max // 2


@dataclass(frozen=True)
class Factor:
    """``codes`` (n,) int64 with ``-1`` for missing, ``labels`` (G,) object (level ``g`` of
    ``codes == g``, sorted by each part's sorted levels), ``missing`` (n,) bool."""

    codes: np.ndarray
    labels: np.ndarray
    missing: np.ndarray

    @property
    def n_levels(self) -> int:
        return int(self.labels.shape[0])


def term_parts(term: str, role: str = "factor") -> list[str]:
    """The columns of a factor term: ``"exp^time"`` -> ``["exp", "time"]``; raises ConfigError
    on an empty part (``"exp^"``, ``"^time"``)."""
    parts = [p.strip() for p in str(term).split("^")]
    if not all(parts):
        raise ConfigError(f"{role} {term!r}: expected column names joined by '^' (e.g. 'exp^time'), "
                          "found an empty part")
    return parts


def _factorize_column(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(s, sort=True, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def factor_codes(data: pd.DataFrame, term: str, role: str = "fixed effect", context: str = "",
                 cache: dict | None = None) -> Factor:
    """Codes of ``term`` (a column or ``a^b[^c…]``) on the rows of ``data``.

    ``role``/``context`` name the use in errors (``"cluster variable"``, the formula text).
    ``cache``: a dict shared by the calls on one frame, so that a column used by several terms
    (``exp^time + imp^time + exp^imp``, clusters ``exp^imp``) is factorized once (callers must not
    modify the arrays it returns).
    Raises :class:`~tradepact.errors.DataFormatError` naming the missing column.
    """
    parts = term_parts(term, role)
    for p in parts:
        if p not in data.columns:
            where = f" in {context!r}" if context else ""
            raise DataFormatError(field=p, expected=f"a column of the data ({role} {term!r}{where})",
                                  got="missing column", message=f"column {p!r} not found")
    def column(p):
        if cache is None:
            return _factorize_column(data[p])
        if p not in cache:
            cache[p] = _factorize_column(data[p])
        return cache[p]

    if len(parts) == 1:
        codes, labels = column(parts[0])
        return Factor(codes, labels, codes < 0)
    per = [column(p) for p in parts]
    missing = np.zeros(len(data), bool)
    for c, _ in per:
        missing |= c < 0
    combined = per[0][0].copy()
    radix = [len(per[0][1])]
    for c, u in per[1:]:
        if int(combined.max(initial=0)) + 1 > _MAX_CODE // max(len(u), 1):
            raise ConfigError(f"{role} {term!r}: too many combinations to code")
        combined *= max(len(u), 1)
        combined += np.where(c < 0, 0, c)
        radix.append(len(u))
    codes = np.full(len(data), -1, dtype=np.int64)
    ok = ~missing
    sub, uniq = pd.factorize(combined[ok] if missing.any() else combined, sort=True)
    codes[ok] = sub
    # decode the G distinct combinations into their parts' labels ("USA^2012")
    rest = np.asarray(uniq, dtype=np.int64)
    idx = []
    for L in reversed(radix[1:]):
        idx.append(rest % L)
        rest = rest // L
    idx.append(rest)
    idx.reverse()
    text = None
    for (_, u), i in zip(per, idx):
        lab = np.asarray(u[i], dtype=str) if len(i) else np.zeros(0, dtype=str)
        text = lab if text is None else np.char.add(np.char.add(text, "^"), lab)
    return Factor(codes, np.asarray(text, dtype=object), missing)
