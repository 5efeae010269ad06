"""fixest-style formulas: ``y ~ x1 + log(x2) + i(year, rta, ref=1990) | fe1 + a^b``.

The regressor side (and a function on the left, such as ``log(trade)``) is built by
`formulaic <https://matthewwardrop.github.io/formulaic/>`_ — the engine pyfixest's formulas
stand on — with fixest's vocabulary added:

* functions of columns: ``log``, ``log1p``, ``log10``, ``exp``, ``sqrt``, ``abs`` and
  arithmetic in ``I(...)`` (``I(x**2)``, ``I(a / b)``);
* interactions between regressors: ``a:b`` (product) and ``a*b`` (``a + b + a:b``);
* factor dummies: ``C(x)`` (first level left out), ``i(x, ref=r)`` (one dummy per level of
  ``x`` but ``r``, named ``x::level``) and ``i(x, d, ref=r)`` (those dummies times ``d``, named
  ``x::level:d`` — event studies);
* multiple estimation: one ``sw(a, b)`` (a model with ``a``, then one with ``b``), ``csw(a, b)``
  (``a``, then ``a + b``), ``sw0``/``csw0`` (first a model without them) per formula.

After ``|``: fixed effects as column names joined by ``+``; ``a^b`` combines two columns
into one fixed effect (e.g. ``exporter^year``). A right-hand side without a regressor is
refused unless written ``~ 1`` (``y ~ 1 | fe`` fits the fixed effects alone). Intercept
tokens ``0``/``1``/``-1`` are otherwise ignored: fixed effects absorb the intercept, and
without fixed effects one is always estimated. Function calls other than those above,
attribute access (except ``contr.*`` inside ``C()``) and dunder names are refused, so a
formula can read columns and nothing else.
"""
from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")  # a column name formulaic reads as itself
_FUNCTIONS = {"log": np.log, "log1p": np.log1p, "log10": np.log10, "exp": np.exp, "sqrt": np.sqrt,
              "abs": np.abs}
_FORMULA_WORDS = {"I", "C", "i", "contr"}  # handled by formulaic or by _i below
_MULTI = re.compile(r"\b(csw0|csw|sw0|sw)\s*\(")


