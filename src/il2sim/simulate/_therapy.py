"""Run a therapy scenario: every arm of every setting through the full network, results in long
format, a per-arm summary, progress, and resumption from finished arms."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from il2sim.catalog import (
    Arm,
    Setting,
    TherapyScenario,
    get_drug,
    get_therapy_scenario,
    immune_parameters,
)
from il2sim.model import Network, build_arm_model
from il2sim.simulate._engine import SimulationError, Simulator, Trajectory
from il2sim.simulate._grades import GRADE34_THRESHOLDS, SUSCEPTIBILITY_SD, grade34_probability
from il2sim.simulate._nca import exposure
from il2sim.simulate._processes import die_with_parent
from il2sim.simulate._store import RunStore, fingerprint

COLUMNS = ["setting", "arm", "time_d", "variable", "value", "unit"]


@dataclass
class TherapyResult:
    scenario: TherapyScenario
    frame: pd.DataFrame  # long format: COLUMNS
    summary: list[dict]  # one dict per arm

    def series(self, setting: str, arm: str, variable: str) -> pd.Series:
        f = self.frame
        sel = f[(f.setting == setting) & (f.arm == arm) & (f.variable == variable)]
        if sel.empty:
            raise KeyError(f"no {variable!r} for {setting}/{arm}")
        return sel.set_index("time_d")["value"]

    def arm_summary(self, setting: str, arm: str) -> dict:
        return next(s for s in self.summary if s["setting"] == setting and s["arm"] == arm)


def _fingerprint(scenario: TherapyScenario, setting: Setting, arm: Arm) -> str:
    return fingerprint(
        scenario.duration_days,
        scenario.run_in_days,
        scenario.points_per_day,
        scenario.readout_days,
        setting.model_dump(exclude={"arms"}),
        arm.model_dump(),
    )


def run_arm(scenario: TherapyScenario, setting: Setting, arm: Arm) -> tuple[pd.DataFrame, dict]:
    """Simulate one arm; return its long-format rows and its summary."""
    setup = arm_setup(scenario, setting, arm)
    traj = _integrate(setup.network, setup.times_h, setup.selections)
    frame = setup.frame(traj)
    return frame, _summarise(scenario, setting, arm, frame)


@dataclass
class ArmSetup:
    """One arm's network, output times and readouts: what a simulation of it needs, so that
    several parameter sets (posterior draws) reuse one build."""

    setting: Setting
    arm: Arm
    network: Network
    times_h: np.ndarray
    t0_h: float
    variables: list[tuple[str, str, str]]  # (name, model id, unit)

    @property
    def selections(self) -> list[str]:
        return [v[1] for v in self.variables]

    def frame(self, traj: Trajectory) -> pd.DataFrame:
        """The long-format rows (:data:`COLUMNS`) of a trajectory over :attr:`selections`."""
        keep = traj.time >= self.t0_h - 1e-9
        t_d = (traj.time[keep] - self.t0_h) / 24.0
        names = [v[0] for v in self.variables]
        units = [v[2] for v in self.variables]
        return pd.DataFrame(  # variable by variable, each over all times
            {
                "setting": self.setting.name,
                "arm": self.arm.name,
                "time_d": np.tile(t_d, len(names)),
                "variable": np.repeat(names, t_d.size).astype(object),
                "value": traj.values[keep].T.ravel(),
                "unit": np.repeat(units, t_d.size).astype(object),
            }
        )[COLUMNS]


def arm_setup(scenario: TherapyScenario, setting: Setting, arm: Arm) -> ArmSetup:
    """Build one arm's network and choose its readouts: cells and their pSTAT5, the disease
    burden, exhaustion, PD-L1 on target cells, plasma levels, toxicity indices, Treg:CD8
    ratios, PD-1/PD-L1 occupancy."""
    model, im = build_arm_model(
        setting, arm, duration_days=scenario.duration_days, run_in_days=scenario.run_in_days
    )
    t0 = scenario.run_in_days * 24.0
    n = int(scenario.duration_days * scenario.points_per_day) + 1
    t_report = np.linspace(t0, t0 + scenario.duration_days * 24.0, n)
    times = np.concatenate([[0.0], t_report]) if t0 > 0 else t_report
    variables: list[tuple[str, str, str]] = []
    for pid, sp in im.cells.items():
        variables.append((f"cells:{pid}", sp, "cells"))
        if f"s_{pid}" in model.network.rules:
            variables.append((f"pstat5:{pid}", f"s_{pid}", "fraction of the cell's maximum"))
    if im.burden is not None:
        name = "tumour_cells" if setting.disease == "tumour" else "viral_load"
        variables.append(
            (name, im.burden, "cells" if name == "tumour_cells" else "fraction of maximum")
        )
    if im.exhaustion is not None:
        variables.append(("exhaustion_programme", im.exhaustion, "fraction"))
    if im.pdl1_targets is not None:
        variables.append(("pdl1_target_cells", im.pdl1_targets, "relative to treatment start"))
    for mol, rule in model.plasma_ng_per_mL.items():
        variables.append((f"plasma:{mol}", rule, "ng/mL"))
    for idx, rule in im.toxicity.items():
        variables.append((idx, rule, "index"))
    for loc, rule in im.treg_cd8_ratio.items():
        variables.append((f"treg_cd8_ratio:{loc}", rule, "ratio"))
    for (kind, pid), rule in model.occupancy.items():
        if kind in ("PD1", "PDL1") and pid in im.cells:
            variables.append((f"occupancy_{kind}:{pid}", rule, "fraction"))
    return ArmSetup(setting, arm, model.network, times, t0, variables)


def _integrate(network, times, selections):
    return Simulator(network, rtol=1e-6, atol=1e-12).run_tolerant(times, selections)


def _summarise(scenario: TherapyScenario, setting: Setting, arm: Arm, frame: pd.DataFrame) -> dict:
    """The per-arm summary of its long-format rows: fold expansion of every population and the
    disease burden at the readout days, Treg:CD8 ratios, toxicity peaks, drug exposure."""
    P = immune_parameters()
    wide = frame.pivot_table(index="time_d", columns="variable", values="value")
    t = wide.index.to_numpy()

    def at(col: str, day: float) -> float:
        return float(np.interp(day, t, wide[col].to_numpy()))

    days = scenario.readout_days
    fold = {}
    for col in wide.columns:
        if col.startswith("cells:"):
            start = wide[col].iloc[0]
            fold[col.split(":", 1)[1]] = {f"day_{d:g}": at(col, d) / start for d in days}
    out: dict = {
        "setting": setting.name,
        "arm": arm.name,
        "label": arm.label or arm.name,
        "drug": arm.drug,
        "regimen": arm.regimen,
        "antibodies": [a.model_dump() for a in arm.antibodies],
        "fold_expansion": fold,
    }
    for burden in ("tumour_cells", "viral_load"):
        if burden in wide:
            start = wide[burden].iloc[0]
            out[f"{burden}_change"] = {f"day_{d:g}": at(burden, d) / start for d in days}
    out["treg_cd8_ratio"] = {
        c.split(":", 1)[1]: {f"day_{d:g}": at(c, d) for d in [0.0, *days]}
        for c in wide.columns
        if c.startswith("treg_cd8_ratio:")
    }
    tox = {}
    daily = wide.groupby(np.floor(t).clip(max=scenario.duration_days - 1)).mean()
    sd = P[SUSCEPTIBILITY_SD].value
    for idx, thr_name in (
        ("vascular_leak_index", "vascular_leak_threshold"),
        ("cytokine_release_index", "cytokine_release_threshold"),
    ):
        if idx in wide:
            peak = float(daily[idx].max())
            tox[idx] = {
                "max_daily_mean": peak,
                "mean": float(wide[idx].mean()),
                "threshold": P[thr_name].value,
                "exceeded": bool(peak > P[thr_name].value),
                # share of patients with a grade 3-4 event at this exposure (simulate/_grades.py)
                "grade34_share": float(
                    grade34_probability(peak, P[GRADE34_THRESHOLDS[idx]].value, sd)
                ),
            }
    out["toxicity"] = tox
    expo = {}
    for col in wide.columns:
        if col.startswith("plasma:"):
            e = exposure(t * 24.0, wide[col].to_numpy())
            expo[col.split(":", 1)[1]] = {"cmax_ng_per_mL": e.cmax, "auc_ng_h_per_mL": e.auc}
    out["exposure"] = expo
    return out


def _task(args) -> tuple[str, str, pd.DataFrame, dict]:
    scenario, setting, arm = args
    frame, summary = run_arm(scenario, setting, arm)
    return setting.name, arm.name, frame, summary


def run_therapy(
    scenario: TherapyScenario | str = "default",
    *,
    workers: int = 1,
    cache_dir: Path | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> TherapyResult:
    """Every arm of every setting; with ``cache_dir`` each finished arm is written at once (see
    :class:`RunStore`) and a rerun with the same scenario reuses it (resume); an arm on disk
    that is incomplete or another run's is recomputed and ``notice(message)`` says so.
    ``progress(arm, done, total)``."""
    sc = get_therapy_scenario(scenario)
    store = RunStore(cache_dir, notice)
    with store.locked():
        return _run_therapy(sc, store, workers, progress)


def _unit(sc: TherapyScenario, setting: Setting, arm: Arm) -> tuple[str, str]:
    fp = _fingerprint(sc, setting, arm)
    return f"arms/{setting.name}__{arm.name}_{fp}", fp


def _run_therapy(
    sc: TherapyScenario,
    store: RunStore,
    workers: int,
    progress: Callable[[str, int, int], None] | None,
) -> TherapyResult:
    tasks = [(sc, s, a) for s in sc.settings for a in s.arms]
    results: dict[tuple[str, str], tuple[pd.DataFrame, dict]] = {}
    todo = []
    for task in tasks:
        _, s, a = task
        cached = store.load(*_unit(sc, s, a))
        if cached is not None:
            results[(s.name, a.name)] = (cached[0]["frame"], cached[1]["summary"])
        else:
            todo.append(task)
    done = len(results)
    if progress:
        progress("cached", done, len(tasks))
    arms = {(s.name, a.name): (s, a) for _, s, a in tasks}

    def finish(sname: str, aname: str, frame: pd.DataFrame, summary: dict) -> None:
        nonlocal done
        summary = json.loads(json.dumps(summary))  # as a resumed run reads it back
        unit, fp = _unit(sc, *arms[(sname, aname)])
        frame = store.save(unit, fp, {"frame": frame}, {"summary": summary})["frame"]
        results[(sname, aname)] = (frame, summary)
        done += 1
        if progress:
            progress(f"{sname}/{aname}", done, len(tasks))

    if workers > 1 and len(todo) > 1:
        # largest networks first (PEG prodrugs have several forms), so the pool ends together
        todo.sort(key=lambda t: -_cost(t[2]))
        pool = ProcessPoolExecutor(workers, initializer=die_with_parent, initargs=(os.getpid(),))
        with pool:
            futures = [pool.submit(_task, t) for t in todo]
            for fut in as_completed(futures):
                finish(*fut.result())
    else:
        for t in todo:
            finish(*_task(t))
    ordered = [results[(s.name, a.name)] for _, s, a in tasks]
    frame = pd.concat([r[0] for r in ordered], ignore_index=True)
    return TherapyResult(sc, frame, [r[1] for r in ordered])


def _cost(arm: Arm) -> int:
    """Rough size of an arm's network: one unit per drug form and antibody."""
    forms = 1
    if arm.drug is not None:
        drug = get_drug(arm.drug)
        forms += 1 + len(drug.prodrug_states)
    return forms + len(arm.antibodies)


