"""KORUS report section: the quantitative claims of the public debate, checked against the ledger."""
from __future__ import annotations

from tradepact.report.document import Note, Section, TableBlock


def korus_section() -> Section:
    """One row per claim: what was said, by whom, what the data say, and a verdict."""
    from tradepact.data import korus
    from tradepact.ledger.balances import bilateral
    from tradepact.ledger.claims import check_claims

    summary, details = check_claims(korus().claims, bilateral("USA", "KOR"))
    sec = Section("claims", "Claims checked")
    counts = summary["verdict"].value_counts()
    sec.summary = "; ".join(f"{n} {v}" for v, n in counts.items()) + f" (of {len(summary)} claims)"
    sec.add(Note("Each quantitative claim of the KORUS debate is compared with the built-in official figures "
                 "(US view, USD millions). 'holds' = the data round to the claimed figure; 'holds within "
                 "rounding' = off by at most one rounding unit (rounding of parts or a later data vintage); "
                 "'unconfirmed data' = the figure needed is not confirmed in a cited source; 'depends on the end "
                 "year' = a change 'since' a year holds for some end years and not others (the evidence names "
                 "them)."))
    sec.add(TableBlock(summary[["claim", "said_by", "evidence", "verdict", "confirmed"]], name="claims",
                       caption="Claims and verdicts", source="tradepact built-in KORUS facts (Census, BEA, USTR)",
                       flag_column="confirmed"))
    sec.add(TableBlock(details.drop(columns=["claim_id"]), name="claim_checks", caption="Every check",
                       source="see the source column", flag_column="confirmed", floatfmt="{:,.2f}"))
    return sec
