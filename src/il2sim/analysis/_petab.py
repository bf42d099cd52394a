"""Fit any PEtab problem (format version 1) with libRoadRunner and pyPESTO, and give profile
likelihood confidence intervals.

The problem is read and checked with the ``petab`` library (the same checks as
``petablint``); its SBML model is compiled once (:class:`il2sim.simulate.Simulator`) and
simulated per condition at the measured times, from the steady state of its preequilibration
condition when it has one; rows at time inf read the steady state the condition settles in.
Observable and noise formulas are parsed by ``petab`` into sympy and compiled to numpy
functions (never evaluated as Python text). The objective is the negative log-likelihood of
normal or Laplace noise on each observable's scale (lin, log or log10), as PEtab defines it.
Scaling parameters (an estimated parameter that only multiplies an observable whose noise does
not depend on it) are solved in closed form at every step, as in hierarchical optimisation
(Loos C et al. 2018 Bioinformatics 34:4266), so a problem with hundreds of scales fits as fast
as one without. Profiles re-optimise the other parameters along each one; the 95% interval is
where the negative log-likelihood rises by chi2(1, 0.95)/2 = 1.92 (Raue A et al. 2009
Bioinformatics 25:1923).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from il2sim.simulate import SimulationError, Simulator

#: Rise of the negative log-likelihood that bounds a 95% profile interval (chi2_1 / 2).
PROFILE_THRESHOLD = 1.920729
#: What the optimiser sees where the model cannot be simulated.
FAILED_NLL = 1e12


class PetabError(ValueError):
    """A PEtab problem that cannot be read or is not supported; the message says which part."""


def lint(yaml_path: str | Path) -> list[str]:
    """Problems ``petablint`` finds in the problem (empty when it passes)."""
    import petab.v1 as petab

    return _lint(petab.Problem.from_yaml(str(yaml_path)))


def _lint(problem) -> list[str]:
    """Problems ``petablint`` finds in a loaded problem (its error messages)."""
    import logging

    import petab.v1 as petab

    records: list[str] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR and record.getMessage() != "Not OK":
                records.append(" ".join(record.getMessage().split()))

    handler = _Collect()
    logger = logging.getLogger("petab")
    logger.addHandler(handler)
    try:
        failed = petab.lint_problem(problem)
    finally:
        logger.removeHandler(handler)
    if failed and not records:
        records.append("petablint reports a failure")
    return records if failed else []


def _precheck(problem) -> None:
    """What petablint assumes rather than checks: a parameter table with something to
    estimate, measurements that are numbers, estimate flags 0/1 and numeric values."""
    import petab.v1 as petab

    par = problem.parameter_df
    if par is None or par.empty:
        raise PetabError(
            "parameter table: missing or empty; the problem YAML needs a parameter_file "
            "listing the parameters (parameterId, parameterScale, bounds, nominalValue, estimate)"
        )
    for col in (petab.ESTIMATE, petab.NOMINAL_VALUE, petab.LOWER_BOUND, petab.UPPER_BOUND):
        if col not in par:
            continue
        values = pd.to_numeric(par[col], errors="coerce")
        bad = par.index[values.isna() & par[col].notna()].tolist()
        if bad:
            raise PetabError(f"parameter table: {col} of {bad} is not a number")
    if petab.ESTIMATE in par and not set(pd.to_numeric(par[petab.ESTIMATE])) <= {0, 1}:
        raise PetabError("parameter table: estimate must be 0 or 1")
    if petab.ESTIMATE in par and not (pd.to_numeric(par[petab.ESTIMATE]) == 1).any():
        raise PetabError("parameter table: no parameter has estimate = 1; nothing to fit")
    obs = problem.observable_df
    for col, allowed in (
        (petab.OBSERVABLE_TRANSFORMATION, ("lin", "log", "log10")),
        (petab.NOISE_DISTRIBUTION, ("normal", "laplace")),
    ):
        if obs is not None and col in obs:
            bad = sorted(set(obs[col].dropna().astype(str)) - {*allowed, ""})
            if bad:
                raise PetabError(
                    f"observable table: {col} {bad} is not supported ({', '.join(allowed)})"
                )
    m = problem.measurement_df
    if m is None or m.empty:
        raise PetabError("measurement table: no measurements")
    for col in (petab.MEASUREMENT, petab.TIME):
        if col not in m:
            continue
        values = pd.to_numeric(m[col], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & m[col].notna().to_numpy())
        if bad.size:
            i = int(bad[0])
            raise PetabError(
                f"measurement table row {i + 1}: {col} {m[col].iloc[i]!r} is not a number"
            )
        m[col] = values


def _number_or_id(value) -> float | str:
    if isinstance(value, int | float | np.floating) and not pd.isna(value):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        return text


@dataclass
class _Observable:
    id: str
    h: Callable
    h_symbols: list[str]
    sigma: Callable
    sigma_symbols: list[str]
    scale_symbol: str | None  # observableParameter1_<id> when h is linear in it through 0


@dataclass
class _Block:
    """The measurement rows of one observable in one simulation: where they sit in the
    table, which output time each reads (``k``; rows at time inf read the steady state), and
    their observable and noise parameters by position (numbers, and names with the rows
    that use them)."""

    oid: str
    rows: np.ndarray
    k: np.ndarray
    at_inf: np.ndarray
    obs_pars: list[tuple[np.ndarray, dict[str, np.ndarray]]]
    noise_pars: list[tuple[np.ndarray, dict[str, np.ndarray]]]


def _by_position(entries: list[list[float | str]]) -> list[tuple[np.ndarray, dict]]:
    """Per parameter position: the numeric values (nan where a row names a parameter or has
    none) and, per named parameter, the mask of rows that name it."""
    out = []
    for n in range(max((len(e) for e in entries), default=0)):
        col = [e[n] if n < len(e) else np.nan for e in entries]
        const = np.array([v if isinstance(v, float) else np.nan for v in col])
        names = {v for v in col if isinstance(v, str)}
        out.append((const, {v: np.array([c == v for c in col]) for v in sorted(names)}))
    return out


def _blocks(d: pd.DataFrame, idx, times: np.ndarray, obs_pars, noise_pars) -> list[_Block]:
    """The rows ``idx`` of one simulation, grouped by observable."""
    idx = np.asarray(idx)
    oids = d.observableId.to_numpy(dtype=str)[idx]
    t = d.time.to_numpy(dtype=float)[idx]
    out = []
    for oid in dict.fromkeys(oids):
        m = oids == oid
        rows, ti = idx[m], t[m]
        inf = np.isinf(ti)
        k = np.where(inf, 0, np.searchsorted(times, np.where(inf, 0.0, ti)))
        out.append(
            _Block(
                oid,
                rows,
                k,
                inf,
                _by_position([obs_pars[i] for i in rows]),
                _by_position([noise_pars[i] for i in rows]),
            )
        )
    return out


def _resolve(const: np.ndarray, named: dict, pars: dict, missing: float | None) -> np.ndarray:
    """Row values of one parameter position: numbers as given, names looked up in ``pars``
    (``missing`` for a name it lacks; None: the name must be there)."""
    v = const.copy()
    for name, mask in named.items():
        v[mask] = pars[name] if missing is None else pars.get(name, missing)
    return v


@dataclass
class FitResult:
    """Best parameters (natural scale), the objective there, every start, the data with the
    fitted simulation, and notes (scales solved in closed form, estimates at a bound)."""

    parameters: dict[str, float]
    nll: float
    starts: pd.DataFrame  # start, nll, converged, message, evaluations
    fit: pd.DataFrame  # measurement table with a simulation column
    notes: list[str] = field(default_factory=list)


class PetabObjective:
    """The negative log-likelihood of a PEtab problem as a function of its estimated
    parameters (on their PEtab scales)."""

    def __init__(self, yaml_path: str | Path, *, rtol: float = 1e-8, atol: float = 1e-12):
        import petab.v1 as petab

        try:
            self.problem = petab.Problem.from_yaml(str(yaml_path))
        except Exception as e:  # the petab library raises many kinds
            raise PetabError(f"{yaml_path}: cannot read the PEtab problem: {e}") from None
        _precheck(self.problem)
        self._tolerances = (rtol, atol)
        try:
            problems = _lint(self.problem)
        except ZeroDivisionError:
            problems = ["a formula divides by zero"]
        except Exception as e:  # petablint itself stops on some inputs (e.g. a bad formula)
            problems = [f"{type(e).__name__}: {e}" if str(e) else type(e).__name__]
        if problems:
            raise PetabError("petablint: " + "; ".join(problems))
        try:
            self._set_up(petab)
        except PetabError:
            raise
        except Exception as e:  # a table petablint accepts but il2sim cannot use
            raise PetabError(f"cannot set up the problem ({type(e).__name__}: {e})") from None

    def _set_up(self, petab) -> None:
        p = self.problem
        m = p.measurement_df
        t = m[petab.TIME].astype(float)
        if np.any(np.isnan(t) | (t < 0)):
            raise PetabError("measurement table: time must be >= 0 or inf (steady state)")
        obs = p.observable_df
        rtol, atol = self._tolerances
        self.sim = Simulator(p.model.to_sbml_str(), rtol=rtol, atol=atol)
        self._amount_species = {
            s.getId() for s in p.model.sbml_model.getListOfSpecies() if s.getHasOnlySubstanceUnits()
        }
        self.parameters = p.parameter_df.copy()
        est = self.parameters[self.parameters[petab.ESTIMATE] == 1]
        self.scales = est[petab.PARAMETER_SCALE].astype(str).to_dict()
        self.lower = est[petab.LOWER_BOUND].astype(float).to_dict()
        self.upper = est[petab.UPPER_BOUND].astype(float).to_dict()
        self.fixed = {
            k: float(v)
            for k, v in self.parameters[self.parameters[petab.ESTIMATE] == 0][
                petab.NOMINAL_VALUE
            ].items()
        }
        self.nominal = est[petab.NOMINAL_VALUE].astype(float).to_dict()
        self.observables = {}
        for oid, row in obs.iterrows():
            try:
                self.observables[oid] = self._compile(oid, row)
            except PetabError:
                raise
            except Exception as e:
                raise PetabError(
                    f"observable {oid!r}: cannot use its formulas ({type(e).__name__}: {e})"
                ) from None
        self.data = m.reset_index(drop=True).copy()
        self._y = self.data.measurement.astype(float).to_numpy()
        self._prepare_rows()

        def per_row(col: str, default: str) -> np.ndarray:
            by_obs = obs[col].fillna(default).astype(str) if col in obs else pd.Series(dtype=str)
            by_obs = by_obs.replace("", default)
            return self.data.observableId.map(by_obs).fillna(default).to_numpy(dtype=str)

        self._transform = per_row(petab.OBSERVABLE_TRANSFORMATION, "lin")
        self._laplace = per_row(petab.NOISE_DISTRIBUTION, "normal") == "laplace"
        gaussian_lin = (self._transform == "lin") & ~self._laplace
        hier = {
            self._obs_pars[i][0]
            for i in range(len(self.data))
            if self._obs_pars[i]
            and isinstance(self._obs_pars[i][0], str)
            and self.observables[self.data.observableId[i]].scale_symbol is not None
        }
        # closed-form scales need normal noise on the linear scale in every row they touch
        hier -= {
            p_[0] for p_, ok in zip(self._obs_pars, gaussian_lin, strict=True) if p_ and not ok
        }
        # a scale must appear nowhere else: not as a noise parameter, not in the model
        elsewhere = {v for row in self._noise_pars for v in row if isinstance(v, str)}
        elsewhere |= {v for row in self._obs_pars for v in row[1:] if isinstance(v, str)}
        elsewhere |= self.sim.parameter_ids
        self.hierarchical: list[str] = sorted(
            h
            for h in hier
            if isinstance(h, str)
            and h in self.scales
            and self.scales[h] == "lin"
            and h not in elsewhere
        )
        self.outer = [k for k in self.scales if k not in self.hierarchical]
        first = np.array([p[0] if p else None for p in self._obs_pars], dtype=object)
        self._scale_rows = {k: first == k for k in self.hierarchical}

    # ---- set-up -------------------------------------------------------------------------
    def _compile(self, oid: str, row: pd.Series) -> _Observable:
        import sympy as sp
        from petab.v1.math import sympify_petab

        h = sympify_petab(str(row["observableFormula"]))
        s = sympify_petab(str(row["noiseFormula"]))
        for name, expr in (("observableFormula", h), ("noiseFormula", s)):
            if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise PetabError(
                    f"observable {oid!r}: {name} {row[name]!r} is infinite or undefined "
                    "(a division by zero?)"
                )
        hs = sorted(str(x) for x in h.free_symbols)
        ss = sorted(str(x) for x in s.free_symbols)
        scale = f"observableParameter1_{oid}"
        sym = next((x for x in h.free_symbols if str(x) == scale), sp.Symbol(scale))
        linear = (
            scale in hs
            and sp.simplify(h.subs(sym, 0)) == 0
            and sym not in sp.diff(h, sym).free_symbols
            and scale not in ss
        )
        return _Observable(
            oid,
            sp.lambdify(sorted(h.free_symbols, key=str), h, "numpy"),
            hs,
            sp.lambdify(sorted(s.free_symbols, key=str), s, "numpy"),
            ss,
            scale if linear else None,
        )

    def _prepare_rows(self) -> None:
        def split(v) -> list[float | str]:
            if pd.isna(v) or str(v).strip() == "":
                return []
            if isinstance(v, int | float):
                return [float(v)]
            return [_number_or_id(x) for x in str(v).split(";")]

        d = self.data
        self._obs_pars = [split(v) for v in d.get("observableParameters", [np.nan] * len(d))]
        self._noise_pars = [split(v) for v in d.get("noiseParameters", [np.nan] * len(d))]
        pre = d.get("preequilibrationConditionId", pd.Series([""] * len(d)))
        d["preequilibrationConditionId"] = [
            "" if pd.isna(v) else str(v).strip() for v in pre.to_numpy(dtype=object)
        ]
        cond = self.problem.condition_df
        self.conditions: dict[str, dict[str, float | str]] = {}
        used = set(d.simulationConditionId) | set(d.preequilibrationConditionId) - {""}
        for cid in sorted(used):
            row = cond.loc[cid] if cid in cond.index else pd.Series(dtype=object)
            values = {
                k: _number_or_id(v)
                for k, v in row.items()
                if k != "conditionName" and not pd.isna(v)
            }
            for k in values:
                if k not in self.sim.parameter_ids and k not in self.sim.compartment_ids:
                    raise PetabError(
                        f"condition {cid!r}: {k!r} is not a model parameter or compartment "
                        "(species initial values in the condition table are not supported)"
                    )
            self.conditions[cid] = values
        # one simulation per (preequilibration, simulation) condition pair; time inf rows
        # read the steady state the simulation condition reaches
        self._groups = d.groupby(["preequilibrationConditionId", "simulationConditionId"]).groups
        self._row_times = {k: d.time[i].astype(float).to_numpy() for k, i in self._groups.items()}
        self._times = {
            k: np.unique(np.concatenate([[0.0], t[np.isfinite(t)]]))
            for k, t in self._row_times.items()
        }
        self._species = sorted(self.sim.species_ids)  # the state a preequilibration hands on
        model_syms = set()
        for o in self.observables.values():
            model_syms |= set(o.h_symbols) | set(o.sigma_symbols)
        known = self.sim.parameter_ids | self.sim.species_ids | self.sim.compartment_ids
        self._selections = sorted(model_syms & known)
        # libRoadRunner: [S] is a concentration; PEtab means one unless S is amount-only
        self._selection_ids = [
            f"[{s}]" if s in self.sim.species_ids and s not in self._amount_species else s
            for s in self._selections
        ]
        self._blocks = {
            key: _blocks(d, idx, self._times[key], self._obs_pars, self._noise_pars)
            for key, idx in self._groups.items()
        }

    # ---- evaluation ---------------------------------------------------------------------
    def natural(self, x: np.ndarray, names: list[str] | None = None) -> dict[str, float]:
        """Scaled values of ``names`` (default: the outer parameters) on the natural scale."""
        out: dict[str, float] = {}
        for k, v in zip(names or self.outer, x, strict=True):
            sc = self.scales[k]
            out[k] = 10.0**v if sc == "log10" else float(np.exp(v)) if sc == "log" else float(v)
        return out

    def scaled(self, values: dict[str, float], names: list[str] | None = None) -> np.ndarray:
        out = []
        for k in names or self.outer:
            v, sc = values[k], self.scales[k]
            out.append(np.log10(v) if sc == "log10" else np.log(v) if sc == "log" else v)
        return np.asarray(out, dtype=float)

    def bounds(self, names: list[str] | None = None) -> list[tuple[float, float]]:
        lo = self.scaled(self.lower, names or self.outer)
        hi = self.scaled(self.upper, names or self.outer)
        return list(zip(lo, hi, strict=True))

    def simulate(self, values: dict[str, float]) -> np.ndarray:
        """The simulated value of every measurement row (scales included)."""
        return self._rows(values)[0]

    def _rows(self, values: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Simulated observable and noise sd per measurement row (one simulation per
        condition)."""
        pars = {**self.fixed, **values}
        d = self.data
        h = np.empty(len(d))
        sigma = np.empty(len(d))
        base = {k: v for k, v in pars.items() if k in self.sim.parameter_ids}

        def condition(cid: str) -> dict[str, float]:
            out = dict(base)
            for k, v in self.conditions[cid].items():
                out[k] = pars[v] if isinstance(v, str) else v
            return out

        preequilibrated: dict[str, dict[str, float]] = {}
        for pre, cid in self._groups:
            model_pars = condition(cid)
            start = None
            if pre:  # PEtab: the steady state under the preequilibration condition
                if pre not in preequilibrated:
                    preequilibrated[pre] = self.sim.steady_state(self._species, condition(pre))
                start = preequilibrated[pre]
            times = self._times[(pre, cid)]
            t_rows = self._row_times[(pre, cid)]
            state: dict[str, np.ndarray] = {}
            if np.isfinite(t_rows).any():
                # libRoadRunner needs two times; with data at t = 0 only, read row 0 of [0, 1]
                run_t = times if times.size > 1 else np.array([0.0, 1.0])
                traj = self.sim.run(run_t, self._selection_ids, model_pars, initial=start)
                state = {s: traj.values[:, j] for j, s in enumerate(self._selections)}
            steady = {}
            if np.isinf(t_rows).any():
                found = self.sim.steady_state(self._selection_ids, model_pars, initial=start)
                steady = dict(zip(self._selections, found.values(), strict=True))
            for b in self._blocks[(pre, cid)]:
                o = self.observables[b.oid]
                env: dict[str, float | np.ndarray] = dict(model_pars)
                for s in set(state) | set(steady):
                    at_t = state[s][b.k] if s in state else np.nan
                    env[s] = np.where(b.at_inf, steady.get(s, np.nan), at_t)
                for n, (const, named) in enumerate(b.obs_pars, start=1):
                    env[f"observableParameter{n}_{o.id}"] = _resolve(const, named, pars, np.nan)
                for n, (const, named) in enumerate(b.noise_pars, start=1):
                    env[f"noiseParameter{n}_{o.id}"] = _resolve(const, named, pars, None)
                h[b.rows] = o.h(*(env.get(s, pars.get(s, np.nan)) for s in o.h_symbols))
                sigma[b.rows] = o.sigma(*(env.get(s, pars.get(s, np.nan)) for s in o.sigma_symbols))
        return h, sigma

    def _evaluate(self, x: np.ndarray) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
        """Every estimated parameter (natural scale), simulated rows and noise sd at outer
        values ``x``. Hierarchical scales enter linearly and the noise does not depend on them,
        so one simulation with unit scales gives both their optimum and the scaled rows."""
        values = self.natural(x)
        unit = {k: 1.0 for k in self.hierarchical}
        h, sigma = self._rows({**values, **unit})
        y = self._y
        for k in self.hierarchical:
            rows = self._scale_rows[k]
            w = 1.0 / sigma[rows] ** 2
            den = np.sum(w * h[rows] ** 2)
            s = np.sum(w * h[rows] * y[rows]) / den if den > 0 else self.nominal[k]
            values[k] = float(np.clip(s, self.lower[k], self.upper[k]))
            h[rows] *= values[k]
        return values, h, sigma

    def full(self, x: np.ndarray) -> dict[str, float]:
        """Every estimated parameter (natural scale) for outer values ``x``."""
        return self._evaluate(np.asarray(x, dtype=float))[0]

    def diagnose(self, x: np.ndarray) -> str:
        """Why the objective is not finite at outer values ``x`` ('' when it is): the first
        failed simulation, non-finite observable, noise <= 0, or log of a value <= 0."""
        try:
            _, h, sigma = self._evaluate(np.asarray(x, dtype=float))
        except SimulationError as e:
            return f"the model cannot be simulated ({e})"
        d = self.data
        y = self._y
        obs = self.problem.observable_df
        logged = self._transform != "lin"
        for i in range(len(d)):
            oid = d.observableId[i]
            where = f"measurement row {i + 1} (observable {oid!r})"
            if not np.isfinite(h[i]):
                formula = obs.loc[oid, "observableFormula"]
                return f"{where}: observableFormula '{formula}' gives {h[i]}"
            if not sigma[i] > 0 or not np.isfinite(sigma[i]):
                formula = obs.loc[oid, "noiseFormula"]
                return f"{where}: noiseFormula '{formula}' gives {sigma[i]:g}; it must be > 0"
            if logged[i] and not (h[i] > 0 and y[i] > 0):
                return (
                    f"{where}: a {self._transform[i]}-transformed observable needs simulation "
                    f"and measurement > 0, got {h[i]:.4g} and {y[i]:.4g}"
                )
        return ""

    def nll(self, x: np.ndarray) -> float:
        """Negative log-likelihood at outer parameters ``x`` (PEtab scales); inf when the
        model cannot be simulated there."""
        try:
            _, h, sigma = self._evaluate(np.asarray(x, dtype=float))
        except SimulationError:
            return np.inf
        y = self._y
        if np.any(~np.isfinite(h)) or np.any(~(sigma > 0)):
            return np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = _nll_terms(y, h, sigma, self._transform, self._laplace)
        return float(np.sum(terms)) if np.all(np.isfinite(terms)) else np.inf


