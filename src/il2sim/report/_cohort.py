"""The report of a cohort run: waterfall, spider and Kaplan-Meier plots, a response and
toxicity table, per-patient outcomes (Parquet) and the summary (JSON)."""

from __future__ import annotations

import html
from dataclasses import dataclass
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


def response_table(summary: dict, spec=None) -> pd.DataFrame:
    """Per arm: patients, ORR/CR/DCR/PD with 95% CIs, median PFS, severe toxicity, grade 3-4
    treatment-related adverse events of checkpoint blockade, doses of an IL-2 drug given;
    with the cohort ``spec``, whether the arm was calibrated on training rows or is a
    prediction."""
    rows = []
    for arm, s in summary["arms"].items():
        row = {"arm": arm}
        if spec is not None:
            trained = sorted({t.row or t.endpoint for t in spec.targets if t.arm == arm})
            row["basis"] = f"calibrated ({', '.join(trained)})" if trained else "prediction"
        row |= {
            "evaluable": s["n_evaluable"],
            "ineligible": s["n_ineligible"],
            "failed": s["n_failed"],
        }
        if "ORR" in s:
            for k in ("ORR", "CR", "DCR", "PD"):
                lo, hi = s[k]["ci95"]
                row[f"{k} % (95% CI)"] = (
                    f"{100 * s[k]['value']:.1f} ({100 * lo:.1f}-{100 * hi:.1f})"
                )
            med = s["pfs"].get("median_months")
            row["median PFS (months)"] = "not reached" if med is None else f"{med:.1f}"
            for name, t in s["toxicity"].items():
                row[f"{name} grade 3-4 %"] = f"{100 * t['severe']['value']:.1f}"
            if "trae_grade34" in s:  # checkpoint blockade's immune-related events
                row["grade 3-4 TRAE %"] = f"{100 * s['trae_grade34']['value']:.1f}"
            if "doses" in s:  # IL-2 drug doses given of those due (withheld at severe leak)
                d = s["doses"]
                row["IL-2 doses given (median / due)"] = (
                    f"{d['received_median']:g} / {d['scheduled_median']:g}"
                )
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("IL-2 doses given (median / due)", "grade 3-4 TRAE %"):
        if col in out:  # arms without an IL-2 drug or checkpoint blockade
            out[col] = out[col].fillna("-")
    return out


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


@dataclass
class KMCurve:
    """One arm's Kaplan-Meier progression-free survival, in months, for any renderer."""

    arm: str
    t_months: np.ndarray  # step times (post)
    s: np.ndarray  # survival after each step
    band: tuple[np.ndarray, np.ndarray, np.ndarray] | None  # (times, low, high), log-log 95%
    censored: tuple[np.ndarray, np.ndarray]  # (months, survival) of censored patients
    at_risk: list[int]  # at each tick of :func:`km_curves`


def km_curves(result: CohortResult) -> tuple[np.ndarray, float, list[KMCurve]]:
    """The ticks (months), the follow-up's end (months) and each arm's curve: steps, 95%
    confidence band (Greenwood, log-log), censoring marks and numbers at risk."""
    import warnings

    from scipy import stats

    from il2sim.catalog import DAYS_PER_MONTH

    end = result.spec.duration_days / DAYS_PER_MONTH
    ticks = np.arange(0.0, end + 1e-9, 3.0 if end <= 30 else 6.0)
    curves = []
    for arm in dict.fromkeys(result.outcomes.arm):
        ok = result.arm(arm)
        ok = ok[ok.status == "ok"]
        if ok.empty:
            continue
        days, ev = ok.pfs_days.to_numpy(float), ok.progressed.to_numpy(bool)
        t, s = kaplan_meier(days, ev)
        band = None
        if ev.any():
            sf = stats.ecdf(stats.CensoredData(uncensored=days[ev], right=days[~ev])).sf
            with warnings.catch_warnings():  # undefined at S = 0 or 1: drawn as the curve
                warnings.simplefilter("ignore", RuntimeWarning)
                ci = sf.confidence_interval(0.95, method="log-log")
            band = (
                np.concatenate([[0.0], sf.quantiles]) / DAYS_PER_MONTH,
                np.concatenate([[1.0], np.nan_to_num(ci.low.probabilities)]),
                np.concatenate([[1.0], np.nan_to_num(ci.high.probabilities, nan=1.0)]),
            )
        cens = days[~ev]
        cens_s = s[np.searchsorted(t, cens, side="right") - 1] if cens.size else cens
        curves.append(
            KMCurve(
                arm,
                t / DAYS_PER_MONTH,
                s,
                band,
                (cens / DAYS_PER_MONTH, cens_s),
                [int((days >= m * DAYS_PER_MONTH).sum()) for m in ticks],
            )
        )
    return ticks, end, curves


