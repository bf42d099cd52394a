"""Issue 20's next lever, measured: the same trial models solved by CVODES with a sparse
linear solver and an exact (algorithmic) Jacobian, through CasADi, against libRoadRunner
(dense LU, finite-difference Jacobian) on the same patients.

The SBML each arm's trial model exports is translated into one CasADi expression graph
(libsbml's math trees: reactions, assignment and rate rules, initial assignments, events).
Dosing events happen at known times, so the solve is split there and the event's assignments
are applied in between; events triggered by the state (dose withholding at severe leak, a pool
that dies out, endogenous IL-2 gone) are checked only at those splits and the outputs, not
located by root-finding as libRoadRunner does: what this measures is the solver's cost on the
arm, and the outcome error it reports shows what that approximation costs (a real engine would
need CasADi's event support or root-finding per segment). One integrator serves every segment:
the ODE is written in a segment's scaled time (t = t0 + h * tau, tau in [0, 1]).

Needs CasADi (not an il2sim dependency: `pip install "casadi>=3.7,<4"`).

Run: `.venv/bin/python benchmarks/bench_sparse_engine.py [--arms A,B] [--patients N]
[--days D] [--linsol qr,csparse]`. Prints a markdown table: per-patient wall time of each
engine and the tumour at the end against a tight libRoadRunner solve (rtol 1e-8).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from functools import partial

import libsbml
import numpy as np

from il2sim import catalog
from il2sim.cohort import build_arm
from il2sim.cohort._run import patient_values
from il2sim.simulate import Simulator

_BINARY = {
    "max": lambda a, b: _ca().fmax(a, b),
    "min": lambda a, b: _ca().fmin(a, b),
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "leq": lambda a, b: a <= b,
    "geq": lambda a, b: a >= b,
    "and": lambda a, b: _ca().logic_and(a, b),
    "or": lambda a, b: _ca().logic_or(a, b),
}


def _ca():
    try:
        import casadi
    except ImportError:
        raise SystemExit('bench_sparse_engine needs CasADi: pip install "casadi>=3.7,<4"') from None
    return casadi


class CasadiArm:
    """One arm's trial model as a CasADi ODE with its events; ``run`` solves one patient."""

    def __init__(self, sbml: str, varied: Sequence[str], rtol: float, atol: float, linsol: str):
        ca = _ca()
        model = libsbml.readSBMLFromString(sbml).getModel()
        self.values = {p.getId(): p.getValue() for p in model.getListOfParameters()}
        sizes = {c.getId(): c.getSize() for c in model.getListOfCompartments()}
        species = [s.getId() for s in model.getListOfSpecies()]
        # parameters that events change are states whose rate is zero
        switched = {
            a.getVariable()
            for e in model.getListOfEvents()
            for a in e.getListOfEventAssignments()
            if a.getVariable() not in species
        }
        self.names = species + sorted(switched)
        self.index = {k: i for i, k in enumerate(self.names)}
        x, p, t = ca.SX.sym("x", len(self.names)), ca.SX.sym("p", len(varied)), ca.SX.sym("t")
        self.varied = list(varied)
        sym = {k: x[i] for i, k in enumerate(self.names)} | {k: p[i] for i, k in enumerate(varied)}
        rules = {r.getVariable(): r.getMath() for r in model.getListOfRules() if r.isAssignment()}
        done: dict[str, object] = {}

        def expr(node):
            if node.isNumber():
                return ca.SX(node.getValue())
            if node.getType() == libsbml.AST_NAME_TIME:
                return t
            if node.isName():
                name = node.getName()
                if name in sym:
                    return sym[name]
                if name in rules:
                    if name not in done:
                        done[name] = expr(rules[name])
                    return done[name]
                return ca.SX(self.values[name] if name in self.values else sizes[name])
            kids = [expr(node.getChild(i)) for i in range(node.getNumChildren())]
            kind = node.getType()
            if kind == libsbml.AST_PLUS:
                return sum(kids[1:], kids[0])
            if kind == libsbml.AST_MINUS:
                return -kids[0] if len(kids) == 1 else kids[0] - kids[1]
            if kind == libsbml.AST_TIMES:
                out = kids[0]
                for k in kids[1:]:
                    out = out * k
                return out
            if kind == libsbml.AST_DIVIDE:
                return kids[0] / kids[1]
            if kind in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
                return kids[0] ** kids[1]
            if node.getName() in _BINARY:
                return _BINARY[node.getName()](kids[0], kids[1])
            raise NotImplementedError(f"SBML math {node.getName()!r} not translated")

        rate = [ca.SX(0)] * len(self.names)
        for r in model.getListOfReactions():
            v = expr(r.getKineticLaw().getMath())
            for ref in r.getListOfReactants():
                rate[self.index[ref.getSpecies()]] -= ref.getStoichiometry() * v
            for ref in r.getListOfProducts():
                rate[self.index[ref.getSpecies()]] += ref.getStoichiometry() * v
        for s in model.getListOfSpecies():  # a concentration changes by the amount / volume
            if not s.getHasOnlySubstanceUnits():
                c = s.getCompartment()
                rate[self.index[s.getId()]] /= sym.get(c, sizes[c])
        for r in model.getListOfRules():
            if r.isRate():
                rate[self.index[r.getVariable()]] = expr(r.getMath())
        start = {a.getSymbol(): a.getMath() for a in model.getListOfInitialAssignments()}
        x0 = []
        for k in self.names:
            if k in start:
                x0.append(expr(start[k]))
            elif k in species:
                s = model.getSpecies(k)
                conc = not s.getHasOnlySubstanceUnits() and s.isSetInitialConcentration()
                x0.append(ca.SX(s.getInitialConcentration() if conc else s.getInitialAmount()))
            else:
                x0.append(ca.SX(self.values[k]))
        self.x0 = ca.Function("x0", [p, x], [ca.vertcat(*x0)])
        self.timed: list[tuple[str, Callable, list[int]]] = []
        self.triggered: list[tuple[Callable, Callable, list[int]]] = []
        for e in model.getListOfEvents():
            assigns = list(e.getListOfEventAssignments())
            act = ca.Function(
                e.getId(), [t, x, p], [ca.vertcat(*[expr(a.getMath()) for a in assigns])]
            )
            targets = [self.index[a.getVariable()] for a in assigns]
            trigger = libsbml.formulaToL3String(e.getTrigger().getMath())
            if trigger.startswith("time >= ") and trigger[8:] in self.values:
                self.timed.append((trigger[8:], act, targets))
            else:
                g = ca.Function(f"g_{e.getId()}", [t, x, p], [expr(e.getTrigger().getMath())])
                self.triggered.append((g, act, targets))
        t0, h = ca.SX.sym("t0"), ca.SX.sym("h")
        ode = ca.substitute(ca.vertcat(*rate), t, t0 + h * t) * h
        self.integrator = ca.integrator(
            "segment",
            "cvodes",
            {"x": x, "p": ca.vertcat(p, t0, h), "t": t, "ode": ode},
            0.0,
            1.0,
            {
                "abstol": atol,
                "reltol": rtol,
                "linear_solver": linsol,
                "newton_scheme": "direct",
                "max_num_steps": 200000,
                "disable_internal_warnings": True,
            },
        )

    def run(self, values: dict[str, float], times: np.ndarray) -> np.ndarray:
        """States at ``times`` (rows) for one patient's parameter ``values``."""
        pv = np.array([values.get(k, self.values.get(k, 0.0)) for k in self.varied])
        x = np.zeros(len(self.names))
        for _ in range(2):  # initial assignments that read other initial values
            x = np.asarray(self.x0(pv, x)).ravel()
        timed = sorted((values.get(k, self.values[k]), act, tg) for k, act, tg in self.timed)
        was = [bool(g(times[0], x, pv)) for g, _, _ in self.triggered]
        for tt, act, tg in timed:
            if tt <= times[0]:
                x[tg] = np.asarray(act(tt, x, pv)).ravel()
        stops = sorted({tt for tt, _, _ in timed if times[0] < tt <= times[-1]} | set(times[1:]))
        out, now, wanted = [x.copy()], float(times[0]), set(times[1:].tolist())
        for stop in stops:
            res = self.integrator(x0=x, p=np.concatenate([pv, [now, stop - now]]))
            x, now = np.asarray(res["xf"]).ravel(), stop
            for tt, act, tg in timed:
                if tt == stop:
                    x[tg] = np.asarray(act(tt, x, pv)).ravel()
            for j, (g, act, tg) in enumerate(self.triggered):
                on = bool(g(stop, x, pv))
                if on and not was[j]:
                    x[tg] = np.asarray(act(stop, x, pv)).ravel()
                was[j] = on
            if stop in wanted:
                out.append(x.copy())
        return np.array(out)


