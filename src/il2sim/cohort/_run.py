"""Virtual patients through the full network: one compiled model per arm and worker, chunks of
patients run in parallel (Dask: a LocalCluster, or any cluster by its scheduler address),
each finished chunk written at once so that a rerun with the same arguments resumes, and every
failed patient recorded with its parameters and reason.

Covariates: body weight scales per-kg doses, each drug form's clearances (with the exponent
its disposition gives, e.g. pembrolizumab 0.595, IL-2 0.75, as the body model recorded it) and
volumes (exponent 1), and the body's lymphocyte numbers (per kg); per-m2 doses follow the
body-surface area at the reference height (Mosteller: BSA ~ weight^0.5).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from il2sim.catalog import (
    CohortSpec,
    Setting,
    get_antibody,
    get_cohort,
    get_drug,
    immune_parameters,
    parse_regimen,
)
from il2sim.cohort._recist import (
    PatientLesions,
    assess_sld,
    patient_lesions,
    patient_scan_days,
    sld_mm,
)
from il2sim.cohort._sample import POPULATIONS, draw_patients, is_population_file
from il2sim.cohort._trae import (
    HAZARD_PARAMETERS,
    WINDOW_PARAMETER,
    exposure_days,
    grade34_probability,
    pathway_doses,
)
from il2sim.model import Species, build_arm_model, prune, sid, to_sbml
from il2sim.simulate import (
    GRADE34_THRESHOLDS,
    MAX_WORKERS,
    SUSCEPTIBILITY_SD,
    RunStore,
    SimulationError,
    Simulator,
    SparseSimulator,
    die_with_parent,
    fingerprint,
)
from il2sim.simulate import grade34_probability as index_grade34_probability

#: Tolerances of the cohort runs, then those tried when a solve fails. rtol 1e-4 gives the
#: same best overall response and PFS as rtol 1e-6 in 300 of 300 shipped melanoma patients on
#: nivolumab, best SLD change within 0.03 percentage points, 1.6x faster (README, Benchmarks).
TOLERANCES = ((1e-4, 1e-9), (1e-6, 1e-12), (1e-6, 1e-10), (1e-5, 1e-9))
#: A patient whose solve needs more steps than this fails (and is recorded) rather than
#: holding up its chunk.
MAX_STEPS = 50_000
#: How trial models are solved: "roadrunner" (libRoadRunner's CVODE, dense LU and a
#: finite-difference Jacobian), "sparse" (CVODES with sparse LU in a fill-reducing order and the
#: exact Jacobian, through CasADi) or "auto" (per arm, by the model's size:
#: :data:`SPARSE_ABOVE_SPECIES`). The default stays libRoadRunner, the engine the virtual
#: populations were selected and validated with.
ENGINES = ("roadrunner", "sparse", "auto")
#: "auto" solves an arm with the sparse engine when its model has more species than this. Over
#: a 24-month trial on the 400 shipped melanoma patients (README, Benchmarks) the sparse
#: engine was faster on high-dose aldesleukin (128 species) and bempegaldesleukin + nivolumab
#: (346), slower on PD1-IL2v (106: a quarter of its patients are handed to libRoadRunner) and
#: on every smaller arm.
SPARSE_ABOVE_SPECIES = 120
#: Most patients one run may simulate (10,000 take about a minute on 2 cores).
MAX_PATIENTS = 1_000_000


@dataclass(frozen=True)
class ArmModel:
    """What a worker needs to simulate patients on one arm (plain data, cheap to send)."""

    cohort: str
    arm: str
    sbml: str
    tumour: str
    toxicity: dict[str, str]  # index name -> its running integral over time (index x h)
    dose_counter: str | None  # doses of the IL-2 drug given (None: the arm has none)
    dose_times_h: tuple[float, ...]  # when the IL-2 drug's doses are due
    checkpoint_dose_days: dict[str, tuple[float, ...]]  # blocked pathway -> its dose days
    run_in_h: float
    duration_h: float
    scan_days: tuple[float, ...]  # scheduled
    scan_window_days: float
    ref_weight_kg: float
    dose_scales: dict[str, str]  # dose_scale parameter -> "flat" | "kg" | "m2"
    #: clearance or volume id -> (its value at the reference weight, its exponent on weight),
    #: as the body model recorded them (each molecule's own clearance exponent)
    weight_scaled: dict[str, tuple[float, float]]
    weight_counts: dict[str, float]  # N0 parameter -> its value at the reference weight
    defaults: dict[str, float] = field(default_factory=dict)  # every parameter's model value
    #: with several lesions: the escape clone (part of ``tumour``) and the time integral of the
    #: T-cell killing rate of the antigen clone
    lesion_reads: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return hashlib.sha256(self.sbml.encode()).hexdigest()[:16]

    @property
    def species(self) -> int:
        """How many species the arm's model has (its size, which "auto" chooses an engine by)."""
        return self.sbml.count("<species ")


