"""Trade × agreement panels from the ledger store (what ``tradepact data import wb-dta`` wrote).

:func:`panel_from_store` returns the frame the ex-post engine takes
(:func:`tradepact.gravity.expost.expost`): ``exporter, importer, year, value`` (USD millions) and
``agreement_id`` (0 = none), from the goods rows of one dataset joined with its agreements table.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tradepact.errors import StoreError


def panel_from_store(store: str | Path | None = None, dataset: str = "wb-dta") -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(panel, agreement names ``agreement_id, agreement``, description) of ``dataset`` in the store."""
    from tradepact.ledger.sources._base import sql_str
    from tradepact.ledger.store import LedgerStore

    st = LedgerStore.open(store)
    d = sql_str(dataset)
    panel = st.sql(f"""
        SELECT g.exporter, g.importer, g.year, sum(g.value) AS value, coalesce(max(a.agreement_id), 0) AS agreement_id
        FROM goods g LEFT JOIN agreements a
          ON a.dataset = g.dataset AND a.year = g.year AND a.exporter = g.exporter AND a.importer = g.importer
        WHERE g.dataset = {d} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
    if panel.empty:
        raise StoreError(f"the ledger store {st.path} holds no {dataset} goods rows "
                         f"(import them with: tradepact data import {dataset} FILE)")
    names = st.sql(f"SELECT agreement_id, max(agreement) AS agreement FROM agreements WHERE dataset = {d} "
                   f"GROUP BY 1 ORDER BY 1")
    panel["year"] = panel["year"].astype("int64")
    panel["agreement_id"] = panel["agreement_id"].astype("int64")
    return panel, names, f"ledger store {st.path}, dataset {dataset}"
