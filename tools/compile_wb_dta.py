"""Compile the built-in world trade × trade-agreement panel from ``../shared/data/wb_trade_agreements``.

Input: ``trade.parquet`` (penppml's ``trade`` data: UN Comtrade merchandise exports in USD, every
four years 1964–2016, every pair, with the World Bank Deep Trade Agreements agreement in force).
Output, in ``src/tradepact/data``:

* ``wb_dta_trade.parquet`` — ``exporter, importer, year, value, agreement_id``; ``value`` in USD
  **millions** (the source's USD / 1e6), ``agreement_id`` 0 where no agreement is in force. Country
  codes are kept as the source writes them (historical codes such as ``DDR`` stay distinct).
* ``wb_dta_agreements.csv`` — ``agreement_id, agreement`` (names as in the source).
* ``WB_DTA_LICENSE.txt`` — the licence notice and credit (MIT, penppml authors; data CC BY 4.0).

The 16 provision dummies are not shipped (import the full file with ``tradepact data import wb-dta``).
Run: ``python tools/compile_wb_dta.py [--source DIR]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tradepact" / "data"

NOTICE = """World trade and trade-agreement panel shipped with tradepact (wb_dta_trade.parquet, wb_dta_agreements.csv)

Compiled by tools/compile_wb_dta.py from the `trade` data set of the R package penppml 0.2.4
(https://github.com/tomzylkin/penppml, data/trade.rda, commit 46adeb2bc8df8f0f2c906c915e8e382cbd2e59c3):
values divided by 1e6 (USD millions), provision dummies left out; nothing else changed.

Credit: Ferreras Garrucho, Zylkin, Cruz & Apfel, penppml; trade flows from UN Comtrade; agreements from the
World Bank Deep Trade Agreements database (Mattoo, Rocha & Ruta (eds.) 2020, Handbook of Deep Trade
Agreements; Hofmann, Osnago & Ruta 2017), used in Breinlich, Corradi, Rocha, Ruta, Santos Silva & Zylkin
(2021), World Bank Policy Research Working Paper 9629. The World Bank data are licensed CC BY 4.0
(https://creativecommons.org/licenses/by/4.0/).

penppml licence:

"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "wb_trade_agreements")
    args = ap.parse_args()
    raw = pd.read_parquet(args.source / "trade.parquet", columns=["exp", "imp", "time", "export", "id", "agreement"])
    trade = pd.DataFrame({
        "exporter": raw["exp"].astype("category"),
        "importer": raw["imp"].astype("category"),
        "year": raw["time"].astype("int16"),
        "value": raw["export"].astype("float64") / 1e6,
        "agreement_id": raw["id"].astype("int16"),
    }).sort_values(["exporter", "importer", "year"], kind="stable").reset_index(drop=True)
    # a few agreements have some rows with an empty name: keep the name each id is given elsewhere
    named = raw.loc[(raw["id"] > 0) & raw["agreement"].fillna("").ne(""), ["id", "agreement"]]
    names = named.drop_duplicates()
    unnamed = sorted(set(raw["id"].unique()) - {0} - set(names["id"]))
    for i in unnamed:  # e.g. id 138 (Pakistan - Sri Lanka) has no name in the source
        rows = raw[raw["id"] == i]
        parties = ", ".join(sorted(set(rows["exp"]) | set(rows["imp"])))
        names = pd.concat([names, pd.DataFrame({"id": [i], "agreement": [f"agreement {i} (unnamed in the source; parties {parties})"]})])
    names = names.rename(columns={"id": "agreement_id"}).sort_values("agreement_id")
    if names["agreement_id"].duplicated().any() or set(trade["agreement_id"].unique()) - {0} - set(names["agreement_id"]):
        raise SystemExit("agreement ids and names do not match one to one")
    trade.to_parquet(OUT / "wb_dta_trade.parquet", index=False, compression="zstd")
    names.to_csv(OUT / "wb_dta_agreements.csv", index=False)
    (OUT / "WB_DTA_LICENSE.txt").write_text(NOTICE + (args.source / "LICENSE").read_text())
    print(f"{len(trade):,} rows, {len(names)} agreements -> {OUT}")


if __name__ == "__main__":
    main()
