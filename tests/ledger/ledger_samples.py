"""Small sample files in the exact published layouts of each format, and the defects tests inject.

Each ``Sample`` knows the file's header and rows (as text, written verbatim), which columns hold the
value, the exporter code and the key, and how to write itself with a defect.
"""
from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

COMTRADE_COLUMNS = [
    "typeCode", "freqCode", "refPeriodId", "refYear", "refMonth", "period", "reporterCode", "reporterISO",
    "reporterDesc", "flowCode", "flowDesc", "partnerCode", "partnerISO", "partnerDesc", "partner2Code",
    "partner2ISO", "classificationCode", "cmdCode", "cmdDesc", "aggrLevel", "isLeaf", "customsCode", "mosCode",
    "motCode", "qtyUnitCode", "qtyUnitAbbr", "qty", "isQtyEstimated", "altQtyUnitCode", "altQty", "netWgt",
    "grossWgt", "cifvalue", "fobvalue", "primaryValue", "legacyEstimationFlag", "isReported", "isAggregate",
]
ITPD_COLUMNS = ["exporter_iso3", "exporter_name", "importer_iso3", "importer_name", "year", "industry_id",
                "industry_descr", "broad_sector", "trade", "flag_mirror", "flag_zero"]
BACI_CODES = [("country_code", "country_name", "country_iso2", "country_iso3"),
              ("4", "Afghanistan", "AF", "AFG"), ("124", "Canada", "CA", "CAN"),
              ("410", "Rep. of Korea", "KR", "KOR"), ("490", "Other Asia, nes", "NA", "S19"),
              ("842", "USA", "US", "USA"), ("251", "France", "FR", "FRA"), ("642", "Romania", "RO", "ROM")]

CT_NAMES = {"USA": (842, "USA"), "KOR": (410, "Rep. of Korea"), "W00": (0, "World"), "CAN": (124, "Canada"),
            "E19": (568, "Other Europe, nes")}


def comtrade_row(reporter, partner, flow, cmd, value, *, year=2016, qty="1000", level=None, cl="H5",
                 partner2="0", customs="C00", mot="0"):
    rc, rdesc = CT_NAMES[reporter]
    pc, pdesc = CT_NAMES[partner]
    level = level if level is not None else (0 if cmd == "TOTAL" else len(cmd))
    d = {
        "typeCode": "C", "freqCode": "A", "refPeriodId": f"{year}0101", "refYear": str(year), "refMonth": "52",
        "period": str(year), "reporterCode": str(rc), "reporterISO": reporter, "reporterDesc": rdesc,
        "flowCode": flow, "flowDesc": {"M": "Import", "X": "Export", "RX": "Re-export"}.get(flow, flow),
        "partnerCode": str(pc), "partnerISO": partner, "partnerDesc": pdesc, "partner2Code": partner2,
        "partner2ISO": "W00", "classificationCode": cl, "cmdCode": cmd, "cmdDesc": "goods",
        "aggrLevel": str(level), "isLeaf": "1" if level == 6 else "0", "customsCode": customs, "mosCode": "0",
        "motCode": mot, "qtyUnitCode": "8", "qtyUnitAbbr": "kg", "qty": qty, "isQtyEstimated": "False",
        "altQtyUnitCode": "-1", "altQty": "0", "netWgt": qty, "grossWgt": "0", "cifvalue": "",
        "fobvalue": "", "primaryValue": str(value), "legacyEstimationFlag": "0", "isReported": "True",
        "isAggregate": "False" if level == 6 else "True",
    }
    return [d[c] for c in COMTRADE_COLUMNS]


@dataclass
class Sample:
    fmt: str
    name: str
    header: list[str]
    rows: list[list[str]]
    value_col: str
    exporter_col: str
    key_cols: tuple[str, ...]
    bad_code: str
    extra_files: dict[str, list[tuple]] = field(default_factory=dict)

    def write(self, folder: Path, rows=None, header=None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for fname, lines in self.extra_files.items():
            with open(folder / fname, "w", newline="") as fh:
                csv.writer(fh).writerows(lines)
        path = folder / self.name
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header or self.header)
            w.writerows(self.rows if rows is None else rows)
        return path

    def with_cell(self, row: int, col: str, value: str) -> list[list[str]]:
        """Rows with 1-based data ``row``'s ``col`` set to ``value``."""
        rows = [list(r) for r in self.rows]
        rows[row - 1][self.header.index(col)] = value
        return rows

    def without(self, col: str) -> tuple[list[str], list[list[str]]]:
        i = self.header.index(col)
        return ([c for j, c in enumerate(self.header) if j != i],
                [[v for j, v in enumerate(r) if j != i] for r in self.rows])


