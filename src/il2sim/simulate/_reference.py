"""A second, independent engine for il2sim networks: the same equations written as a numpy
right-hand side and integrated with scipy (LSODA or BDF), dosing events applied between
integration segments. Used to cross-check libRoadRunner and the SBML export, and as the
baseline of the benchmarks; libRoadRunner stays the engine for real work."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.integrate import solve_ivp
from scipy.sparse import csr_matrix

from il2sim.model import Network
from il2sim.simulate._engine import SimulationError

_UNIT_LITERAL = re.compile(
    r"(?<![A-Za-z0-9_.])([0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?)\s+[A-Za-z_]\w*"
)


def _py(formula: str) -> str:
    """SBML L3 infix (as il2sim writes it) to Python: drop unit annotations on numbers."""
    out = _UNIT_LITERAL.sub(r"\1", formula)
    return out.replace("^", "**")


class ReferenceSimulator:
    """scipy ``solve_ivp`` on a :class:`Network`: state = species amounts."""

    def __init__(
        self, net: Network, *, method: str = "LSODA", rtol: float = 1e-8, atol: float = 1e-14
    ):
        self.net, self.method, self.rtol, self.atol = net, method, rtol, atol
        self.species = list(net.species)
        self.index = {s: i for i, s in enumerate(self.species)}
        n_s, n_r = len(self.species), len(net.reactions)
        rows, cols, vals = [], [], []
        for j, r in enumerate(net.reactions.values()):
            for s, v in r.reactants.items():
                rows.append(self.index[s])
                cols.append(j)
                vals.append(-v)
            for s, v in r.products.items():
                rows.append(self.index[s])
                cols.append(j)
                vals.append(v)
        self.S = csr_matrix((vals, (rows, cols)), shape=(n_s, n_r))
        self.volume = np.array(
            [
                1.0 if sp.amount_only else net.compartments[sp.compartment].size_L
                for sp in net.species.values()
            ]
        )
        lines = ["def _rates(y):", f"    r = _np.empty({n_r})"]
        for i, sp in enumerate(net.species.values()):
            lines.append(f"    {sp.id} = y[{i}] / {float(self.volume[i])!r}")
        used = {n for r in net.reactions.values() for n in re.findall(r"\w+", r.rate)}
        for rid, rule in net.rules.items():
            if used & set(net.rules):
                lines.append(f"    {rid} = {_py(rule.formula)}")
        for j, r in enumerate(net.reactions.values()):
            lines.append(f"    r[{j}] = {_py(r.rate)}")
        lines.append("    return r")
        rr = ["def _rate_rules(y):", f"    d = _np.zeros({n_s})"]
        for i, sp in enumerate(net.species.values()):
            rr.append(f"    {sp.id} = y[{i}] / {float(self.volume[i])!r}")
        for rid, rule in net.rules.items():
            rr.append(f"    {rid} = {_py(rule.formula)}")
        for var, formula in net.rate_rules.items():
            i = self.index[var]
            rr.append(f"    d[{i}] = ({_py(formula)}) * {float(self.volume[i])!r}")
        rr.append("    return d")
        self._code = "\n".join(lines) + "\n" + "\n".join(rr)

    def _namespace(self, params: Mapping[str, float]) -> dict:
        ns: dict = {"_np": np}
        for p in self.net.parameters.values():
            ns[p.id] = float(params.get(p.id, p.value))
        for c in self.net.compartments.values():
            ns[c.id] = c.size_L
        return ns

    def run(
        self,
        times: Sequence[float] | np.ndarray,
        species: Sequence[str],
        parameters: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Concentrations (or amounts for amount-only species) of ``species`` at ``times``."""
        params = dict(parameters or {})
        ns = self._namespace(params)
        exec(self._code, ns)  # generated from il2sim's own network
        rates, rate_rules = ns["_rates"], ns["_rate_rules"]
        y = np.zeros(len(self.species))
        formulas = {}  # species index -> its initial assignment
        for i, sp in enumerate(self.net.species.values()):
            if sp.initial_assignment:
                formulas[i] = sp.initial_assignment
            else:
                y[i] = sp.initial * self.volume[i]
                ns[sp.id] = sp.initial
        species_list = list(self.net.species.values())
        pending = list(formulas)
        while pending:  # initial assignments may refer to other species: resolve in order
            left = []
            for i in pending:
                sp = species_list[i]
                try:
                    value = eval(_py(formulas[i]), ns)  # il2sim's own formulas
                except NameError:
                    left.append(i)
                    continue
                ns[sp.id] = value
                y[i] = value * self.volume[i]
            if len(left) == len(pending):
                raise ValueError(
                    f"initial assignments of {[species_list[i].id for i in left]} cannot be "
                    "resolved (circular or unknown names)"
                )
            pending = left
        events = []
        for e in self.net.events.values():
            m = re.fullmatch(r"time >= (\w+)", e.trigger)
            if not m:
                raise ValueError(f"reference engine supports only 'time >= t' triggers ({e.id})")
            events.append((ns[m[1]], e))
        events.sort(key=lambda x: x[0])
        t_out = np.asarray(times, float)
        out = np.zeros((t_out.size, len(species)))
        cols = [self.index[s] for s in species]
        S = self.S

        def rhs(_t: float, yy: np.ndarray) -> np.ndarray:
            return S @ rates(yy) + rate_rules(yy)

        t0 = t_out[0]
        bounds = [t for t, _ in events if t0 < t < t_out[-1]] + [t_out[-1]]
        fire = [e for t, e in events if t <= t0]
        for e in fire:
            y = self._apply(e, y, ns)
        seg_start = t0
        for t_end in bounds:
            mask = (t_out >= seg_start) & (t_out <= t_end)
            sol = solve_ivp(
                rhs,
                (seg_start, t_end),
                y,
                method=self.method,
                t_eval=t_out[mask],
                rtol=self.rtol,
                atol=self.atol,
            )
            if not sol.success:
                raise SimulationError(
                    f"reference integration failed after t = {seg_start:g}: {sol.message}"
                )
            if mask.any():
                out[mask] = (sol.y[cols] / self.volume[cols, None]).T
            y = (
                sol.y[:, -1]
                if sol.t.size and sol.t[-1] == t_end
                else solve_ivp(
                    rhs, (seg_start, t_end), y, method=self.method, rtol=self.rtol, atol=self.atol
                ).y[:, -1]
            )
            for t_e, e in events:
                if t_e == t_end and t_end < t_out[-1]:
                    y = self._apply(e, y, ns)
            seg_start = t_end
        return out

    def _apply(self, event, y: np.ndarray, ns: dict) -> np.ndarray:
        local = dict(ns)
        for i, sp in enumerate(self.net.species.values()):
            local[sp.id] = y[i] / self.volume[i]
        y = y.copy()
        for var, formula in event.assignments.items():
            value = eval(_py(formula), local)  # il2sim's own formulas
            if var in self.index:
                y[self.index[var]] = value * self.volume[self.index[var]]
            else:
                ns[var] = value
        return y