def _row(arm: str, patients, ref: np.ndarray, engine: str, states: int, build_s: float, solve):
    """Solve every patient with ``solve`` (values -> tumour at the end) and print one row
    (a failed solve counts its time and no error)."""
    walls, ends = [], []
    for v in patients:
        t0 = time.perf_counter()
        try:
            ends.append(solve(v))
        except RuntimeError:  # CVODES gave up (CasADi raises; il2sim's engine retries)
            ends.append(np.nan)
        walls.append(time.perf_counter() - t0)
    err = np.abs(np.array(ends) / ref - 1.0)
    failed = int(np.isnan(err).sum())
    print(
        f"| {arm} | {engine} | {states} | {build_s:.1f} | "
        f"{1000 * np.median(walls):.0f} (max {1000 * max(walls):.0f}) | "
        f"{np.nanmedian(err):.1e} / {np.nanmax(err):.1e}{f'; {failed} failed' if failed else ''} |",
        flush=True,
    )


def _rr_end(sim: Simulator, times: np.ndarray, tumour: list[str], values) -> float:
    return float(sim.run(times, tumour, values).values[-1].sum())


def _casadi_end(arm: CasadiArm, times: np.ndarray, tumour: list[str], values) -> float:
    return float(arm.run(values, times)[-1, [arm.index[s] for s in tumour]].sum())


