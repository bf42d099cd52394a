"""PEtab fitter speed on the Boehm et al. 2014 benchmark problem (shipped in tests/data):
objective evaluations per second and one multi-start fit (L-BFGS-B, finite-difference
gradients), with how many starts reach the best optimum.

Run: `.venv/bin/python benchmarks/bench_petab.py [--starts N]` (part of `make bench`).
Prints a markdown table; the README quotes it.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from il2sim import analysis

BOEHM = Path(__file__).parents[1] / "tests" / "data" / "petab" / "Boehm_JProteomeRes2014"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=10)
    a = ap.parse_args()
    t0 = time.perf_counter()
    ob = analysis.PetabObjective(BOEHM / "Boehm_JProteomeRes2014.yaml")
    setup = time.perf_counter() - t0
    x = ob.scaled(ob.nominal)
    ob.nll(x)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        ob.nll(x)
    per_eval = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    res = analysis.fit(ob, n_starts=a.starts, seed=1)
    wall = time.perf_counter() - t0
    best = res.nll
    reached = int((res.starts.nll < best + 0.1).sum())
    print(
        f"Boehm_JProteomeRes2014: {len(ob.data)} measurements, {len(ob.outer)} outer and "
        f"{len(ob.hierarchical)} closed-form parameters\n"
    )
    print("| quantity | value |")
    print("|---|---:|")
    print(f"| set-up (read, lint, compile) | {setup:.2f} s |")
    print(f"| objective evaluation | {per_eval * 1e3:.2f} ms |")
    print(f"| fit, {a.starts} starts | {wall:.1f} s |")
    print(f"| starts within 0.1 of the best negative log-likelihood ({best:.3f}) | {reached} |")
    if reached:
        print(f"| wall per start that reaches the optimum | {wall / reached:.1f} s |")


if __name__ == "__main__":
    main()
