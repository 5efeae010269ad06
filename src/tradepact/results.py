"""One result shape for every engine, and the JSON-safety helpers it renders with.

Every engine returns a :class:`Result`: ``summary() -> str`` (a plain-text report; never
prints), ``to_frame() -> DataFrame`` (the tidy main table, broom-style column names such as
``term, estimate, std_error``), ``to_dict() -> dict`` (JSON-safe, with ``kind`` naming the
result type). The base class derives the rest from those three: ``to_json(indent=2) -> str``,
``__repr__`` (the summary) and ``_repr_html_`` (notebooks: the summary and the main table).
The command line (``--format table|csv|json``) and the web API render every result through
this one path.

:func:`json_safe` turns any nesting of dicts, lists, frames, NumPy and pandas scalars, dates
and pydantic models into plain JSON values (NaN and infinities become ``null``);
:func:`records` does it for a frame's rows and :func:`dumps` writes the JSON text.
"""
from __future__ import annotations

import html
import json
import math
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pandas is imported by every engine anyway; not needed to define the base
    import pandas as pd


def _scalar(value: Any) -> Any:
    """One JSON-safe scalar: NaN/inf -> None, NumPy/pandas scalars -> Python, dates -> ISO text."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return None if (math.isnan(value) or math.isinf(value)) else value
    if hasattr(value, "item") and not isinstance(value, (bytes, bytearray)):
        try:
            return _scalar(value.item())
        except (ValueError, TypeError):
            pass
    if value.__class__.__name__ in ("NAType", "NaTType"):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame's rows as JSON-safe dicts (column name -> value), index dropped."""
    cols = [str(c) for c in frame.columns]
    return [{c: json_safe(v) for c, v in zip(cols, row)} for row in frame.itertuples(index=False, name=None)]


def json_safe(obj: Any) -> Any:
    """``obj`` as plain JSON values, recursively: dict keys as text, tuples as lists, frames as
    :func:`records`, series as lists, NaN/inf as None, pydantic models dumped, results as
    their ``to_dict()``; anything else unknown as its ``str``."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, Result):
        return obj.to_dict()
    kind = obj.__class__.__name__
    if kind == "DataFrame":
        return records(obj)
    if kind in ("Series", "Index", "ndarray"):
        return [json_safe(v) for v in obj.tolist()]
    value = _scalar(obj)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if hasattr(value, "model_dump"):
        return json_safe(value.model_dump())
    return str(value)


def dumps(obj: Any, indent: int | None = 2) -> str:
    """JSON text of ``obj`` made JSON-safe first (NaN written as null, never as ``NaN``)."""
    return json.dumps(json_safe(obj), indent=indent, allow_nan=False)


class Result(ABC):
    """Base of every engine's result. Subclasses set ``kind`` and implement
    :meth:`summary`, :meth:`to_frame` and :meth:`to_dict`."""

    #: What the result is (``"gravity"``, ``"ge"``, ``"scenario"``, ...); first key of :meth:`to_dict`.
    kind: ClassVar[str] = "result"

    @abstractmethod
    def summary(self) -> str:
        """A plain-text report of the result (returned, never printed)."""

    @abstractmethod
    def to_frame(self) -> pd.DataFrame:
        """The tidy main table of the result."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-safe values, with ``kind`` first."""

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (``indent`` spaces; None for one line)."""
        return dumps(self.to_dict(), indent=indent)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        table = frame.head(200).to_html(index=False, border=0, na_rep="—")
        more = f"<p>{len(frame) - 200:,} more rows: <code>.to_frame()</code></p>" if len(frame) > 200 else ""
        return f"<pre>{html.escape(self.summary())}</pre>{table}{more}"
