"""The validation report: every training row of each cohort, model beside published, and the
held-out predictions beside theirs, as tables (printed and in ``validation.html``) and as
Parquet/JSON (column ``basis``: training or prediction)."""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from il2sim.cohort import Validation
from il2sim.report._html import page
from il2sim.simulate import atomic_write_bytes, write_results


def _fmt(v: float, endpoint: str) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.1f}" if endpoint == "median_PFS_months" else f"{100 * v:.1f}"


def validation_table(v: Validation, predictions: bool = False) -> pd.DataFrame:
    """One line per training row (or, with ``predictions``, per held-out outcome): endpoint
    (% or months), published (interval), model (95% CI) and whether the model lies in the
    published interval."""
    rows = []
    for r in (v.predictions if predictions else v.table).itertuples():
        unit = "months" if r.endpoint == "median_PFS_months" else "%"
        name = {
            "median_PFS_months": "median PFS",
            "grade34_TRAE": "grade 3-4 TRAE",
            "grade34_vascular_leak": "grade 3-4 capillary leak",
        }.get(r.endpoint, r.endpoint)
        rows.append(
            {
                "row": r.row,
                "arm": r.arm,
                "endpoint": f"{name} ({unit})",
                "published (interval)": f"{_fmt(r.published, r.endpoint)} "
                f"({_fmt(r.published_low, r.endpoint)}-{_fmt(r.published_high, r.endpoint)}, "
                f"{r.interval})",
                "model (95% CI)": f"{_fmt(r.model, r.endpoint)} "
                f"({_fmt(r.model_low, r.endpoint)}-{_fmt(r.model_high, r.endpoint)})",
                "within": "yes" if r.within else "NO",
            }
        )
    return pd.DataFrame(rows)


def write_validation_report(validations: list[Validation], out: str | Path) -> list[Path]:
    """Write ``validation.html``, ``validation.parquet`` and ``validation.json``."""
    out = Path(out)
    table = pd.concat(
        [
            frame.assign(cohort=v.cohort, basis=basis)
            for v in validations
            for basis, frame in (("training", v.table), ("prediction", v.predictions))
            if not frame.empty
        ],
        ignore_index=True,
    )
    summary = {
        v.cohort: {
            "n_virtual_patients": v.n_patients,
            "rows_within": int(v.table.within.sum()),
            "rows": len(v.table),
            "predictions_within": int(v.predictions.within.sum()),
            "predictions": len(v.predictions),
            "untargeted": v.untargeted.to_dict("records"),
        }
        for v in validations
    }
    paths = write_results(out, {"validation.parquet": table}, summary, name="validation.json")
    parts = ["<h1>il2sim validate: training rows re-simulated</h1>"]
    for v in validations:
        parts.append(
            f"<h2>{html.escape(v.cohort)}</h2><p>{v.n_patients} virtual patients (the shipped "
            f"population, each once); {int(v.table.within.sum())} of {len(v.table)} rows inside "
            "the published interval. Rates in %, median PFS in months; model intervals are "
            "exact binomial (rates) or from the Kaplan-Meier 95% band (medians).</p>"
        )
        parts.append(validation_table(v).to_html(index=False))
        if not v.predictions.empty:
            parts.append(
                "<h3>Predictions (held out, never tuned to)</h3><p>Published outcomes of arms "
                "no parameter was selected or calibrated on: "
                f"{int(v.predictions.within.sum())} of {len(v.predictions)} inside the "
                "published interval.</p>"
            )
            parts.append(validation_table(v, predictions=True).to_html(index=False))
        if not v.untargeted.empty:
            parts.append("<p>Training rows not reproduced by the model:</p>")
            parts.append(v.untargeted.to_html(index=False))
    report = out / "validation.html"
    atomic_write_bytes(report, page("il2sim validate", parts).encode())
    return [report, *paths]
