"""Print the README's two validation tables (training rows; held-out predictions) from the
``validation.parquet`` files that `il2sim validate` writes, so the README's numbers come from one
run and are not typed by hand.

Run: `.venv/bin/python scripts/validation_table.py OUT1/validation.parquet [OUT2/...]`
(one file per `il2sim validate` run; rows keep the order of the files and of each file).
"""

from __future__ import annotations

import sys

import pandas as pd

ENDPOINTS = {
    "median_PFS_months": "median PFS (months)",
    "grade34_TRAE": "grade 3-4 TRAE",
    "grade34_vascular_leak": "grade 3-4 capillary leak",
}


def _endpoint(name: str) -> str:
    label = ENDPOINTS.get(name, name)
    return label if "months" in label else f"{label} (%)"


def _scale(row: pd.Series) -> float:
    return 1.0 if "months" in row.endpoint else 100.0


def _interval(value: float, low: float, high: float, k: float, what: str = "") -> str:
    return f"{k * value:.1f} ({k * low:.1f}-{k * high:.1f}{what})"


def main(paths: list[str]) -> None:
    table = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    print("| cohort | row | arm | endpoint | published (interval) | model (95% CI) | inside |")
    print("|---|---|---|---|---|---|---|")
    for _, r in table[table.basis == "training"].iterrows():
        k = _scale(r)
        print(
            f"| {r.cohort} | {r.row} | {r.arm} | {_endpoint(r.endpoint)} | "
            f"{_interval(r.published, r.published_low, r.published_high, k, ', ' + r.interval)} | "
            f"{_interval(r.model, r.model_low, r.model_high, k)} | {'yes' if r.within else 'NO'} |"
        )
    print()
    print("| row | arm | endpoint | published (95% CI) | model prediction (95% CI) | inside |")
    print("|---|---|---|---|---|---|")
    for _, r in table[table.basis != "training"].iterrows():
        k = _scale(r)
        print(
            f"| {r.row} | {r.arm} | {_endpoint(r.endpoint)} | "
            f"{_interval(r.published, r.published_low, r.published_high, k)} | "
            f"{_interval(r.model, r.model_low, r.model_high, k)} | {'yes' if r.within else 'NO'} |"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
