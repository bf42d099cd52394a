"""The report of a cohort run: waterfall, spider and Kaplan-Meier plots, a response and
toxicity table, per-patient outcomes (Parquet) and the summary (JSON)."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from il2sim.cohort import CohortResult, kaplan_meier
from il2sim.report._html import img, page, png_base64
from il2sim.simulate import atomic_write_bytes, write_results

_COLOURS = {"CR": "#1a9850", "PR": "#91cf60", "SD": "#fee08b", "PD": "#d73027"}


def response_table(summary: dict) -> pd.DataFrame:
    rows = []
    for arm, s in summary["arms"].items():
        row = {
            "arm": arm,
            "evaluable": s["n_evaluable"],
            "ineligible": s["n_ineligible"],
            "failed": s["n_failed"],
        }
        if "ORR" in s:
            for k in ("ORR", "CR", "DCR"):
                lo, hi = s[k]["ci95"]
                row[f"{k} % (95% CI)"] = (
                    f"{100 * s[k]['value']:.1f} ({100 * lo:.1f}-{100 * hi:.1f})"
                )
            med = s["pfs"]["median_days"]
            row["median PFS (days)"] = "not reached" if med is None else f"{med:g}"
            for name, t in s["toxicity"].items():
                row[f"{name} severe %"] = f"{100 * t['severe']['value']:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def waterfall_spider_figure(result: CohortResult, arm: str) -> plt.Figure:
    """Waterfall of best change and spider of every patient's course on ``arm``, by BOR."""
    ok = result.arm(arm)
    ok = ok[ok.status == "ok"].sort_values("best_change_pct", ascending=False)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4))
    a1.bar(
        np.arange(len(ok)),
        ok.best_change_pct.clip(upper=100),
        color=[_COLOURS[b] for b in ok.bor],
        width=1.0,
    )
    for y in (20, -30):
        a1.axhline(y, color="grey", ls="--", lw=0.8)
    a1.set_ylabel("best change in sum of diameters (%)")
    a1.set_xlabel("patients")
    a1.set_title(f"{arm}: waterfall", fontsize=10)
    a1.legend(handles=[Patch(color=c, label=cat) for cat, c in _COLOURS.items()], fontsize=8)
    tr = result.traces[result.traces.arm == arm]
    bor = ok.set_index("patient").bor
    for pid, g in list(tr.groupby("patient"))[:200]:
        a2.plot(
            g.day,
            g.sld_change_pct.clip(upper=150),
            color=_COLOURS.get(bor.get(pid), "grey"),
            lw=0.7,
            alpha=0.7,
        )
    for y in (20, -30):
        a2.axhline(y, color="grey", ls="--", lw=0.8)
    a2.set_xlabel("days of treatment")
    a2.set_ylabel("change in sum of diameters (%)")
    a2.set_title(f"{arm}: spider (up to 200 patients)", fontsize=10)
    fig.tight_layout()
    return fig


def km_figure(result: CohortResult) -> plt.Figure:
    """Kaplan-Meier progression-free survival, one curve per arm."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for arm in dict.fromkeys(result.outcomes.arm):
        ok = result.arm(arm)
        ok = ok[ok.status == "ok"]
        if ok.empty:
            continue
        t, s = kaplan_meier(ok.pfs_days.to_numpy(), ok.progressed.to_numpy())
        ax.step(t, s, where="post", label=arm)
    ax.set_xlabel("days of treatment")
    ax.set_ylabel("progression-free")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("Progression-free survival (Kaplan-Meier)", fontsize=10)
    fig.tight_layout()
    return fig


def write_cohort_report(result: CohortResult, out: str | Path) -> list[Path]:
    """Write ``report.html``, ``patients.parquet``, ``traces.parquet`` and ``summary.json``."""
    out = Path(out)
    summary = result.summary()
    pq, tr, js = write_results(
        out, {"patients.parquet": result.outcomes, "traces.parquet": result.traces}, summary
    )
    spec = result.spec
    parts = [
        f"<h1>il2sim cohort: {html.escape(spec.name)}</h1><p>{html.escape(spec.description)}</p>",
        f"<p>{summary['n_patients']} virtual patients, the same on every arm; "
        f"{spec.duration_days:g} days of treatment, scans every "
        f"{spec.response.scan_interval_weeks:g} weeks, RECIST 1.1 from the simulated tumour "
        "burden (sum of diameters ~ cube root of tumour cells).</p>",
        response_table(summary).to_html(index=False),
        img(png_base64(km_figure(result)), "Kaplan-Meier"),
    ]
    for arm in summary["arms"]:
        a = spec.arm(arm)
        abs_ = "; ".join(f"{d.antibody} {d.regimen}" for d in a.antibodies)
        parts.append(
            f"<h2>{html.escape(arm)}</h2><p>{html.escape(a.drug or 'no IL-2 drug')} "
            f"{html.escape(a.regimen or '')} {html.escape(abs_)}</p>"
        )
        if summary["arms"][arm]["n_evaluable"]:
            parts.append(img(png_base64(waterfall_spider_figure(result, arm)), arm))
    rep = out / "report.html"
    atomic_write_bytes(rep, page(f"il2sim cohort: {spec.name}", parts).encode())
    return [rep, pq, tr, js]
