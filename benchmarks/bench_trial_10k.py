"""Issue 20's goal, measured as a user runs it: ``--n`` patients (default 10,000) drawn from
the shipped melanoma virtual population (each of the 400 about 25 times) through
:func:`il2sim.cohort.run_cohort` on ``--workers`` processes, ``--days`` of treatment after the
60-day run-in (default 90), per arm and engine: wall time with Dask start-up and the build of
each worker's model, screening and scan-by-scan follow-up, as ``il2sim trial`` does.

Prints a markdown table (the README quotes it). Every patient is solved, none read from disk.

Run: `.venv/bin/python benchmarks/bench_trial_10k.py [--arms A,B] [--engines E,F] [--n N]
[--days D] [--workers W]` (bempegaldesleukin + nivolumab and high-dose aldesleukin with the
sparse engine: ~25 min on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import time

from il2sim import catalog
from il2sim.cohort import run_cohort


def main(arms: list[str], engines: list[str], n: int, days: float, workers: int) -> None:
    spec = catalog.get_cohort("melanoma")
    spec = spec.model_copy(update={"duration_days": days})
    print(
        f"melanoma, {n:,} patients from the shipped virtual population, run-in + {days:g} days, "
        f"{workers} workers ({os.cpu_count()} CPUs)\n"
    )
    print("| arm | engine | patients | treated | failed | wall (min) | patients/s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for arm in arms:
        for engine in engines:
            t0 = time.perf_counter()
            res = run_cohort(
                spec, [arm], n=n, population="vpop", workers=workers, engine=engine, chunk_size=50
            )
            wall = time.perf_counter() - t0
            status = res.outcomes.status
            print(
                f"| {arm} | {engine} | {n:,} | {int((status == 'ok').sum()):,} | "
                f"{int((status == 'failed').sum())} | {wall / 60:.1f} | {n / wall:.1f} |",
                flush=True,
            )


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arms", default="bempeg_nivolumab,hd_aldesleukin")
    ap.add_argument("--engines", default="sparse")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--days", type=float, default=90.0)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    main(a.arms.split(","), a.engines.split(","), a.n, a.days, a.workers)