def _numbers(summary: dict, prefix: str = "") -> dict[str, float]:
    """The numeric leaves of an arm summary, keyed by their dotted path
    (``fold_expansion.mouse_treg_spleen.day_14``)."""
    out: dict[str, float] = {}
    for k, v in summary.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _numbers(v, f"{key}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = float(v)
    return out


def posterior_draws(n: int, *, seed: int = 1) -> list[dict[str, float]]:
    """``n`` draws (with replacement, seeded) of the signaling constants' posterior (`il2sim
    calibrate --sample`) as the body model's parameter values: kx, cooperativity, k_half."""
    from il2sim.binding import load_posterior

    if n < 2:
        raise ValueError(f"uncertainty needs at least 2 posterior draws, got {n}")
    return [
        {
            "kx": sp.kx_nM_per_receptor.value,
            "coop": sp.cooperativity.value,
            "k_half": sp.k_half_complexes.value,
        }
        for sp in load_posterior().params(n, seed=seed)
    ]


def draw_interval(values: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """Median, low and high (the central ``level`` interval) of one quantity over posterior
    draws, NaN left out, with the number of draws that gave a value (``n_draws``)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    q = [0.5, (1 - level) / 2, 1 - (1 - level) / 2]
    med, lo, hi = np.quantile(v, q) if v.size else [np.nan] * 3
    return {"median": float(med), "low": float(lo), "high": float(hi), "n_draws": int(v.size)}


def therapy_intervals(
    scenario: TherapyScenario | str,
    n: int,
    *,
    level: float = 0.95,
    seed: int = 1,
    progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Credible intervals of every arm's summary numbers (fold expansions, disease burden,
    Treg:CD8 ratios, toxicity peaks) over ``n`` draws of the signaling constants' posterior
    (kx, cooperativity, k_half; `il2sim calibrate --sample`), each arm built once and re-solved
    per draw. Returns one row per (setting, arm, metric): median, low, high and the number of
    draws that solved (a draw the solver cannot finish is counted out, not hidden).
    ``progress(arm, done, total)`` counts solved arm x draw pairs."""
    sc = get_therapy_scenario(scenario)
    draws = posterior_draws(n, seed=seed)
    total, done = n * sum(len(s.arms) for s in sc.settings), 0
    rows = []
    for setting in sc.settings:
        for arm in setting.arms:
            setup = arm_setup(sc, setting, arm)
            sim = Simulator(setup.network, rtol=1e-6, atol=1e-12)
            per_draw = []
            for values in draws:
                try:
                    traj = sim.run_tolerant(setup.times_h, setup.selections, values)
                except SimulationError:
                    continue
                finally:
                    done += 1
                    if progress:
                        progress(arm.name, done, total)
                per_draw.append(_numbers(_summarise(sc, setting, arm, setup.frame(traj))))
            table = pd.DataFrame(per_draw)
            rows += [
                {
                    "setting": setting.name,
                    "arm": arm.name,
                    "metric": metric,
                    **draw_interval(table[metric], level),
                }
                for metric in table.columns
            ]
    return pd.DataFrame(rows)