@dataclass(frozen=True)
class Formula:
    """A parsed formula.

    ``depvar``: the left-hand side as written (a column, or e.g. ``log(trade)``);
    ``regressors``: the right-hand side's terms after formulaic's expansion (``a*b`` gives
    ``a``, ``b``, ``a:b``), without intercept tokens; ``fixed_effects``: column names or ``a^b``
    combinations. :meth:`response` and :meth:`regressor_matrix` evaluate them on a frame.
    """

    depvar: str
    regressors: list[str] = field(default_factory=list)
    fixed_effects: list[str] = field(default_factory=list)
    text: str = ""
    rhs: str = ""  # the regressor side as given to formulaic ("" = fixed effects / intercept only)
    names: tuple[str, ...] = ()  # data columns read, in order of first appearance

    def columns(self) -> list[str]:
        """Every data column the formula reads, in order of first appearance."""
        return list(self.names)

    def response(self, data: pd.DataFrame) -> np.ndarray:
        """The dependent variable as float64 (NaN where missing or, for a function of a column,
        not finite — e.g. ``log(0)``, counted in a warning)."""
        _require(data, _expr_names(self.depvar), f"dependent variable in {self.text!r}")
        if _NAME.match(self.depvar):
            return numeric_column(data[self.depvar], self.depvar)
        from formulaic import model_matrix

        cols = _expr_names(self.depvar)
        for c in cols:
            numeric_column(data[c], c)
        mm = _evaluate(model_matrix, "0 + " + _quote(self.depvar, cols), data, self.text)
        if mm.shape[1] != 1:
            raise ConfigError(f"formula {self.text!r}: the left-hand side must be one variable, "
                              f"{self.depvar!r} gives {mm.shape[1]} columns")
        y = np.asarray(mm.iloc[:, 0], dtype=np.float64)
        bad = ~np.isfinite(y) & data[cols].notna().all(axis=1).to_numpy()
        if bad.any():
            warnings.warn(f"{int(bad.sum())} rows where {self.depvar} is not finite (e.g. log of 0) "
                          "are treated as missing", stacklevel=3)
            y = np.where(np.isfinite(y), y, np.nan)
        return y

    def regressor_matrix(self, data: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
        """``(X, names)``: the regressors as an (n, k) float64 array — NaN in every column of a
        row where a variable the formula reads is missing or a value is not finite (``log(0)``;
        counted in a warning) — and fixest-style column names. No intercept column."""
        n = len(data)
        if not self.rhs:
            return np.zeros((n, 0)), []
        _require(data, _rhs_names(self.rhs), f"regressor in {self.text!r}")
        if self.regressors == self.rhs.split(" + ") and all(
                _PLAIN.match(c) and c not in _FORMULA_WORDS and pd.api.types.is_numeric_dtype(data[c])
                and not pd.api.types.is_bool_dtype(data[c]) for c in self.regressors):
            # numeric columns named as they are (the usual gravity formula): formulaic would copy them as
            # they are (booleans and text it turns into dummies, so those take its path below)
            X = np.empty((n, len(self.regressors)))
            for j, c in enumerate(self.regressors):
                X[:, j] = numeric_column(data[c], c)
            missing = np.isnan(X).any(axis=1)
            nonfinite = ~np.isfinite(X).all(axis=1) & ~missing
            if nonfinite.any():
                warnings.warn(f"{int(nonfinite.sum())} rows with a regressor that is not finite (e.g. log of 0) "
                              "are treated as missing", stacklevel=3)
            X[missing | nonfinite] = np.nan
            return X, list(self.regressors)
        from formulaic import model_matrix

        rhs_cols = _rhs_names(self.rhs)
        factors = _factor_names(self.rhs)
        for c in rhs_cols:  # a text column is a factor only when asked for with C() or i()
            if c not in factors:
                numeric_column(data[c], c)
        mm = _evaluate(model_matrix, "1 + " + _quote(self.rhs, rhs_cols), data, self.text)
        names = _fixest_names(mm, self.rhs)
        X = mm.drop(columns=["Intercept"], errors="ignore")
        try:
            X = X.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            bad = next(c for c in rhs_cols if not _is_numeric_like(data[c]))
            numeric_column(data[bad], bad)  # raises naming the first non-number
            raise
        missing = data[rhs_cols].isna().any(axis=1).to_numpy() if rhs_cols else np.zeros(n, bool)
        nonfinite = ~np.isfinite(X).all(axis=1) & ~missing
        if nonfinite.any():
            warnings.warn(f"{int(nonfinite.sum())} rows with a regressor that is not finite (e.g. log of 0) "
                          "are treated as missing", stacklevel=3)
        X[missing | nonfinite] = np.nan
        return np.ascontiguousarray(X), names


# ---------------------------------------------------------------------------------------- parsing
def parse_formula(text: str) -> Formula:
    """Parse ``"y ~ x1 + x2 | fe1 + fe2"`` into a :class:`Formula`.

    Raises :class:`~tradepact.errors.ConfigError` naming the problem on bad syntax, and when
    the formula asks for multiple estimation (use :func:`expand_formula`).
    """
    forms = expand_formula(text)
    if len(forms) > 1:
        raise ConfigError(f"formula {text!r}: sw()/csw() asks for {len(forms)} models; "
                          "use expand_formula() (ppml/ols fit them all)")
    return forms[0]


def expand_formula(text: str) -> list[Formula]:
    """Parse a formula that may hold one ``sw()``/``csw()``/``sw0()``/``csw0()`` into one
    :class:`Formula` per model, in fixest's order."""
    if not isinstance(text, str) or "~" not in text:
        raise ConfigError(f"formula {text!r}: expected 'y ~ x1 + x2 | fe1 + fe2' (no '~' found)")
    lhs, rhs = text.split("~", 1)
    lhs = lhs.strip()
    if rhs.count("|") > 1:
        raise ConfigError(f"formula {text!r}: at most one '|' (fixed effects) part is allowed")
    xs, fes = (rhs.split("|") + [""])[:2] if "|" in rhs else (rhs, "")
    _check_lhs(lhs, text)
    fe_terms = _fe_terms(fes, text) if fes.strip() not in ("", "0") else []
    out = []
    for variant in _expand_multi(xs.strip(), text):
        out.append(_one(lhs, variant, fe_terms, text, fes.strip() if fe_terms else ""))
    return out


def _one(lhs: str, xs: str, fe_terms: list[str], text: str, fe_text: str) -> Formula:
    if not xs:
        raise ConfigError(f"formula {text!r}: no regressor after '~'; write 'y ~ 1 | fe' to fit the fixed "
                          "effects alone, or name the regressors (e.g. 'y ~ x1 + x2 | fe')")
    terms = _signed_terms(xs, text)
    kept = [t for sign, t in terms if t not in ("0", "1")]
    for sign, t in terms:
        if sign == "-" and t not in ("0", "1"):
            raise ConfigError(f"formula {text!r}: '- {t}' removes a term; write only the terms you want")
    rhs = " + ".join(kept)
    regressors: list[str] = []
    if rhs:
        for t in kept:
            if "^" in t and not t.startswith("I("):
                raise ConfigError(f"formula {text!r}: cannot read regressor {t!r}; '^' combines fixed effects after "
                                  "'|' (e.g. 'y ~ x | exporter^year'); a power is written I(x**2)")
            _check_expr(t, text)
    if rhs and all(_PLAIN.match(t) and t not in _FORMULA_WORDS for t in kept):
        # plain column names (the usual gravity formula): the terms formulaic would give, without importing
        # it (~0.4 s of a command's start-up); regressor_matrix reads the columns directly as well
        regressors = list(dict.fromkeys(kept))
    elif rhs:
        from formulaic import Formula as _FormulaicFormula

        try:
            parsed = _FormulaicFormula(_quote(rhs, _rhs_names(rhs)))
        except Exception as exc:  # formulaic's syntax errors
            raise ConfigError(f"formula {text!r}: cannot read {rhs!r} ({' '.join(str(exc).split())[:160]})") from None
        regressors = [str(t) for t in parsed if str(t) != "1"]
    names: list[str] = []
    for n in [*_expr_names(lhs), *_rhs_names(rhs), *[p for fe in fe_terms for p in fe.split("^")]]:
        if n not in names:
            names.append(n)
    shown = f"{lhs} ~ {xs.strip()}" + (f" | {fe_text}" if fe_text else "")
    return Formula(depvar=lhs, regressors=regressors, fixed_effects=fe_terms, text=shown if _MULTI.search(text) else text,
                   rhs=rhs, names=tuple(names))


def _check_lhs(lhs: str, text: str) -> None:
    if _NAME.match(lhs):
        return
    try:
        node = ast.parse(lhs, mode="eval").body
    except SyntaxError:
        node = None
    if not isinstance(node, ast.Call):
        raise ConfigError(f"formula {text!r}: the dependent variable must be one column name or a function of "
                          f"one (e.g. log(trade)), got {lhs!r}")
    _check_expr(lhs, text)


def _fe_terms(side: str, text: str) -> list[str]:
    out: list[str] = []
    for t in (t.strip() for t in side.split("+")):
        if t == "":
            raise ConfigError(f"formula {text!r}: empty fixed effect term (check the '+' signs)")
        t = re.sub(r"\s+", "", t)
        if not all(_NAME.match(p) for p in t.split("^")):
            raise ConfigError(f"formula {text!r}: cannot read fixed effect {t!r}; expected column names joined "
                              "by '+' or '^' (e.g. 'y ~ x | exporter^year + pair_id')")
        if t not in out:
            out.append(t)
    return out


def _split_top(s: str, seps: str) -> list[tuple[str, str]]:
    """Split ``s`` at top-level (outside brackets) characters of ``seps``; [(separator, piece)]."""
    out, depth, cur, sep = [], 0, [], ""
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if depth == 0 and ch in seps:
            out.append((sep, "".join(cur).strip()))
            cur, sep = [], ch
            continue
        cur.append(ch)
    out.append((sep, "".join(cur).strip()))
    return out


def _signed_terms(xs: str, text: str) -> list[tuple[str, str]]:
    parts = _split_top(xs, "+-")
    out = []
    for i, (sign, t) in enumerate(parts):
        if t == "":
            if i == 0 and len(parts) > 1 and parts[1][0] == "-":  # a leading '-1'
                continue
            raise ConfigError(f"formula {text!r}: empty regressor term (check the '+' signs)")
        out.append((sign or "+", t))
    return out


def _expand_multi(xs: str, text: str) -> list[str]:
    hits = list(_MULTI.finditer(xs))
    if not hits:
        return [xs]
    if len(hits) > 1:
        raise ConfigError(f"formula {text!r}: one sw()/csw() per formula")
    m = hits[0]
    depth, end = 0, None
    for k in range(m.end() - 1, len(xs)):
        depth += xs[k] == "("
        depth -= xs[k] == ")"
        if depth == 0:
            end = k
            break
    if end is None:
        raise ConfigError(f"formula {text!r}: unbalanced parentheses in {m.group(1)}()")
    args = [a for _, a in _split_top(xs[m.end():end], ",")]
    if not all(args):
        raise ConfigError(f"formula {text!r}: {m.group(1)}() needs terms separated by commas")
    kind = m.group(1)
    steps = ([[a] for a in args] if kind.startswith("sw") else [args[:k + 1] for k in range(len(args))])
    if kind.endswith("0"):
        steps = [[]] + steps
    before, after = xs[:m.start()].rstrip(), xs[end + 1:].lstrip()
    out = []
    for step in steps:
        mid = " + ".join(step)
        s = " ".join(p for p in (before, mid, after) if p)
        s = re.sub(r"\+\s*\+", "+", s).strip().strip("+").strip()
        out.append(s or "1")
    return out


def _check_expr(expr: str, text: str) -> None:
    """Refuse anything in a term but column names, literals, arithmetic, the allowed functions."""
    try:
        tree = ast.parse(expr.replace(":", "*"), mode="eval")
    except SyntaxError:
        raise ConfigError(f"formula {text!r}: cannot read the term {expr!r}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            ok = (isinstance(f, ast.Name) and (f.id in _FUNCTIONS or f.id in _FORMULA_WORDS)) or (
                isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "contr")
            if not ok:
                name = f.id if isinstance(f, ast.Name) else ast.unparse(f)
                raise ConfigError(f"formula {text!r}: unknown function {name}(); formulas may use "
                                  f"{', '.join(sorted(_FUNCTIONS))}, I(), C(), i(), sw(), csw()")
        elif isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "contr"):
            raise ConfigError(f"formula {text!r}: {ast.unparse(node)!r} is not a column (use `backticks` for a "
                              "column name with a dot)")
        elif isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ConfigError(f"formula {text!r}: {node.id!r} is not allowed")
        elif isinstance(node, (ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp,
                               ast.NamedExpr, ast.Subscript, ast.Starred, ast.Await, ast.Yield)):
            raise ConfigError(f"formula {text!r}: {type(node).__name__.lower()} is not allowed in a term")


