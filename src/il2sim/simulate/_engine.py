"""Run SBML networks with libRoadRunner: one compiled model, many parameter sets.

Dosing is part of the model (SBML events), so an exported file replays the same regimen in any
SBML tool. A failed integration raises :class:`SimulationError` naming the parameter set and
the time reached; results never contain NaN.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import pandas as pd
import roadrunner

from il2sim.catalog import CatalogError, read_text_file
from il2sim.model import Network, to_sbml
from il2sim.simulate._fpu import subnormals_flushed

if TYPE_CHECKING:
    from il2sim.simulate._sparse import SparseSimulator

roadrunner.Logger.disableLogging()  # CVODE step-size notes at dosing events are not errors


#: Idle capture files, one per process (a forked worker must not share its parent's file
#: offset), reused: creating a temporary file per solve cost ~0.15 ms, 2-4% of a trial
#: patient. A file is out of this map while a capture uses it, so a nested capture gets its
#: own and never empties the outer one's text.
_IDLE_CAPTURE_FILES: dict[int, IO[bytes]] = {}


@contextlib.contextmanager
def _capture_file() -> Iterator[IO[bytes]]:
    """An empty capture file: the process's idle one, or a new one."""
    pid = os.getpid()
    tmp = _IDLE_CAPTURE_FILES.pop(pid, None)
    if tmp is None or tmp.closed:
        tmp = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (kept for later captures)
    tmp.seek(0)
    tmp.truncate()
    try:
        yield tmp
    finally:
        _IDLE_CAPTURE_FILES[pid] = tmp


@contextlib.contextmanager
def _captured_solver_output() -> Iterator[list[str]]:
    """Hold back what the C solver prints to stdout/stderr (CVODE step-size notes after
    dosing events); the caller reports that text only with an error."""
    import sys

    lines: list[str] = []
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:
        yield lines
        return
    with _capture_file() as tmp:
        os.dup2(tmp.fileno(), 1)
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            tmp.seek(0)
            lines += tmp.read().decode(errors="replace").splitlines()


class SimulationError(RuntimeError):
    """Integration failed; the message names the model, parameter set and time.
    ``reached_time``: how far the solver got (the model's time unit; None if unknown)."""

    def __init__(self, message: str, reached_time: float | None = None) -> None:
        super().__init__(message)
        self.reached_time = reached_time


#: Compiled models are kept on disk under IL2SIM_CACHE_DIR, default ~/.cache/il2sim/models;
#: "off" disables it: libRoadRunner's saved states (``.rr``, ~40x faster to load than to
#: compile) and the sparse engine's compiled right-hand sides (``.so``, :mod:`._codegen`).
CACHE_ENV = "IL2SIM_CACHE_DIR"
#: The oldest entries go once the cache holds more than this.
CACHE_MAX_BYTES = 2 * 1024**3


def compiled_model_cache() -> Path | None:
    """Where compiled models are kept (None: caching is off)."""
    value = os.environ.get(CACHE_ENV)
    if value is not None and value.strip().lower() in ("", "0", "off", "none", "false"):
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "il2sim" / "models"


def _compile(text: str) -> roadrunner.RoadRunner:
    """A compiled libRoadRunner model of SBML ``text``: loaded from the cache when this text
    was compiled before by the same libRoadRunner on the same platform, else compiled and
    stored (atomically, so parallel workers never read half a file). A cache that cannot be
    read or written is skipped, never an error."""
    cache = compiled_model_cache()
    if cache is None:
        return roadrunner.RoadRunner(text)
    key = hashlib.sha256(
        f"{roadrunner.__version__}|{platform.machine()}|{platform.system()}|".encode()
        + text.encode()
    ).hexdigest()[:40]
    path = cache / f"{key}.rr"
    if path.is_file():
        rr = roadrunner.RoadRunner()
        try:
            rr.loadState(str(path))
            os.utime(path)  # recently used: pruned last
            return rr
        except Exception:  # a stale or damaged entry is recompiled
            with contextlib.suppress(OSError):
                path.unlink()
    rr = roadrunner.RoadRunner(text)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{key}.{os.getpid()}.tmp"
        rr.saveState(str(tmp))
        os.replace(tmp, path)
        _prune(cache)
    except (OSError, RuntimeError):
        pass
    return rr


