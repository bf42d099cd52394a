"""Check a cohort's trial model (endogenous IL-2 bound in the tumour only) against the full
therapy model on the same virtual patients and every arm: response rates, per-patient best
change, toxicity maxima and wall time. Prints a markdown table; the README quotes it.

Usage: .venv/bin/python scripts/compare_trial_model.py melanoma --workers 2 [--n 119]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from il2sim import catalog
from il2sim.cohort import run_cohort

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort")
    ap.add_argument("--n", type=int, default=None, help="patients (default: the whole vpop)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("calibration_runs/compare_trial_model"))
    a = ap.parse_args()
    spec = catalog.get_cohort(a.cohort)
    arms = [arm.name for arm in spec.arms]
    modes = ("tumour", "everywhere")  # the trial model, then the full model
    runs, walls = {}, {}
    for mode in modes:
        s = spec.model_copy(update={"endogenous_il2_binding": mode})
        t0 = time.perf_counter()
        runs[mode] = run_cohort(
            s, arms, n=a.n, population="vpop", workers=a.workers, out_dir=a.out / mode
        )
        walls[mode] = time.perf_counter() - t0
    trial, full = (runs[m].outcomes.set_index(["arm", "patient"]) for m in modes)
    print(
        f"{a.cohort}: {len(runs['tumour'].patients)} virtual patients; wall time trial model "
        f"{walls['tumour']:.0f} s, full model {walls['everywhere']:.0f} s ({a.workers} workers)\n"
    )
    print(
        "| arm | ORR % trial / full | CR % trial / full | same BOR | max abs change in best "
        "change (pp) | max abs change in toxicity maxima (% of the severe threshold) |"
    )
    print("|---|---|---|---:|---:|---:|")
    sums = {m: runs[m].summary()["arms"] for m in runs}
    P = catalog.immune_parameters()
    tox = {
        c: P[c.removesuffix("_max").replace("_index", "_threshold")].value
        for c in full.columns
        if c.endswith("_index_max")
    }
    for arm in arms:
        t, f = trial.loc[arm], full.loc[arm]
        ok = (f.status == "ok") & (t.status == "ok")
        t, f = t[ok], f[ok]
        worst = max(float(np.max(np.abs(t[c] - f[c]))) / thr for c, thr in tox.items())
        rates = [
            " / ".join(f"{100 * sums[m][arm][e]['value']:.1f}" for m in modes)
            for e in ("ORR", "CR")
        ]
        print(
            f"| {arm} | {rates[0]} | {rates[1]} | {int((t.bor == f.bor).sum())}/{len(f)} | "
            f"{float(np.max(np.abs(t.best_change_pct - f.best_change_pct))):.3f} | "
            f"{worst:.3%} |"
        )
