"""A fixest-style formula parser: ``y ~ x1 + x2 | fe1 + fe2``.

Supported on the right-hand side of ``~``: plain column names joined by ``+``,
``0``/``1``/``-1`` intercept tokens (ignored: fixed-effect models absorb the
intercept; without fixed effects an intercept is always added), and products
``a:b`` (the elementwise product of two columns) for interactions. After ``|``:
fixed effects as column names joined by ``+``; ``a^b`` combines two columns into
one fixed effect (e.g. ``exporter^year``). No other syntax is accepted, so a
typo fails loudly instead of being silently reinterpreted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from tradepact.errors import ConfigError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class Formula:
    """A parsed formula. ``regressors`` entries are column names or ``a:b`` products;
    ``fixed_effects`` entries are column names or ``a^b`` combinations."""

    depvar: str
    regressors: list[str] = field(default_factory=list)
    fixed_effects: list[str] = field(default_factory=list)
    text: str = ""

    def columns(self) -> list[str]:
        """Every data column the formula reads, in order of first appearance."""
        out: list[str] = []
        for term in [self.depvar, *self.regressors, *self.fixed_effects]:
            for part in re.split(r"[:^]", term):
                if part not in out:
                    out.append(part)
        return out


def _terms(side: str, what: str, text: str, joiner: str) -> list[str]:
    terms = [t.strip() for t in side.split("+")]
    out: list[str] = []
    for t in terms:
        if t == "":
            raise ConfigError(f"formula {text!r}: empty {what} term (check the '+' signs)")
        if t in ("0", "1", "-1") and what == "regressor":
            continue
        t = re.sub(r"\s+", "", t)
        parts = t.split(joiner)
        if not all(_NAME.match(p) for p in parts):
            raise ConfigError(
                f"formula {text!r}: cannot read {what} {t!r}; expected column names joined by "
                f"'+'{' or ' + repr(joiner)} (e.g. 'y ~ x1 + x2 | fe1 + fe2')")
        if t not in out:
            out.append(t)
    return out


def parse_formula(text: str) -> Formula:
    """Parse ``"y ~ x1 + x2 | fe1 + fe2"`` into a :class:`Formula`.

    Raises :class:`~tradepact.errors.ConfigError` naming the problem on bad syntax.
    """
    if not isinstance(text, str) or "~" not in text:
        raise ConfigError(f"formula {text!r}: expected 'y ~ x1 + x2 | fe1 + fe2' (no '~' found)")
    lhs, rhs = text.split("~", 1)
    lhs = lhs.strip()
    if not _NAME.match(lhs):
        raise ConfigError(f"formula {text!r}: the dependent variable must be one column name, got {lhs!r}")
    if rhs.count("|") > 1:
        raise ConfigError(f"formula {text!r}: at most one '|' (fixed effects) part is allowed")
    if "|" in rhs:
        xs, fes = rhs.split("|")
        fe_terms = _terms(fes, "fixed effect", text, "^") if fes.strip() not in ("", "0") else []
    else:
        xs, fe_terms = rhs, []
    x_terms = _terms(xs, "regressor", text, ":") if xs.strip() else []
    return Formula(depvar=lhs, regressors=x_terms, fixed_effects=fe_terms, text=text)
