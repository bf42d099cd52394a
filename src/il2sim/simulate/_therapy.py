"""Run a therapy scenario: every arm of every setting through the full network, results in long
format, a per-arm summary, progress, and resumption from finished arms."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache
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
from il2sim.model._immunity import build_arm_model
from il2sim.simulate._engine import Simulator
from il2sim.simulate._nca import exposure

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


@cache
def _source_digest() -> str:
    """Digest of what a cached result depends on besides its inputs: every shipped data file
    and il2sim's own code, so a changed catalog or model never reuses stale results (read once
    per process, like the catalog itself)."""
    import il2sim

    root = Path(il2sim.__file__).parent
    h = hashlib.sha256()
    files = [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for path in sorted(files):
        if path.suffix in (".py", ".yaml", ".csv", ".json", ".tsv"):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _fingerprint(scenario: TherapyScenario, setting: Setting, arm: Arm) -> str:
    from il2sim import __version__

    blob = json.dumps(
        [
            scenario.duration_days,
            scenario.run_in_days,
            scenario.points_per_day,
            scenario.readout_days,
            setting.model_dump(exclude={"arms"}),
            arm.model_dump(),
            __version__,
            _source_digest(),
        ],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def run_arm(scenario: TherapyScenario, setting: Setting, arm: Arm) -> tuple[pd.DataFrame, dict]:
    """Simulate one arm; return its long-format rows and its summary."""
    model, im = build_arm_model(
        setting, arm, duration_days=scenario.duration_days, run_in_days=scenario.run_in_days
    )
    t0 = scenario.run_in_days * 24.0
    n = int(scenario.duration_days * scenario.points_per_day) + 1
    t_report = np.linspace(t0, t0 + scenario.duration_days * 24.0, n)
    times = np.concatenate([[0.0], t_report]) if t0 > 0 else t_report
    variables: list[tuple[str, str, str]] = []  # (name, model id, unit)
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
    for mol, rule in model.plasma_ng_per_mL.items():
        variables.append((f"plasma:{mol}", rule, "ng/mL"))
    for idx, rule in im.toxicity.items():
        variables.append((idx, rule, "index"))
    for loc, rule in im.treg_cd8_ratio.items():
        variables.append((f"treg_cd8_ratio:{loc}", rule, "ratio"))
    for (kind, pid), rule in model.occupancy.items():
        if kind in ("PD1", "PDL1") and pid in im.cells:
            variables.append((f"occupancy_{kind}:{pid}", rule, "fraction"))
    traj = _integrate(model.network, times, [v[1] for v in variables])
    keep = traj.time >= t0 - 1e-9
    t_d = (traj.time[keep] - t0) / 24.0
    rows = []
    for j, (name, _, unit) in enumerate(variables):
        vals = traj.values[keep, j]
        rows.append(
            pd.DataFrame(
                {
                    "setting": setting.name,
                    "arm": arm.name,
                    "time_d": t_d,
                    "variable": name,
                    "value": vals,
                    "unit": unit,
                }
            )
        )
    frame = pd.concat(rows, ignore_index=True)[COLUMNS]
    return frame, _summarise(scenario, setting, arm, frame)


def _integrate(network, times, selections):
    return Simulator(network, rtol=1e-6, atol=1e-12).run_tolerant(times, selections)


def _summarise(scenario: TherapyScenario, setting: Setting, arm: Arm, frame: pd.DataFrame) -> dict:
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
) -> TherapyResult:
    """Every arm of every setting; with ``cache_dir`` each finished arm is written at once and
    a rerun with the same scenario reuses it (resume). ``progress(arm, done, total)``."""
    sc = get_therapy_scenario(scenario)
    tasks = [(sc, s, a) for s in sc.settings for a in s.arms]
    results: dict[tuple[str, str], tuple[pd.DataFrame, dict]] = {}
    todo = []
    for task in tasks:
        _, s, a = task
        cached = _load_cached(cache_dir, sc, s, a)
        if cached is not None:
            results[(s.name, a.name)] = cached
        else:
            todo.append(task)
    done = len(results)
    if progress:
        progress("cached", done, len(tasks))

    def finish(sname: str, aname: str, frame: pd.DataFrame, summary: dict) -> None:
        nonlocal done
        results[(sname, aname)] = (frame, summary)
        _store(cache_dir, sc, sname, aname, frame, summary)
        done += 1
        if progress:
            progress(f"{sname}/{aname}", done, len(tasks))

    if workers > 1 and len(todo) > 1:
        # largest networks first (PEG prodrugs have several forms), so the pool ends together
        todo.sort(key=lambda t: -_cost(t[2]))
        with ProcessPoolExecutor(workers) as pool:
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


def _paths(cache_dir: Path, setting: str, arm: str) -> tuple[Path, Path]:
    base = cache_dir / "arms" / f"{setting}__{arm}"
    return base.with_suffix(".parquet"), base.with_suffix(".json")


def _store(cache_dir, sc, sname, aname, frame, summary) -> None:
    if cache_dir is None:
        return
    setting = next(s for s in sc.settings if s.name == sname)
    arm = next(a for a in setting.arms if a.name == aname)
    pq, js = _paths(Path(cache_dir), sname, aname)
    pq.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(pq, index=False)
    js.write_text(json.dumps({"fingerprint": _fingerprint(sc, setting, arm), "summary": summary}))


def _load_cached(cache_dir, sc, setting, arm):
    if cache_dir is None:
        return None
    pq, js = _paths(Path(cache_dir), setting.name, arm.name)
    if not (pq.exists() and js.exists()):
        return None
    try:
        meta = json.loads(js.read_text())
        if meta.get("fingerprint") != _fingerprint(sc, setting, arm):
            return None
        return pd.read_parquet(pq), meta["summary"]
    except (OSError, ValueError):
        return None
