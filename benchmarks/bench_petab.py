"""PEtab fitter speed on the Boehm et al. 2014 benchmark problem (shipped in tests/data):
objective evaluations per second, then one multi-start fit per optimiser from the same starts
(the nominal values, then Latin-hypercube points): il2sim's objective (libRoadRunner,
finite-difference gradients) under pyPESTO's L-BFGS-B and Fides, and, with
``--amici-python``, pyPESTO + AMICI (exact gradients by forward sensitivities) from those
starts, side by side. The figure of merit is wall time per start that reaches the best
optimum (within 0.1 of the best negative log-likelihood any run found).

Run: `.venv/bin/python benchmarks/bench_petab.py [--starts N] [--amici-python PYTHON]` (part of
`make bench`, without AMICI). PYTHON needs amici, pypesto and fides (AMICI builds from source:
`pip install amici` with a C++ compiler, BLAS and SWIG on PATH). Prints a markdown table; the
README quotes it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import numpy as np

from il2sim import analysis
from il2sim.analysis._petab import start_points

BOEHM = Path(__file__).parents[1] / "tests" / "data" / "petab" / "Boehm_JProteomeRes2014"
REFERENCE = Path(__file__).with_name("petab_amici_reference.py")


def _amici(python: str, yaml: Path, names: list[str], starts: list[np.ndarray]) -> dict:
    """Run the reference script under ``python`` (its own environment) on the same starts."""
    job = {"yaml": str(yaml), "names": names, "starts": [list(map(float, s)) for s in starts]}
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [python, str(REFERENCE)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--amici-python", help="a Python with amici, pypesto and fides")
    a = ap.parse_args()
    yaml = BOEHM / "Boehm_JProteomeRes2014.yaml"
    t0 = time.perf_counter()
    ob = analysis.PetabObjective(yaml)
    setup = time.perf_counter() - t0
    x = ob.scaled(ob.nominal)
    ob.nll(x)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        ob.nll(x)
    per_eval = (time.perf_counter() - t0) / n

    runs: dict[str, tuple[float, np.ndarray]] = {}
    for name in analysis.OPTIMIZERS:
        t0 = time.perf_counter()
        res = analysis.fit(ob, n_starts=a.starts, seed=1, optimizer=name)
        runs[f"il2sim objective, pyPESTO {name} (finite differences)"] = (
            time.perf_counter() - t0,
            res.starts.nll.to_numpy(),
        )
    compile_s = None
    if a.amici_python:
        ref = _amici(a.amici_python, yaml, list(ob.outer), start_points(ob, a.starts))
        compile_s = ref["compile_s"]
        # the two objectives must agree where both start: the nominal values
        both = f"il2sim {ob.nll(x):.4f}, AMICI {ref['fval_first_start']:.4f}"
        print(f"-log L at the first start: {both}")
        for name in ("L-BFGS-B", "fides"):
            runs[f"pyPESTO + AMICI, {name} (forward sensitivities)"] = (
                ref[name]["wall_s"],
                np.array(ref[name]["fvals"]),
            )
    best = min(float(np.nanmin(v)) for _, v in runs.values())
    print(
        f"Boehm_JProteomeRes2014: {len(ob.data)} measurements, {len(ob.outer)} outer and "
        f"{len(ob.hierarchical)} closed-form parameters; {a.starts} starts (the nominal values "
        f"first); best negative log-likelihood {best:.3f}\n"
    )
    print(f"il2sim set-up (read, lint, compile) {setup:.2f} s; objective evaluation ", end="")
    print(
        f"{per_eval * 1e3:.2f} ms"
        + (f"; AMICI import and compile {compile_s:.0f} s" if compile_s else "")
    )
    print("\n| fitter | wall (s) | starts reaching the optimum | wall per start reaching it (s) |")
    print("|---|---:|---:|---:|")
    for name, (wall, nll) in runs.items():
        reached = int(np.sum(nll < best + 0.1))
        per = f"{wall / reached:.1f}" if reached else "-"
        print(f"| {name} | {wall:.1f} | {reached} | {per} |")


if __name__ == "__main__":
    main()
