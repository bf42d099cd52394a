"""Print the README's virtual-trial table from the ``summary.json`` that `il2sim trial` writes
(first arm = the reference of the hazard ratios), so its numbers come from one run.

Run: `.venv/bin/python scripts/trial_table.py OUT/summary.json [COHORT]` (COHORT, default
melanoma, says which arms were calibrated on training rows; the rest are marked predictions).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from il2sim import catalog
from il2sim.report import response_table

TOXICITY = ("vascular_leak_index grade 3-4 %", "cytokine_release_index grade 3-4 %")


def main(path: str, cohort: str = "melanoma") -> None:
    summary = json.loads(Path(path).read_text())
    spec = catalog.get_cohort(cohort)
    table = response_table(summary, spec).set_index("arm")
    trained = {(t.arm, t.endpoint) for t in spec.targets}
    hr = {c["arm"]: c for c in summary.get("comparison", [])}
    print(
        "| arm | basis | evaluable / failed | ORR % (95% CI) | CR % | PD % | median PFS (months) "
        "| PFS HR vs untreated (95% CI) | grade 3-4 capillary leak % "
        "| grade 3-4 cytokine release % | grade 3-4 TRAE % | IL-2 doses given (median / due) |"
    )
    print("|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---|")
    for arm, r in table.iterrows():
        s = summary["arms"][arm]
        basis = r.basis if r.basis != "prediction" else "**prediction**"
        censored = s.get("n_solver_censored", 0)
        n = f"{r.evaluable} / {r.failed}" + (f", {censored} censored" if censored else "")
        c = hr.get(arm)
        ratio = (
            f"{c['PFS_hazard_ratio']:.2f} ({c['PFS_hazard_ratio_low']:.2f}-"
            f"{c['PFS_hazard_ratio_high']:.2f})"
            if c
            else "reference"
        )
        trae = r.get("grade 3-4 TRAE %", "-")
        if trae != "-" and r.basis != "prediction" and (arm, "grade34_TRAE") not in trained:
            trae = f"{trae} (prediction)"
        cells = [
            arm,
            basis,
            n,
            r["ORR % (95% CI)"],
            r["CR % (95% CI)"].split(" ")[0],
            r["PD % (95% CI)"].split(" ")[0],
            r["median PFS (months)"],
            ratio,
            *(r.get(t, "-") for t in TOXICITY),
            trae,
            r.get("IL-2 doses given (median / due)", "-"),
        ]
        print("| " + " | ".join(str(x) for x in cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:])