def _prune(cache: Path) -> None:
    """Remove the least recently used entries while the cache exceeds CACHE_MAX_BYTES."""
    entries = sorted(
        [*cache.glob("*.rr"), *cache.glob("*.so")], key=lambda p: p.stat().st_mtime
    )
    total = sum(p.stat().st_size for p in entries)
    for p in entries:
        if total <= CACHE_MAX_BYTES:
            break
        total -= p.stat().st_size
        p.unlink(missing_ok=True)


@dataclass(frozen=True)
class Trajectory:
    """Selected variables over time (``time`` in the model's time unit)."""

    time: np.ndarray
    columns: tuple[str, ...]
    values: np.ndarray  # (T, len(columns))

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self.values[:, self.columns.index(name)]
        except ValueError:
            raise KeyError(
                f"{name!r} was not selected; selected: {', '.join(self.columns)}"
            ) from None

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.values, columns=list(self.columns)).assign(time=self.time)


def _event_set_parameters(text: str) -> dict[str, float]:
    """Initial values of the non-constant global parameters events assign (without an
    initial assignment or rule of their own): what a second reset must restore. (For an
    il2sim network, :meth:`Network.event_set_parameters` reads the same without parsing.)"""
    import libsbml

    model = libsbml.readSBMLFromString(text).getModel()
    if model is None:
        return {}
    assigned = {
        ea.getVariable() for ev in model.getListOfEvents() for ea in ev.getListOfEventAssignments()
    }
    ruled = {r.getVariable() for r in model.getListOfRules()}
    ruled |= {ia.getSymbol() for ia in model.getListOfInitialAssignments()}
    return {
        p.getId(): p.getValue()
        for p in model.getListOfParameters()
        if not p.getConstant() and p.getId() in assigned - ruled and p.isSetValue()
    }


def _output_times(times: Sequence[float] | np.ndarray) -> np.ndarray:
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0):
        raise ValueError("times must be an increasing list of at least two values")
    return t


