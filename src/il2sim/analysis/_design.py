"""Inverse design: which IL-2 drug and regimen shrink tumours most without crossing a toxicity
limit, from receptor affinities to virtual patients.

The drug is the design template (``catalog/data/design/il2_design_template.yaml``): one IL-2
unit with an IL-2Ralpha site, an IL-2Rbeta/gamma-c site and a bivalent anti-PD-1 arm. A
candidate sets the three Kd values (a very large Kd removes the site: no-alpha, or untargeted),
a clearance multiplier (half-life) and the dose; the valency (IL-2 units per molecule: another
binding scheme) and the dosing interval are discrete choices. All but these two are parameters
of the network, so one compiled model per (valency, interval) evaluates every candidate. Each
candidate is given, alone or with a checkpoint antibody, to the same virtual patients of a
cohort; efficacy is their mean change in sum of diameters at the end of
treatment (and the share responding), toxicity the highest daily vascular-leak and
cytokine-release indices among them.

Search: a Latin hypercube over the space (SALib), then a second hypercube around the best
feasible candidates; the result is every evaluated candidate, the Pareto front (efficacy vs
vascular leak) and the best candidates under the limit with their simulated courses.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from il2sim.catalog import DATA_DIR, AntibodyDosing, Arm, CohortSpec, get_cohort, immune_parameters
from il2sim.cohort import build_arm, draw_patients, run_cohort

TEMPLATE = DATA_DIR / "design" / "il2_design_template.yaml"
KEY = "il2_design"


@dataclass(frozen=True)
class DesignSpace:
    """Bounds of the search (log-uniform) and the interval choices. Kd bounds in nM; ``cl_fold``
    multiplies the template's (Fc-fusion) clearance; ``dose_mg`` is per administration."""

    kd_il2ra_nM: tuple[float, float] = (0.1, 1.0e5)
    kd_il2rbg_nM: tuple[float, float] = (0.03, 30.0)
    kd_pd1_nM: tuple[float, float] = (0.05, 1.0e5)
    cl_fold: tuple[float, float] = (0.3, 30.0)
    dose_mg: tuple[float, float] = (0.1, 30.0)
    intervals: tuple[str, ...] = ("q1w", "q3w")
    valencies: tuple[int, ...] = (1,)

    def check(self) -> None:
        for name in ("kd_il2ra_nM", "kd_il2rbg_nM", "kd_pd1_nM", "cl_fold", "dose_mg"):
            lo, hi = getattr(self, name)
            if not 0 < lo < hi:
                raise ValueError(
                    f"{name} must be (lower, upper) with 0 < lower < upper, got {(lo, hi)}"
                )
        bad = [
            i
            for i in self.intervals
            if not (i.startswith("q") and i[1:-1].isdigit() and i[-1] in "dw")
        ]
        if bad or not self.intervals:
            raise ValueError(f"intervals must be like 'q1w' or 'q14d'; got {list(self.intervals)}")
        if not self.valencies or any(v not in (1, 2, 3, 4) for v in self.valencies):
            raise ValueError(
                f"valencies must be IL-2 units per molecule from 1 to 4; got {list(self.valencies)}"
            )

    @property
    def names(self) -> list[str]:
        return ["kd_il2ra_nM", "kd_il2rbg_nM", "kd_pd1_nM", "cl_fold", "dose_mg"]


@dataclass
class DesignResult:
    candidates: pd.DataFrame  # one row per candidate: design, efficacy, toxicity, feasible, pareto
    best: pd.DataFrame  # the best feasible candidates, best first
    traces: pd.DataFrame  # weekly sum-of-diameters change of the best candidates' patients
    toxicity_limit: float
    notes: list[str] = field(default_factory=list)


def _latin(space: DesignSpace, n: int, seed: int, centre: np.ndarray | None = None) -> np.ndarray:
    from SALib.sample import latin

    bounds = [list(np.log10(getattr(space, k))) for k in space.names]
    if centre is not None:  # a box of +-0.5 log10 around a good candidate, inside the space
        bounds = [
            [max(lo, c - 0.5), min(hi, c + 0.5)] for (lo, hi), c in zip(bounds, centre, strict=True)
        ]
    problem = {"num_vars": len(bounds), "names": space.names, "bounds": bounds}
    return 10 ** latin.sample(problem, n, seed=seed)


