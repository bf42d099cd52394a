"""A second engine for the large trial models: CVODES with a sparse linear solver and the
exact Jacobian, through CasADi (issue 20).

libRoadRunner's CVODE factorises a dense Jacobian it builds by finite differences; on the
trial models (64-346 states, 3-9% of the Jacobian non-zero) that is most of a patient's cost.
Here the exported SBML is translated into one CasADi graph (:mod:`._sbml_casadi`) and solved by
CVODES with sparse LU (CSparse) and the algorithmic Jacobian. CasADi's CSparse LU keeps the
order it is given, so the states are solved in a fill-reducing order (minimum degree on the
Jacobian's pattern, :func:`_fill_reducing_order`): on bempegaldesleukin + nivolumab (346
states) the factors keep ~4,100 non-zeros where the model's own order fills them to 65,500
and CasADi's sparse QR to 23,600. Nothing is compiled: building an arm takes 0.1-0.6 s, so
there is nothing to cache.

Events are handled as libRoadRunner does, with one difference in how a state event is found:

- a dose (trigger ``time >= t_dose``) splits the solve at its time; its assignments use the
  values at that time;
- a trigger on the state (a pool that dies out, endogenous IL-2 gone) is checked at every
  output time and split point; where one turned true, that interval is solved again on a grid
  of 64 and the event fires at the first grid time where it holds: 1/64 of the interval after
  the crossing at most (22.5 min for daily outputs), where libRoadRunner finds the root itself.
  A trigger that turns true and false again within one output interval is missed (il2sim's
  follow cell counts and amounts that change over days). CVODES' own root-finding through
  CasADi's (experimental) events was tried: it fired a dying pool's event while the pool held
  millions of cells (1.5e6 at its lowest), so it is not used;
- a flag that only a dose reads (severe vascular leak withholds the dose) is set where the dose
  is given and at each output, from its trigger there: the same flag a located event leaves.

An output at the time of a dose reports the state after the dose, as libRoadRunner does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from il2sim.simulate._calls import Call
from il2sim.simulate._codegen import compiled, dae_function
from il2sim.simulate._engine import (
    SimulationError,
    Simulator,
    Trajectory,
    _output_times,
    _short,
)
from il2sim.simulate._sbml_casadi import Translation, casadi

#: The most outputs one integrator call serves (longer runs of equal intervals are split).
_MAX_GRID = 64
#: Steps between two outputs after which a solve is taken as failed (and the patient handed
#: to libRoadRunner): a stalled solve costs more than libRoadRunner's whole patient.
_MAX_STEPS = 2_000
#: A state event's output interval is solved again on a grid of this many steps.
_REFINE = 64


@dataclass
class _Run:
    """Where a run stands: the state at time ``t``, the patient's parameters, the doses still
    to come (time, event) and which state triggers hold now."""

    t: float
    x: np.ndarray
    p: np.ndarray
    doses: list[tuple[float, int]]
    held: np.ndarray
    params: dict[str, float] = field(default_factory=dict)
    watched: np.ndarray | None = None  # the state triggers located during integration


class SparseSimulator:
    """The same interface as :class:`Simulator` for the trial engine's calls (``run``,
    ``run_tolerant``, ``extend``, ``tolerances``), solved by CVODES with sparse LU.

    ``fallback``: a patient that fails here is solved by libRoadRunner instead (``max_steps``
    is its limit; ``extend`` goes on there), counted in ``fallbacks``. The sparse solve itself
    gives up after _MAX_STEPS steps between two outputs."""

    def __init__(
        self,
        sbml: str,
        *,
        rtol: float = 1e-6,
        atol: float = 1e-12,
        max_steps: int = 50_000,
        name: str = "sbml",
        fallback: bool = True,
    ) -> None:
        ca = casadi()
        self.sbml, self.name = sbml, name
        self.model = m = Translation(sbml)
        self.species_ids = set(m.hosu)
        self.parameter_ids = set(m.parameter_ids)
        self._rtol, self._atol, self._max_steps = rtol, atol, max_steps
        self._defaults = np.array(m.defaults, dtype=float)
        self._x0 = Call(ca.Function("x0", [m.p, m.x], [m.initial]))
        self._switched = np.array([m.parameter_index[k] for k in m.switched_ids], dtype=int)
        t0, h, tau = ca.SX.sym("t0"), ca.SX.sym("h"), m.t
        self._order = order = _fill_reducing_order(ca.jacobian(m.rhs, m.x).sparsity())
        # one integrator for every interval: time t = t0 + h * tau, tau in [0, k/n] for grid n,
        # the states in the fill-reducing order
        self._scaled = {
            "x": m.x[order.tolist()],
            "p": ca.vertcat(m.p, t0, h),
            "t": tau,
            "ode": ca.substitute(m.rhs[order.tolist()], m.t, t0 + h * tau) * h,
        }
        dae = dae_function(tau, self._scaled["x"], self._scaled["p"], self._scaled["ode"])
        fast = compiled(dae)
        #: whether the right-hand side and Jacobian run as compiled code (:mod:`._codegen`)
        self.compiled = fast is not None
        self._dae = dae if fast is None else fast
        self._integrators: dict[tuple[int, float, float], Call] = {}
        self._readouts: dict[tuple[str, ...], Any] = {}
        self._state_events = [i for i, e in enumerate(m.events) if e.time_of is None]
        self._doses = [i for i, e in enumerate(m.events) if e.time_of is not None]
        self._dose_times = Call(
            ca.Function(
                "dose_times", [m.p], [ca.vertcat(*[m.events[i].time_of(m.p) for i in self._doses])]
            )
        )
        self._assign = [Call(e.assign) for e in m.events]
        self._triggers = ca.Function(
            "triggers",
            [m.t, m.x, m.p],
            [ca.vertcat(*[m.events[i].trigger for i in self._state_events])],
        )
        self._maps: dict[tuple[str, int], Call] = {}
        self._lazy = np.array([self._is_lazy(i) for i in self._state_events], bool)
        self._lazy_set = self._set_by(
            [i for s, i in enumerate(self._state_events) if self._lazy[s]]
        )
        self._run: _Run | None = None
        self._fallback_allowed = fallback
        self._fallback: Simulator | None = None
        self._on_fallback = False
        self.fallbacks = 0

    # -- the Simulator interface -------------------------------------------------------------

    def tolerances(self, rtol: float, atol: float) -> None:
        """Set the relative and absolute tolerances for the following runs."""
        self._rtol, self._atol = rtol, atol

    def run(
        self,
        times: Sequence[float] | np.ndarray,
        selections: Sequence[str],
        parameters: Mapping[str, float] | None = None,
    ) -> Trajectory:
        """Simulate from the model's initial state at ``times[0]`` and report ``selections``
        at ``times`` (libRoadRunner's selection convention)."""
        t = _output_times(times)
        params = dict(parameters or {})
        self._on_fallback = False
        self._run = self._start(float(t[0]), params)
        return self._advance(t, selections)

    def extend(self, times: Sequence[float] | np.ndarray, selections: Sequence[str]) -> Trajectory:
        """Continue the last run from where it stopped (``times[0]``)."""
        t = _output_times(times)
        if self._on_fallback and self._fallback is not None:
            return self._fallback.extend(t, selections)
        if self._run is None:
            raise ValueError("extend needs a run to continue")
        if abs(t[0] - self._run.t) > 1e-9 * max(1.0, abs(self._run.t)):
            raise ValueError(
                f"extend must start where the last run stopped (t = {self._run.t:g}), not at "
                f"t = {t[0]:g}"
            )
        return self._advance(t, selections)

    def run_tolerant(
        self,
        times: Sequence[float] | np.ndarray,
        selections: Sequence[str],
        parameters: Mapping[str, float] | None = None,
        tolerances: Sequence[tuple[float, float]] = ((1e-6, 1e-12), (1e-6, 1e-10), (1e-5, 1e-9)),
    ) -> Trajectory:
        """``run``, retried with each (rtol, atol) in turn; with ``fallback`` on, a patient that
        fails at the first is solved by libRoadRunner with all of them instead (a patient the
        sparse solve cannot do is rare and slow here: retrying it costs more than it saves)."""
        errors: list[SimulationError] = []
        saved = (self._rtol, self._atol)
        tried = tolerances[:1] if self._fallback_allowed else tolerances
        try:
            for rtol, atol in tried:
                self.tolerances(rtol, atol)
                try:
                    return self.run(times, selections, parameters)
                except SimulationError as err:
                    errors.append(err)
        finally:
            self.tolerances(*saved)
        if not self._fallback_allowed:
            reached = [e.reached_time for e in errors if e.reached_time is not None]
            raise SimulationError(
                f"{errors[-1]} (also with tolerances {tuple(tolerances)})",
                reached_time=max(reached) if reached else None,
            )
        if self._fallback is None:
            self._fallback = Simulator(
                self.sbml, rtol=saved[0], atol=saved[1], max_steps=self._max_steps
            )
        self.fallbacks += 1
        out = self._fallback.run_tolerant(times, selections, parameters, tolerances)
        self._on_fallback = True
        return out

    # -- solving -----------------------------------------------------------------------------

    def _start(self, t0: float, params: dict[str, float]) -> _Run:
        m = self.model
        p = self._defaults.copy()
        override: dict[int, float] = {}
        for k, v in params.items():
            if k in m.parameter_index:
                p[m.parameter_index[k]] = float(v)
            elif k in m.index and k not in m.hosu:
                override[m.index[k]] = float(v)
            else:
                raise KeyError(
                    f"unknown parameter {k!r} for model {self.name!r} (set parameters or "
                    "compartment volumes, not species; initial amounts follow from parameters)"
                )
        nx, switched = len(m.state_ids), self._switched
        x = np.zeros(nx)
        for _ in range(3):  # initial assignments that read other initial values
            out = self._x0(p, x).ravel()
            x, p[switched] = out[:nx], out[nx:]
            for i, v in override.items():
                x[i] = v
        doses = sorted(zip(self._dose_times(p).ravel().tolist(), self._doses, strict=True))
        run = _Run(t0, x, p, doses, np.zeros(len(self._state_events), bool), params)
        self._fire_doses(run, t0)
        self._fire_state_events(run)  # a trigger true at the start fires (initial value false)
        return run

    def _advance(self, times: np.ndarray, selections: Sequence[str]) -> Trajectory:
        run = self._run
        assert run is not None
        sel = tuple(selections)
        run.watched = self._watched(sel)
        out = np.empty((times.size, len(sel)))
        out[0] = self._read(sel, np.array([run.t]), run.x[:, None], run.p)[:, 0]
        k = 1
        try:
            while k < times.size:
                dose_t = run.doses[0][0] if run.doses else np.inf
                upto = int(np.searchsorted(times, dose_t, side="left"))  # outputs before it
                if upto > k:
                    for ts, cols in self._integrate(run, times[k:upto]):
                        out[k : k + ts.size] = self._read(sel, ts, cols, run.p).T
                        k += ts.size
                if k < times.size and dose_t <= times[-1]:
                    if run.t < dose_t:
                        for _ in self._integrate(run, np.array([dose_t])):
                            pass
                    self._fire_state_events(run)  # a flag the dose reads, as it is now
                    self._fire_doses(run, dose_t)
                    self._fire_state_events(run)
                    if times[k] == dose_t:  # an output at a dose's time reports after it
                        out[k] = self._read(sel, times[k : k + 1], run.x[:, None], run.p)[:, 0]
                        k += 1
        except RuntimeError as err:  # CVODES gave up (CasADi raises RuntimeError)
            raise SimulationError(
                f"model {self.name!r}: integration failed near t = {run.t:g} with parameters "
                f"{_short(run.params)}: {_last_line(err)}",
                reached_time=float(run.t),
            ) from None
        if not np.all(np.isfinite(out)):
            bad = int(np.argmax(~np.all(np.isfinite(out), axis=1)))
            raise SimulationError(
                f"model {self.name!r}: non-finite values at t = {times[bad]:g} with parameters "
                f"{_short(run.params)}",
                reached_time=float(times[max(bad - 1, 0)]),
            )
        return Trajectory(times.copy(), sel, out)

    def _integrate(self, run: _Run, grid: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Integrate ``run`` through the times in ``grid``, yielding (times, states as columns)
        as they are solved, with the state events on the way fired where found."""
        i = 0
        while i < grid.size:
            n = _equal_steps(run.t, grid[i:])
            h = grid[i + n - 1] - run.t
            ts = run.t + h * np.arange(1, n + 1) / n
            cols = self._solve(run.x, run.p, run.t, h, n)
            hit, held = self._first_hit(run.held, ts, cols, run.p, run.watched)
            if hit is None:
                run.x, run.t, run.held = cols[:, -1].copy(), float(grid[i + n - 1]), held
                yield grid[i : i + n], cols
                self._fire_state_events(run)  # the unwatched ones, where they now hold
                i += n
                continue
            if hit:  # outputs before the interval where a trigger turned true
                yield grid[i : i + hit], cols[:, :hit]
                run.t, run.x = float(grid[i + hit - 1]), cols[:, hit - 1].copy()
            i += hit
            run.held = held
            run.t, run.x = self._locate(run, h / n)
            self._fire_state_events(run)

    def _locate(self, run: _Run, width: float) -> tuple[float, np.ndarray]:
        """The first time after ``run.t`` (within ``width``), on a grid of ``_REFINE`` equal
        steps, where a state trigger turned true, and the state there."""
        step = width / _REFINE
        ts = run.t + step * np.arange(1, _REFINE + 1)
        cols = self._solve(run.x, run.p, run.t, width, _REFINE)
        hit, before = self._first_hit(run.held, ts, cols, run.p, run.watched)
        if hit is None:  # the finer solve crosses nothing (a near-touch): its end
            return float(ts[-1]), cols[:, -1].copy()
        run.held = before
        return float(ts[hit]), cols[:, hit].copy()

    def _first_hit(
        self,
        held: np.ndarray,
        ts: np.ndarray,
        cols: np.ndarray,
        p: np.ndarray,
        watched: np.ndarray | None = None,
    ) -> tuple[int | None, np.ndarray]:
        """The first column where a state trigger turns true, and which triggers held just
        before it (or at the last column if none turns true)."""
        if not self._state_events:
            return None, held
        now = self._mapped(self._triggers, cols.shape[1])(ts, cols, p) > 0.5
        if watched is not None:  # the others are checked at doses and outputs only
            now[~watched] = held[~watched, None]
        before = np.hstack([held[:, None], now[:, :-1]])
        rising = (now & ~before).any(axis=0)
        if not rising.any():
            return None, now[:, -1].copy()
        j = int(np.argmax(rising))
        return j, before[:, j].copy()

    def _solve(self, x: np.ndarray, p: np.ndarray, t0: float, h: float, n: int) -> np.ndarray:
        """States at t0 + h * k / n, k = 1..n (columns, in the model's order)."""
        order = self._order
        cols = np.empty((len(x), n))
        cols[order] = self._integrator(n)(x[order], None, np.concatenate([p, [t0, h]]))
        return cols

    def _read(self, sel: tuple[str, ...], ts: np.ndarray, cols: np.ndarray, p: np.ndarray):
        """``sel`` at the times ``ts`` (rows) of the states ``cols``."""
        return self._mapped(self._readout(sel), ts.size)(ts, cols, p)

    def _mapped(self, f: Any, n: int) -> Call:
        """``f`` (of t, x, p) at ``n`` times and states (columns), for the same p."""
        key = (f.name(), n)
        g = self._maps.get(key)
        if g is None:
            g = self._maps[key] = Call(f.map(f"map{n}_{f.name()}", "serial", n, [2], []))
        return g

    def _fire_doses(self, run: _Run, t: float) -> None:
        """Give every dose due by ``t``, in time and then model order."""
        while run.doses and run.doses[0][0] <= t:
            self._apply(run, run.doses.pop(0)[1])

    def _fire_state_events(self, run: _Run) -> None:
        """Fire every state trigger that holds now and did not (in model order), then record
        which hold; repeated while an event's assignments make another one hold."""
        if not self._state_events:
            return
        for _ in range(10):
            now = self._mapped(self._triggers, 1)(run.t, run.x, run.p).ravel() > 0.5
            rising = now & ~run.held
            run.held = now
            if not rising.any():
                return
            for s in np.flatnonzero(rising):
                self._apply(run, self._state_events[s])

    def _apply(self, run: _Run, i: int) -> None:
        """Carry out event ``i``'s assignments (values from the state before any of them)."""
        e = self.model.events[i]
        values = self._assign[i](run.t, run.x, run.p).ravel()
        run.x, run.p = run.x.copy(), run.p.copy()
        for j, k in e.targets:
            run.x[k] = values[j]
        for j, k in e.switches:
            run.p[k] = values[j]

    def _set_by(self, events: Sequence[int]) -> Any:
        """The symbols (states and switched parameters) that ``events`` assign."""
        ca = casadi()
        m = self.model
        states = sorted({k for i in events for _, k in m.events[i].targets})
        switched = sorted({k for i in events for _, k in m.events[i].switches})
        return ca.vertcat(*[m.x[k] for k in states], *[m.p[k] for k in switched])

    def _is_lazy(self, i: int) -> bool:
        """A state event need not be located when what it sets is read by no rate, rule or
        trigger and what it sets does not depend on the state: a flag that only a dose reads
        (withholding at severe leak). Such an event is checked at doses and at the end of each
        solved interval, where it gives exactly the flag a located event would have left."""
        ca = casadi()
        m = self.model
        e = m.events[i]
        targets = self._set_by([i])
        triggers = ca.vertcat(*[ev.trigger for ev in m.events])
        return not (
            ca.depends_on(m.rhs, targets)
            or ca.depends_on(triggers, targets)
            or ca.depends_on(e.assign(m.t, m.x, m.p), m.x)
        )

    def _watched(self, sel: tuple[str, ...]) -> np.ndarray | None:
        """Which state triggers are located during integration for a run reporting ``sel``:
        all of them when a selection reads what an unlocated one sets."""
        if not self._lazy.any():
            return None
        ca = casadi()
        f = self._readout(sel)
        if ca.depends_on(f(self.model.t, self.model.x, self.model.p), self._lazy_set):
            return None
        return ~self._lazy

    def _integrator(self, n: int) -> Call:
        """CVODES from tau = 0 with outputs at tau = k / n, k = 1..n (states as columns)."""
        key = (n, self._rtol, self._atol)
        F = self._integrators.get(key)
        if F is None:
            ca = casadi()
            F = ca.integrator(
                f"segment{n}",
                "cvodes",
                self._dae,
                0.0,
                [(k + 1) / n for k in range(n)],
                {
                    "abstol": self._atol,
                    "reltol": self._rtol,
                    "linear_solver": "csparse",
                    "newton_scheme": "direct",
                    "max_num_steps": _MAX_STEPS,
                    "disable_internal_warnings": True,
                    "show_eval_warnings": False,
                },
            )
            F = self._integrators[key] = Call(F)
        return F

    def _readout(self, selections: tuple[str, ...]) -> Any:
        f = self._readouts.get(selections)
        if f is None:
            ca = casadi()
            m = self.model
            exprs = []
            for s in selections:
                try:
                    exprs.append(m.readout(s))
                except KeyError as err:
                    raise KeyError(f"{err.args[0]} (model {self.name!r})") from None
            f = self._readouts[selections] = ca.Function(
                f"readout{len(self._readouts)}", [m.t, m.x, m.p], [ca.vertcat(*exprs)]
            )
        return f


def newton_pattern(jacobian: Any) -> Any:
    """The Newton matrix I - gamma J's pattern as a scipy CSC matrix (off-diagonal 0.1, so
    diagonally dominant: its LU pivots on the diagonal), from the Jacobian's CasADi sparsity."""
    from scipy.sparse import csc_matrix, identity

    rows, cols = jacobian.get_triplet()
    n = jacobian.size1()
    pattern = csc_matrix((np.full(len(rows), 0.1), (rows, cols)), shape=(n, n))
    return (pattern + identity(n)).tocsc()


def _fill_reducing_order(jacobian: Any) -> np.ndarray:
    """A symmetric order of the states (position -> state) under which LU of the Newton
    matrix I - gamma J fills little: SuperLU's minimum degree on the pattern of J + J' + I.
    CasADi's CSparse LU factorises in the order it is given (``cs_sqr`` with order 0) and
    pivots on the diagonal where it can, so this order is the factors' order."""
    from scipy.sparse.linalg import splu

    lu = splu(
        newton_pattern(jacobian),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return np.argsort(lu.perm_c)


def _equal_steps(t: float, grid: np.ndarray) -> int:
    """How many of ``grid``'s first times are equally spaced from ``t`` (at most _MAX_GRID)."""
    step = grid[0] - t
    n = 1
    while n < min(grid.size, _MAX_GRID) and abs(grid[n] - grid[n - 1] - step) <= 1e-9 * max(
        1.0, abs(step)
    ):
        n += 1
    return n


def _last_line(err: Exception) -> str:
    lines = [ln for ln in str(err).splitlines() if ln.strip()]
    return lines[-1][:300] if lines else type(err).__name__
