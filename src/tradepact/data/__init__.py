"""Built-in compiled facts shipped with tradepact (no external files needed at run time).

``korus()`` returns the KORUS reference tables: goods and services trade of the US with
Korea (USD millions, US point of view: exports = US exports to Korea, balance =
exports − imports), goods-and-services totals, the agreement's timeline, published
assessments, and the claims of the public debate that ``tradepact korus`` checks.
Every figure carries its ``source`` and a ``confirmed`` flag.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd
import yaml


def _read_csv(name: str) -> pd.DataFrame:
    with resources.files(__name__).joinpath(name).open("rb") as fh:
        return pd.read_csv(fh)


def read_yaml(name: str):
    """Parse a YAML file shipped in this package."""
    with resources.files(__name__).joinpath(name).open("r", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@dataclass(frozen=True)
class KorusFacts:
    """KORUS reference tables (see the module docstring for units and point of view)."""

    goods: pd.DataFrame          # year, reporter, partner, series, exports, imports, balance, precision, value_kind, confirmed, preferred, source, source_url, note
    services: pd.DataFrame       # same columns as goods
    goods_services: pd.DataFrame # same plus total_trade
    events: pd.DataFrame         # date, date_precision, category, event, actors, confirmed, source, source_url
    assessments: pd.DataFrame    # study_id, study, ..., indicator, value_low, value_high, unit, confirmed, source
    claims: list[dict]           # see korus_claims.yaml

    @property
    def entry_into_force(self) -> dt.date:
        """Date KORUS entered into force (from the timeline)."""
        ev = self.events[self.events["category"].eq("entry into force")
                         & self.events["event"].str.contains("FTA enters into force", case=False)]
        return dt.date.fromisoformat(str(ev["date"].iloc[0]))


@lru_cache(maxsize=1)
def korus() -> KorusFacts:
    """The built-in KORUS facts (cached; treat the frames as read-only)."""
    return KorusFacts(
        goods=_read_csv("korus_goods.csv"),
        services=_read_csv("korus_services.csv"),
        goods_services=_read_csv("korus_goods_services.csv"),
        events=_read_csv("korus_events.csv"),
        assessments=_read_csv("korus_assessments.csv"),
        claims=read_yaml("korus_claims.yaml"),
    )


@lru_cache(maxsize=1)
def dta_agreements() -> pd.DataFrame:
    """Names of the agreements in :func:`dta_panel`: ``agreement_id`` (int), ``agreement`` (text)."""
    return _read_csv("wb_dta_agreements.csv")


def dta_panel() -> pd.DataFrame:
    """The built-in world trade × trade-agreement panel (a fresh copy).

    Columns ``exporter, importer`` (ISO3 or the source's historical codes, categorical), ``year``
    (int, every four years 1964–2016), ``value`` (merchandise exports, **USD millions**, UN Comtrade
    basis, zeros kept), ``agreement_id`` (World Bank Deep Trade Agreements id in force for the pair and
    year, 0 = none; names in :func:`dta_agreements`). Licence and credit: ``WB_DTA_LICENSE.txt`` beside
    this module (MIT, penppml authors; World Bank data CC BY 4.0).
    """
    with resources.files(__name__).joinpath("wb_dta_trade.parquet").open("rb") as fh:
        out = pd.read_parquet(fh)
    out["year"] = out["year"].astype("int64")
    out["agreement_id"] = out["agreement_id"].astype("int64")
    return out