def _expr_names(expr: str) -> list[str]:
    """Column names an expression reads (names that are not functions or formula words)."""
    if _NAME.match(expr):
        return [expr]
    out: list[str] = []
    try:
        tree = ast.parse(re.sub(r"`([^`]*)`", lambda m: _BACKTICK + m.group(1).replace(".", _DOT), expr)
                         .replace(":", "*"), mode="eval")
    except SyntaxError:
        return out
    calls = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in calls and node.id not in _FORMULA_WORDS:
            name = node.id.replace(_BACKTICK, "").replace(_DOT, ".")
            if name not in out:
                out.append(name)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "contr":
            calls.add(id(node.value))
    return [n for n in out if n != "contr"]


_BACKTICK, _DOT = "Ｂ_", "_ＤＯＴ_"


def _rhs_names(rhs: str) -> list[str]:
    out: list[str] = []
    for _, t in _split_top(rhs, "+"):
        for n in _expr_names(t):
            if n not in out:
                out.append(n)
    return out


def _factor_names(rhs: str) -> set[str]:
    """Names used as factors: inside ``C(...)`` or as the first argument of ``i(...)``."""
    out: set[str] = set()
    for _, t in _split_top(rhs, "+"):
        try:
            tree = ast.parse(t.replace(":", "*").replace("`", ""), mode="eval")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("C", "i"):
                if node.args:
                    out.update(n.id for n in ast.walk(node.args[0]) if isinstance(n, ast.Name))
    return out


