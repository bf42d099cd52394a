"""Calibrate the grade 3-4 treatment-related adverse event hazard of PD-1 blockade on
the shipped melanoma virtual population (training row T6, nivolumab; the CTLA-4 hazard is an
assumption: no training row gives it).

Usage: .venv/bin/python scripts/calibrate_trae_hazards.py [--workers 2]
Prints each hazard (per day) to write into catalog/data/immunity/parameters.yaml. The
hazards do not change the tumour model: rerun after a new virtual population is selected.
"""

import argparse

from il2sim.catalog import SAFETY_ENDPOINTS, get_cohort
from il2sim.cohort import run_cohort
from il2sim.cohort._trae import calibrate_hazards

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cohort", default="melanoma")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    spec = get_cohort(a.cohort)
    targets = [t for t in spec.targets if t.endpoint in SAFETY_ENDPOINTS]
    arms = list(dict.fromkeys(t.arm for t in targets))
    res = run_cohort(spec, arms, population="vpop", workers=a.workers)
    for name, value in calibrate_hazards(res.outcomes, targets).items():
        print(f"{name}: {value:.3g}")
    for arm in arms:
        ok = res.outcomes[(res.outcomes.arm == arm) & (res.outcomes.status == "ok")]
        cols = [c for c in ok.columns if c.startswith("exposure_") and ok[c].notna().any()]
        for c in cols:
            print(f"{arm} {c}: median {ok[c].median():.0f}, mean {ok[c].mean():.0f}")
