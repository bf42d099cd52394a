"""Body-model speed: build + compile time per scenario, and 90-day simulations per second
through one compiled libRoadRunner model (1 and 2 processes) against (a) scipy solve_ivp
(LSODA and BDF) on the same equations and (b) a plain libRoadRunner loop that reloads the
SBML for every parameter set.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_body.py [--sets 1000]`).
Prints markdown tables; the README quotes them.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import roadrunner

from il2sim.model import build_body_model, build_scenario_model, to_sbml
from il2sim.simulate import ReferenceSimulator, Simulator

DRUG, REGIMEN, DAYS = "il2v", "1 mg/kg q3w", 90
T = np.linspace(0, DAYS * 24.0, DAYS + 1)  # daily output


def _parameter_sets(model, n: int) -> tuple[list[str], np.ndarray]:
    """Log-normal variability (CV ~30%) on clearance and every population's cell count."""
    net = model.network
    names = [p for p in net.parameters if p.startswith(("CL_", "N_"))]
    base = np.array([net.parameters[p].value for p in names])
    rng = np.random.default_rng(1)
    return names, base * np.exp(rng.normal(0, 0.3, size=(n, len(names))))


def _worker(args):
    sbml, sel, names, values = args
    sim = Simulator(sbml)
    out, _ = sim.run_batch(T, sel, names, values, on_error="record")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sets", type=int, default=1000)
    ap.add_argument("--baseline-sets", type=int, default=10)
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs\n")

    print("| scenario | species | reactions | build (s) | SBML export (s) | compile (s) |")
    print("|---|---|---|---|---|---|")
    for sc in ("hd_aldesleukin", "pd1_il2v_alone", "il2v_atezolizumab", "bempeg_nivolumab"):
        t0 = time.perf_counter()
        m = build_scenario_model(sc)
        t1 = time.perf_counter()
        text = to_sbml(m.network)
        t2 = time.perf_counter()
        Simulator(text)
        t3 = time.perf_counter()
        print(
            f"| {sc} | {len(m.network.species)} | {len(m.network.reactions)} | "
            f"{t1 - t0:.2f} | {t2 - t1:.2f} | {t3 - t2:.2f} |"
        )

    model = build_body_model(DRUG, REGIMEN, horizon_h=DAYS * 24.0)
    sel = [model.plasma_ng_per_mL[DRUG], *model.pstat5.values()]
    names, values = _parameter_sets(model, args.sets)
    text = to_sbml(model.network)
    rows = []

    sim = Simulator(text)
    t0 = time.perf_counter()
    out, failures = sim.run_batch(T, sel, names, values, on_error="record")
    dt = time.perf_counter() - t0
    rows.append(("il2sim: one compiled model, 1 process", args.sets, dt, len(failures)))

    chunks = np.array_split(values, 2)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        parts = list(pool.map(_worker, [(text, sel, names, c) for c in chunks]))
    dt = time.perf_counter() - t0
    assert np.allclose(np.concatenate(parts), out, equal_nan=True)
    rows.append(("il2sim: one compiled model per worker, 2 processes", args.sets, dt, 0))

    nb = args.baseline_sets
    t0 = time.perf_counter()
    for row in values[:nb]:
        rr = roadrunner.RoadRunner(text)
        rr.integrator.relative_tolerance, rr.integrator.absolute_tolerance = 1e-8, 1e-14
        for k, v in zip(names, row, strict=True):
            rr[k] = v
        rr.reset()
        rr.simulate(times=T, selections=["time", *sel])
    rows.append(("(b) plain libRoadRunner, reload SBML per set", nb, time.perf_counter() - t0, 0))

    ref_species = [f"L_{DRUG}_central"]
    for method in ("LSODA", "BDF"):
        ref = ReferenceSimulator(model.network, method=method)
        t0 = time.perf_counter()
        for row in values[: max(2, nb // 2)]:
            ref.run(T, ref_species, dict(zip(names, row, strict=True)))
        rows.append(
            (
                f"(a) scipy solve_ivp {method}, same equations",
                max(2, nb // 2),
                time.perf_counter() - t0,
                0,
            )
        )

    print(
        f"\n{DRUG} {REGIMEN} for {DAYS} days, {len(model.network.species)} species, "
        f"{len(model.network.reactions)} reactions; daily output; rtol 1e-8\n"
    )
    print("| engine | parameter sets | wall (s) | simulations/s | failures |")
    print("|---|---|---|---|---|")
    for name, n, dt, nfail in rows:
        print(f"| {name} | {n} | {dt:.2f} | {n / dt:.1f} | {nfail} |")


if __name__ == "__main__":
    main()