def _quote(expr: str, names: list[str]) -> str:
    """Column names with a dot in backticks for formulaic (``ln.dist`` -> ```ln.dist```)."""
    for n in sorted((n for n in names if "." in n), key=len, reverse=True):
        expr = re.sub(rf"(?<![`\w]){re.escape(n)}(?![`\w])", f"`{n}`", expr)
    return expr


def _require(data: pd.DataFrame, names: list[str], what: str) -> None:
    for p in names:
        if p not in data.columns:
            raise DataFormatError(field=p, expected=f"a column of the data ({what})",
                                  got="missing column", message=f"column {p!r} not found")


def numeric_column(s: pd.Series, name: str) -> np.ndarray:
    """Column ``name`` as float64 (booleans as 0/1, missing as NaN); text raises naming the first bad row."""
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64)
    if not pd.api.types.is_numeric_dtype(s):
        bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1 if bad.any() else None
        raise DataFormatError(row=row, field=name, expected="numbers",
                              got=None if row is None else s.iloc[row - 1])
    return s.to_numpy(dtype=np.float64, na_value=np.nan)


def _is_numeric_like(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)


# ------------------------------------------------------------------------------------ evaluation
def _i(x, *var, ref=None):
    """fixest's ``i(x, [d], ref=...)``: one column per level of ``x`` except ``ref`` (a level
    or a list of levels), each the level's dummy (times ``d`` when given)."""
    x = pd.Series(np.asarray(x))
    levels = pd.unique(x.dropna())
    try:
        levels = np.sort(levels)
    except TypeError:
        levels = np.array(sorted(levels, key=str), dtype=object)
    refs = [] if ref is None else list(ref) if isinstance(ref, (list, tuple)) else [ref]
    known = {str(v) for v in levels}
    for r in refs:
        if str(r) not in known:
            raise ConfigError(f"i(): ref={r!r} is not a value of the variable (values: "
                              f"{', '.join(str(v) for v in levels[:12])}{', …' if len(levels) > 12 else ''})")
    scale = np.asarray(var[0], dtype=np.float64) if var else 1.0
    out = {}
    xs = x.astype(str).to_numpy() if x.dtype == object else x.to_numpy()
    for lev in levels:
        if str(lev) in {str(r) for r in refs}:
            continue
        hit = (xs == (str(lev) if x.dtype == object else lev)).astype(np.float64)
        out[str(lev)] = hit * scale
    return out


