"""Inverse-design report: the Pareto front (tumour change vs vascular leak), the best feasible
candidates with their designs, and their patients' courses."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from il2sim.analysis import DesignResult
from il2sim.report._html import img, page, png_base64


def _figure(result: DesignResult) -> str:
    c = result.candidates
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4.5))
    for feasible, colour, label in ((True, "#1a9850", "feasible"), (False, "#bbbbbb", "too toxic")):
        sel = c[c.feasible == feasible]
        a1.scatter(sel.vascular_leak_max, sel.mean_final_change_pct, c=colour, s=18, label=label)
    front = c[c.pareto].sort_values("vascular_leak_max")
    a1.plot(front.vascular_leak_max, front.mean_final_change_pct, "k-", lw=1, label="Pareto front")
    a1.axvline(result.toxicity_limit, color="#d73027", ls="--", lw=1, label="toxicity limit")
    for _, b in result.best.iterrows():
        a1.annotate(
            str(int(b.candidate)), (b.vascular_leak_max, b.mean_final_change_pct), fontsize=8
        )
    a1.set_xlabel("highest daily vascular-leak index")
    a1.set_ylabel("mean change in sum of diameters at end (%)")
    a1.legend(fontsize=8)
    for cid, g in result.traces.groupby("candidate"):
        for _, p in g.groupby("vp_patient"):
            a2.plot(p.day, p.sld_change_pct, lw=0.8, label=None)
        a2.plot([], [], label=f"candidate {int(cid)}")
    a2.axhline(-30, color="grey", ls="--", lw=0.8)
    a2.set_xlabel("days of treatment")
    a2.set_ylabel("change in sum of diameters (%)")
    a2.set_title("best candidates: every patient", fontsize=10)
    a2.legend(fontsize=8)
    fig.tight_layout()
    return png_base64(fig)


def write_design_report(result: DesignResult, out: str | Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "candidates.csv"
    result.candidates.to_csv(csv, index=False)
    js = out / "best.json"
    js.write_text(
        json.dumps(
            {
                "toxicity_limit": result.toxicity_limit,
                "notes": result.notes,
                "best": result.best.to_dict(orient="records"),
            },
            indent=2,
            default=str,
        )
    )
    path = out / "report.html"
    path.write_text(
        page(
            "il2sim design",
            [
                "<h1>Inverse design</h1>"
                f"<p>{len(result.candidates)} candidates; feasible = vascular-leak index below "
                f"{result.toxicity_limit:g} and cytokine release below its threshold in every "
                f"patient. {html.escape(' '.join(result.notes))}</p>",
                img(_figure(result), "Pareto front"),
                "<h2>Best feasible candidates</h2>",
                result.best.to_html(index=False, float_format=lambda v: f"{v:.3g}"),
            ],
        )
    )
    return [path, csv, js]