def _nll_terms(
    y: np.ndarray, h: np.ndarray, sigma: np.ndarray, transform: np.ndarray, laplace: np.ndarray
) -> np.ndarray:
    """Per-measurement negative log-likelihood, PEtab v1: the noise (normal or Laplace) acts
    on the observable's scale (lin, log or log10), whose Jacobian enters through the data."""
    ty, th, jac = y.copy(), h.copy(), np.zeros_like(y)
    for name, f, log_dy in (
        ("log", np.log, np.log),
        ("log10", np.log10, lambda v: np.log(v * np.log(10.0))),
    ):
        m = transform == name
        ty[m], th[m], jac[m] = f(y[m]), f(h[m]), log_dy(y[m])
    r = np.abs(ty - th) / sigma
    normal = 0.5 * np.log(2 * np.pi * sigma**2) + 0.5 * r**2
    return np.where(laplace, np.log(2 * sigma) + r, normal) + jac


def start_points(
    objective: PetabObjective, n_starts: int, *, seed: int = 1, include_nominal: bool = True
) -> list[np.ndarray]:
    """A fit's starts on the PEtab scales: the nominal values first (when ``include_nominal``),
    then Latin-hypercube points within the bounds (``seed``)."""
    from scipy.stats import qmc

    lo, hi = np.array(objective.bounds()).T
    starts = [objective.scaled(objective.nominal)] if include_nominal else []
    if n_starts > len(starts):
        lhs = qmc.LatinHypercube(d=len(lo), seed=seed).random(n_starts - len(starts))
        starts += list(lo + lhs * (hi - lo))
    return starts