def _evaluate(model_matrix, spec: str, data: pd.DataFrame, text: str):
    context = dict(_FUNCTIONS)
    context["i"] = _i
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return model_matrix(spec, data, context=context, na_action="ignore", output="pandas")
    except Exception as exc:  # formulaic wraps errors raised while evaluating a factor
        cause = exc
        while cause is not None:
            if isinstance(cause, (ConfigError, DataFormatError)):
                raise ConfigError(f"formula {text!r}: {cause}") from None
            cause = cause.__cause__ or cause.__context__
        raise ConfigError(f"formula {text!r}: cannot evaluate it on the data "
                          f"({' '.join(str(exc).split())[:200]})") from None


def _fixest_names(mm, rhs: str) -> list[str]:
    """Column names as fixest/pyfixest print them: ``i(x, d, ref=r)`` columns become
    ``x::level:d``; everything else keeps formulaic's name (``log(dist)``, ``C(g)[T.2]``, ``a:b``)."""
    names = [c for c in mm.columns if c != "Intercept"]
    spec = mm.model_spec
    for term, idx in spec.term_indices.items():
        factors = list(term.factors)
        if len(factors) != 1 or not str(factors[0].expr).startswith("i("):
            continue
        call = ast.parse(str(factors[0].expr).replace("`", ""), mode="eval").body
        xname = ast.unparse(call.args[0]) if call.args else "i"
        dname = ast.unparse(call.args[1]) if len(call.args) > 1 else None
        for k in idx:
            col = mm.columns[k]
            level = col[col.rindex("[") + 1:-1]
            pos = names.index(col)
            names[pos] = f"{xname}::{level}" + (f":{dname}" if dname else "")
    return names
