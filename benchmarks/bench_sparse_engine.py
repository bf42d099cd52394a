"""The two engines side by side on the trial models (issue 20): libRoadRunner (CVODE, dense LU,
finite-difference Jacobian) and il2sim's sparse engine (CVODES with sparse LU and the exact
Jacobian through CasADi, :class:`il2sim.simulate.SparseSimulator`), on the same shipped
melanoma patients, one process.

Each patient is solved as the trial's first solve is: the run-in, then ``--days`` of treatment
with daily outputs (tumour, toxicity integrals, doses given), at the trial's tolerances (with
its fallbacks). Per arm and engine it prints the build time, the median and mean time per
patient, the projected time for 10,000 patients on 2 cores (mean x 10,000 / 2), and the error
of the tumour at the end against a tight libRoadRunner solve (rtol 1e-8).

Run: `.venv/bin/python benchmarks/bench_sparse_engine.py [--arms A,B] [--patients N]
[--days D]`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from il2sim import catalog
from il2sim.cohort import build_arm
from il2sim.cohort._run import MAX_STEPS, TOLERANCES, patient_values
from il2sim.simulate import Simulator, SparseSimulator


def main(arms: list[str], n: int, days: float) -> None:
    spec = catalog.get_cohort("melanoma")
    population, _ = catalog.virtual_population("melanoma")
    varied = [v.parameter for v in spec.variability]
    print(f"melanoma, {n} shipped patients, run-in + {days:g} days (daily outputs), one process\n")
    print(
        "| arm | engine | species | build (s) | per patient, median / mean (ms) | "
        "10,000 on 2 cores (min) | tumour at end vs tight solve (median / max rel. error) |"
    )
    print("|---|---|---:|---:|---:|---:|---|")
    for arm_name in arms:
        arm = build_arm(spec, arm_name)
        sel = [
            arm.tumour,
            *arm.toxicity.values(),
            *([arm.dose_counter] if arm.dose_counter else []),
        ]
        patients = [patient_values(arm, r, varied) for r in population.head(n).to_dict("records")]
        times = np.concatenate([[0.0], arm.run_in_h + 24.0 * np.arange(0, days + 1)])
        tight = Simulator(arm.sbml, rtol=1e-8, atol=1e-12, max_steps=500_000)
        ref = np.array([tight.run(times, sel[:1], v).values[-1, 0] for v in patients])
        for engine, kind in (
            ("libRoadRunner", Simulator),
            ("sparse (CasADi CVODES)", SparseSimulator),
        ):
            t0 = time.perf_counter()
            sim = kind(arm.sbml, rtol=TOLERANCES[0][0], atol=TOLERANCES[0][1], max_steps=MAX_STEPS)
            sim.run_tolerant(times[:3], sel, patients[0], TOLERANCES)  # first call: set-up
            build = time.perf_counter() - t0
            walls, ends = [], []
            for v in patients:
                t0 = time.perf_counter()
                ends.append(sim.run_tolerant(times, sel, v, TOLERANCES).values[-1, 0])
                walls.append(time.perf_counter() - t0)
            err = np.abs(np.array(ends) / ref - 1.0)
            states = len(sim.species_ids)
            print(
                f"| {arm_name} | {engine} | {states} | {build:.1f} | "
                f"{1000 * np.median(walls):.0f} / {1000 * np.mean(walls):.0f} | "
                f"{np.mean(walls) * 10_000 / 2 / 60:.1f} | "
                f"{np.median(err):.1e} / {err.max():.1e} |",
                flush=True,
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arms", default="nivolumab,hd_aldesleukin,pd1_il2v,bempeg_nivolumab")
    ap.add_argument("--patients", type=int, default=20)
    ap.add_argument("--days", type=float, default=90.0)
    a = ap.parse_args()
    main(a.arms.split(","), a.patients, a.days)