def _regimen_scale(text: str) -> str:
    reg = parse_regimen(text)
    units = [p.unit for p in reg.parts] + [d.unit for d in reg.explicit]
    scales = {u.partition("/")[2] for u in units}
    if len(scales) > 1:
        raise ValueError(
            f"regimen {text!r} mixes flat, per-kg and per-m2 doses; a cohort scales one of them"
        )
    return scales.pop() if scales else ""


def build_arm(spec: CohortSpec, arm_name: str) -> ArmModel:
    """Build (not compile) one arm's network for the cohort's body and disease: the arm's full
    model less what a trial does not read (see :func:`il2sim.model.prune`) and, unless the
    cohort asks for ``endogenous_il2_binding: everywhere``, less endogenous IL-2 binding outside
    the tumour (negligible there; tested against the full model). Antibody infusions short
    against the antibody's distribution half-life are given as boluses at their midpoints
    (:func:`il2sim.model.antibody_boluses`: one solver restart per dose instead of two)."""
    arm = spec.arm(arm_name)
    setting = Setting(name=spec.name, body=spec.body, disease=spec.disease, arms=[arm])
    model, im = build_arm_model(
        setting,
        arm,
        duration_days=spec.duration_days,
        run_in_days=spec.run_in_days,
        endogenous_il2_sites=None if spec.endogenous_il2_binding == "everywhere" else ("tumour",),
        short_infusions_as_bolus=True,
    )
    net = model.network
    if im.burden is None:
        raise ValueError(f"cohort {spec.name!r}: the body {spec.body!r} has no tumour to assess")
    # each toxicity index is also integrated, so daily means come exactly from daily outputs
    toxicity = {}
    for name, rule in im.toxicity.items():
        auc = net.add_species(
            Species(
                f"auc_{rule}",
                "central",
                units="hour",
                name=f"time integral of {name}",
                amount_only=True,
            )
        )
        toxicity[name] = net.rate_rule(auc, rule)
    # with several lesions, lesions read the two clones and the T-cell killing they met
    lesion_reads: list[str] = []
    if spec.response.lesions is not None and im.escape and im.ctl_kill:
        kill = net.add_species(
            Species(
                f"int_{im.ctl_kill}",
                "central",
                units="dimensionless",
                name="T-cell killing of the antigen clone integrated over time",
                amount_only=True,
            )
        )
        lesion_reads = [im.escape, net.rate_rule(kill, im.ctl_kill)]
    # a trial reads tumour size and toxicity only: fewer states and readouts per solver step
    counter = model.dose_counters.get(arm.drug) if arm.drug else None
    net = prune(net, [im.burden, *toxicity.values(), *lesion_reads])
    scales: dict[str, str] = {}
    if arm.drug is not None:
        scales[f"dose_scale_{sid(arm.drug)}"] = _regimen_scale(arm.regimen or "")
    for a in arm.antibodies:
        scales[f"dose_scale_{sid(a.antibody)}"] = _regimen_scale(a.regimen)
    scales = {k: v for k, v in scales.items() if k in net.parameters}
    weight_counts = {
        f"N0_{p.id}": float(net.parameters[f"N0_{p.id}"].value)
        for p in model.populations
        if p.location in ("central", "peripheral") and f"N0_{p.id}" in net.parameters
    }
    scans = spec.response.scan_days(spec.duration_days)
    blockers = [(get_antibody(a.antibody).target, a.antibody) for a in arm.antibodies]
    if arm.drug is not None:
        blockers += [(t.target, arm.drug) for t in get_drug(arm.drug).arms]
    checkpoint = pathway_doses(
        (target, [(e.time_h - spec.run_in_days * 24.0) / 24.0 for e in model.doses.get(name, ())])
        for target, name in blockers
    )
    return ArmModel(
        cohort=spec.name,
        arm=arm.name,
        sbml=to_sbml(net),
        tumour=im.burden,
        toxicity=toxicity,
        dose_counter=counter,
        dose_times_h=tuple(e.time_h for e in model.doses.get(arm.drug, ())) if arm.drug else (),
        checkpoint_dose_days=checkpoint,
        run_in_h=spec.run_in_days * 24.0,
        duration_h=spec.duration_days * 24.0,
        scan_days=scans,
        scan_window_days=spec.response.scan_window_days,
        ref_weight_kg=model.weight_kg,
        dose_scales=scales,
        weight_scaled={
            k: (
                float(
                    net.parameters[k].value if k in net.parameters else net.compartments[k].size_L
                ),
                e,
            )
            for k, e in model.weight_exponents.items()
            if k in net.parameters or k in net.compartments
        },
        weight_counts=weight_counts,
        defaults={k: float(p.value) for k, p in net.parameters.items()},
        lesion_reads=tuple(lesion_reads),
    )