def main(arms: list[str], n: int, days: float, linsols: list[str]) -> None:
    spec = catalog.get_cohort("melanoma").model_copy(update={"duration_days": days})
    population, _ = catalog.virtual_population("melanoma")
    varied = [v.parameter for v in spec.variability]
    print(f"melanoma, {n} shipped patients x {days:g} days after the run-in, one process\n")
    print(
        "| arm | engine | states | build (s) | per patient (ms) | tumour at end vs tight solve "
        "(median / max abs rel. error) |"
    )
    print("|---|---|---:|---:|---:|---|")
    tumour = ["N_tumour_cell_tumour", "tumour_escape_tumour"]
    for arm_name in arms:
        arm = build_arm(spec, arm_name)
        patients = [patient_values(arm, r, varied) for r in population.head(n).to_dict("records")]
        times = np.array([0.0, arm.run_in_h + 24.0 * days])
        tight = Simulator(arm.sbml, rtol=1e-8, atol=1e-12, max_steps=500000)
        ref = np.array([_rr_end(tight, times, tumour, v) for v in patients])
        cells = (arm_name, patients, ref)
        t0 = time.perf_counter()
        rr = Simulator(arm.sbml, rtol=1e-4, atol=1e-9, max_steps=200000)
        build = time.perf_counter() - t0
        solve = partial(_rr_end, rr, times, tumour)
        _row(*cells, "libRoadRunner, dense LU", len(rr.species_ids), build, solve)
        for linsol in linsols:
            t0 = time.perf_counter()
            cas = CasadiArm(arm.sbml, sorted(patients[0]), 1e-4, 1e-9, linsol)
            build = time.perf_counter() - t0
            solve = partial(_casadi_end, cas, times, tumour)
            _row(*cells, f"CasADi CVODES, sparse {linsol}", len(cas.names), build, solve)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arms", default="nivolumab,hd_aldesleukin,bempeg_nivolumab")
    ap.add_argument("--patients", type=int, default=10)
    ap.add_argument("--days", type=float, default=90.0)
    ap.add_argument("--linsol", default="qr,csparse", help="CasADi linear solvers to compare")
    a = ap.parse_args()
    main(a.arms.split(","), a.patients, a.days, a.linsol.split(","))
