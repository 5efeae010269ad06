"""Compile the product-level KORUS data for the PE model into tradepact's built-in data.

Developer tool, not part of the installed product. Reads ``../shared/data/korus/product_trade.csv``
and ``import_elasticities.csv`` and writes

* ``src/tradepact/data/korus_pe_lines.csv`` — one row per flow (exporter -> importer), year and
  product line, value in USD millions, with ``basis``, ``source``, ``confirmed``, ``value_kind``
  and how the HS code was obtained (``hs_mapping``);
* ``src/tradepact/data/korus_import_elasticities.csv`` — CEPII ProTEE 0.1 HS6 elasticities with
  their flags (``flagged`` = the source's flag_zero or flag_positive) and provenance.

Selection rules (the README of the reference data says bases must not be mixed and rows outside
one ``additive_group`` overlap):

1. Only rows with a value and a product-level HS code: totals, USITC digest sectors (no HS code),
   USDA agricultural totals and the combined beef+pork USMEF series are left out.
2. Each source HS string maps to one representative code ``hs`` (used for the tariff lookup and
   HS2/sector aggregation) and the list of HS prefixes it covers, ``hs_prefixes`` (used to average
   line elasticities). The map is :data:`HS_MAP`; codes the source itself gives (USTR chapters)
   are marked ``hs_mapping = source``, all others ``compiler mapping (approx.)``.
3. One row per ``(year, exporter, importer, hs)``: a row inside an additive group beats one
   outside it, then a confirmed row beats an unconfirmed one, then customs data beat industry data.
   Rows of different bases can still sit side by side in a year (each line's effect is computed on
   its own value; ``basis`` travels with every result so no share is computed across bases).

Run: ``python tools/compile_korus_pe.py [--data ../shared/data]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tradepact" / "data"

#: source hs_code string -> (representative HS code, covered HS prefixes). A group's representative code
#: is the tariff line taken to stand for it: pork -> 0203.29 (frozen "other" cuts, the largest US pork
#: export category to Korea per the tariff schedule notes), fresh fruit -> 0805.10 (oranges), beef ->
#: 0202 (the 40% muscle-meat line covers 0201 and 0202 alike). Compiler choices, marked as such.
HS_MAP: dict[str, tuple[str, str]] = {
    "84": ("84", "84"), "85": ("85", "85"), "87": ("87", "87"), "88": ("88", "88"), "90": ("90", "90"),
    "0201; 0202; 0206.10-0206.29; 1602.50": ("0202", "0201;0202;020610;020621;020622;020629;160250"),
    "02 (beef + beef variety meat)": ("0202", "0201;0202;020610;020621;020622;020629"),
    "0203; 0206.30-0206.49; 0210.1x; 1602.4x": ("020329", "0203;020630;020641;020649;02101;16024"),
    "02 (pork + pork variety meat)": ("020329", "0203;020630;020641;020649"),
    "0203 (+ variety meat)": ("020329", "0203;020630;020641;020649"),
    "0201; 0202 (+ variety meat)": ("0202", "0201;0202;020610;020621;020622;020629"),
    "1005": ("1005", "1005"),
    "1001": ("1001", "1001"),
    "0803-0810 (fresh)": ("080510", "0803;0804;0805;0806;0807;0808;0809;0810"),
    "1901; 2103; 2106 and others": ("2106", "1901;2103;2106"),
    "2709; 2711": ("2709", "2709;2711"),
    "8486": ("8486", "8486"), "8703": ("8703", "8703"), "8517": ("8517", "8517"), "8708": ("8708", "8708"),
    "2710": ("2710", "2710"), "8471": ("8471", "8471"),
    "8541; 8542": ("8542", "8541;8542"),
    "39 (part)": ("39", "39"),
    "72; 73 (part)": ("72", "72;73"),
}
#: product schemes that are product lines (others are totals or sector aggregates)
LINE_SCHEMES = {"HS2 chapter", "USDA agricultural product group", "Korean MTI trade item",
                "Korean industry data", "product group", "USMEF export series"}
EXCLUDED_HS = {"02 (beef + pork incl. variety meat)"}  # overlaps the beef and pork rows


def _yes(col: pd.Series) -> pd.Series:
    return col.astype(str).str.strip().str.lower().eq("yes")


def compile_lines(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str)
    df = raw.copy()
    df["value"] = pd.to_numeric(df["value_usd_m"], errors="coerce")
    keep = (df["product_scheme"].isin(LINE_SCHEMES) & df["value"].notna()
            & df["hs_code"].notna() & ~df["hs_code"].isin(EXCLUDED_HS))
    df = df[keep].copy()
    unknown = sorted(set(df["hs_code"]) - set(HS_MAP))
    if unknown:
        raise SystemExit(f"no HS mapping for {unknown}: add them to HS_MAP")
    df["hs"] = df["hs_code"].map(lambda c: HS_MAP[c][0])
    df["hs_prefixes"] = df["hs_code"].map(lambda c: HS_MAP[c][1])
    df["hs_mapping"] = df["hs_code_basis"].fillna("").map(
        lambda b: "source" if b.startswith("USTR category = HS chapter") else "compiler mapping (approx.)")
    df["confirmed"] = _yes(df["confirmed"])
    df["in_group"] = df["additive_group"].notna()
    df["customs"] = df["basis"].str.contains("customs|Census", case=False, regex=True)
    df = df.sort_values(["in_group", "confirmed", "customs"], ascending=False, kind="stable")
    df = df.drop_duplicates(["year", "exporter", "importer", "hs"], keep="first")
    df["year"] = df["year"].astype(int)
    df = df.sort_values(["year", "exporter", "importer", "hs"]).reset_index(drop=True)
    df["line_id"] = (df["exporter"] + ">" + df["importer"] + "-" + df["hs"] + "-" + df["year"].astype(str))
    out = df.rename(columns={"hs_code": "hs_source", "value": "import_value"})
    return out[["line_id", "year", "importer", "exporter", "hs", "hs_source", "hs_prefixes", "hs_mapping",
                "description", "import_value", "basis", "additive_group", "confirmed", "value_kind",
                "precision", "source", "source_url", "notes"]]


def compile_elasticities(path: Path) -> pd.DataFrame:
    raw = pd.read_csv(path, dtype=str)
    df = pd.DataFrame({
        "importer": raw["importer"].str.extract(r"^([A-Z]{3})", expand=False).fillna("ALL"),
        "hs": raw["hs_code"].str.zfill(6),
        "elasticity": pd.to_numeric(raw["elasticity"], errors="coerce"),
        "flagged": raw["flag_zero"].eq("1") | raw["flag_positive"].eq("1"),
        "confirmed": _yes(raw["confirmed"]),
        "hs_revision": "H3",
        "concept": "ProTEE 0.1 product-level trade elasticity (tariff-based, negative)",
        "description": raw["description"],
        "source": raw["source"],
        "source_url": raw["source_url"],
    })
    return df


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args(argv)
    src = args.data / "korus"
    lines = compile_lines(src / "product_trade.csv")
    el = compile_elasticities(src / "import_elasticities.csv")
    OUT.mkdir(parents=True, exist_ok=True)
    lines.to_csv(OUT / "korus_pe_lines.csv", index=False)
    el.to_csv(OUT / "korus_import_elasticities.csv", index=False)
    print(f"wrote {len(lines)} PE lines and {len(el)} elasticities to {OUT}")


if __name__ == "__main__":
    main()
