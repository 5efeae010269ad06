"""Reading agreements: YAML files (validated, with errors that name the file, the path to
the field and the line), annex schedules in the CSV layout they are published in, and the
built-in agreements shipped with tradepact.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import ValidationError

from tradepact import products
from tradepact.agreements.checks import check_agreement
from tradepact.agreements.schema import Agreement, ScheduleLine, SpecificDuty
from tradepact.errors import AgreementError, ConfigError, DataFormatError, check_choice

BUILTIN_PACKAGE = "tradepact.agreements"


def builtin_agreements() -> list[str]:
    """Names of the agreements shipped with tradepact (e.g. ``["korus"]``)."""
    root = resources.files(BUILTIN_PACKAGE) / "builtin"
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".yaml"))


def _builtin_path(name: str) -> Path:
    return Path(str(resources.files(BUILTIN_PACKAGE) / "builtin" / f"{name}.yaml"))


def load_agreement(name_or_path: str | Path) -> Agreement:
    """A built-in agreement by name (``"korus"``) or an agreement YAML file by path."""
    if isinstance(name_or_path, Agreement):
        return name_or_path
    text = str(name_or_path)
    if text.lower() in builtin_agreements() and not Path(text).is_file():
        return read_yaml(_builtin_path(text.lower()), display_name=f"builtin/{text.lower()}.yaml")
    path = Path(text)
    if path.is_file():
        return read_yaml(path)
    if path.suffix.lower() in (".yaml", ".yml") or "/" in text or "\\" in text:
        raise ConfigError(f"agreement file not found: {text}")
    raise ConfigError(f"unknown agreement {text!r}; built-in agreements: {', '.join(builtin_agreements())} "
                      "(or give the path to a YAML file)")


# --------------------------------------------------------------------------- YAML

def _path_text(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _yaml_line(text: str, loc: tuple) -> int | None:
    """1-based line of the YAML node at ``loc`` (the deepest node found on the way)."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if str(k.value) == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _short(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return value


def _tidy_loc(loc: tuple) -> tuple:
    # drop union-member tags pydantic inserts (e.g. 'equal_cuts', 'line', 'function-after[...]')
    tags = {"immediate", "equal_cuts", "held_then_equal_cuts", "explicit", "no_commitment", "line", "add_line",
            "remove_line", "category", "measure", "add_measure"}
    out = []
    for i, part in enumerate(loc):
        if isinstance(part, str) and ("[" in part or "(" in part):
            continue
        # a tag directly after 'categories.<name>' or 'changes[i]' is a union discriminator
        if isinstance(part, str) and part in tags and i >= 1 and (
                (i >= 2 and loc[i - 2] == "categories") or isinstance(loc[i - 1], int) and i >= 2
                and loc[i - 2] == "changes"):
            continue
        out.append(part)
    return tuple(out)


