"""Country codes: ISO3 normalization and the region codes tradepact declares.

Every table in tradepact names countries by upper-case ISO 3166 alpha-3 codes.
Groups that are not countries (the EU as one region, the rest of the world)
are declared here, in :data:`REGIONS`, and nowhere else.
"""
from __future__ import annotations

from functools import lru_cache

import pandas as pd

#: Region codes that may stand where a country code is expected.
REGIONS: dict[str, str] = {
    "EU": "European Union (one region; members depend on the year and the source)",
    "EUN": "European Union as a WTO/Comtrade reporter",
    "ROW": "Rest of the world (everything not listed separately)",
    "WLD": "World total",
}

#: Legacy or dataset-specific codes mapped to current ISO3 codes.
LEGACY_CODES: dict[str, str] = {
    "ROM": "ROU",  # Romania before 2002 (used by Yotov et al. 2016 data)
    "ZAR": "COD",  # Zaire
    "TMP": "TLS",  # East Timor
    "YUG": "SRB",  # Yugoslavia (successor Serbia), as in CEPII data
    "SUN": "RUS",
    "CSK": "CZE",
    "DDR": "DEU",
    "FRG": "DEU",
    "RKO": "KOR",
}

#: Codes that appear in trade data for areas without an ISO3 code of their own.
SPECIAL_AREAS: dict[str, str] = {
    "S19": "Other Asia, not elsewhere specified (Taiwan in UN Comtrade/BACI)",
    "XKX": "Kosovo",
    "ANT": "Netherlands Antilles (dissolved 2010)",
    "SCG": "Serbia and Montenegro (2003-2006)",
    "_X": "Areas not elsewhere specified",
    "X1": "Unspecified",
}


@lru_cache(maxsize=1)
def _coco():
    import logging

    import country_converter as coco

    logging.getLogger("country_converter").setLevel(logging.CRITICAL)  # we raise our own errors
    return coco.CountryConverter()


@lru_cache(maxsize=1)
@lru_cache(maxsize=1)
def iso3_codes() -> frozenset[str]:
    """All codes accepted as a country or region: ISO3, declared regions, special areas."""
    return frozenset(_coco().data["ISO3"].dropna()) | frozenset(REGIONS) | frozenset(SPECIAL_AREAS)


@lru_cache(maxsize=1)
def numeric_to_iso3() -> dict[int, str]:
    """ISO 3166 numeric code -> ISO3 (as used by UN Comtrade and BACI)."""
    data = _coco().data[["ISOnumeric", "ISO3"]].dropna()
    return {int(n): str(c) for n, c in zip(data["ISOnumeric"], data["ISO3"])}


def is_valid(code: str) -> bool:
    """True if ``code`` is an accepted ISO3 country, region or special-area code."""
    return isinstance(code, str) and code in iso3_codes()


def normalize(code: str) -> str | None:
    """Map a code or a country name to ISO3; legacy codes map to their successors.

    Returns None when nothing matches (the caller raises with its own context).
    """
    if not isinstance(code, str):
        return None
    c = code.strip()
    up = c.upper()
    if up in iso3_codes():
        return up
    if up in LEGACY_CODES:
        return LEGACY_CODES[up]
    out = _coco().convert(c, to="ISO3", not_found=None)
    if isinstance(out, list):
        out = out[0] if out else None
    return out if isinstance(out, str) and out in iso3_codes() else None


def invalid_codes(codes: pd.Series) -> pd.Series:
    """Boolean mask of entries of ``codes`` that are not accepted codes (vectorized)."""
    return ~codes.isin(iso3_codes())


def name(code: str) -> str:
    """Short English name of an ISO3 code or region (the code itself if unknown)."""
    if code in REGIONS:
        return REGIONS[code].split(" (")[0]
    data = _coco().data
    hit = data.loc[data["ISO3"] == code, "name_short"]
    return str(hit.iloc[0]) if len(hit) else code
