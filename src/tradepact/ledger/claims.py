"""Check quantitative claims of a trade debate against ledger figures.

A claim is a dict (see ``tradepact/data/korus_claims.yaml``) with one or more checks; each
check compares a ledger measure (USD millions, the claim-maker's point of view) with the
claimed figure and gives a verdict:

- ``holds`` — the data, rounded to the claim's precision, give the claimed figure;
- ``holds within rounding`` — off by no more than one rounding unit (vintage or rounding of parts);
- ``does not hold`` — further off, or the stated direction is wrong;
- ``unconfirmed data`` — the figure the check needs is unconfirmed in its source;
- ``no data`` — the ledger has no figure for that year;
- ``depends on the end year`` — a change "since" a base year (``decrease`` with ``through: latest``)
  holds for some end years and not others; the evidence says which ("holds for 2011→2012–2016;
  does not hold for 2011→2017–2024").
"""
from __future__ import annotations

import math

import pandas as pd

from tradepact.errors import ConfigError

VERDICT_ORDER = ["holds", "holds within rounding", "unconfirmed data", "no data", "depends on the end year",
                 "does not hold"]
_FLAG_OF = {"goods_exports": "goods_confirmed", "goods_imports": "goods_confirmed",
            "goods_balance": "goods_confirmed", "services_balance": "services_confirmed",
            "services_exports": "services_confirmed", "services_imports": "services_confirmed",
            "total_balance": "confirmed"}


def _lookup(frame: pd.DataFrame, metric: str, year: int) -> tuple[float, bool, str]:
    if metric not in _FLAG_OF:
        raise ConfigError(f"claim check: unknown metric {metric!r}; expected one of {sorted(_FLAG_OF)}")
    row = frame[frame["year"] == year]
    if row.empty or pd.isna(row[metric].iloc[0]):
        return float("nan"), False, ""
    return float(row[metric].iloc[0]), bool(row[_FLAG_OF[metric]].iloc[0]), str(row["source"].iloc[0])


def _verdict_value(data: float, claimed: float, precision: float) -> str:
    diff = abs(data - claimed)
    tol = precision / 2 + 1e-9 * max(1.0, abs(claimed))
    if diff <= tol:
        return "holds"
    if diff <= precision + tol:
        return "holds within rounding"
    return "does not hold"


def check_claim(claim: dict, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per check of ``claim`` against a :func:`~tradepact.ledger.balances.bilateral` frame.

    Columns: claim_id, check, year, claimed, data, difference, verdict, confirmed, source.
    """
    rows = []
    for chk in claim.get("checks", []):
        kind, metric, year = chk.get("kind", "value"), chk["metric"], int(chk["year"])
        value, conf, source = _lookup(frame, metric, year)
        if kind == "value":
            claimed, data, label = float(chk["claimed"]), value, f"{metric} {year}"
        elif kind in ("ratio", "decrease"):
            base, bconf, _ = _lookup(frame, metric, int(chk["base_year"]))
            conf = conf and bconf
            if kind == "ratio":
                claimed = float(chk["claimed"])
                data = value / base if base not in (0.0,) and not math.isnan(base) else float("nan")
                label = f"{metric} {year} / {chk['base_year']}"
            else:
                claimed, data = float("nan"), value - base
                label = f"{metric} {year} − {chk['base_year']} (claimed: negative)"
        else:
            raise ConfigError(f"claim {claim.get('id')}: unknown check kind {kind!r}; expected value, ratio or decrease")
        by_end = ""
        if math.isnan(data):
            verdict = "no data"
        elif kind == "decrease" and chk.get("through") == "latest":
            verdict, by_end, conf = _decrease_by_end_year(frame, metric, int(chk["base_year"]), conf)
        elif kind == "decrease":
            verdict = "holds" if data < 0 else "does not hold"
        else:
            verdict = _verdict_value(data, claimed, float(chk["precision"]))
        if verdict != "no data" and not conf:
            verdict = "unconfirmed data"
        rows.append({"claim_id": claim["id"], "check": label, "year": year, "claimed": claimed,
                     "data": data, "difference": data - claimed if kind != "decrease" else data,
                     "verdict": verdict, "by_end_year": by_end, "confirmed": conf, "source": source})
    return pd.DataFrame(rows)


def _decrease_by_end_year(frame: pd.DataFrame, metric: str, base_year: int, conf: bool) -> tuple[str, str, bool]:
    """Verdict of 'metric fell since base_year' for every end year with data after it."""
    from tradepact.ledger.balances import year_ranges

    base = frame.loc[frame["year"] == base_year, metric]
    later = frame[(frame["year"] > base_year) & frame[metric].notna()]
    if base.empty or later.empty:
        return "no data", "", conf
    fell = later[metric].to_numpy() < float(base.iloc[0])
    yes, no = later["year"][fell], later["year"][~fell]
    conf = conf and bool(later[_FLAG_OF[metric]].all())
    parts = []
    if len(yes):
        parts.append(f"holds for {base_year}→{year_ranges(yes)}")
    if len(no):
        parts.append(f"does not hold for {base_year}→{year_ranges(no)}")
    verdict = "holds" if not len(no) else "does not hold" if not len(yes) else "depends on the end year"
    return verdict, "; ".join(parts), conf


def check_claims(claims: list[dict], frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check every claim; returns (summary, details).

    ``summary``: one row per claim — claim_id, claim, said_by, verdict (the weakest of its
    checks), evidence (the data figures in words), confirmed. ``details``: all check rows.
    """
    details = pd.concat([check_claim(c, frame) for c in claims], ignore_index=True)
    summary = []
    for c in claims:
        d = details[details["claim_id"] == c["id"]]
        verdict = max(d["verdict"], key=VERDICT_ORDER.index)
        summary.append({"claim_id": c["id"], "claim": c["claim"], "said_by": c.get("said_by", ""),
                        "verdict": verdict, "evidence": _evidence(c, d, frame),
                        "confirmed": bool(d["confirmed"].all())})
    return pd.DataFrame(summary), details


def _money(v: float) -> str:
    return f"${abs(v) / 1000:,.1f}B" + (" deficit" if v < 0 else "")


def _evidence(claim: dict, d: pd.DataFrame, frame: pd.DataFrame) -> str:
    parts = []
    for chk, (_, row) in zip(claim["checks"], d.iterrows()):
        if row["verdict"] == "no data":
            parts.append(f"{row['check']}: no data")
        elif chk.get("kind", "value") == "value":
            parts.append(f"{chk['metric'].replace('_', ' ')} {row['year']}: {row['data']:,.1f} "
                         f"(claimed {row['claimed']:,.0f})")
        elif chk["kind"] == "ratio":
            parts.append(f"ratio {row['check'].split(' ', 1)[1]}: {row['data']:.2f}")
        else:
            parts.append(f"{chk['metric'].replace('_', ' ')} {chk['base_year']}→{row['year']}: "
                         f"{row['data']:+,.1f}")
            if row.get("by_end_year"):
                parts.append(row["by_end_year"])
    fu = claim.get("follow_up")
    if fu:
        last = frame[frame[fu["metric"]].notna()].iloc[-1]
        base, _, _ = _lookup(frame, fu["metric"], int(fu["base_year"]))
        if not math.isnan(base):
            change = last[fu["metric"]] / base - 1
            parts.append(f"but by {int(last['year'])}: {change:+.0%} on {fu['base_year']}")
    return "; ".join(parts)
