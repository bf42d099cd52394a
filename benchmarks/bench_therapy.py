"""Therapy-layer speed: the default scenario end to end (`il2sim run`'s work) with 1 and 2
processes, and where one arm's time goes (build, SBML export, compile, simulate).

Run: `.venv/bin/python benchmarks/bench_therapy.py` (also part of `make bench`).
Prints markdown tables; the README quotes them.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from il2sim.catalog import get_therapy_scenario
from il2sim.model import build_arm_model, to_sbml
from il2sim.simulate import Simulator, run_therapy


def main() -> None:
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs\n")
    sc = get_therapy_scenario("default")
    n_arms = sum(len(s.arms) for s in sc.settings)
    print("| default scenario | arms | processes | wall (s) |")
    print("|---|---:|---:|---:|")
    for workers in (2, 1):
        t0 = time.perf_counter()
        run_therapy(sc, workers=workers)
        print(f"| {sc.name} | {n_arms} | {workers} | {time.perf_counter() - t0:.1f} |")

    print("\n| setting | arm | species | build (s) | export (s) | compile (s) | simulate (s) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    totals = np.zeros(4)
    for setting in sc.settings:
        for arm in setting.arms:
            t0 = time.perf_counter()
            model, im = build_arm_model(
                setting, arm, duration_days=sc.duration_days, run_in_days=sc.run_in_days
            )
            t1 = time.perf_counter()
            text = to_sbml(model.network)
            t2 = time.perf_counter()
            sim = Simulator(text, rtol=1e-6, atol=1e-12)
            t3 = time.perf_counter()
            start = sc.run_in_days * 24.0
            times = np.concatenate(
                [[0.0], np.linspace(start, start + sc.duration_days * 24.0, 113)]
            )
            sim.run(times, [im.burden] if im.burden else ["time"])
            t4 = time.perf_counter()
            parts = np.array([t1 - t0, t2 - t1, t3 - t2, t4 - t3])
            totals += parts
            print(
                f"| {setting.name} | {arm.name} | {len(model.network.species)} | "
                + " | ".join(f"{x:.2f}" for x in parts)
                + " |"
            )
    print("| total | | | " + " | ".join(f"{x:.1f}" for x in totals) + " |")


if __name__ == "__main__":
    main()
