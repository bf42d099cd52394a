"""Exposure and receptor engagement of a drug regimen in a subject: the entry point behind
``il2sim pk``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from il2sim.catalog import Antibody, Body, Drug, Regimen, disposition_for, get_drug
from il2sim.model import BodyModel, Species, build_body_model, dosed_ng
from il2sim.simulate._engine import Simulator, Trajectory
from il2sim.simulate._nca import Exposure, exposure


@dataclass
class PKResult:
    model: BodyModel
    trajectory: Trajectory
    exposure: dict[str, Exposure]  # drug or antibody name -> metrics (ng/mL, h)
    duration_h: float

    @property
    def time_h(self) -> np.ndarray:
        return self.trajectory.time

    def concentration_ng_per_mL(self, name: str) -> np.ndarray:
        return self.trajectory[self.model.plasma_ng_per_mL[name]]

    def engagement(self) -> dict[str, dict[str, float]]:
        """Per population: peak IL-2Rbeta/gamma-c occupancy, peak pSTAT5, pSTAT5 time-average;
        and each checkpoint or arm target's occupancy (peak and at the end)."""
        out: dict[str, dict[str, float]] = {}
        t = self.time_h
        span = t[-1] - t[0]
        for site in self.model.populations:
            row: dict[str, float] = {}
            if site.id in self.model.pstat5:
                p = self.trajectory[self.model.pstat5[site.id]]
                row["pstat5_max"] = float(p.max())
                row["pstat5_mean"] = float(np.trapezoid(p, t) / span)
            for (kind, pid), rule in self.model.occupancy.items():
                if pid == site.id:
                    occ = self.trajectory[rule]
                    row[f"{kind}_occupancy_max"] = float(occ.max())
                    row[f"{kind}_occupancy_end"] = float(occ[-1])
            out[site.id] = row
        return out


def _default_duration_h(drug: Drug | None, doses_end_h: float) -> float:
    if drug is None:
        return max(doses_end_h, 24.0 * 42)
    _, tb = disposition_for(drug).two_compartment(70).half_lives_h()
    return float(min(max(doses_end_h + 8 * tb, 24.0), 24.0 * 90))


def pk(
    drug: Drug | str | None,
    regimen: Regimen | str | None,
    *,
    body: Body | str = "human_adult",
    weight_kg: float | None = None,
    bsa_m2: float | None = None,
    antibodies: Sequence[tuple[Antibody | str, Regimen | str]] = (),
    duration_h: float | None = None,
    extra_times_h: Sequence[float] = (),
) -> PKResult:
    """Simulate ``drug`` given as ``regimen`` (plus checkpoint antibodies) and summarise
    exposure (NCA on the plasma curve) and receptor engagement per cell population.
    ``extra_times_h``: times to sample exactly besides the NCA grid (observations)."""
    drug_obj = get_drug(drug) if drug is not None else None
    horizon = duration_h if duration_h is not None else 24.0 * 90
    model = build_body_model(
        drug_obj,
        regimen,
        body=body,
        weight_kg=weight_kg,
        bsa_m2=bsa_m2,
        antibodies=antibodies,
        horizon_h=horizon,
    )
    ends = [e.time_h + e.duration_h for evs in model.doses.values() for e in evs]
    if not ends:
        raise ValueError("nothing is dosed: give a regimen for the drug or an antibody")
    dur = duration_h if duration_h is not None else _default_duration_h(drug_obj, max(ends))
    # AUC exactly, whatever the output grid: each plasma concentration integrated as a state
    aucs = {}
    for name, rule in model.plasma_ng_per_mL.items():
        auc = model.network.add_species(
            Species(
                f"auc_{rule}",
                "central",
                units="ng_h_per_mL",
                name=f"AUC of {name}",
                amount_only=True,
            )
        )
        aucs[name] = model.network.rate_rule(auc, rule)
    times, dense = _output_times(model, drug_obj, dur)
    extra = np.asarray(extra_times_h, dtype=float)
    times = np.unique(np.concatenate([times, extra[(extra >= 0) & (extra <= dur)]]))
    sel = [
        *model.plasma_ng_per_mL.values(),
        *aucs.values(),
        *model.pstat5.values(),
        *model.occupancy.values(),
    ]
    traj = Simulator(model.network).run(times, sel)
    expo = {}
    for name, rule in model.plasma_ng_per_mL.items():
        starts = [e.time_h for e in model.doses.get(name, []) if e.time_h < dur]
        decline = None
        if len(starts) < 2 and dense is not None and drug_obj is not None and name == drug_obj.name:
            on = np.isin(traj.time, dense)
            decline = (traj.time[on], traj[rule][on])
        expo[name] = exposure(
            traj.time,
            traj[rule],
            dose_times_h=np.array(starts),
            dose_ng=dosed_ng(model, name, 0.0, dur),
            auc_cum=traj[aucs[name]],
            decline=decline,
        )
    return PKResult(model, traj, expo, dur)


