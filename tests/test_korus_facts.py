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

