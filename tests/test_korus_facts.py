"""The built-in KORUS facts carry the reference figures over unchanged, with provenance."""
import datetime as dt

import pandas as pd
import pytest

from tradepact.data import korus


@pytest.mark.parametrize("built_in, ref", [("goods", "goods_trade.csv"), ("services", "services_trade.csv"),
                                           ("goods_services", "goods_services_combined.csv")])
def test_figures_carry_over(shared_data, built_in, ref):
    """Every figure of the reference tables is in the built-in table, same year/series/value (exact)."""
    src = pd.read_csv(shared_data / "korus" / ref)
    ours = getattr(korus(), built_in)
    ours = ours[~ours["note"].fillna("").str.startswith("One vintage")].reset_index(drop=True)  # the correction
    assert len(ours) == len(src)
    for theirs, mine in (("us_exports_musd", "exports"), ("us_imports_musd", "imports"), ("balance_musd", "balance")):
        pd.testing.assert_series_equal(src[theirs].reset_index(drop=True), ours[mine].reset_index(drop=True),
                                       check_names=False)
    assert (ours["confirmed"] == src["confirmed"].str.lower().eq("yes")).all()
    assert ours["source"].notna().all()


def test_entry_into_force_and_claims():
    facts = korus()
    assert facts.entry_into_force == dt.date(2012, 3, 15)
    ids = {c["id"] for c in facts.claims}
    assert {"deficit-doubled", "deficit-2016-27.7", "services-surplus-2016", "overall-deficit-2016",
            "exports-down"} <= ids



def test_services_2011_from_one_vintage():
    """The preferred 2011 services row differences exactly and comes from one release (BEA via KEI, 2018-03);
    USTR's preliminary whole-billion row (17,000 / 8,000 / 8,000) is kept but no longer preferred."""
    s = korus().services
    s11 = s[(s.year == 2011) & (s.series == "US_BEA")]
    pref = s11[s11.preferred]
    assert len(pref) == 1
    row = pref.iloc[0]
    assert (row.exports, row.imports, row.balance) == (16700.0, 9800.0, 6900.0)
    assert row.exports - row.imports == row.balance and row.vintage == "published 2018-03"
    ustr = s11[s11.exports == 17000].iloc[0]
    assert not ustr.preferred and ustr.vintage == "published 2012-09"
    g = korus().goods
    assert (g[g.preferred & (g.series == "US_CENSUS") & g.year.between(2006, 2021)].vintage == "published 2024-11").all()