def fit(
    objective: PetabObjective,
    *,
    n_starts: int = 5,
    seed: int = 1,
    include_nominal: bool = True,
    optimizer: str = "L-BFGS-B",
    progress: Callable[[int, int], None] | None = None,
) -> FitResult:
    """Multi-start optimisation of the outer parameters (hierarchical scales solved inside)
    with pyPESTO's ``optimizer`` (L-BFGS-B: scipy's, finite-difference gradients; fides: the
    trust-region optimiser with BFGS updates, forward-difference gradients): the nominal values
    first (when ``include_nominal``), then Latin-hypercube starts within the bounds."""
    import pypesto.optimize

    from il2sim.analysis._pypesto import optimizer as make_optimizer
    from il2sim.analysis._pypesto import to_pypesto

    chosen = make_optimizer(optimizer)
    bounds = objective.bounds()
    starts = start_points(objective, n_starts, seed=seed, include_nominal=include_nominal)
    rows, best = [], None
    for i, x0 in enumerate(starts):  # one start at a time: progress after each
        problem = to_pypesto(objective, [x0], fd_gradient=optimizer == "fides")
        run = pypesto.optimize.minimize(
            problem, chosen, n_starts=1, ids=[str(i)], progress_bar=False
        ).optimize_result.list[0]
        fval = float(run.fval) if run.fval is not None else np.inf
        rows.append(
            {
                "start": i,
                "nll": fval if fval < FAILED_NLL else np.inf,
                "converged": bool(run.exitflag is not None and run.exitflag >= 0),
                "message": str(run.message),
                "evaluations": int(run.n_fval or 0),
            }
        )
        if fval < FAILED_NLL and (best is None or fval < best[0]):
            best = (fval, np.asarray(run.x, dtype=float))
        if progress:
            progress(i + 1, len(starts))
    if best is None:
        why = objective.diagnose(starts[0])
        raise PetabError(
            "no start reached a finite objective" + (f"; at the first start {why}" if why else "")
        )
    values = objective.full(best[1])
    data = objective.data.copy()
    data["simulation"] = objective.simulate(values)
    notes = []
    if objective.hierarchical:
        notes.append(f"{len(objective.hierarchical)} scaling parameters solved in closed form")
    for (lo, hi), name, v in zip(bounds, objective.outer, best[1], strict=True):
        if min(v - lo, hi - v) < 1e-3 * (hi - lo):
            notes.append(f"{name} = {values[name]:.4g} lies at a bound of its search range")
    return FitResult(values, best[0], pd.DataFrame(rows), data, notes)


