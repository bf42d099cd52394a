"""The reference side of `bench_petab.py`: pyPESTO + AMICI (forward sensitivities, exact
gradients) on a PEtab problem, from the start points il2sim used, so the two are measured
side by side. Needs a Python with amici, pypesto and fides (not il2sim's dependencies: AMICI
builds from source, ~8 min; see the README's Benchmarks).

Run by `bench_petab.py --amici-python PYTHON`; reads {"yaml", "names", "starts"} as JSON on
stdin and prints one JSON object: compile time, objective value at the first start, and per
optimiser the wall time and each start's final value.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time

import numpy as np


def main() -> None:
    import fides
    import petab.v1 as petab
    import pypesto.optimize
    import pypesto.petab

    job = json.load(sys.stdin)
    t0 = time.perf_counter()
    problem = petab.Problem.from_yaml(job["yaml"])
    with tempfile.TemporaryDirectory() as build:
        importer = pypesto.petab.PetabImporter(problem, output_folder=build)
        pp = importer.create_problem(verbose=False)
        compile_s = time.perf_counter() - t0
        order = [pp.x_names.index(n) for n in job["names"]]
        starts = []
        for s in job["starts"]:
            x = np.array(problem.x_nominal_scaled, dtype=float)
            x[order] = s
            starts.append(x)
        out = {
            "compile_s": compile_s,
            "fval_first_start": float(pp.objective(starts[0][pp.x_free_indices])),
        }
        optimizers = {
            "L-BFGS-B": pypesto.optimize.ScipyOptimizer(
                method="L-BFGS-B", options={"maxiter": 500}
            ),
            "fides": pypesto.optimize.FidesOptimizer(
                hessian_update=fides.BFGS(), options={fides.Options.MAXITER: 500}, verbose=0
            ),
        }
        for name, opt in optimizers.items():
            pp.set_x_guesses(starts)
            t0 = time.perf_counter()
            res = pypesto.optimize.minimize(
                pp, opt, n_starts=len(starts), progress_bar=False
            ).optimize_result
            wall = time.perf_counter() - t0
            fvals = {int(r.id): float(r.fval) for r in res.list}
            out[name] = {"wall_s": wall, "fvals": [fvals[i] for i in range(len(starts))]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