def _template(valency: int) -> Path:
    """The design template with ``valency`` IL-2 units (same drug name, so the same run-time
    parameter ids: only the binding scheme differs)."""
    if valency == 1:
        return TEMPLATE
    doc = yaml.safe_load(TEMPLATE.read_text())
    doc["valency"] = {
        "value": valency,
        "source": f"design choice: {valency} IL-2 units per molecule (e.g. an Fc fusion)",
    }
    path = Path(tempfile.gettempdir()) / "il2sim_design" / f"il2_design_v{valency}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(doc, sort_keys=False)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _arm(interval: str, antibodies: Sequence[AntibodyDosing], valency: int = 1) -> Arm:
    """The template drug at 1 mg per dose (the candidate's dose is its dose scale)."""
    return Arm(
        name=f"design_v{valency}_{interval}",
        drug=str(_template(valency)),
        regimen=f"1 mg {interval}",
        antibodies=list(antibodies),
    )


def _evaluate(
    spec: CohortSpec,
    designs: pd.DataFrame,
    patients: pd.DataFrame,
    antibodies: Sequence[AntibodyDosing],
    defaults: dict[str, float],
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int], None] | None,
    out_dir: Path | None = None,
    notice: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every design (rows, with an ``interval`` and a ``round``) on every patient; returns
    per-candidate metrics and the weekly traces. ``defaults``: the template network's parameter
    values. With ``out_dir`` each (round, valency, interval) group is a resumable cohort run in
    its own sub-folder (the cohort run store: chunks checked against their fingerprint)."""
    rows, traces = [], []
    groups = designs.groupby(["round", "valency", "interval"], sort=False)
    for (round_, valency, interval), group in groups:
        arm = _arm(interval, antibodies, int(valency))
        cspec = spec.model_copy(update={"arms": [arm]})
        table = []
        for cid, d in group.iterrows():
            for _, p in patients.iterrows():
                row = p.to_dict()
                row.update(
                    {
                        "candidate": cid,
                        f"kd_{KEY}_IL2RA": d.kd_il2ra_nM,
                        f"kd_{KEY}_IL2RBG": d.kd_il2rbg_nM,
                        f"kd_{KEY}_PD1": d.kd_pd1_nM,
                        f"CL_{KEY}": defaults[f"CL_{KEY}"] * d.cl_fold,
                        f"dose_scale_{KEY}": d.dose_mg,
                    }
                )
                table.append(row)
        pts = pd.DataFrame(table)
        pts["vp_patient"] = pts["patient"]
        pts["patient"] = np.arange(len(pts))
        res = run_cohort(
            cspec,
            [arm.name],
            patients=pts.drop(columns=["candidate", "vp_patient", "vp"], errors="ignore"),
            workers=workers,
            scheduler=scheduler,
            chunk_size=max(1, -(-len(pts) // (4 * max(workers, 1)))),  # keep workers busy
            progress=progress,
            out_dir=None if out_dir is None else out_dir / f"round{round_}_v{valency}_{interval}",
            notice=notice,
        )
        o = res.outcomes.merge(pts[["patient", "candidate"]], on="patient")
        tr = res.traces.merge(pts[["patient", "candidate", "vp_patient"]], on="patient")
        traces.append(tr)
        for cid, g in o.groupby("candidate"):
            ok = g[g.status == "ok"]
            rows.append(
                {
                    "candidate": cid,
                    "n_evaluable": len(ok),
                    "mean_final_change_pct": float(ok.final_change_pct.mean())
                    if len(ok)
                    else np.inf,
                    "response_share": float(ok.bor.isin(["CR", "PR"]).mean()) if len(ok) else 0.0,
                    "vascular_leak_max": float(ok.vascular_leak_index_max.max())
                    if len(ok)
                    else np.inf,
                    "cytokine_release_max": float(ok.cytokine_release_index_max.max())
                    if len(ok)
                    else np.inf,
                }
            )
    return pd.DataFrame(rows).set_index("candidate"), pd.concat(traces, ignore_index=True)


def pareto_front(efficacy: np.ndarray, toxicity: np.ndarray) -> np.ndarray:
    """Mask of candidates no other candidate beats on both (lower is better for both)."""
    e, t = np.asarray(efficacy, float), np.asarray(toxicity, float)
    keep = np.ones(e.size, bool)
    for i in range(e.size):
        dominated = (e <= e[i]) & (t <= t[i]) & ((e < e[i]) | (t < t[i]))
        keep[i] = not dominated.any()
    return keep


def design(
    cohort: CohortSpec | str = "melanoma",
    *,
    space: DesignSpace | None = None,
    n_candidates: int = 24,
    n_refine: int = 12,
    n_patients: int = 8,
    antibodies: Sequence[AntibodyDosing] = (),
    toxicity_limit: float | None = None,
    n_best: int = 3,
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    out_dir: Path | None = None,
    notice: Callable[[str], None] | None = None,
) -> DesignResult:
    """Search drug designs and regimens for the lowest mean tumour change on ``n_patients``
    virtual patients with the vascular-leak index (highest daily value among them) below
    ``toxicity_limit`` (default: the catalog threshold) and the cytokine-release index below
    its threshold. ``n_candidates`` per (valency, interval) in the first round, ``n_refine``
    around the best feasible ones. With ``out_dir`` every finished chunk of simulations is kept
    there and a rerun with the same arguments resumes from it (identical results);
    ``notice`` says which kept chunks were damaged or another run's and are recomputed."""
    spec = get_cohort(cohort)
    space = space or DesignSpace()
    space.check()
    if n_candidates < 2 or n_patients < 1:
        raise ValueError("n_candidates must be >= 2 and n_patients >= 1")
    P = immune_parameters()
    limit = P["vascular_leak_threshold"].value if toxicity_limit is None else toxicity_limit
    crs_limit = P["cytokine_release_threshold"].value
    arm0 = _arm(space.intervals[0], antibodies)
    defaults = build_arm(spec.model_copy(update={"arms": [arm0]}), arm0.name).defaults
    patients = draw_patients(spec, n_patients, seed=seed, defaults=defaults, population=None)
    first = []
    choices = [(v, i) for v in space.valencies for i in space.intervals]
    for k, (valency, interval) in enumerate(choices):
        x = _latin(space, n_candidates, seed + k)
        first.append(
            pd.DataFrame(x, columns=space.names).assign(valency=valency, interval=interval, round=1)
        )
    designs = pd.concat(first, ignore_index=True)
    metrics, traces = _evaluate(
        spec, designs, patients, antibodies, defaults, workers, scheduler, progress, out_dir, notice
    )
    cand = designs.join(metrics)
    cand["feasible"] = (cand.vascular_leak_max < limit) & (cand.cytokine_release_max < crs_limit)
    notes = []
    if n_refine > 0 and cand.feasible.any():
        top = cand[cand.feasible].nsmallest(2, "mean_final_change_pct")
        refined = []
        for j, (_, t) in enumerate(top.iterrows()):
            centre = np.log10(t[space.names].to_numpy(float))
            x = _latin(space, n_refine, seed + 100 + j, centre=centre)
            refined.append(
                pd.DataFrame(x, columns=space.names).assign(
                    valency=t.valency, interval=t.interval, round=2
                )
            )
        more = pd.concat(refined, ignore_index=True)
        more.index = more.index + len(cand)
        m2, t2 = _evaluate(
            spec,
            more,
            patients,
            antibodies,
            defaults,
            workers,
            scheduler,
            progress,
            out_dir,
            notice,
        )
        more = more.join(m2)
        more["feasible"] = (more.vascular_leak_max < limit) & (
            more.cytokine_release_max < crs_limit
        )
        cand = pd.concat([cand, more])
        traces = pd.concat([traces, t2], ignore_index=True)
    elif not cand.feasible.any():
        notes.append(f"no candidate stays below the toxicity limits ({limit:g}, {crs_limit:g})")
    cand["pareto"] = pareto_front(
        cand.mean_final_change_pct.to_numpy(), cand.vascular_leak_max.to_numpy()
    )
    cand.index.name = "candidate"
    best = cand[cand.feasible].nsmallest(n_best, "mean_final_change_pct")
    best_traces = traces[traces.candidate.isin(best.index)]
    return DesignResult(cand.reset_index(), best.reset_index(), best_traces, limit, notes)
