"""Structural gravity on a panel the user supplies (PPML-HDFE, KORUS dummy with phasing-in).

Not part of the KORUS report any more: the report answers "Did KORUS raise trade?" on the built-in
world panel in :mod:`tradepact.report.sections.expost`. This module serves panels with domestic
flows (border-by-year dummies) that a user points it at.

A KORUS-specific effect needs a multi-country panel covering 2012 or later, with
intra-national flows, so that exporter-year, importer-year and pair fixed effects and
international-border × year dummies can be estimated (Yotov et al. 2016, ch. 1). The
built-in facts hold only US–Korea balances, so by default the section explains what to
load and how, and shows the literature's all-RTA benchmark that tradepact reproduces.
If the environment variable ``TRADEPACT_GRAVITY_PANEL`` names a CSV/Parquet file with
``exporter, importer, year, trade, rta`` (any extra gravity columns are ignored) covering
2012+ — or, failing that, the ledger store named by ``TRADEPACT_STORE`` holds such a panel
(goods plus an ``rta`` gravity covariate) — the section estimates the KORUS dummy with
phasing-in next to the all-RTA effect.
"""
from __future__ import annotations

import html
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from tradepact.errors import DataFormatError
from tradepact.report.document import Note, Section, TableBlock

ENV = "TRADEPACT_GRAVITY_PANEL"
KORUS_ENTRY = 2012  # in force 15 March 2012


def reference_estimates() -> pd.DataFrame:
    """The literature benchmarks compiled into tradepact (source and confirmed per figure)."""
    from importlib.resources import files

    return pd.read_csv(files("tradepact.data").joinpath("gravity_reference_estimates.csv"))


def korus_estimates(trade: pd.DataFrame, interval: int = 4, lags=(4,), end_year: int | None = None) -> dict:
    """Estimate the all-RTA effect and a KORUS-specific effect with phasing-in.

    ``trade``: ``exporter, importer, year, trade, rta`` (annual; domestic flows where present).
    The panel keeps every ``interval``-th year counting back from the last one (so 2012 is in
    a 4-year panel ending 2016 or 2020), builds KORUS = 1 for US–Korea flows from 2012 and
    ``KORUS_LAG{k}``, and ``RTA_OTHER`` = all other agreements. Both models absorb
    exporter-year, importer-year and pair FE, add international-border × year dummies when
    domestic flows exist, and cluster by pair. Returns ``{"all_rta": res, "korus": res,
    "table": DataFrame}``; the table has term, estimate, se, effect_pct (= e^b − 1).
    """
    from tradepact.gravity import build_panel, ppml

    need = ["exporter", "importer", "year", "trade", "rta"]
    miss = [c for c in need if c not in trade.columns]
    if miss:
        raise DataFormatError(field=miss[0], expected=f"columns {need}", got=f"columns {list(trade.columns)[:12]}")
    last = int(trade["year"].max()) if end_year is None else int(end_year)
    if last < KORUS_ENTRY:
        raise DataFormatError(field="year", expected=f"a panel reaching {KORUS_ENTRY} or later", got=last)
    first = int(trade["year"].min())
    years = [y for y in range(last, first - 1, -interval)][::-1]
    has_domestic = bool((trade["exporter"] == trade["importer"]).any())
    keys = ["exporter", "importer", "year"]
    panel = build_panel(trade[keys + ["trade"]], trade[keys + ["rta"]], years=years, lags=[], border_years=has_domestic,
                        agreements={"KORUS": {"members": ["KOR", "USA"], "entry": KORUS_ENTRY, "lags": list(lags)}})
    panel = panel[panel["year"] <= last]
    panel["RTA_OTHER"] = (panel["rta"] - panel["KORUS"]).clip(lower=0)
    brdr = [c for c in panel.columns if c.startswith("INTL_BRDR_")]
    fe = "exp_year + imp_year + pair_id"
    extra = (" + " + " + ".join(brdr)) if brdr else ""
    all_rta = ppml(panel, f"trade ~ rta{extra} | {fe}", vcov={"CRV1": "pair_id"})
    kterms = ["KORUS"] + [f"KORUS_LAG{k}" for k in lags if f"KORUS_LAG{k}" in panel and panel[f"KORUS_LAG{k}"].any()]
    korus = ppml(panel, f"trade ~ RTA_OTHER + {' + '.join(kterms)}{extra} | {fe}", vcov={"CRV1": "pair_id"})
    rows = [("all RTAs", "rta", all_rta.params["rta"], all_rta.bse["rta"])]
    for t in kterms:
        if t in korus.params:
            rows.append(("KORUS model", t, korus.params[t], korus.bse[t]))
    present = [t for t in kterms if t in korus.params]
    if len(present) > 1:
        est, se = korus.lincom({t: 1 for t in present})
        rows.append(("KORUS model", "KORUS total (sum of lags)", est, se))
    rows.append(("KORUS model", "RTA_OTHER", korus.params["RTA_OTHER"], korus.bse["RTA_OTHER"]))
    table = pd.DataFrame(rows, columns=["model", "term", "estimate", "se"])
    table["effect_pct"] = (np.exp(table["estimate"]) - 1) * 100
    return {"all_rta": all_rta, "korus": korus, "table": table, "years": years, "nobs": korus.nobs}


