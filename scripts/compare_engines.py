"""Solve a cohort's arms with both engines (libRoadRunner, and CVODES with sparse LU through
CasADi) on the same shipped virtual patients and compare what a trial reads: best overall
response, progression-free survival, best SLD change, doses given; and each engine's wall
time per arm. Prints a markdown table; the README quotes it (issue 20's done-when).

With ``--tight N`` it also solves the first N of those patients on each arm with libRoadRunner at
rtol 1e-8 (atol 1e-12; one process) and says which engine's best change is nearer that.

Usage: .venv/bin/python scripts/compare_engines.py melanoma --workers 2 [--arms A,B] [--n 100]
[--tight 60]
"""

import argparse
import time
from pathlib import Path

import numpy as np

from il2sim import catalog
from il2sim.cohort import _run, run_cohort


def tight_outcomes(spec, arm: str, patients, out: Path):
    """``patients`` on ``arm`` solved by libRoadRunner at rtol 1e-8, in this process (the
    trial tolerances are a module constant, swapped for this run only)."""
    saved = _run.TOLERANCES
    _run.TOLERANCES = ((1e-8, 1e-12), (1e-7, 1e-12), (1e-6, 1e-10))
    _run._SIMULATORS.clear()
    try:
        res = run_cohort(spec, [arm], patients=patients, workers=1, out_dir=out)
    finally:
        _run.TOLERANCES = saved
        _run._SIMULATORS.clear()
    return res.outcomes.set_index("patient")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("cohort")
    ap.add_argument("--arms", default=None, help="comma-separated (default: every arm)")
    ap.add_argument("--n", type=int, default=None, help="patients (default: the whole vpop)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("calibration_runs/compare_engines"))
    ap.add_argument("--tight", type=int, default=0, help="patients also solved at rtol 1e-8")
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
    nearer = []
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
            patients = res.patients
        rr, sp = out["roadrunner"], out["sparse"]
        ok = (rr.status == "ok") & (sp.status == "ok")
        gap = (rr.best_change_pct - sp.best_change_pct).abs()[ok]
        failed = {e: int((out[e].status == "failed").sum()) for e in engines}
        # patients an engine handed to the other (it failed them at every tolerance)
        handed = {e: int((out[e].solved_by.fillna(e) != e).sum()) for e in engines}
        note = f" (failed: {failed})" if any(failed.values()) else ""
        note += f" (solved by the other engine: {handed})" if any(handed.values()) else ""
        print(
            f"| {arm}{note} | {int(ok.sum())} | {100 * (rr.bor[ok] == sp.bor[ok]).mean():.1f}% | "
            f"{100 * np.isclose(rr.pfs_days[ok], sp.pfs_days[ok]).mean():.1f}% | "
            f"{gap.max():.2f} | {int((gap > 0.5).sum())} | {wall['roadrunner']:.0f} | "
            f"{wall['sparse']:.0f} |",
            flush=True,
        )
        if a.tight:
            ref = tight_outcomes(spec, arm, patients.head(a.tight), a.out / "tight")
            row = [arm, str(len(ref))]
            for e in engines:
                o = out[e].loc[ref.index]
                ok = (o.status == "ok") & (ref.status == "ok")
                gap = (o.best_change_pct - ref.best_change_pct).abs()[ok]
                same = 100 * (o.bor[ok] == ref.bor[ok]).mean()
                row += [f"{same:.1f}%", f"{gap.median():.3f} / {gap.max():.2f}"]
            nearer.append(row)
    if nearer:
        print(f"\nAgainst libRoadRunner at rtol 1e-8 (the first {a.tight} patients of each arm):\n")
        print(
            "| arm | patients | libRoadRunner: same response | libRoadRunner: best change gap, "
            "median / max (pp) | sparse: same response | sparse: best change gap (pp) |"
        )
        print("|---|---:|---:|---:|---:|---:|")
        for row in nearer:
            print("| " + " | ".join(row) + " |")