def agreement_from_dict(data: Any, file: str | Path | None = None, source_text: str | None = None,
                        base_dir: Path | None = None) -> Agreement:
    """Validate a parsed agreement (a dict as in the YAML layout). Errors are
    :class:`~tradepact.errors.DataFormatError` naming ``file`` and the field's path."""
    fname = str(file) if file is not None else "<agreement>"
    if not isinstance(data, dict):
        raise DataFormatError(file=fname, expected="a mapping with keys id, name, parties, entry_into_force, "
                              "staging, lines", got=type(data).__name__, message="not an agreement")
    data = dict(data)
    imports = data.pop("schedules", None) or []
    try:
        ag = Agreement.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _tidy_loc(tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        line = _yaml_line(source_text, loc) if source_text else None
        if line:
            msg = f"(line {line}) {msg}"
        got = None if err["type"] == "missing" or ", got " in msg else _short(err.get("input"))
        raise DataFormatError(file=fname, field=_path_text(loc) or None, message=msg, got=got) from None
    # annex schedules imported from CSV files
    if not isinstance(imports, list):
        raise DataFormatError(file=fname, field="schedules", expected="a list of {file, importer, ...}",
                              got=_short(imports))
    for i, spec in enumerate(imports):
        if not isinstance(spec, dict) or "file" not in spec or "importer" not in spec:
            raise DataFormatError(file=fname, field=f"schedules[{i}]", expected="a mapping with file and importer",
                                  got=_short(spec))
        csv_path = Path(spec["file"])
        if not csv_path.is_absolute():
            csv_path = (base_dir or Path.cwd()) / csv_path
        opts = {k: v for k, v in spec.items() if k not in ("file",)}
        ag.lines.extend(read_schedule_csv(csv_path, **opts))
    try:
        check_agreement(ag)
    except AgreementError as exc:
        loc = tuple(int(p) if p.isdigit() else p for p in exc.path.replace("[", ".").replace("]", "").split("."))
        line = _yaml_line(source_text, loc) if source_text else None
        msg = exc.message if not line else f"(line {line}) {exc.message}"
        raise DataFormatError(file=fname, field=exc.path, message=msg, expected=exc.expected,
                              got=_short(exc.got)) from None
    ag._file = fname
    return ag


def read_yaml(path: str | Path, display_name: str | None = None) -> Agreement:
    """Load and validate one agreement YAML file."""
    path = Path(path)
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read agreement file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise DataFormatError(file=name, message=f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return agreement_from_dict(data, file=name, source_text=text, base_dir=path.parent)


def dump_yaml(ag: Agreement) -> str:
    """The agreement as YAML text (round-trips through :func:`agreement_from_dict`)."""
    data = ag.model_dump(mode="json", exclude_none=True)

    def years(ranges):
        return [f"{a}-{b}" if a != b else a for a, b in ranges]

    for ln in data.get("lines", []):
        ln["unconfirmed_years"] = years(ln.get("unconfirmed_years", []))
    for am in data.get("amendments", []):
        for ch in am.get("changes", []):
            if "add_line" in ch:
                ch["add_line"]["unconfirmed_years"] = years(ch["add_line"].get("unconfirmed_years", []))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- CSV annex schedules

_COLS = {
    "hs": ("hs8", "hs_code", "hs", "hscode", "tariff_line", "hsk", "hts8", "code"),
    "description": ("description", "desc", "product", "product_description"),
    "base_rate": ("base_rate", "base", "base_rate_percent", "mfn", "base_duty", "base_rate_(%)"),
    "category": ("staging_category", "staging", "category", "cat"),
}


def _find_col(columns: dict[str, str], role: str, file: str) -> str:
    for cand in _COLS[role]:
        if cand in columns:
            return columns[cand]
    raise DataFormatError(file=file, field=role, expected=f"a column named one of {', '.join(_COLS[role])}",
                          got=list(columns.values()), message="missing column")


def read_schedule_csv(path: str | Path, importer: str, source: str | None = None, confirmed: bool = True,
                      rate_unit: str = "percent", category_map: dict[str, str] | None = None,
                      id_prefix: str | None = None) -> list[ScheduleLine]:
    """Schedule lines from an annex schedule in its published CSV layout.

    Columns (case-insensitive): an HS code (``hs8``/``hs_code``/...), ``description``, the base
    rate (``base_rate``: ``8``, ``8%``, ``Free``, or a specific duty such as ``1440 won/kg``)
    and the staging category. ``rate_unit`` says whether plain numbers are percent (as
    published, default) or fractions. ``category_map`` renames published category codes to the
    agreement's category names. Bad rows raise DataFormatError naming file, row and column.
    """
    file = str(path)
    check_choice("rate_unit", rate_unit, ("percent", "fraction"))
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ConfigError(f"schedule file not found: {file}") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(file=file, message=f"not a readable CSV file: {exc}") from None
    columns = {c.strip().lower().replace(" ", "_"): c for c in raw.columns}
    c_hs, c_desc = _find_col(columns, "hs", file), _find_col(columns, "description", file)
    c_base, c_cat = _find_col(columns, "base_rate", file), _find_col(columns, "category", file)
    hs = raw[c_hs].str.replace(r"[.\s-]", "", regex=True)
    bad = products.invalid_codes(hs).to_numpy()
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        raise DataFormatError(file=file, row=r + 1, field=c_hs, expected="an HS code of 2, 4, 6, 8 or 10 digits",
                              got=raw[c_hs].iloc[r])
    dup = hs.duplicated().to_numpy()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero((hs == hs.iloc[r]).to_numpy())[0])
        raise DataFormatError(file=file, row=r + 1, field=c_hs, expected="one line per HS code",
                              got=raw[c_hs].iloc[r], message=f"duplicate of row {first + 1}")
    # base rates: Free | number[%] | number unit (specific duty)
    text = raw[c_base].str.strip()
    free = text.str.lower().isin(["free", "0", "0%", "0.0"])
    m = text.str.extract(r"^(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>%?)$")
    spec = text.str.extract(r"^(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>[^\d%\s].*)$")
    num = pd.to_numeric(m["num"].str.replace(",", ".", regex=False), errors="coerce")
    pct = (m["unit"] == "%") | (rate_unit == "percent")
    adval = np.where(free, 0.0, np.where(pct, num / 100.0, num))
    is_spec = spec["num"].notna() & ~free & num.isna()
    unparsed = ~free & num.isna() & ~is_spec
    if unparsed.any():
        r = int(np.flatnonzero(unparsed.to_numpy())[0])
        raise DataFormatError(file=file, row=r + 1, field=c_base,
                              expected="a base rate such as 8, 8%, Free or '1440 won/kg'", got=raw[c_base].iloc[r])
    if (np.nan_to_num(adval) < 0).any():  # pragma: no cover - the pattern admits no sign
        raise DataFormatError(file=file, field=c_base, expected="rates >= 0")
    cats = raw[c_cat].str.strip()
    if category_map:
        cats = cats.map(lambda c: category_map.get(c, c))
    empty = (cats == "").to_numpy()
    if empty.any():
        r = int(np.flatnonzero(empty)[0])
        raise DataFormatError(file=file, row=r + 1, field=c_cat, expected="a staging category", got="")
    prefix = id_prefix or importer
    src = source or f"annex schedule {Path(file).name}"
    spec_amt = pd.to_numeric(spec["num"].str.replace(",", "", regex=False), errors="coerce").to_numpy()
    spec_unit = spec["unit"].to_numpy()
    # every field is checked above, column-wise; build the objects without re-validating each one
    from tradepact import countries

    if not countries.is_valid(importer):
        raise ConfigError(f"{file}: importer must be an ISO3 code, got {importer!r}")
    big = np.flatnonzero(np.nan_to_num(np.asarray(adval, dtype=float)) > 10)
    if len(big):
        raise DataFormatError(file=file, row=int(big[0]) + 1, field=c_base, got=raw[c_base].iloc[int(big[0])],
                              message="rates are fractions with rate_unit='fraction' (0.08 = 8%); this looks like "
                                      "a percentage")
    lines = []
    hs_a, desc_a, cat_a, spec_a = hs.to_numpy(), raw[c_desc].to_numpy(), cats.to_numpy(), is_spec.to_numpy()
    for i in range(len(raw)):  # building model objects once at load (not a query path)
        specific = (SpecificDuty(amount=float(spec_amt[i]), unit=str(spec_unit[i]).strip()) if spec_a[i] else None)
        lines.append(ScheduleLine.model_construct(
            id=f"{prefix}-{hs_a[i]}", importer=importer, hs=[str(hs_a[i])], description=str(desc_a[i]),
            base_rate=None if spec_a[i] else float(adval[i]), specific=specific, category=str(cat_a[i]),
            source=src, confirmed=bool(confirmed), unconfirmed_years=[], season=None, trq=None, safeguard=None,
            hs_confirmed=True, notes=None))  # every field given: pydantic's default-factory lookup is slow
    return lines