INSTRUCTIONS = """<p>To estimate a KORUS-specific effect, tradepact needs a <b>multi-country panel reaching 2012 or later</b>
(ideally with intra-national flows, as in the Yotov et al. 2016 set-up). Steps:</p>
<ol>
<li>Trade with domestic flows: the USITC <i>International Trade and Production Database for Estimation</i>
(ITPD-E, manufacturing/total, 2000–2019) includes intra-national trade; CEPII BACI (HS6, 1995–) has international flows
only. Load it into a ledger store, e.g. <code>tradepact data import baci BACI_HS12_Y2016_V202401.csv --store DIR</code>.</li>
<li>Gravity covariates and agreements: CEPII <i>Gravity</i> (<code>Gravity_V202211.csv</code>, column <code>fta_wto</code>)
or the USITC <i>Dynamic Gravity Dataset</i> (<code>agree_*</code> columns):
<pre>from tradepact.gravity import build_panel
from tradepact.gravity.panel import load_cepii_gravity
cov = load_cepii_gravity("Gravity_V202211.csv", years=range(2000, 2021))
panel = build_panel(trade, cov, agreements={"KORUS": {"members": ["KOR", "USA"], "entry": 2012, "lags": [4]}})
panel.to_parquet("gravity_panel.parquet")</pre></li>
<li>Estimate (CLI): <code>tradepact estimate gravity_panel.parquet --formula "trade ~ KORUS + KORUS_LAG4 + rta | exp_year + imp_year + pair_id"
--where "year in (2000, 2004, 2008, 2012, 2016, 2020)" --format json</code>
(with domestic flows add the <code>INTL_BRDR_&lt;year&gt;</code> dummies).</li>
<li>Or point the report at the file: <code>TRADEPACT_GRAVITY_PANEL=trade_2000_2020.parquet tradepact korus</code>
(columns <code>exporter, importer, year, trade, rta</code>, annual) and this section estimates the KORUS dummy with
phasing-in next to the all-RTA effect.</li>
</ol>"""


def store_panel() -> tuple[pd.DataFrame | None, str]:
    """The largest goods dataset of the ledger store named by ``$TRADEPACT_STORE`` with its ``rta``
    covariate, if it covers 2012+ and at least 10 exporters; else ``(None, reason)``."""
    if not os.environ.get("TRADEPACT_STORE"):
        return None, "no ledger store configured (TRADEPACT_STORE)"
    from tradepact.errors import TradepactError
    from tradepact.gravity.panel import panel_from_store
    from tradepact.ledger.store import LedgerStore

    try:
        st = LedgerStore.open()
        ds = st.sql("SELECT dataset, COUNT(DISTINCT exporter) AS n, MAX(year) AS last FROM goods "
                    "WHERE flow_source = 'reported' GROUP BY dataset ORDER BY n DESC")
        if ds.empty:
            return None, f"the ledger store {st.path} holds no goods trade"
        best = ds.iloc[0]
        if int(best["n"]) < 10 or int(best["last"]) < KORUS_ENTRY:
            return None, (f"the ledger store's largest dataset ({best['dataset']}: {int(best['n'])} exporters, "
                          f"last year {int(best['last'])}) is not a multi-country panel reaching {KORUS_ENTRY}")
        p = panel_from_store(st, dataset=best["dataset"])
        if "rta" not in p.columns or p["rta"].isna().all():
            return None, f"the ledger store has no 'rta' gravity covariate for dataset {best['dataset']}"
        p = p.dropna(subset=["rta"])
        return p[["exporter", "importer", "year", "trade", "rta"]], f"ledger store {st.path}, dataset {best['dataset']}"
    except TradepactError as exc:
        return None, f"the ledger store could not be read: {exc}"