def baci_sample() -> Sample:
    rows = [
        ["2016", "842", "410", "870323", "1234567.5", "120.5"],
        ["2016", "410", "842", "870323", "16000000", "           NA"],
        ["2016", "842", "410", "10121", "2500", "1.25"],
        ["2016", "124", "842", "270900", "0", "NA"],
        ["2016", "490", "842", "854231", "999.999", "0.5"],
        ["2016", "642", "251", "100199", "42", "10"],
    ]
    return Sample("baci", "BACI_HS12_Y2016_V202401b.csv", ["t", "i", "j", "k", "v", "q"], rows, "v", "i",
                  ("t", "i", "j", "k"), "999", extra_files={"country_codes_V202401b.csv": BACI_CODES})


def comtrade_sample() -> Sample:
    rows = [
        comtrade_row("USA", "KOR", "M", "870323", 16_500_000_000, qty="500000"),   # KOR -> USA reported
        comtrade_row("USA", "KOR", "X", "870323", 1_000_000_000),                  # USA -> KOR mirror
        comtrade_row("KOR", "USA", "M", "870323", 1_100_000_000),                  # USA -> KOR reported
        comtrade_row("USA", "KOR", "X", "100190", 250_000_000),                    # USA -> KOR mirror only
        comtrade_row("USA", "W00", "M", "870323", 30_000_000_000),                 # World: dropped
        comtrade_row("USA", "KOR", "RX", "870323", 5_000_000),                     # re-export: dropped
        comtrade_row("KOR", "USA", "M", "TOTAL", 43_000_000_000),                  # coarser: dropped
        comtrade_row("USA", "CAN", "M", "TOTAL", 300_000_000_000),                 # only level: kept
        comtrade_row("USA", "E19", "M", "870323", 7_000_000),                      # nes area: dropped
        comtrade_row("USA", "KOR", "M", "870323", 3_000_000, partner2="410"),      # partner2 breakdown: dropped
    ]
    return Sample("comtrade", "comtrade_2016.csv", COMTRADE_COLUMNS, rows, "primaryValue", "reporterISO",
                  ("refYear", "reporterISO", "partnerISO", "cmdCode"), "XQZ")


def itpd_sample() -> Sample:
    rows = [
        ["USA", "United States", "KOR", "Korea", "2016", "1", "Wheat", "Agriculture", "1500.25", "0", "p"],
        ["KOR", "Korea", "USA", "United States", "2016", "110", "Motor vehicles", "Manufacturing", "16000", "1", "p"],
        ["USA", "United States", "USA", "United States", "2016", "110", "Motor vehicles", "Manufacturing", "250000", "0", "p"],
        ["USA", "United States", "KOR", "Korea", "2016", "160", "Transport services", "Services", "2100", "0", "p"],
        ["KOR", "Korea", "USA", "United States", "2016", "160", "Transport services", "Services", "1800", "0", "p"],
        ["ROM", "Romania", "KOR", "Korea", "2016", "110", "Motor vehicles", "Manufacturing", "0", "0", "u"],
    ]
    return Sample("itpd-e", "ITPDE_R02_2016.csv", ITPD_COLUMNS, rows, "trade", "exporter_iso3",
                  ("year", "exporter_iso3", "importer_iso3", "industry_id"), "XQZ")


def services_sample() -> Sample:
    rows = [
        ["USA", "KOR", "2016", "X", "S", "21000"],
        ["USA", "KOR", "2016", "X", "SC", "4000"],
        ["USA", "KOR", "2016", "X", "SJ", "3000"],
        ["USA", "KOR", "2016", "M", "S", "10300"],
        ["USA", "KOR", "2015", "M", "SC", "2500"],
        ["USA", "KOR", "2015", "M", "SJ", "1200"],
        ["USA", "WLD", "2016", "X", "S", "750000"],
    ]
    return Sample("services", "batis_usa.csv", ["reporter", "partner", "year", "flow", "item", "value"], rows,
                  "value", "reporter", ("year", "reporter", "partner", "item"), "XQZ")


def gravity_sample(shared_csv: Path, n: int = 12) -> Sample:
    """The first ``n`` data rows of the real agtpa_applications.csv, verbatim."""
    with open(shared_csv, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [next(reader) for _ in range(n)]
    return Sample("gravity-panel", "agtpa_sample.csv", header, rows, "trade", "exporter",
                  ("exporter", "importer", "year"), "XQZ")


def tree_hash(folder: Path) -> str:
    """Hash of every file's relative path and bytes under ``folder``."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()