def patient_values(
    arm: ArmModel, patient: Mapping[str, float], varied: Sequence[str]
) -> dict[str, float]:
    """The parameter (and volume) values that make the arm's model this patient."""
    values = {p: float(patient[p]) for p in varied}
    w = float(patient.get("weight_kg", arm.ref_weight_kg))
    r = w / arm.ref_weight_kg
    if r != 1.0:  # on top of any value the patient sets (a design's dose or clearance)
        for p, scale in arm.dose_scales.items():
            values[p] = values.get(p, 1.0) * {"": 1.0, "kg": r, "m2": r**0.5}[scale]
        for k, (ref, exponent) in arm.weight_scaled.items():
            values[k] = values.get(k, ref) * r**exponent
        for p, n0 in arm.weight_counts.items():
            values[p] = values.get(p, n0) * r
    return values


_SIMULATORS: dict[tuple[str, str], Simulator | SparseSimulator] = {}


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")


def arm_engine(arm: ArmModel, engine: str = "auto") -> str:
    """The engine that solves ``arm`` ("roadrunner" or "sparse"): ``engine`` itself, or for
    "auto" the sparse engine when the model has more than :data:`SPARSE_ABOVE_SPECIES`
    species."""
    _check_engine(engine)
    if engine != "auto":
        return engine
    return "sparse" if arm.species > SPARSE_ABOVE_SPECIES else "roadrunner"


def _simulator(arm: ArmModel, engine: str = "roadrunner") -> Simulator | SparseSimulator:
    """One model per arm and engine in each worker process, kept for later chunks."""
    key = (arm.key, arm_engine(arm, engine))
    sim = _SIMULATORS.get(key)
    if sim is None:
        kind = Simulator if key[1] == "roadrunner" else SparseSimulator
        sim = _SIMULATORS[key] = kind(
            arm.sbml,
            rtol=TOLERANCES[0][0],
            atol=TOLERANCES[0][1],
            max_steps=MAX_STEPS,
            fallback=True,  # a patient one engine cannot solve goes to the other
        )
    return sim


