"""Compile the elasticity estimates in ../shared/data/elasticities into tradepact's built-in data.

Developer tool, not part of the installed product. Each output file holds ONE concept, named in
the file and in every row (``concept``), with the estimate, its standard error where the source
gives one, and the source:

* ``elasticities_eta_us_hs6_hauk2012.csv`` — import-demand elasticity η of US imports by HS6
  (Hauk 2012): ``code, estimate`` (η, negative = right sign), ``se``, ``obs``, ``right_sign``,
  ``significant_5pct``. The source reports the implied elasticity as a magnitude
  (``implied_elasticity`` = −η) and the value elasticity ``demandprice`` = 1 + η with its SE, so
  ``se(η) = se_demandprice``. Values unchanged otherwise.
* ``elasticities_sigma_us_hs6_hauk2012.csv`` — σ among varieties of US imports by HS6, Hauk 2012,
  1989–2001 sample (``code, estimate, se, obs, period``); the 1978–1988 file is left out (older).
* ``elasticities_sigma_hs3_bgw.csv`` — σ by HS3 for 73 importers (Broda, Greenfield & Weinstein,
  1994–2003): ``importer`` (ISO3), ``code``, ``estimate``; no standard errors in the source.

The fallback rule for wrong-signed or insignificant η lives in the product
(:mod:`tradepact.simulate.elasticities`), not here, so it is documented and tested where it is used.
Also copies the concordance package's MIT licence beside the data (``LICENSE-concordance.md``).

Run: ``python tools/compile_elasticities.py [--data ../shared/data]``.
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import country_converter as coco
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tradepact" / "data"

HAUK = ("Hauk, W. R. (2012), 'U.S. import and export elasticities: a panel data approach', Empirical Economics 43, "
        "doi:10.1007/s00181-011-0456-1; estimates from github.com/BillHauk/tradeelasticityestimates @ 0ab196e")
BGW = ("Broda, C., J. Greenfield and D. Weinstein (2006/2017), 'From Groundnuts to Globalization' (73-country HS3 "
       "sigmas, 1994-2003), as redistributed in the R package concordance (MIT), insongkim/concordance @ 201c812")


#: The registry the product reads (``elasticities.yaml``): one entry per table with its concept and credit.
TABLES = {
    "hauk2012": {"file": "elasticities_eta_us_hs6_hauk2012.csv", "concept": "eta", "importer": "USA",
                 "level": "HS6", "period": "1978-2001", "source": HAUK,
                 "note": "import-demand elasticity of US imports; se = standard error of the estimate",
                 "proxy_for": {"KOR": "no import-demand elasticity of Korean imports in the sources (Hauk 2012 "
                                      "covers US imports only); the US estimate of the same HS6 line stands in"}},
    "hauk2012-sigma": {"file": "elasticities_sigma_us_hs6_hauk2012.csv", "concept": "sigma", "importer": "USA",
                       "level": "HS6", "period": "1989-2001", "source": HAUK,
                       "note": "elasticity of substitution among varieties (HS10 x origin) of US imports",
                       "proxy_for": {"KOR": "US estimates stand in for Korean imports; the bgw table has Korea's own"}},
    "bgw": {"file": "elasticities_sigma_hs3_bgw.csv", "concept": "sigma", "importer": "73 importers",
            "level": "HS3", "period": "1994-2003", "source": BGW, "licence": "MIT (LICENSE-concordance.md)",
            "note": "elasticity of substitution among varieties; no standard errors in the source"},
    "protee": {"file": "korus_import_elasticities.csv", "concept": "theta", "importer": "all (common)",
               "level": "HS6", "period": "see source",
               "source": "CEPII ProTEE 0.1 (Fontagne, Guimbard & Orefice 2022), compiled by tools/compile_korus_pe.py",
               "note": "product-level trade elasticities estimated from tariff variation in bilateral trade "
                       "(reported negative); a trade elasticity theta, NOT an import-demand elasticity"},
    "gravity": {"concept": "theta", "importer": "all", "level": "aggregate", "period": "survey",
                "values": {"low": 3.0, "central": 5.0, "high": 8.0},
                "source": "Head, K. and T. Mayer (2014), 'Gravity Equations: Workhorse, Toolkit, and Cookbook', "
                          "Handbook of International Economics vol. 4: structural-gravity trade elasticities cluster "
                          "around 5; the low/high values 3 and 8 are tradepact's sensitivity choice around it",
                "note": "aggregate trade elasticity theta (= sigma - 1 in the Armington model) for the GE model"},
}


def compile_eta(src: Path) -> pd.DataFrame:
    raw = pd.read_csv(src / "us_import_demand_hs6_hauk2012.csv", dtype={"hs6": str})
    return pd.DataFrame({
        "importer": "USA", "code": raw["hs6"].str.zfill(6), "concept": "eta",
        "estimate": -raw["implied_elasticity"], "se": raw["se_demandprice"], "obs": raw["obs"],
        "right_sign": raw["right_sign"].astype(bool), "significant_5pct": raw["significant_5pct"].astype(bool),
    })


def compile_sigma_us(src: Path) -> pd.DataFrame:
    raw = pd.read_csv(src / "us_substitution_hs6_hauk2012_1989-2001.csv", dtype={"hs6": str})
    return pd.DataFrame({
        "importer": "USA", "code": raw["hs6"].str.zfill(6), "concept": "sigma", "estimate": raw["sigma"],
        "se": raw["se_demandprice"], "obs": raw["obs"],
    })


def compile_sigma_bgw(src: Path) -> pd.DataFrame:
    raw = pd.read_csv(src / "substitution_hs3_73countries_bgw.csv", dtype={"hs3": str})
    names = raw["country"].drop_duplicates()
    iso = dict(zip(names, coco.convert(names.tolist(), to="ISO3", not_found=None)))
    unknown = [n for n, c in iso.items() if not c or len(str(c)) != 3]
    if unknown:
        raise SystemExit(f"no ISO3 code for {unknown}")
    return pd.DataFrame({
        "importer": raw["country"].map(iso), "code": raw["hs3"].str.zfill(3), "concept": "sigma",
        "estimate": raw["sigma"],
    })


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    src = args.data / "elasticities"
    OUT.mkdir(parents=True, exist_ok=True)
    eta, sig, bgw = compile_eta(src), compile_sigma_us(src), compile_sigma_bgw(src)
    eta.to_csv(OUT / "elasticities_eta_us_hs6_hauk2012.csv", index=False)
    sig.to_csv(OUT / "elasticities_sigma_us_hs6_hauk2012.csv", index=False)
    bgw.to_csv(OUT / "elasticities_sigma_hs3_bgw.csv", index=False)
    shutil.copyfile(src / "LICENSE-concordance.md", OUT / "LICENSE-concordance.md")
    with open(OUT / "elasticities.yaml", "w", encoding="utf-8") as fh:
        yaml.safe_dump(TABLES, fh, sort_keys=False, allow_unicode=True, width=110)
    print(f"wrote {len(eta)} η, {len(sig)} + {len(bgw)} σ estimates to {OUT}")


if __name__ == "__main__":
    main()
