"""Receptor-layer speed: equilibrium evaluations per second (vectorised il2sim vs a per-point
scipy root loop on the same equations) and kinetic time courses per second.

Run: `make bench` (or `.venv/bin/python benchmarks/bench_binding.py [--points N]`).
Prints a markdown table; the README quotes it.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from scipy.optimize import root

from il2sim import catalog
from il2sim.binding import SIGNALING_KIND, Trafficking, simulate_kinetics
from il2sim.binding._design import (
    BindingDesign,
    cell_receptor_vector,
    design_arrays,
    group_by_layout,
    kinds_used,
)
from il2sim.binding._equilibrium import solve_equilibrium


def _grid(n_points: int):
    """Designs x cells x doses with about ``n_points`` points; designs vary Kd and valency."""
    rng = np.random.default_rng(0)
    designs = [
        BindingDesign(
            f"d{i}",
            valency=int(rng.integers(1, 3)),
            kd_il2ra_nM=float(10 ** rng.uniform(-1, 2)),
            kd_il2rbg_nM=float(10 ** rng.uniform(-1, 2)),
        )
        for i in range(20)
    ]
    names = ("treg", "cd4_helper", "cd8", "cd8_naive", "cd8_memory", "nk", "cd8_stem_like")
    names += ("cd8_effector_like", "cd8_terminal_exhausted", "endothelium_cd25")
    cells = [catalog.get_cell(c) for c in names]
    doses = np.logspace(-5, 3, max(1, n_points // (len(designs) * len(cells))))
    return designs, cells, doses


def bench_equilibrium(n_points: int, part: int = 0, parts: int = 1) -> tuple[int, float]:
    designs, cells, doses = _grid(n_points)
    designs = designs[part::parts]
    p = catalog.signaling_params()
    kinds = kinds_used(designs)
    rmat = np.stack([cell_receptor_vector(c, kinds) for c in cells])
    t0 = time.perf_counter()
    n = 0
    for idx in group_by_layout(designs).values():
        site_unit, mult, aff = design_arrays([designs[i] for i in idx], kinds)
        solve_equilibrium(
            doses[None, None, :], mult[:, None, None, :], aff[:, None, None, :, :],
            rmat[None, :, None, :], p.kx_nM_per_receptor.value, site_unit=site_unit,
            cooperativity=p.cooperativity.value,
        )  # fmt: skip
        n += len(idx) * len(cells) * len(doses)
    return n, time.perf_counter() - t0


def _worker(args: tuple[int, int, int]) -> int:
    return bench_equilibrium(*args)[0]


def bench_equilibrium_processes(n_points: int, workers: int) -> tuple[int, float]:
    """The same grid split by design over worker processes (pool started before timing)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_worker, [(1000, i, workers) for i in range(workers)]))  # warm up
        t0 = time.perf_counter()
        n = sum(pool.map(_worker, [(n_points, i, workers) for i in range(workers)]))
        return n, time.perf_counter() - t0


def bench_scipy_loop(n_points: int) -> tuple[int, float]:
    """The same conservation equations solved point by point with scipy.optimize.root."""
    designs, cells, doses = _grid(n_points * 1000)
    p = catalog.signaling_params()
    kx, c = p.kx_nM_per_receptor.value, p.cooperativity.value
    kinds = kinds_used(designs)
    j_sig = kinds.index(SIGNALING_KIND)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    for _ in range(n_points):
        d = designs[rng.integers(len(designs))]
        rt = cell_receptor_vector(cells[rng.integers(len(cells))], kinds)
        L = doses[rng.integers(len(doses))]
        _, mult, aff = design_arrays([d], kinds)
        a, nval = aff[0], mult[0, 0]

        def resid(u, a=a, nval=nval, rt=rt, L=L):
            R = np.exp(np.clip(u, -50.0, 50.0))
            w = kx * a @ R
            P = np.prod(1 + w)
            z = (1 - c) * (1 + w.sum()) + c * P
            dlz = ((1 - c) + c * P / (1 + w)) / z
            per_site = L * z**nval * nval * dlz
            bound = (per_site[:, None] * a * R[None, :]).sum(axis=0)
            return np.log(R + bound) - np.log(rt)

        sol = root(resid, np.log(rt) - 0.1, tol=1e-10)
        _ = rt[j_sig] - np.exp(sol.x[j_sig])
    return n_points, time.perf_counter() - t0


def bench_kinetic(n_runs: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    for i in range(n_runs):
        conc_nM = 10 ** (-3 + 4 * i / n_runs)
        t = np.linspace(0, 240, 25)
        simulate_kinetics("aldesleukin", "treg", conc_nM, t, trafficking=Trafficking.fallon2000())
    return n_runs, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=1_000_000, help="equilibrium grid size")
    ap.add_argument("--scipy-points", type=int, default=2000, help="points for the scipy loop")
    ap.add_argument("--kinetic-runs", type=int, default=50)
    args = ap.parse_args()
    rows = []
    n, t = bench_equilibrium(args.points)
    rows.append(("equilibrium, il2sim vectorised (1 process)", n, t))
    workers = min(2, os.cpu_count() or 1)
    nw, tw = bench_equilibrium_processes(args.points, workers)
    rows.append((f"equilibrium, il2sim vectorised ({workers} processes)", nw, tw))
    n2, t2 = bench_scipy_loop(args.scipy_points)
    rows.append(("equilibrium, per-point scipy.optimize.root loop", n2, t2))
    n3, t3 = bench_kinetic(args.kinetic_runs)
    rows.append(("kinetic time course, 240 min, Fallon trafficking (scipy BDF)", n3, t3))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print("| work | n | wall (s) | per second |")
    print("|---|---:|---:|---:|")
    for name, n, t in rows:
        print(f"| {name} | {n:,} | {t:.2f} | {n / t:,.0f} |")
    speedup = (rows[0][1] / rows[0][2]) / (n2 / t2)
    print(f"\nspeed-up of the vectorised solver over the scipy loop: {speedup:,.0f}x")


if __name__ == "__main__":
    main()