def simulate_chunk(
    arm: ArmModel,
    patients: pd.DataFrame,
    varied: Sequence[str],
    spec: CohortSpec,
    screen: bool = True,
    engine: str = "roadrunner",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate patients on one arm (solved by ``engine``, one of :data:`ENGINES`): per-patient
    rows (response, toxicity, status) and weekly SLD traces. A patient whose solve fails gets
    status 'failed' and the reason; with ``screen`` one who is not a plausible trial patient
    at baseline gets 'ineligible' and is not treated (without, every patient with a tumour at
    baseline is treated, as a sensitivity analysis needs).

    Follow-up stops at progression, as treatment does in the trials: each patient is solved to
    the second scan first; one without progression by then is solved on scan by scan until a
    scan shows progression or follow-up ends (the same responses and PFS as a solve to the
    end; nothing after progression, such as toxicity of treatment past it, is simulated).
    Patients from a shipped virtual population (column ``vp``) were selected as plausible, and
    without ``screen`` almost everyone is treated: their first solve covers the run-in too.
    Otherwise the run-in is solved first and only eligible patients are treated."""
    engine = arm_engine(arm, engine)
    sim = _simulator(arm, engine)
    t0 = arm.run_in_h
    n_days = round(arm.duration_h / 24.0)
    t_screen = np.array([0.0, t0 - 28 * 24.0, t0]) if t0 > 28 * 24 else np.array([0.0, t0])
    one_solve = not screen or "vp" in patients.columns
    sel = [arm.tumour, *arm.toxicity.values(), *([arm.dose_counter] if arm.dose_counter else [])]
    i_dose = len(sel) - 1
    lesion_spec = spec.response.lesions if arm.lesion_reads else None
    if lesion_spec is not None:
        sel += arm.lesion_reads  # the last two columns: escape clone, T-cell killing integral
    P = immune_parameters()
    rows, traces = [], []
    other = "sparse" if engine == "roadrunner" else "roadrunner"
    for patient in patients.to_dict("records"):
        row: dict = {"patient": int(patient["patient"]), "arm": arm.arm}
        fallbacks = sim.fallbacks
        values = patient_values(arm, patient, varied)
        # scan dates belong to the virtual patient: the same in selection, validation, trials
        who = int(patient["vp"]) if "vp" in patient else row["patient"]
        scans = patient_scan_days(arm.scan_days, arm.scan_window_days, who, n_days)
        early = int(scans[1]) if len(scans) > 1 else n_days

        def treat(days: int, with_run_in: bool, values=values):
            return _treat(sim, sel, values, t0, t_screen, days, with_run_in)

        try:
            vals, pre, failure = None, None, None
            if one_solve:
                try:
                    vals, pre = treat(early, True)
                except SimulationError as err:  # the run-in alone then tells whether it matters
                    failure = err
            if pre is None:
                pre = sim.run_tolerant(t_screen, [arm.tumour], values, TOLERANCES).values[:, 0]
            # screening: the untreated run-in must leave measurable, non-regressing disease
            baseline, before = float(pre[-1]), float(pre[-2])
            row.update(
                baseline_cells=baseline,
                untreated_growth=baseline / before if before > 0 else 0.0,
            )
            reason = _ineligible(baseline, row["untreated_growth"], spec.plausibility)
            if reason and (screen or baseline < 1.0):
                rows.append({**row, "status": "ineligible", "error": reason})
                continue
            if failure is not None:
                raise failure
            if vals is None:  # treatment continues from the screened patient
                vals = _continued(sim, sel, t0, 0, early)
            if vals is None:
                vals, _ = treat(early, False)
            lesions = None
            if lesion_spec is not None:
                escape0 = float(vals[0, -2])
                lesions = patient_lesions(
                    lesion_spec, who, spec.response.baseline_sld_mm, baseline - escape0, escape0
                )
            a = _assess(scans, vals, baseline, spec, lesions)
            if not a.progressed and early < n_days:
                later = np.append(scans[scans > early], n_days)
                done = partial(_progressed, scans, baseline, spec, lesions)
                vals, stopped = _follow_up(treat, sim, sel, vals, later, t0, done)
                if stopped:  # the solver failed late: censored at the last day it solved
                    row |= {"solver_stopped_day": float(len(vals) - 1), "error": stopped}
                a = _assess(scans, vals, baseline, spec, lesions)
        except SimulationError as err:
            rows.append({**row, "status": "failed", "error": str(err)})
            continue
        # which engine solved the patient: the arm's, or the other where the arm's failed
        row["solved_by"] = other if sim.fallbacks > fallbacks else engine
        tumour = vals[:, 0]
        weekly = np.arange(0, len(tumour), 7)
        sld = _sld(vals, np.append(weekly, len(tumour) - 1), baseline, spec, lesions)
        row.update(
            status="ok",
            error=row.get("error", ""),
            bor=a.bor,
            progressed=a.progressed,
            pfs_days=a.pfs_days,
            best_change_pct=a.best_change_pct,
            followed_days=float(len(tumour) - 1),
            final_change_pct=float(100.0 * (sld[-1] / spec.response.baseline_sld_mm - 1.0)),
        )
        if lesions is not None:
            row |= _lesion_counts(vals, int(a.pfs_days), lesions)
        if arm.dose_counter:  # doses withheld at severe toxicity, up to the end of follow-up
            end_h = t0 + 24.0 * (len(tumour) - 1)
            row["doses_received"] = float(vals[-1, i_dose])
            row["doses_scheduled"] = float(sum(t <= end_h for t in arm.dose_times_h))
        row |= _safety(arm, a, vals, n_days, P)
        rows.append(row)
        change = 100.0 * (sld[:-1] / spec.response.baseline_sld_mm - 1.0)
        traces.append((row["patient"], weekly, change))
    return pd.DataFrame(rows), _traces_frame(arm.arm, traces)


def _traces_frame(arm: str, traces: list) -> pd.DataFrame:
    """Weekly SLD change per patient, from (patient, days, change) per patient."""
    if not traces:
        return _empty_traces()
    return pd.DataFrame(
        {
            "patient": np.concatenate([np.full(w.size, p) for p, w, _ in traces]),
            "arm": arm,
            "day": np.concatenate([w for _, w, _ in traces]).astype(float),
            "sld_change_pct": np.concatenate([t for _, _, t in traces]),
        }
    )


def _continued(
    sim: Simulator | SparseSimulator, sel, t0_h: float, start_day: int, days: int
) -> np.ndarray | None:
    """Daily values from treatment day ``start_day`` to ``days``, continuing the solve that
    stopped there, so the run-in and the days before are not solved again; None if the solver
    fails on the way (the caller then solves from time 0 with every fallback tolerance)."""
    try:
        return sim.extend(t0_h + 24.0 * np.arange(start_day, days + 1), sel).values
    except SimulationError:
        return None


def _follow_up(
    treat,
    sim: Simulator | SparseSimulator,
    sel,
    vals: np.ndarray,
    ends: np.ndarray,
    t0_h: float,
    progressed: Callable[[np.ndarray], bool],
):
    """Daily values from ``vals`` (days 0 to the second scan, the last solve) on, scan by scan
    (``ends``: the later scan days, then the end of follow-up), stopping at the scan that shows
    progression, as treatment stops there. Where a continuing solve fails, the rest is solved
    once from time 0 with every fallback tolerance (continuing at the first tolerance would
    fail again at every later scan) and cut at that scan; if that fails after the second scan,
    the values up to the last whole day before the failure (a patient followed that long is
    censored there, as a trial censors one lost to follow-up). Returns the values and the
    reason for censoring ('' if none)."""
    early = len(vals) - 1
    for end in (int(e) for e in ends):
        if end <= len(vals) - 1:
            continue
        more = _continued(sim, sel, t0_h, len(vals) - 1, end)
        if more is None:
            return _solved_from_start(treat, ends, early, t0_h, progressed)
        vals = np.vstack([vals, more[1:]])
        if progressed(vals):
            break
    return vals, ""


def _solved_from_start(treat, ends: np.ndarray, early: int, t0_h: float, progressed):
    """The follow-up solved from time 0 to its end, cut at the first scan in ``ends`` that
    shows progression; censored at the last whole day solved if the solver fails after day
    ``early`` before any scan shows progression."""
    reason = ""
    try:
        vals = treat(int(ends[-1]), False)[0]
    except SimulationError as err:
        if err.reached_time is None:
            raise
        solved = int((err.reached_time - t0_h) // 24.0) - 1
        if solved <= early:
            raise
        vals, reason = treat(solved, False)[0], f"follow-up censored at day {solved}: {err}"[:400]
    for end in (int(e) for e in ends):
        if end < len(vals) and progressed(vals[: end + 1]):
            return vals[: end + 1], ""  # progression was seen before any failure
    return vals, reason


def _safety(arm: ArmModel, a, vals: np.ndarray, n_days: int, P) -> dict:
    """A treated patient's safety columns: checkpoint blockade's immune-related event
    probability over its exposure, and each toxicity index's peak daily mean with its grade 3-4
    probability."""
    row: dict = {}
    if arm.checkpoint_dose_days:  # immune-related events of checkpoint blockade
        stop = a.pfs_days if a.progressed else float(n_days)
        exposure = {
            p: exposure_days(d, stop, P[WINDOW_PARAMETER].value, float(n_days))
            for p, d in arm.checkpoint_dose_days.items()
        }
        hazard = {p: P[HAZARD_PARAMETERS[p]].value for p in exposure}
        row |= {f"exposure_{p}_days": e for p, e in exposure.items()}
        row["trae_grade34_probability"] = grade34_probability(exposure, hazard)
    for j, name in enumerate(arm.toxicity, start=1):
        daily = np.diff(vals[:, j]) / 24.0  # daily means of the index
        peak = float(daily.max())
        row[f"{name}_max"] = peak
        row[f"{name}_grade34_probability"] = index_grade34_probability(
            peak, P[GRADE34_THRESHOLDS[name]].value, P[SUSCEPTIBILITY_SD].value
        )
        row[f"{name}_any"] = bool(peak >= 0.5 * P[name.replace("_index", "_threshold")].value)
    return row


def _treat(sim, sel, values, t0_h, t_screen, days: int, with_run_in: bool):
    """Daily values over ``days`` of treatment (row 0 = its start), and the run-in's tumour
    at ``t_screen`` when ``with_run_in``."""
    t_days = t0_h + 24.0 * np.arange(days + 1)
    if with_run_in:
        v = sim.run_tolerant(np.concatenate([t_screen, t_days[1:]]), sel, values, TOLERANCES)
        return v.values[t_screen.size - 1 :], v.values[: t_screen.size, 0]
    v = sim.run_tolerant(np.concatenate([[0.0], t_days]), sel, values, TOLERANCES)
    return v.values[1:], None


def _sld(vals: np.ndarray, days: np.ndarray, baseline: float, spec, lesions) -> np.ndarray:
    """Sum of target-lesion diameters (mm) on ``days`` from the daily values (tumour in column
    0; with lesions, the escape clone and the killing integral in the last two)."""
    if lesions is None:
        return sld_mm(vals[days, 0], baseline, spec.response)
    return _read(vals, days, lesions)[1]


def _read(vals: np.ndarray, days, lesions: PatientLesions):
    """Target diameters, their sum and new lesions seen on ``days`` (PatientLesions.read)."""
    escape, kill = vals[days, -2], vals[days, -1] - vals[0, -1]
    return lesions.read(vals[days, 0] - escape, escape, kill)


def _assess(scans: np.ndarray, vals: np.ndarray, baseline: float, spec: CohortSpec, lesions):
    """RECIST on the scans (whole days) the daily values cover."""
    days = scans[scans < len(vals)]
    if lesions is None:
        return assess_sld(days.astype(float), _sld(vals, days, baseline, spec, None), spec.response)
    _, sld, new = _read(vals, days, lesions)
    return assess_sld(days.astype(float), sld, spec.response, new)


def _progressed(scans: np.ndarray, baseline: float, spec: CohortSpec, lesions, vals) -> bool:
    """Whether a scan the daily values cover shows progression."""
    return _assess(scans, vals, baseline, spec, lesions).progressed


def _lesion_counts(vals: np.ndarray, day: int, lesions: PatientLesions) -> dict:
    """Target lesions, how many had shrunk by >= 30% or grown by >= 20% from their own
    baseline diameter on ``day`` (the progression scan, or the last scan), as lesion-level
    analyses count them (Topp BG et al. 2021 Ann Oncol 32:1618), and whether a new lesion was
    seen on that scan."""
    d, _, new = _read(vals, [min(day, len(vals) - 1)], lesions)
    change = d[0] / lesions.diameter0_mm[lesions.target] - 1.0
    return {
        "lesions": int(change.size),
        "lesions_shrinking": int(np.sum(change <= -0.3)),
        "lesions_growing": int(np.sum(change >= 0.2)),
        "new_lesion": bool(new[0]),
    }


def _ineligible(baseline: float, growth: float, plaus) -> str:
    """Why a patient is not a trial patient at the start of treatment ('' if eligible)."""
    if baseline < 1.0:  # less than one cell
        return "no tumour at the start of treatment (eradicated during the untreated run-in)"
    if not plaus.tumour_cells_min <= baseline <= plaus.tumour_cells_max:
        return (
            f"tumour burden {baseline:.3g} cells outside the plausible range "
            f"[{plaus.tumour_cells_min:.3g}, {plaus.tumour_cells_max:.3g}]"
        )
    if growth < plaus.untreated_growth_min:
        return (
            f"tumour regressing without treatment (x{growth:.3g} over 28 days, needs >= "
            f"{plaus.untreated_growth_min:g})"
        )
    return ""


def _empty_traces() -> pd.DataFrame:
    return pd.DataFrame({"patient": [], "arm": [], "day": [], "sld_change_pct": []})


@dataclass
class CohortResult:
    """Per-patient outcomes of every arm on the same virtual patients."""

    spec: CohortSpec
    patients: pd.DataFrame  # the patients' covariates and parameters
    outcomes: pd.DataFrame  # one row per patient and arm
    traces: pd.DataFrame  # weekly SLD change per patient and arm
    engine: str = "roadrunner"  # what solved the models (ENGINES; per patient: solved_by)

    def summary(self) -> dict:
        """Per arm: response rates (exact 95% CI), PFS, toxicity, unevaluable patients; with
        several arms, each compared with the first."""
        from il2sim.cohort._summary import summarise_arm

        scans = list(self.spec.response.scan_days(self.spec.duration_days))
        arms = list(dict.fromkeys(self.outcomes.arm))
        per_arm = {a: summarise_arm(self.outcomes, a, scans) for a in arms}
        out: dict = {
            "cohort": self.spec.name,
            "n_patients": len(self.patients),
            "engine": self.engine,
            "arms": per_arm,
        }
        if len(arms) > 1 and per_arm[arms[0]]["n_evaluable"]:
            out["comparison"] = self.comparison().to_dict("records")
        return out

    def comparison(self, reference: str | None = None) -> pd.DataFrame:
        """Every arm against ``reference`` (default: the first arm): ORR difference, PFS
        hazard ratio and log-rank test (see :func:`il2sim.cohort.compare_arms`)."""
        from il2sim.cohort._compare import compare_arms

        return compare_arms(
            self.outcomes, reference or next(iter(dict.fromkeys(self.outcomes.arm)))
        )

    def arm(self, name: str) -> pd.DataFrame:
        sel = self.outcomes[self.outcomes.arm == name]
        if sel.empty:
            raise KeyError(f"arm {name!r} was not run; arms: {sorted(self.outcomes.arm.unique())}")
        return sel


def _fingerprint(
    spec: CohortSpec, arm: str, patients: pd.DataFrame, chunk: int, screen: bool, engine: str
) -> str:
    return fingerprint(
        spec.model_dump(mode="json"),
        arm,
        chunk,
        screen,
        *([engine] if engine != "roadrunner" else []),  # libRoadRunner's chunks keep their keys
        extra=pd.util.hash_pandas_object(patients, index=False).values.tobytes(),
    )


def check_request(
    spec: CohortSpec,
    arms: Sequence[str],
    *,
    n: int | None,
    workers: int = 1,
    population: str | None = None,
    engine: str = "roadrunner",
) -> None:
    """The rules of a cohort request, shared by the CLI and the web app; each message starts
    with the name of the field it is about."""
    _check_engine(engine)
    if n is not None and not 1 <= n <= MAX_PATIENTS:
        raise ValueError(f"n must be between 1 and {MAX_PATIENTS:,}, got {n:,}")
    if not 1 <= workers <= MAX_WORKERS:
        raise ValueError(
            f"workers must be between 1 and {MAX_WORKERS} (twice this machine's cores), "
            f"got {workers}"
        )
    if population is not None and population not in POPULATIONS:
        if not is_population_file(population):
            raise ValueError(
                f"population must be one of {', '.join(POPULATIONS)} or a .csv file of "
                f"patients, got {population!r}"
            )
        if not Path(population).is_file():
            raise ValueError(f"population: {population}: no such file")
    known = [a.name for a in spec.arms]
    bad = [a for a in arms if a not in known]
    if bad or not arms:
        raise ValueError(
            f"arms: unknown arm(s) {bad or list(arms)} for cohort {spec.name!r}; "
            f"choose from {', '.join(known)}"
        )
    twice = sorted({a for a in arms if list(arms).count(a) > 1})
    if twice:
        raise ValueError(f"arms: {', '.join(twice)} given more than once; name each arm once")


def run_cohort(
    spec: CohortSpec | str,
    arms: Sequence[str],
    *,
    n: int | None = None,
    seed: int = 1,
    patients: pd.DataFrame | None = None,
    population: str | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    out_dir: Path | None = None,
    chunk_size: int = 25,
    screen: bool = True,
    progress: Callable[[int, int], None] | None = None,
    notice: Callable[[str], None] | None = None,
    engine: str = "roadrunner",
) -> CohortResult:
    """Simulate ``n`` virtual patients (drawn with ``seed``; or the given ``patients``) on each
    arm. ``population``: ``"vpop"`` draws from the cohort's shipped virtual population (the
    default when it has one), ``"distribution"`` from its parameter distributions (the default
    otherwise), ``"plausible"`` across the plausible ranges (for selection). With ``out_dir``
    every finished chunk is written to ``out_dir/chunks`` at once and reused by a rerun with
    the same arguments. ``workers > 1`` starts a Dask LocalCluster; ``scheduler`` uses an
    existing Dask cluster. Results do not depend on the number of workers. ``screen=False``
    treats patients that are not plausible trial patients too (sensitivity analyses).
    ``progress(done, total)`` counts patients x arms; ``notice(message)`` says which chunks on
    disk were incomplete, damaged or another run's, and are recomputed. ``engine``: how the
    models are solved (:data:`ENGINES`; chunks on disk are reused only by the engine that
    solved them, whether named or chosen by "auto")."""
    spec = get_cohort(spec)
    check_request(spec, arms, n=n, workers=workers, population=population, engine=engine)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1 (got {chunk_size})")
    models = {a: build_arm(spec, a) for a in arms}
    if patients is None:
        first = next(iter(models.values()))
        patients = draw_patients(spec, n, seed=seed, defaults=first.defaults, population=population)
    # every column of the patients table but these is a parameter value of the patient
    varied = [c for c in patients.columns if c not in ("patient", "weight_kg", "vp")]
    for a, m in models.items():
        missing = [p for p in varied if p not in m.defaults]
        if missing:
            raise ValueError(
                f"cohort {spec.name!r}, arm {a!r}: patients set parameters the model does not "
                f"have: {missing}"
            )
    chunks = [patients.iloc[i : i + chunk_size] for i in range(0, len(patients), chunk_size)]
    tasks = [(a, k) for a in arms for k in range(len(chunks))]
    results: dict[tuple[str, int], tuple[pd.DataFrame, pd.DataFrame]] = {}
    total, done = len(patients) * len(arms), 0

    store = RunStore(out_dir, notice)

    engines = {a: arm_engine(m, engine) for a, m in models.items()}

    def unit(a: str, k: int) -> tuple[str, str]:  # an arm "auto" solves sparse shares its chunks
        fp = _fingerprint(spec, a, chunks[k], k, screen, engines[a])
        return f"chunks/{a}/{k:05d}_{fp}", fp

    with store.locked():
        todo = []
        for a, k in tasks:
            cached = store.load(*unit(a, k), keys=chunks[k].patient)
            if cached is not None:
                results[(a, k)] = (cached[0]["outcomes"], cached[0]["traces"])
                done += len(chunks[k])
            else:
                todo.append((a, k))
        if progress:
            progress(done, total)

        def finish(a: str, k: int, res: tuple[pd.DataFrame, pd.DataFrame]) -> None:
            nonlocal done
            tables = dict(zip(("outcomes", "traces"), res, strict=True))
            back = store.save(*unit(a, k), tables, keys=chunks[k].patient)
            results[(a, k)] = (back["outcomes"], back["traces"])
            done += len(chunks[k])
            if progress:
                progress(done, total)

        how = (screen, engine)
        if scheduler:
            _run_on_dask(todo, chunks, models, varied, spec, how, workers, scheduler, finish)
        else:
            rest = _in_process(todo, chunks, models, varied, spec, how, workers, finish)
            if rest:
                _run_on_dask(rest, chunks, models, varied, spec, how, workers, None, finish)
    outcomes = pd.concat([results[t][0] for t in tasks], ignore_index=True)
    traces = pd.concat([results[t][1] for t in tasks], ignore_index=True)
    outcomes = outcomes.merge(patients, on="patient", how="left")
    return CohortResult(spec, patients, outcomes, traces, engine)


#: Work (seconds of solving, projected from the chunks solved so far) above which starting a
#: LocalCluster pays: its start and each worker's compile of the arms cost ~5-8 s on 2 cores
#: (40 nivolumab patients: 12.5 s on 2 workers, 7.2 s in this process).
DASK_PAYS_S = 15.0


def _in_process(todo, chunks, models, varied, spec, how, workers, finish) -> list:
    """Solve chunks in this process, one arm's chunk after another's (so that each arm's cost
    is seen early), while the work left, projected from the time per patient so far, stays
    below :data:`DASK_PAYS_S` (or always, with one worker); returns the chunks left for Dask."""
    order = sorted(todo, key=lambda t: (t[1], list(models).index(t[0])))
    spent, solved = 0.0, 0
    while order:
        left = sum(len(chunks[k]) for _, k in order)
        if workers > 1 and solved and spent / solved * left > DASK_PAYS_S:
            return order
        a, k = order.pop(0)
        start = time.perf_counter()
        finish(a, k, simulate_chunk(models[a], chunks[k], varied, spec, *how))
        spent, solved = spent + time.perf_counter() - start, solved + len(chunks[k])
    return []


#: Seconds to wait for an existing Dask scheduler before giving up with a clear error.
SCHEDULER_TIMEOUT_S = 10


class SchedulerError(ValueError):
    """A Dask scheduler that cannot be reached."""


def _connect(workers: int, scheduler: str | None):
    """A Dask client: to ``scheduler``, or to a new LocalCluster whose worker processes die
    with this one."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S), None
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            raise SchedulerError(
                f"scheduler: no Dask scheduler answered at {scheduler!r} within "
                f"{SCHEDULER_TIMEOUT_S} s ({type(e).__name__}: {e}); give an address like "
                "tcp://host:8786, or leave --scheduler out to start local workers"
            ) from None
    # any free port for the dashboard: None still takes 8787 and warns when another cluster
    # (a second run, a test worker) holds it
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    client.run(die_with_parent, os.getpid())
    return client, cluster


def _run_on_dask(todo, chunks, models, varied, spec, how, workers, scheduler, finish) -> None:
    from dask.distributed import as_completed

    client, cluster = _connect(workers, scheduler)
    try:
        shared = {a: client.scatter(models[a], broadcast=True) for a in {a for a, _ in todo}}
        futures = {
            client.submit(simulate_chunk, shared[a], chunks[k], varied, spec, *how, pure=False): (
                a,
                k,
            )
            for a, k in todo
        }
        for fut in as_completed(futures):
            finish(*futures[fut], fut.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
