"""Does solving patients together pay on a CPU? (issue 20: "batched solving across patients
where it pays"). The patients of a chunk share their dose times, so B of them can be one
system of B x n states with a block-diagonal Jacobian, solved by one CVODES call per interval
instead of B. This script measures that against the sparse engine's one-patient-at-a-time
solve (:class:`il2sim.simulate.SparseSimulator`), on the same shipped melanoma patients, one
process.

The batched solve is the sparse engine's own translation and events, with two simplifications
that make it a measurement, not an engine: state events (a pool dying out, endogenous IL-2
gone) fire at the daily outputs instead of being located inside the day, and every patient
must have the same dose times (true of the trial arms). CVODES' error test takes one norm over
all B x n states (a weighted root mean square), which dilutes one patient's error by sqrt(B):
the script solves at the trial's tolerances and at tolerances divided by sqrt(B), and reports
how far each is from the one-at-a-time solve (the tumour at the end of the run). Each
patient's block keeps the engine's fill-reducing order of the states, so the batch's sparse LU
fills B times one patient's. A batch in which one patient's solve stalls stalls whole: it is
counted, with its time.

Run: `.venv/bin/python benchmarks/bench_batched.py [--arm A] [--patients N] [--batch 8,16]
[--days D]` (the defaults are the README's run: 16 patients, 30 days, ~1 min).
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import numpy as np

from il2sim import catalog
from il2sim.cohort import build_arm
from il2sim.cohort._run import TOLERANCES, patient_values
from il2sim.simulate import SparseSimulator
from il2sim.simulate._sbml_casadi import casadi


def batched_integrator(sim: SparseSimulator, b: int, n: int, rtol: float, atol: float) -> Any:
    """One CVODES integrator for ``b`` patients over one interval with ``n`` equal outputs
    (the sparse engine's own scaled time, t = t0 + h * tau, and order of the states)."""
    ca = casadi()
    m, one = sim.model, sim._scaled
    nx, n_p = m.x.numel(), m.p.numel()
    f = ca.Function("f", [one["t"], one["x"], one["p"]], [one["ode"]])
    x, p = ca.SX.sym("X", nx * b), ca.SX.sym("P", n_p * b)
    t0, h, tau = ca.SX.sym("t0"), ca.SX.sym("h"), ca.SX.sym("tau")
    rhs = ca.vertcat(
        *[
            f(tau, x[i * nx : (i + 1) * nx], ca.vertcat(p[i * n_p : (i + 1) * n_p], t0, h))
            for i in range(b)
        ]
    )
    dae = {"x": x, "p": ca.vertcat(p, t0, h), "t": tau, "ode": rhs}
    opts = {
        "abstol": atol,
        "reltol": rtol,
        "linear_solver": "csparse",
        "newton_scheme": "direct",
        "max_num_steps": 5_000,  # per output; one patient alone needs ~100 between doses
        "disable_internal_warnings": True,
    }
    return ca.integrator(f"batch{b}_{n}", "cvodes", dae, 0.0, [(k + 1) / n for k in range(n)], opts)


def start_batch(
    sim: SparseSimulator, arm: Any, patients: list[dict], days: float
) -> tuple[list, list[float]]:
    """The patients' runs at time 0 and the times that split their common solve (the doses
    before the end of run-in + ``days``, and that end)."""
    runs = [sim._start(0.0, v) for v in patients]
    doses = [[t for t, _ in r.doses] for r in runs]
    if any(d != doses[0] for d in doses):
        raise SystemExit("the patients' dose times differ: not one batch")
    end = arm.run_in_h + 24.0 * days
    return runs, sorted({0.0, end, *[t for t in doses[0] if t < end]})


def give_doses(sim: SparseSimulator, runs: list, t: float) -> None:
    """The doses due at ``t``, in the sparse engine's order: flags, doses, flags."""
    for r in runs:
        sim._fire_state_events(r)
        sim._fire_doses(r, t)
        sim._fire_state_events(r)


def tumour_at_end(sim: SparseSimulator, arm: Any, runs: list) -> np.ndarray:
    """Each run's tumour (cells) where it stands."""
    read = (arm.tumour,)
    return np.array([sim._read(read, np.array([r.t]), r.x[:, None], r.p)[0, 0] for r in runs])


def solve_batch(
    sim: SparseSimulator, arm: Any, patients: list[dict], days: float, rtol: float, atol: float
):
    """The tumour at the end of run-in + ``days`` for ``patients`` on ``arm`` solved as one
    system (None if the batch stalled), and the wall time."""
    runs, cuts = start_batch(sim, arm, patients, days)
    integrators = _INTEGRATORS.setdefault((len(runs), rtol, atol), {})
    t0 = time.perf_counter()
    for a, z in itertools.pairwise(cuts):
        # daily outputs inside the interval, at most 64 per call, events checked at each
        edges = np.unique(np.r_[a, np.arange(np.ceil(a / 24.0) * 24.0, z, 24.0), z])
        edges = edges[edges >= a]
        i = 0
        while i < edges.size - 1:
            k = min(64, edges.size - 1 - i)
            seg = edges[i : i + k + 1]
            n = k if np.allclose(np.diff(seg), seg[1] - seg[0]) else 1
            if n == 1:
                k, seg = 1, edges[i : i + 2]
            key = (n, len(runs))
            if key not in integrators:
                integrators[key] = batched_integrator(sim, len(runs), n, rtol, atol)
            order = sim._order
            x = np.concatenate([r.x[order] for r in runs])
            p = np.concatenate([np.concatenate([r.p for r in runs]), [seg[0], seg[-1] - seg[0]]])
            try:
                cols = np.asarray(integrators[key](x0=x, p=p)["xf"], dtype=float)
            except RuntimeError:  # one patient's stalled solve stalls the batch
                return None, time.perf_counter() - t0
            nx = runs[0].x.size
            for j, r in enumerate(runs):
                for c in range(cols.shape[1]):  # state events at each output, in order
                    r.x, r.t = np.empty(nx), float(seg[1 + c])
                    r.x[order] = cols[j * nx : (j + 1) * nx, c]
                    sim._fire_state_events(r)
            i += k
        give_doses(sim, runs, z)
    wall = time.perf_counter() - t0
    return tumour_at_end(sim, arm, runs), wall


def one_at_a_time(arm_name: str, n: int, days: float):
    """The arm, the sparse engine at the trial tolerances, the first ``n`` shipped melanoma
    patients' values, their tumours at the end of run-in + ``days`` solved one at a time, and
    the time per patient (s)."""
    spec = catalog.get_cohort("melanoma")
    population, _ = catalog.virtual_population("melanoma")
    varied = [v.parameter for v in spec.variability]
    arm = build_arm(spec, arm_name)
    sim = SparseSimulator(arm.sbml, rtol=TOLERANCES[0][0], atol=TOLERANCES[0][1], fallback=False)
    records = population.head(n).to_dict("records")
    patients = [patient_values(arm, r, varied) for r in records]
    times = np.concatenate([[0.0], arm.run_in_h + 24.0 * np.arange(0, days + 1)])
    sim.run(times[:3], [arm.tumour], patients[0])  # set-up
    t0 = time.perf_counter()
    single = np.array([sim.run(times, [arm.tumour], v).values[-1, 0] for v in patients])
    return arm, sim, patients, single, (time.perf_counter() - t0) / n


def main(arm_name: str, n: int, batches: list[int], days: float) -> None:
    arm, sim, patients, single, one = one_at_a_time(arm_name, n, days)
    rtol, atol = TOLERANCES[0]
    print(f"melanoma {arm_name}, {n} shipped patients, run-in + {days:g} days, one process\n")
    print(
        "| solve | tolerances | build + first batch (s) | per patient (ms) | vs one at a time "
        "| tumour at end: max rel. diff |"
    )
    print("|---|---|---:|---:|---:|---:|")
    print(
        f"| one at a time (sparse engine) | {rtol:g} / {atol:g} | - | {1000 * one:.0f} | 1.0x | - |"
    )
    for b in batches:
        for scaled in (False, True):
            s = np.sqrt(b) if scaled else 1.0
            ends, wall = [], 0.0
            t0 = time.perf_counter()
            solve_batch(sim, arm, patients[:b], days, rtol / s, atol / s)  # builds the integrators
            build = time.perf_counter() - t0
            failed = 0
            for i in range(0, n - n % b, b):
                e, w = solve_batch(sim, arm, patients[i : i + b], days, rtol / s, atol / s)
                if e is None:
                    failed += 1
                    e = np.full(b, np.nan)
                ends.append(e)
                wall += w
            per = wall / (n - n % b)
            diff = np.nanmax(np.abs(np.concatenate(ends) / single[: n - n % b] - 1.0))
            print(
                f"| batches of {b} | {rtol / s:.2g} / {atol / s:.2g} | {build:.1f} | "
                f"{1000 * per:.0f} | {one / per:.2f}x | {diff:.1e} |"
                + (f" ({failed} batch(es) stalled: CVODES gave up)" if failed else ""),
                flush=True,
            )


#: Batched integrators built once per (batch size, tolerances) and grid size.
_INTEGRATORS: dict[tuple[int, float, float], dict[Any, Any]] = {}

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arm", default="hd_aldesleukin")
    ap.add_argument("--patients", type=int, default=16)
    ap.add_argument("--batch", default="8,16")
    ap.add_argument("--days", type=float, default=30.0)  # over 90 days the batches stall
    a = ap.parse_args()
    main(a.arm, a.patients, [int(b) for b in a.batch.split(",")], a.days)
