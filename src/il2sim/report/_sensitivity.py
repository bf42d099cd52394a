"""Sensitivity report: tornado plot and table (HTML, CSV) and the simulated points (Parquet)."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from il2sim.analysis import READOUTS, SensitivityResult
from il2sim.report._html import img, page, png_base64


def tornado(result: SensitivityResult) -> str:
    """Horizontal bars, most influential factor on top (signed for PRCC)."""
    t = result.table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(t) + 1.5))
    vals = t["prcc"] if result.method == "prcc" else t["importance"]
    ax.barh(t["factor"], vals, color=["#d73027" if v > 0 else "#4575b4" for v in vals])
    label = {"morris": "Morris mu*", "sobol": "Sobol total-order index", "prcc": "PRCC"}
    ax.set_xlabel(f"{label[result.method]} of {READOUTS[result.readout]}", fontsize=8)
    ax.set_title(f"{result.arm}: what drives {result.readout}", fontsize=10)
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    return png_base64(fig)


def write_sensitivity_report(result: SensitivityResult, out: str | Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "sensitivity.csv"
    result.table.to_csv(csv, index=False)
    pts = out / "points.parquet"
    result.points.to_parquet(pts, index=False)
    note = (
        f"{len(result.points)} points; {result.dropped} "
        f"{'trajectories' if result.method == 'morris' else 'points'} without a readout dropped"
    )
    path = out / "report.html"
    path.write_text(
        page(
            "il2sim sensitivity",
            [
                f"<h1>Sensitivity ({html.escape(result.method)}): {html.escape(result.arm)}, "
                f"{html.escape(READOUTS[result.readout])}</h1><p>{note}</p>",
                img(tornado(result), "tornado"),
                result.table.to_html(index=False, float_format=lambda v: f"{v:.3g}"),
            ],
        )
    )
    return [path, csv, pts]