def engagement_intervals(
    res: PKResult, n: int, *, level: float = 0.95, seed: int = 1
) -> dict[str, dict[str, tuple[float, float]]]:
    """Credible intervals of each population's pSTAT5 (peak and time-average) over ``n``
    draws of the signaling constants' posterior (kx, cooperativity, k_half; `il2sim
    calibrate --sample`): the same regimen re-simulated per draw on the same output times.
    Exposure does not depend on these constants; engagement does."""
    from il2sim.binding import load_posterior

    if n < 2:
        raise ValueError(f"uncertainty needs at least 2 posterior draws, got {n}")
    draws = load_posterior().params(n, seed=seed)
    sim = Simulator(res.model.network)
    pops = list(res.model.pstat5)
    rules = [res.model.pstat5[p] for p in pops]
    t = res.time_h
    span = t[-1] - t[0]
    peak, mean = np.empty((n, len(pops))), np.empty((n, len(pops)))
    for i, sp in enumerate(draws):
        values = {
            "kx": sp.kx_nM_per_receptor.value,
            "coop": sp.cooperativity.value,
            "k_half": sp.k_half_complexes.value,
        }
        v = sim.run(t, rules, values).values
        peak[i], mean[i] = v.max(axis=0), np.trapezoid(v, t, axis=0) / span
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    lo_hi = {
        name: np.quantile(a, q, axis=0) for name, a in (("pstat5_max", peak), ("pstat5_mean", mean))
    }
    return {
        p: {name: (float(b[0, j]), float(b[1, j])) for name, b in lo_hi.items()}
        for j, p in enumerate(pops)
    }


#: Output points of the uniform grid, and of the dense grid over the first dose's decline.
GRID_POINTS, FIRST_DOSE_POINTS = 20_001, 2_001


#: How long before a dose its trough is read (h): after every earlier event, before this one.
TROUGH_LEAD_H = 1e-6


def _output_times(
    model: BodyModel, drug: Drug | None, dur_h: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """A uniform grid over the run, every dose's start and end (so Cmax at an infusion's end
    is exact) and the instant before each dose (its exact trough), and a dense grid over the
    first dose's decline (up to the next dose or 8 elimination half-lives), so half-lives come
    out at any duration; returns the times and that dense grid (None without a drug dose)."""
    alpha_h = 13 / 60
    n = int(min(max(2001, dur_h / (alpha_h / 6)), GRID_POINTS))
    parts = [np.linspace(0.0, dur_h, n)]
    dense = None
    events = [e for evs in model.doses.values() for e in evs]
    parts.append(np.array([t for e in events for t in (e.time_h, e.time_h + e.duration_h)]))
    parts.append(np.array([e.time_h - TROUGH_LEAD_H for e in events if e.time_h > 0]))
    if drug is not None and model.doses.get(drug.name):
        first = model.doses[drug.name][0]
        later = [e.time_h for e in model.doses[drug.name][1:]]
        first_gap_h = later[0] if later else None
        start = first.time_h + first.duration_h
        _, tb = disposition_for(drug).two_compartment(70).half_lives_h()
        end = min(first_gap_h if first_gap_h is not None else dur_h, start + 8 * tb, dur_h)
        if end > start:
            dense = np.linspace(start, end, FIRST_DOSE_POINTS)
            parts.append(dense)
    times = np.unique(np.concatenate([np.asarray(p, dtype=float) for p in parts]))
    return times[(times >= 0) & (times <= dur_h)], dense


def pk_scenario(scenario) -> PKResult:
    """:func:`pk` for a scenario (built-in name, YAML path or Scenario), over its duration."""
    from il2sim.catalog import get_scenario

    sc = get_scenario(scenario)
    return pk(
        sc.drug,
        sc.regimen,
        body=sc.body,
        weight_kg=sc.weight_kg,
        bsa_m2=sc.bsa_m2,
        antibodies=[(a.antibody, a.regimen) for a in sc.antibodies],
        duration_h=sc.duration_days * 24.0,
    )
