"""libRoadRunner (dense LU, the engine il2sim uses) beside AMICI (KLU sparse LU, analytic
Jacobian) on the cohort trial models: compile once, then the same shipped virtual patients over
the whole follow-up (daily outputs, no stop at progression), the cohort's tolerances. Prints a
markdown table: per arm, states, compile time, ms per patient for each engine, the speed-up,
and the largest difference in tumour size (relative) and in best SLD change (percentage
points) between the engines.

AMICI is not a dependency of il2sim (it builds from source: ~8 min on one core, gcc and cmake;
`pip install amici swig`): run this in an environment that has it, e.g.
`pip install -r requirements-lock.txt amici && pip install --no-deps -e .`. Its compiled
models are kept under ~/.cache/il2sim/amici by the model's digest.

Run: `python benchmarks/bench_engines.py [COHORT] [N_PATIENTS] [ARMS]`
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from il2sim import catalog
from il2sim.cohort import build_arm, draw_patients
from il2sim.cohort._run import TOLERANCES, patient_values
from il2sim.simulate import Simulator

RTOL, ATOL = TOLERANCES[0]


def amici_model(sbml: str, key: str):
    """The AMICI model of ``sbml`` (compiled once, cached by ``key``) and its compile time."""
    import amici
    import amici.sim.sundials as sd

    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "il2sim" / "amici"
    name = f"m{key}"
    out = root / name
    t0 = time.perf_counter()
    if not (out / name).exists():
        out.mkdir(parents=True, exist_ok=True)
        path = out / "model.xml"
        path.write_text(sbml)
        amici.SbmlImporter(path).sbml2amici(
            name,
            out,
            verbose=False,
            generate_sensitivity_code=False,
            compute_conservation_laws=False,
        )
    compile_s = time.perf_counter() - t0
    model = amici.import_model_module(name, out).get_model()
    solver = model.create_solver()
    solver.set_linear_solver(sd.LinearSolver_KLU)
    solver.set_relative_tolerance(RTOL)
    solver.set_absolute_tolerance(ATOL)
    solver.set_max_steps(200_000)
    return model, solver, compile_s


def main(cohort: str, n: int, arms: list[str]) -> None:
    import amici.sim.sundials as sd

    spec = catalog.get_cohort(cohort)
    print(f"machine: {os.cpu_count()} CPUs; {cohort}, {n} shipped patients, rtol {RTOL}\n")
    print(
        "| arm | states | compile AMICI (s) | libRoadRunner ms/patient | AMICI KLU ms/patient "
        "| speed-up | max tumour difference (rel.) | max best-change difference (pp) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for arm_name in arms:
        arm = build_arm(spec, arm_name)
        patients = draw_patients(spec, None, defaults=arm.defaults).iloc[:n]
        varied = [c for c in patients.columns if c not in ("patient", "weight_kg", "vp")]
        days = arm.run_in_h / 24.0 + arm.duration_h / 24.0
        times = np.arange(0.0, days + 0.5, 1.0) * 24.0
        rr = Simulator(arm.sbml, rtol=RTOL, atol=ATOL, max_steps=200_000)
        model, solver, compile_s = amici_model(arm.sbml, arm.key)
        model.set_timepoints(times)
        ids = list(model.get_state_ids())
        free = set(model.get_parameter_ids())
        settable = free | set(model.get_fixed_parameter_ids())
        col = ids.index(arm.tumour)
        defaults = {p: v for p, v in arm.defaults.items() if p in settable}
        t_rr = t_am = 0.0
        diff = best = 0.0
        t0_day = int(arm.run_in_h / 24.0)
        for patient in patients.to_dict("records"):
            values = patient_values(arm, patient, varied)
            t = time.perf_counter()
            a = rr.run(times, [arm.tumour], values).values[:, 0]
            t_rr += time.perf_counter() - t
            t = time.perf_counter()
            for k, v in {**defaults, **values}.items():
                if k in free:
                    model.set_parameter_by_id(k, float(v))
                elif k in settable:
                    model.set_fixed_parameter_by_id(k, float(v))
            rdata = sd.run_simulation(model, solver)
            t_am += time.perf_counter() - t
            if rdata.status != 0:
                print(f"  AMICI failed for patient {patient['patient']} (status {rdata.status})")
                continue
            b = np.asarray(rdata.x)[:, col]
            scale = np.maximum(np.abs(a), 1.0)
            diff = max(diff, float(np.max(np.abs(a - b) / scale)))
            sld = [100 * (np.cbrt(np.clip(x[t0_day:], 0, None) / x[t0_day]) - 1) for x in (a, b)]
            best = max(best, abs(float(sld[0].min() - sld[1].min())))
        m_rr, m_am = 1000 * t_rr / len(patients), 1000 * t_am / len(patients)
        states = arm.sbml.count("<species ")
        print(
            f"| {arm_name} | {states} | {compile_s:.0f} | {m_rr:.0f} | {m_am:.0f} | "
            f"{m_rr / m_am:.1f}x | {diff:.1e} | {best:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "melanoma",
        int(sys.argv[2]) if len(sys.argv) > 2 else 20,
        sys.argv[3].split(",") if len(sys.argv) > 3 else ["hd_aldesleukin", "nivolumab"],
    )
