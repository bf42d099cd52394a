"""Cohort-layer speed: virtual patients of the melanoma cohort (nivolumab, ``--days`` of
treatment after the 60-day run-in; default the cohort's own 24-month follow-up) through (1)
il2sim's cohort runner (one pruned compiled model per Dask worker, chunks, trial screening),
(2) the best plain use of libRoadRunner on the full exported model (one compiled model, one
process, set values + simulate per patient), at libRoadRunner's default tolerances and at
il2sim's cohort tolerances, and the same loop on il2sim's smaller trial model (to separate
what the model reduction brings from what the runner adds), and (3) a per-patient scipy
solve_ivp (LSODA) loop on the full model's equations. Prints a markdown table; the README
quotes it.

Run: `.venv/bin/python benchmarks/bench_cohort.py [--patients N] [--scipy N] [--workers 2,1]
[--days D] [--plain N]` (part of `make bench`; ``--plain`` limits the plain loops, which take
~1 s a patient on the full model over 24 months, to the first N patients).
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import roadrunner

from il2sim import catalog
from il2sim.cohort import build_arm, run_cohort, sample_patients
from il2sim.cohort._run import TOLERANCES, patient_values
from il2sim.model import build_arm_model, to_sbml
from il2sim.simulate import ReferenceSimulator


def main(
    n: int,
    n_scipy: int,
    worker_counts: tuple[int, ...] = (2, 1),
    days: float | None = None,
    n_plain: int | None = None,
) -> None:
    spec = catalog.get_cohort("melanoma")
    days = days or spec.duration_days
    spec = spec.model_copy(update={"duration_days": days})
    arm = build_arm(spec, "nivolumab")
    patients = sample_patients(spec, n, seed=1, defaults=arm.defaults)
    varied = [v.parameter for v in spec.variability]
    print(f"machine: {os.cpu_count()} CPUs; {n} patients x {days:g} days (nivolumab)\n")
    print("| engine | patients | wall (s) | patients/s | peak memory (MB) |")
    print("|---|---:|---:|---:|---:|")

    def row(name: str, k: int, wall: float) -> None:
        peak = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        print(f"| {name} | {k} | {wall:.1f} | {k / wall:.2f} | {peak / 1024:.0f} |", flush=True)

    for workers in worker_counts:
        t0 = time.perf_counter()
        res = run_cohort(spec, ["nivolumab"], patients=patients, workers=workers, chunk_size=50)
        status = res.outcomes.status.value_counts().to_dict()
        row(
            f"il2sim run_cohort, {workers} worker(s) (incl. start-up, compile; {status})",
            n,
            time.perf_counter() - t0,
        )

    # per process and per treated patient: every patient with a tumour treated, as the plain
    # loops below treat every patient
    n_all = min(n, 2000)
    t0 = time.perf_counter()
    res = run_cohort(spec, ["nivolumab"], patients=patients.iloc[:n_all], workers=1, screen=False)
    status = res.outcomes.status.value_counts().to_dict()
    row(f"il2sim, 1 worker, no screening ({status})", n_all, time.perf_counter() - t0)

    # the best plain libRoadRunner loop on the full exported model: compile once, set values,
    # simulate only the weekly tumour sizes
    setting = catalog.Setting(
        name=spec.name, body=spec.body, disease=spec.disease, arms=[spec.arm("nivolumab")]
    )
    model, _ = build_arm_model(
        setting, spec.arm("nivolumab"), duration_days=days, run_in_days=spec.run_in_days
    )
    t_out = np.concatenate([[0.0], arm.run_in_h + np.arange(0, days + 1, 7) * 24.0])
    plain = patients.iloc[: n_plain or n]
    full_sbml = to_sbml(model.network)
    loops = [
        ("full exported model", full_sbml, (1e-6, 1e-12)),
        ("full exported model", full_sbml, TOLERANCES[0]),
        ("il2sim's trial model", arm.sbml, TOLERANCES[0]),
    ]
    for what, sbml, (rtol, atol) in loops:
        rr = roadrunner.RoadRunner(sbml)
        rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = rtol, atol
        name = f"plain libRoadRunner loop, {what} ({rr.model.getNumFloatingSpecies()} states)"
        t0 = time.perf_counter()
        failed = 0
        for i, (_, p) in enumerate(plain.iterrows()):
            if i == n_all and n_all < len(plain):  # the patients il2sim treated without screening
                row(
                    f"{name}, rtol {rtol:g}, first {n_all} ({failed} failed)",
                    n_all,
                    time.perf_counter() - t0,
                )
            rr.resetAll()
            for k, v in patient_values(arm, p, varied).items():
                rr[k] = v
            rr.reset()
            try:
                rr.simulate(times=t_out, selections=["time", arm.tumour])
            except RuntimeError:
                failed += 1
        row(f"{name}, rtol {rtol:g} ({failed} failed)", len(plain), time.perf_counter() - t0)

    # scipy LSODA on the same network (time-triggered events only: the state-triggered
    # events, tumour eradicated and endogenous IL-2 gone, are left out, which changes nothing
    # before a tumour is gone)
    net = model.network
    for eid in [e for e, ev in net.events.items() if not ev.trigger.startswith("time >=")]:
        del net.events[eid]
    ref = ReferenceSimulator(net, method="LSODA", rtol=1e-6, atol=1e-12)
    t0 = time.perf_counter()
    for _, p in patients.iloc[:n_scipy].iterrows():
        ref.run(t_out, [arm.tumour], {k: float(p[k]) for k in varied})
    row("scipy solve_ivp LSODA loop, 1 process", n_scipy, time.perf_counter() - t0)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=200)
    ap.add_argument("--scipy", type=int, default=3, help="patients for the scipy loop")
    ap.add_argument("--workers", default="2,1", help="il2sim worker counts, comma-separated")
    ap.add_argument("--days", type=float, default=None, help="follow-up (default: cohort's)")
    ap.add_argument("--plain", type=int, default=None, help="patients for the plain loops")
    a = ap.parse_args()
    main(
        a.patients,
        a.scipy,
        tuple(int(w) for w in a.workers.split(",")),
        a.days,
        a.plain,
    )