def km_figure(result: CohortResult) -> plt.Figure:
    """Kaplan-Meier progression-free survival per arm in months: 95% confidence band
    (Greenwood, log-log), censoring ticks and the numbers at risk below."""
    ticks, end, curves = km_curves(result)
    n = len(dict.fromkeys(result.outcomes.arm))
    fig = plt.figure(figsize=(7.5, 4.6 + 0.22 * n))
    ax = fig.add_axes((0.1, 0.1 + 0.05 * n, 0.86, 0.8 - 0.05 * n))
    for k, c in enumerate(curves):
        colour = f"C{k}"
        ax.step(c.t_months, c.s, where="post", label=c.arm, color=colour)
        if c.band is not None:
            ax.fill_between(*c.band, step="post", color=colour, alpha=0.15, lw=0)
        if c.censored[0].size:
            ax.plot(*c.censored, "|", color=colour, ms=7)
    ax.set_xticks(ticks)
    ax.set_xlim(0, end)
    ax.set_xlabel("months since the start of treatment")
    ax.set_ylabel("progression-free")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("Progression-free survival (Kaplan-Meier, 95% band; | censored)", fontsize=10)
    for k, c in enumerate(curves):
        y = -0.2 - 0.075 * k
        ax.text(-0.01, y, c.arm, transform=ax.transAxes, ha="right", fontsize=7, color=f"C{k}")
        for m, count in zip(ticks, c.at_risk, strict=True):
            ax.text(m, y, str(count), transform=ax.get_xaxis_transform(), ha="center", fontsize=7)
    if curves:
        ax.text(-0.01, -0.13, "at risk", transform=ax.transAxes, ha="right", fontsize=7)
    return fig


def comparison_table(summary: dict) -> pd.DataFrame:
    """Each arm against the first: ORR difference, PFS hazard ratio, log-rank p."""
    rows = []
    for c in summary.get("comparison", []):
        rows.append(
            {
                "arm": c["arm"],
                "vs": c["reference"],
                "n / n ref": f"{c['n']} / {c['n_reference']}",
                "ORR difference, points (95% CI)": f"{c['ORR_difference_pp']:+.1f} "
                f"({c['ORR_difference_low_pp']:+.1f} to {c['ORR_difference_high_pp']:+.1f})",
                "PFS hazard ratio (95% CI)": (
                    f"{c['PFS_hazard_ratio']:.2f} "
                    f"({c['PFS_hazard_ratio_low']:.2f}-{c['PFS_hazard_ratio_high']:.2f})"
                    if np.isfinite(c["PFS_hazard_ratio"])
                    else "not estimable"
                ),
                "log-rank p": f"{c['logrank_p']:.2g}",
            }
        )
    return pd.DataFrame(rows)


def forest_figure(summary: dict) -> plt.Figure | None:
    """Hazard ratios of progression against the first arm, with 95% CIs (log scale)."""
    comp = [c for c in summary.get("comparison", []) if np.isfinite(c["PFS_hazard_ratio"])]
    if not comp:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.4 * len(comp)))
    for k, c in enumerate(comp):
        ax.plot([c["PFS_hazard_ratio_low"], c["PFS_hazard_ratio_high"]], [k, k], color="k")
        ax.plot(c["PFS_hazard_ratio"], k, "s", color="C0")
    ax.axvline(1.0, color="grey", ls="--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yticks(range(len(comp)), [c["arm"] for c in comp])
    ax.invert_yaxis()
    ax.set_xlabel(f"PFS hazard ratio vs {comp[0]['reference']} (95% CI; < 1 favours the arm)")
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
        f"{spec.duration_days:g} days of follow-up, scans on days "
        f"{', '.join(f'{d:g}' for d in spec.response.scan_days(spec.duration_days))}, "
        "RECIST 1.1 from the simulated tumour burden (sum of diameters ~ cube root of tumour "
        "cells).</p>",
        "<p>Arms marked <i>calibrated</i> reproduce the training rows named (the virtual "
        "population was selected on them); every other arm is a <b>prediction</b>.</p>",
        response_table(summary, spec).to_html(index=False),
        img(png_base64(km_figure(result)), "Kaplan-Meier"),
    ]
    if summary.get("comparison"):
        parts.append(
            "<h2>Arms compared</h2><p>Each arm against the first, as a trial compares them "
            "(independent samples; repeated virtual patients counted once): difference in "
            "objective response rate (Newcombe 95% CI), Cox hazard ratio of progression and "
            "the log-rank test.</p>"
        )
        parts.append(comparison_table(summary).to_html(index=False))
        forest = forest_figure(summary)
        if forest is not None:
            parts.append(img(png_base64(forest), "forest plot"))
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
