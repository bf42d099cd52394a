"""Calibrate the safety parameters on the shipped virtual populations: the grade 3-4
treatment-related adverse event hazard of PD-1 blockade (training row T6, nivolumab, melanoma;
the CTLA-4 hazard is an assumption: no training row gives it) and the vascular-leak index's
grade 3-4 threshold (row T11, high-dose IL-2, courses of melanoma and RCC pooled as White 1994
pooled them).

Usage: .venv/bin/python scripts/calibrate_safety.py [--workers 2]
Prints each value to write into catalog/data/immunity/parameters.yaml. Neither changes the
tumour model (the dose hold uses its own level, vascular_leak_threshold): rerun after a new
virtual population is selected.
"""

import argparse

import pandas as pd

from il2sim.catalog import SAFETY_ENDPOINTS, get_cohort, immune_parameters
from il2sim.cohort import run_cohort
from il2sim.cohort._trae import calibrate_hazards
from il2sim.simulate import SUSCEPTIBILITY_SD, calibrate_grade34_threshold

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    peaks, leak_rate = [], None
    for name in ("melanoma", "rcc"):
        spec = get_cohort(name)
        targets = [t for t in spec.targets if t.endpoint in SAFETY_ENDPOINTS]
        arms = list(dict.fromkeys(t.arm for t in targets))
        res = run_cohort(spec, arms, population="vpop", workers=a.workers)
        ok_all = res.outcomes[res.outcomes.status == "ok"]
        trae = [t for t in targets if t.endpoint == "grade34_TRAE"]
        for key, value in calibrate_hazards(res.outcomes, trae).items():
            print(f"{key}: {value:.3g}  ({name})")
        for t in targets:
            if t.endpoint == "grade34_vascular_leak":
                leak_rate = t.value
                peaks.append(ok_all[ok_all.arm == t.arm].vascular_leak_index_max)
    if peaks and leak_rate is not None:
        pooled = pd.concat(peaks)
        sd = immune_parameters()[SUSCEPTIBILITY_SD].value
        thr = calibrate_grade34_threshold(pooled, leak_rate, sd)
        print(
            f"vascular_leak_grade34_threshold: {thr:.3g}  ({len(pooled)} patients, peak daily "
            f"mean median {pooled.median():.3g}, range {pooled.min():.3g}-{pooled.max():.3g}; "
            f"sd {sd:g})"
        )
