"""Solve a cohort's arms with both engines (libRoadRunner, and CVODES with sparse QR through
CasADi) on the same shipped virtual patients and compare what a trial reads: best overall
response, progression-free survival, best SLD change, doses given; and each engine's wall
time per arm. Prints a markdown table; the README quotes it (issue 20's done-when).

Usage: .venv/bin/python scripts/compare_engines.py melanoma --workers 2 [--arms A,B] [--n 100]
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
    ap.add_argument("--arms", default=None, help="comma-separated (default: every arm)")
    ap.add_argument("--n", type=int, default=None, help="patients (default: the whole vpop)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("calibration_runs/compare_engines"))
    a = ap.parse_args()
    spec = catalog.get_cohort(a.cohort)
    arms = a.arms.split(",") if a.arms else [arm.name for arm in spec.arms]
    engines = ("roadrunner", "sparse")
    print(f"{a.cohort}, shipped virtual patients, {a.workers} workers\n")
    print(
        "| arm | patients | same response | same PFS | best change: max gap (pp) | "
        "gaps > 0.5 pp | libRoadRunner (s) | sparse (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for arm in arms:
        out, wall = {}, {}
        for engine in engines:
            t0 = time.perf_counter()
            res = run_cohort(
                spec,
                [arm],
                n=a.n,
                population="vpop",
                workers=a.workers,
                out_dir=a.out / engine,
                engine=engine,
            )
            wall[engine] = time.perf_counter() - t0
            out[engine] = res.outcomes.set_index("patient")
        rr, sp = out["roadrunner"], out["sparse"]
        ok = (rr.status == "ok") & (sp.status == "ok")
        gap = (rr.best_change_pct - sp.best_change_pct).abs()[ok]
        failed = {e: int((out[e].status == "failed").sum()) for e in engines}
        note = f" (failed: {failed})" if any(failed.values()) else ""
        print(
            f"| {arm}{note} | {int(ok.sum())} | {100 * (rr.bor[ok] == sp.bor[ok]).mean():.1f}% | "
            f"{100 * np.isclose(rr.pfs_days[ok], sp.pfs_days[ok]).mean():.1f}% | "
            f"{gap.max():.2f} | {int((gap > 0.5).sum())} | {wall['roadrunner']:.0f} | "
            f"{wall['sparse']:.0f} |",
            flush=True,
        )
