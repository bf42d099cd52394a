"""Select and ship a cohort's virtual population (Allen et al. 2016).

Usage: .venv/bin/python scripts/select_virtual_population.py melanoma --n-plausible 1500 \
    --n-enrich 600 --rounds 2 --workers 2
Writes src/il2sim/catalog/data/cohorts/<cohort>.vpop.csv and .vpop.json; chunks are kept in
--out (default calibration_runs/<cohort>) so an interrupted run resumes.
"""

import argparse
import json
import time
from pathlib import Path

from il2sim.cohort._select import calibrate_and_save

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort")
    ap.add_argument("--n-plausible", type=int, default=1000)
    ap.add_argument("--n-enrich", type=int, default=0, help="patients added per round")
    ap.add_argument("--rounds", type=int, default=0, help="enrichment rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path("calibration_runs") / a.cohort

    def progress(done: int, total: int) -> None:
        print(done, total, time.strftime("%H:%M:%S"), flush=True)

    sel, record = calibrate_and_save(
        a.cohort,
        n_plausible=a.n_plausible,
        n_enrich=a.n_enrich,
        rounds=a.rounds,
        seed=a.seed,
        workers=a.workers,
        out_dir=out,
        progress=progress,
    )
    print(json.dumps(record, indent=1))