def profile(
    objective: PetabObjective,
    result: FitResult,
    names: list[str] | None = None,
    *,
    step: float = 0.1,
    max_steps: int = 15,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Profile likelihood of each outer parameter in ``names`` (default: all): steps of
    ``step`` on the parameter's PEtab scale (a tenth of a decade on log10) away from the
    optimum in both directions, the others re-optimised from the previous point, until the
    objective rises by more than the 95% threshold, a bound is reached or ``max_steps``. A step
    that overshoots the threshold by more than 0.5 is halved (down to 1/64 of ``step``), so the
    crossing is bracketed closely even where the likelihood is sharp. Returns the profiles
    (parameter, value, nll, delta) and the intervals (parameter, estimate, lower_95, upper_95;
    nan where the profile did not rise enough: not identifiable on that side)."""
    names = names or list(objective.outer)
    x_best = objective.scaled(result.parameters)
    bounds = objective.bounds()
    rows, cis = [], []
    for name in names:
        j = objective.outer.index(name)
        others = [i for i in range(len(x_best)) if i != j]
        points = [(x_best[j], result.nll)]
        for direction in (-1, 1):
            x, h, taken = x_best.copy(), step, 0
            while taken < max_steps:
                v = x[j] + direction * h
                if not bounds[j][0] <= v <= bounds[j][1]:
                    break
                trial = x.copy()
                trial[j] = v
                nll = _reoptimised(objective, trial, others, bounds)
                if nll - result.nll > PROFILE_THRESHOLD + 0.5 and h > step / 64:
                    h /= 2  # past the threshold by far: a shorter step brackets it closely
                    continue
                x, taken = trial, taken + 1
                points.append((v, nll))
                if nll - result.nll > PROFILE_THRESHOLD:
                    break
        points.sort()
        vals = np.array([p[0] for p in points])
        nlls = np.array([p[1] for p in points])
        delta = nlls - result.nll
        for v, f, dl in zip(vals, nlls, delta, strict=True):
            rows.append(
                {
                    "parameter": name,
                    "value": objective.natural(np.array([v]), [name])[name],
                    "nll": f,
                    "delta": dl,
                }
            )
        cis.append(
            {
                "parameter": name,
                "estimate": result.parameters[name],
                "lower_95": _crossing(vals, delta, x_best[j], -1, objective, name),
                "upper_95": _crossing(vals, delta, x_best[j], 1, objective, name),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(cis)


def _penalised(objective: PetabObjective, x: np.ndarray) -> float:
    """The objective, with FAILED_NLL where the model cannot be simulated: a large finite value
    makes L-BFGS-B's line search step back; an infinite one ends the search as if it had
    converged."""
    v = objective.nll(x)
    return v if np.isfinite(v) else FAILED_NLL


def _reoptimised(objective: PetabObjective, x: np.ndarray, others: list[int], bounds) -> float:
    """The objective at ``x`` with the parameters ``others`` re-optimised (changed in place)."""
    from scipy.optimize import minimize

    if not others:  # the only outer parameter: nothing to re-optimise
        return objective.nll(x)

    def sub(z: np.ndarray) -> float:
        full = x.copy()
        full[others] = z
        return _penalised(objective, full)

    res = minimize(
        sub,
        x[others],
        method="L-BFGS-B",
        bounds=[bounds[i] for i in others],
        options={"eps": 1e-6, "maxiter": 200},
    )
    x[others] = res.x
    return float(res.fun) if res.fun < FAILED_NLL else np.inf


def _crossing(vals, delta, centre, direction, objective, name) -> float:
    """Where the profile crosses the threshold on one side (natural scale), interpolated
    linearly in the square root of the rise (exact for a quadratic profile; linear in the rise
    itself would put the edge too close to the optimum); nan if it never crosses."""
    side = vals <= centre if direction < 0 else vals >= centre
    v, d = vals[side], np.sqrt(np.clip(delta[side], 0.0, None))
    order = np.argsort(np.abs(v - centre))
    v, d = v[order], d[order]
    edge = np.sqrt(PROFILE_THRESHOLD)
    for i in range(1, len(v)):
        if d[i] >= edge > d[i - 1]:
            t = (edge - d[i - 1]) / (d[i] - d[i - 1])
            x = v[i - 1] + t * (v[i] - v[i - 1])
            return objective.natural([x], [name])[name]
    return float("nan")
