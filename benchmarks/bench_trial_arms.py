"""Per-patient cost of every arm of a cohort over its whole follow-up: the shipped virtual
population, each patient once, one worker (in this process, after the arm's model is built
and compiled), and the cohort's 10,000-patient nivolumab run drawn from its distributions on
the given workers (screening included, as `il2sim cohort` runs it). Prints markdown tables;
the README quotes them.

Run: `.venv/bin/python benchmarks/bench_trial_arms.py [COHORT] [N_LARGE] [WORKERS] [ARMS]
[N_PER_ARM]` (ARMS: comma-separated arms for the per-arm table, default every arm; `none` skips
it; N_PER_ARM: only the population's first N patients, for the slow arms).
"""

from __future__ import annotations

import os
import sys
import time

from il2sim import catalog
from il2sim.cohort import build_arm, draw_patients, run_cohort
from il2sim.cohort._run import simulate_chunk


def main(
    cohort: str,
    n_large: int,
    workers: int,
    arms: list[str] | None = None,
    n_per_arm: int | None = None,
) -> None:
    spec = catalog.get_cohort(cohort)
    print(
        f"machine: {os.cpu_count()} CPUs; cohort {cohort}, {spec.duration_days:g} days of "
        "follow-up (stopped at progression)\n"
    )
    print("| arm | patients | states | wall (s) | ms per patient | median days followed |")
    print("|---|---:|---:|---:|---:|---:|")
    for a in spec.arms:
        if arms is not None and a.name not in arms:
            continue
        arm = build_arm(spec, a.name)
        patients = draw_patients(spec, None, defaults=arm.defaults).iloc[:n_per_arm]
        varied = [c for c in patients.columns if c not in ("patient", "weight_kg", "vp")]
        simulate_chunk(arm, patients.iloc[:1], varied, spec)  # compile
        t0 = time.perf_counter()
        out, _ = simulate_chunk(arm, patients, varied, spec)
        wall = time.perf_counter() - t0
        states = arm.sbml.count("<species ")
        followed = out.followed_days.median() if "followed_days" in out else float("nan")
        print(
            f"| {a.name} | {len(patients)} | {states} | {wall:.1f} | "
            f"{1000 * wall / len(patients):.0f} | {followed:.0f} |",
            flush=True,
        )
    if n_large:
        t0 = time.perf_counter()
        res = run_cohort(spec, ["nivolumab"], n=n_large, population="distribution", workers=workers)
        status = res.outcomes.status.value_counts().to_dict()
        print(
            f"\n{n_large} patients on nivolumab from the distributions, {workers} workers: "
            f"{time.perf_counter() - t0:.1f} s ({status})"
        )


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "melanoma",
        int(sys.argv[2]) if len(sys.argv) > 2 else 10_000,
        int(sys.argv[3]) if len(sys.argv) > 3 else 2,
        sys.argv[4].split(",") if len(sys.argv) > 4 else None,
        int(sys.argv[5]) if len(sys.argv) > 5 else None,
    )
