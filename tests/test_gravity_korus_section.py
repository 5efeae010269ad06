"""The KORUS report's gravity section: without a panel it explains what to load; with one it estimates."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradepact.report.document import Note, TableBlock
from tradepact.report.sections.gravity import korus_estimates, korus_section


def test_section_without_panel_explains_what_to_load(monkeypatch):
    monkeypatch.delenv("TRADEPACT_GRAVITY_PANEL", raising=False)
    sec = korus_section()
    assert sec.id == "gravity" and "No KORUS-specific estimate" in sec.summary
    text = " ".join((b.html_text or b.text) for b in sec.blocks if isinstance(b, Note))
    for must in ("tradepact estimate", "build_panel", "load_cepii_gravity", "TRADEPACT_GRAVITY_PANEL", "ITPD-E"):
        assert must in text
    bench = next(b for b in sec.blocks if isinstance(b, TableBlock) and b.name == "rta_benchmarks")
    row = bench.frame[bench.frame["term"] == "RTA"].set_index("specification")
    assert row["estimate"].tolist() == [0.191, 0.557] and bench.frame["source"].str.len().gt(20).all()
    assert "<html" not in sec.blocks[0].to_html() and "tradepact estimate" in sec.blocks[1].to_html()


def _world(seed=1, n=12, years=range(2000, 2021), korus=0.4, other=0.2):
    rng = np.random.default_rng(seed)
    names = ["USA", "KOR", "CAN", "MEX", "JPN", "CHN", "DEU", "FRA", "GBR", "ITA", "BRA", "AUS"][:n]
    rows = []
    for y in years:
        for a, e in enumerate(names):
            for b, i in enumerate(names):
                k = int({e, i} == {"USA", "KOR"} and y >= 2012)
                o = int(e != i and (a + b) % 4 == 0 and y >= 2000 + (a * b) % 15)
                rows.append((e, i, y, k, o, a, b))
    df = pd.DataFrame(rows, columns=["exporter", "importer", "year", "k", "o", "a", "b"])
    dom = (df.exporter == df.importer).to_numpy()
    mu = np.exp(3 + korus * df.k + other * df.o + 0.05 * df.a - 0.04 * df.b + np.where(dom, 2.5, 0.0)
                - 0.02 * (df.year - 2000) * (~dom))
    df["trade"] = rng.gamma(4.0, mu / 4.0)
    df["rta"] = ((df.k + df.o) > 0).astype(int)
    return df[["exporter", "importer", "year", "trade", "rta"]]


def test_korus_estimates_match_direct_ppml_and_recover_effect():
    w = _world()
    out = korus_estimates(w)
    assert out["years"] == [2000, 2004, 2008, 2012, 2016, 2020]
    t = out["table"].set_index("term")
    # the KORUS model is exactly a PPML with these regressors: re-run it independently
    from tradepact.gravity import build_panel, ppml

    p = build_panel(w, years=out["years"], agreements={"KORUS": {"members": ["KOR", "USA"], "entry": 2012, "lags": [4]}})
    p["RTA_OTHER"] = p["rta"] - p["KORUS"]
    b = " + ".join(c for c in p.columns if c.startswith("INTL_BRDR_"))
    r = ppml(p, f"trade ~ RTA_OTHER + KORUS + KORUS_LAG4 + {b} | exp_year + imp_year + pair_id")
    assert t.loc["KORUS", "estimate"] == pytest.approx(r.params["KORUS"], rel=1e-10)
    tot = r.lincom({"KORUS": 1, "KORUS_LAG4": 1})
    assert t.loc["KORUS total (sum of lags)", "estimate"] == pytest.approx(tot[0], rel=1e-10)
    # data generated with a KORUS effect of 0.4 (no phasing): total within 3 SE of the truth
    assert abs(tot[0] - 0.4) < 3 * tot[1] + 0.05
    assert abs(t.loc["RTA_OTHER", "estimate"] - 0.2) < 3 * t.loc["RTA_OTHER", "se"]
    assert t.loc["KORUS", "effect_pct"] == pytest.approx((np.exp(t.loc["KORUS", "estimate"]) - 1) * 100)


def test_section_with_panel_file(tmp_path, monkeypatch):
    f = tmp_path / "panel.parquet"
    _world().to_parquet(f)
    monkeypatch.setenv("TRADEPACT_GRAVITY_PANEL", str(f))
    sec = korus_section()
    assert sec.summary.startswith("KORUS effect") and "all RTAs" in sec.summary
    tb = next(b for b in sec.blocks if isinstance(b, TableBlock) and b.name == "korus_gravity")
    assert {"rta", "KORUS", "KORUS_LAG4", "RTA_OTHER"} <= set(tb.frame["term"])
    # a panel that stops before 2012 is explained, not estimated
    old = _world(years=range(2000, 2011))
    sec2 = korus_section(old)
    assert "No KORUS-specific estimate" in sec2.summary
    assert any("ends in 2010" in (b.text or "") for b in sec2.blocks if isinstance(b, Note))


def test_section_reads_a_ledger_store(tmp_path, monkeypatch):
    """A multi-country panel reaching 2012 in the ledger store is estimated; a short one is explained."""
    from tradepact.ledger.store import LedgerStore

    monkeypatch.delenv("TRADEPACT_GRAVITY_PANEL", raising=False)
    monkeypatch.setenv("TRADEPACT_STORE", str(tmp_path / "empty"))
    assert "holds no goods" in " ".join(b.text for b in korus_section().blocks if isinstance(b, Note))
    f = tmp_path / "world.csv"
    _world().to_csv(f, index=False)
    LedgerStore.open(tmp_path / "store").import_files("gravity-panel", [f])
    monkeypatch.setenv("TRADEPACT_STORE", str(tmp_path / "store"))
    sec = korus_section()
    assert sec.summary.startswith("KORUS effect")
    tb = next(b for b in sec.blocks if isinstance(b, TableBlock) and b.name == "korus_gravity")
    direct = korus_estimates(_world())["table"].set_index("term")
    got = tb.frame.set_index("term")
    assert got.loc["KORUS", "estimate"] == pytest.approx(direct.loc["KORUS", "estimate"], rel=1e-8)