def _load_panel(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataFormatError(file=path, expected="an existing CSV or Parquet gravity panel", got="no such file")
    return pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)


def korus_section(panel: pd.DataFrame | None = None) -> Section:
    """The gravity section of the KORUS report (built-in data unless a panel is given or
    ``TRADEPACT_GRAVITY_PANEL`` is set)."""
    sec = Section("gravity", "Did KORUS raise trade? Structural gravity estimates")
    ref = reference_estimates()
    source_env = os.environ.get(ENV)
    store_note = ""
    if panel is None and source_env:
        panel = _load_panel(Path(source_env))
    elif panel is None:
        panel, store_note = store_panel()
        if panel is not None:
            source_env = store_note
    if panel is not None and int(panel["year"].max()) >= KORUS_ENTRY:
        out = korus_estimates(panel)
        t = out["table"]
        k = t[t["term"].str.startswith("KORUS")].iloc[-1]
        a = t[t["term"] == "rta"].iloc[0]
        z = k["estimate"] / k["se"] if k["se"] > 0 else math.nan
        sig = "statistically significant at 5%" if abs(z) > 1.96 else "not statistically significant at 5%"
        sec.summary = (f"KORUS effect {k['estimate']:+.3f} ({k['se']:.3f}) → {k['effect_pct']:+.0f}% trade, {sig}; "
                       f"all RTAs {a['estimate']:+.3f} ({a['se']:.3f})")
        src = f"tradepact PPML-HDFE on {source_env or 'the supplied panel'} (years {out['years']})"
        sec.add(Note(f"PPML with exporter-year, importer-year and pair fixed effects, standard errors clustered by "
                     f"pair, on {out['nobs']:,} observations (years {', '.join(map(str, out['years']))}). "
                     f"The KORUS coefficient is the average change in US–Korea trade (both directions) after entry into "
                     f"force relative to what the fixed effects predict; the phasing-in lag captures effects that "
                     f"arrive later; {sig}."))
        sec.add(TableBlock(t, name="korus_gravity", caption="KORUS-specific and all-RTA effects (log points; "
                           "effect_pct = e^b − 1 in percent)", source=src, confirmed=True, floatfmt="{:,.3f}"))
        sec.add(Note("A single agreement identifies its effect from one country pair: the standard error is wide and "
                     "the estimate also absorbs anything else that changed US–Korea trade costs after 2012.",
                     kind="caveat"))
    else:
        reason = ((store_note or "no panel was given") if panel is None else
                  f"the panel given ends in {int(panel['year'].max())}, before KORUS entered into force (2012)")
        sec.summary = "No KORUS-specific estimate: built-in data have no multi-country panel for 2012+ (see how to load one)"
        sec.add(Note(f"Not estimated: {reason}. The built-in facts hold US–Korea balances only, and an agreement's "
                     "effect on trade can only be identified against all other country pairs (exporter-year, "
                     "importer-year and pair fixed effects) — a before/after comparison of one pair is not an estimate "
                     "of the agreement's effect.", kind="caveat"))
        sec.add(Note(html_text=INSTRUCTIONS))
    sec.add(Note("Benchmark from the literature (not KORUS): the average effect of regional trade agreements on "
                 "members' trade, which tradepact reproduces to the printed digits from the book's own data "
                 "(examples/agtpa/rta_effects.py). 0.557 log points means about "
                 f"{(math.exp(0.557) - 1) * 100:.0f}% more trade between members."))
    shown = ref[["specification", "term", "estimate", "se", "sample", "source", "confirmed"]]
    sec.add(TableBlock(shown, name="rta_benchmarks", caption="Published RTA effects, Yotov et al. (2016) ch. 1",
                       source=html.unescape("Yotov, Piermartini, Monteiro & Larch (2016), WTO/UNCTAD"),
                       confirmed=bool(ref["confirmed"].all()), flag_column="confirmed", floatfmt="{:,.3f}"))
    return sec