class Simulator:
    """A compiled model. ``run`` and ``run_batch`` reset it to its initial state first, so runs
    are independent; parameters given for one run apply to that run only. ``fallback``: a
    ``run_tolerant`` that fails at every tolerance is solved by the sparse engine instead."""

    def __init__(
        self,
        model: Network | str | Path,
        *,
        rtol: float = 1e-8,
        atol: float = 1e-14,
        max_steps: int = 200000,
        fallback: bool = False,
    ) -> None:
        event_set = None
        if isinstance(model, Network):
            text, self.name = to_sbml(model), model.id
            event_set = model.event_set_parameters()
        elif isinstance(model, Path) or (
            isinstance(model, str) and not model.lstrip().startswith("<")
        ):
            path = Path(model)
            if not path.exists():
                raise FileNotFoundError(f"SBML file not found: {path}")
            try:
                text, self.name = read_text_file(path, "SBML file"), path.name
            except CatalogError as err:
                raise SimulationError(str(err)) from None
        else:
            text, self.name = model, "sbml"
        try:
            self.rr = _compile(text)
        except RuntimeError as err:
            raise SimulationError(f"model {self.name!r} could not be loaded: {err}") from None
        self.sbml = text
        self.rr.integrator.relative_tolerance = rtol
        self.rr.integrator.absolute_tolerance = atol
        self.rr.integrator.maximum_num_steps = max_steps
        ids = self.rr.model.getGlobalParameterIds()
        self.parameter_ids = set(ids)
        self._parameter_index = {k: i for i, k in enumerate(ids)}
        self._event_set = _event_set_parameters(text) if event_set is None else event_set
        # libRoadRunner takes a simulate that continues from a later time (extend, the horizons
        # of steady_state) as the new start: the next reset restores the event-set parameters
        # as they were there and fires the events due then, so the next patient would start with
        # another's infusions (measured: aldesleukin q8h after steady_state). _apply anchors
        # the reset state at t = 0 again before the next run.
        self._continued = False
        self._params: dict[str, float] = {}
        self.species_ids = set(self.rr.model.getFloatingSpeciesIds())
        self.compartment_ids = set(self.rr.model.getCompartmentIds())
        self._fallback_allowed = fallback
        self._fallback: SparseSimulator | None = None
        self._on_fallback = False
        self.fallbacks = 0

    def _apply(
        self, values: Mapping[str, float], initial: Mapping[str, float] | None = None
    ) -> None:
        """Reset, set parameters, reset again so initial assignments follow them, then any
        species amounts given in ``initial`` (a previous state, e.g. a steady state to start
        from). Each reset fires the events at t = 0; before the second, the parameters events
        change (an infusion rate, a dose counter) go back to the model's initial values, so
        those events act once."""
        if self._continued:  # anchor libRoadRunner's reset state at t = 0 (see __init__)
            self.rr.resetAll()
            self.rr.simulate(times=[0.0, 1e-9])
            self._continued = False
        self.rr.resetAll()
        index, new = [], []  # global parameters in one call: ~50x faster than one by one
        for k, v in (
            *values.items(),
            *((k, v) for k, v in self._event_set.items() if k not in values),
        ):
            i = self._parameter_index.get(k)
            if i is not None:
                index.append(i)
                new.append(float(v))
            elif k in self.compartment_ids:
                self.rr[k] = float(v)
            else:
                raise KeyError(
                    f"unknown parameter {k!r} for model {self.name!r} (set parameters or "
                    "compartment volumes, not species; initial amounts follow from parameters)"
                )
        if index:
            self.rr.model.setGlobalParameterValues(np.array(index, np.int32), np.array(new))
        if values or self._event_set:
            self.rr.reset()
        for k, v in (initial or {}).items():
            if k not in self.species_ids:
                raise KeyError(f"unknown species {k!r} for model {self.name!r}")
            self.rr[k] = float(v)  # an amount

    def tolerances(self, rtol: float, atol: float) -> None:
        """Set the integrator's relative and absolute tolerances for the following runs."""
        self.rr.integrator.relative_tolerance = rtol
        self.rr.integrator.absolute_tolerance = atol

    def run_tolerant(
        self,
        times: Sequence[float] | np.ndarray,
        selections: Sequence[str],
        parameters: Mapping[str, float] | None = None,
        tolerances: Sequence[tuple[float, float]] = ((1e-6, 1e-12), (1e-6, 1e-10), (1e-5, 1e-9)),
    ) -> Trajectory:
        """``run``, retried with each (rtol, atol) in turn when the solver fails (cell counts of
        ~1e10 and drug in nM share one system); the error names every setting tried. With
        ``fallback`` on, a run that fails at all of them is solved by the sparse engine
        (:class:`SparseSimulator`; ``extend`` goes on there), counted in ``fallbacks``: a
        different linear algebra fails elsewhere (a bempegaldesleukin + nivolumab patient whose
        CVODE corrector failed at a dose in month 16 at every tolerance is solved there)."""
        self._on_fallback = False
        try:
            return self._run_tolerant(times, selections, parameters, tolerances)
        except SimulationError as err:
            if not self._fallback_allowed:
                raise
            sparse = self._sparse()
            if sparse is None:
                raise
            failed = err
        self.fallbacks += 1
        try:
            out = sparse.run_tolerant(times, selections, parameters, tolerances)
        except SimulationError as err:
            reached = [e.reached_time for e in (failed, err) if e.reached_time is not None]
            raise SimulationError(
                f"{failed}; the sparse engine failed too: {err}",
                reached_time=max(reached) if reached else None,
            ) from None
        self._on_fallback = True
        return out

    def _sparse(self) -> SparseSimulator | None:
        """The sparse engine on this model, built at its first use (None where it cannot
        translate the model)."""
        if self._fallback is None:
            from il2sim.simulate._sbml_casadi import UnsupportedSBMLError
            from il2sim.simulate._sparse import SparseSimulator

            try:
                self._fallback = SparseSimulator(
                    self.sbml,
                    rtol=self.rr.integrator.relative_tolerance,
                    atol=self.rr.integrator.absolute_tolerance,
                    name=self.name,
                    fallback=False,
                )
            except UnsupportedSBMLError:
                self._fallback_allowed = False
                return None
        return self._fallback

    def _run_tolerant(
        self,
        times: Sequence[float] | np.ndarray,
        selections: Sequence[str],
        parameters: Mapping[str, float] | None,
        tolerances: Sequence[tuple[float, float]],
    ) -> Trajectory:
        last: SimulationError | None = None
        reached: list[float] = []
        try:
            for rtol, atol in tolerances:
                self.tolerances(rtol, atol)
                try:
                    return self.run(times, selections, parameters)
                except SimulationError as err:
                    last = err
                    if err.reached_time is not None:
                        reached.append(err.reached_time)
        finally:
            self.tolerances(*tolerances[0])
        raise SimulationError(
            f"{last} (also with tolerances {tuple(tolerances)})",
            reached_time=max(reached) if reached else None,
        )

    def run(
        self,
        times: Sequence[float] | np.ndarray,
        selections: Sequence[str],
        parameters: Mapping[str, float] | None = None,
        initial: Mapping[str, float] | None = None,
    ) -> Trajectory:
        """Simulate from ``times[0]`` and report ``selections`` at ``times``, starting from
        the model's initial state or, for the species in ``initial``, from those amounts.

        libRoadRunner's convention: a species id selects its amount (nmol), ``[id]`` its
        concentration (nM); readouts (rules) and parameters by id."""
        t = _output_times(times)
        params = dict(parameters or {})
        self._apply(params, initial)
        self._params = params
        self._on_fallback = False
        return self._integrate(t, selections, params)

    def _integrate(
        self, t: np.ndarray, selections: Sequence[str], params: Mapping[str, float]
    ) -> Trajectory:
        """Integrate from the current state, reporting ``selections`` at ``t``; errors name
        ``params``."""
        sel = ["time", *selections]
        failure = None
        with _captured_solver_output() as solver_log, subnormals_flushed():
            try:
                out = np.asarray(self.rr.simulate(times=t, selections=sel))
            except (RuntimeError, ValueError) as err:
                failure = err
        if failure is not None:
            reached = self.rr.model.getTime()
            detail = next((ln for ln in reversed(solver_log) if "ERROR" in ln), "")
            raise SimulationError(
                f"model {self.name!r}: integration failed near t = {reached:g} with parameters "
                f"{_short(params)}: {failure} {detail}".strip(),
                reached_time=float(reached),
            ) from None
        if not np.all(np.isfinite(out)):
            bad = int(np.argmax(~np.all(np.isfinite(out), axis=1)))
            raise SimulationError(
                f"model {self.name!r}: non-finite values at t = {out[bad, 0]:g} with parameters "
                f"{_short(params)}"
            )
        return Trajectory(out[:, 0], tuple(selections), out[:, 1:])

    def extend(self, times: Sequence[float] | np.ndarray, selections: Sequence[str]) -> Trajectory:
        """Continue the last run from the state where it stopped, ``times[0]`` being the time it
        reached: parameters, event states and integrated quantities carry on (a treatment
        continuing from the screened patient, a follow-up from the second scan), so what was
        solved is not solved again. Current tolerances; after a failure the state is lost and
        the caller starts over with ``run``."""
        t = _output_times(times)
        if self._on_fallback and self._fallback is not None:
            return self._fallback.extend(t, selections)
        now = float(self.rr.model.getTime())
        if abs(t[0] - now) > 1e-9 * max(1.0, abs(now)):
            raise ValueError(
                f"extend must start where the last run stopped (t = {now:g}), not at t = {t[0]:g}"
            )
        self._continued = True
        return self._integrate(t, selections, self._params)

    def steady_state(
        self,
        selections: Sequence[str],
        parameters: Mapping[str, float] | None = None,
        initial: Mapping[str, float] | None = None,
    ) -> dict[str, float]:
        """The steady state reached from the model's initial state (or ``initial`` species
        amounts) with ``parameters``: the trajectory is followed over horizons of 10, 100, ...
        1e8 time units until it settles (every state's rate below 1e-6 of its size, or of 1),
        where a Newton solver would only find the point nearest the start; if it has not
        settled by then (an oscillation, a slow drift), libRoadRunner's Newton solver with
        presimulation decides. Raises :class:`SimulationError` when none is found."""
        params = dict(parameters or {})
        self._apply(params, initial)
        rates, failure = None, None
        with _captured_solver_output() as log, subnormals_flushed():
            try:
                t = 0.0
                for horizon in 10.0 ** np.arange(1, 9):
                    if t > 0:  # set first: a continuation that fails leaves its mark too
                        self._continued = True
                    self.rr.simulate(t, horizon, 2)
                    t = horizon
                    rates = self._unsteady()
                    if rates is None:
                        break
            except (RuntimeError, ValueError):
                rates = np.array([np.inf])  # the trajectory could not be followed
            if rates is not None:  # not settled: Newton from the initial state
                try:
                    self._apply(params, initial)
                    solver = self.rr.getSteadyStateSolver()
                    solver.allow_presimulation = True
                    solver.presimulation_time = 1e4
                    self.rr.steadyState()
                    rates = self._unsteady()
                except (RuntimeError, ValueError) as err:
                    failure = err
        if failure is not None:
            detail = next((ln for ln in reversed(log) if "ERROR" in ln), "")
            raise SimulationError(
                f"model {self.name!r}: no steady state found with parameters {_short(params)}: "
                f"{failure} {detail}".strip()
            )
        if rates is not None:
            raise SimulationError(
                f"model {self.name!r}: the point found is not steady (max |rate| "
                f"{rates.max():.3g}) with parameters {_short(params)}"
            )
        return {k: float(self.rr[k]) for k in selections}

    def _unsteady(self) -> np.ndarray | None:
        """The absolute rates of the state variables if any is not ~0 (above 1e-6 of the
        variable's size, or of 1), else None."""
        named = self.rr.getRatesOfChangeNamedArray()
        rates = np.abs(np.asarray(named, dtype=float).ravel())
        values = np.abs([float(self.rr[k.rstrip("'")]) for k in named.colnames])
        return rates if np.any(rates > 1e-6 * np.maximum(values, 1.0)) else None

    def run_batch(
        self,
        times: Sequence[float] | np.ndarray,
        selections: Sequence[str],
        names: Sequence[str],
        values: np.ndarray,
        *,
        on_error: str = "raise",
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, list[tuple[int, str]]]:
        """Run every row of ``values`` (parameter sets over ``names``) through this one compiled
        model. Returns results (N, T, S) and the failures ``(row, reason)``; with
        ``on_error="record"`` failed rows are left as NaN in the array and listed, never dropped
        silently. ``progress(done, total)`` is called after each set."""
        vals = np.atleast_2d(np.asarray(values, dtype=float))
        if vals.shape[1] != len(names):
            raise ValueError(f"values has {vals.shape[1]} columns for {len(names)} names")
        if on_error not in ("raise", "record"):
            raise ValueError("on_error must be 'raise' or 'record'")
        t = np.asarray(times, dtype=float)
        out = np.full((vals.shape[0], t.size, len(selections)), np.nan)
        failures: list[tuple[int, str]] = []
        for i, row in enumerate(vals):
            try:
                out[i] = self.run(t, selections, dict(zip(names, row, strict=True))).values
            except SimulationError as err:
                if on_error == "raise":
                    raise SimulationError(f"parameter set {i}: {err}") from None
                failures.append((i, str(err)))
            if progress is not None:
                progress(i + 1, vals.shape[0])
        return out, failures


def _short(params: Mapping[str, float]) -> str:
    if not params:
        return "(model defaults)"
    items = [f"{k}={v:.4g}" for k, v in list(params.items())[:8]]
    more = f", ... ({len(params)} in all)" if len(params) > 8 else ""
    return "{" + ", ".join(items) + more + "}"
