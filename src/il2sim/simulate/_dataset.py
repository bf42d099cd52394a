"""A NONMEM-style dataset simulated subject by subject: each ID with its own doses, weight and
surface area, steady-state doses preceded by the doses that build the steady state, and the
result written back in the dataset's own format (ID, TIME, EVID, AMT, CMT, RATE, MDV, DV,
PRED) for NONMEM, Monolix or nlmixr2 users."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from il2sim.catalog import (
    MAX_DOSES,
    Drug,
    EventSubject,
    Regimen,
    RegimenError,
    disposition_for,
    get_drug,
)
from il2sim.model import dosed_ng
from il2sim.simulate._nca import Exposure, exposure
from il2sim.simulate._pk import PKResult, pk

#: A steady-state (SS = 1) dose is preceded by doses over this many elimination half-lives
#: (99.9% of steady state for linear kinetics).
SS_HALF_LIVES = 10.0


@dataclass
class SubjectResult:
    """One subject simulated: its curve on its own clock (h from its first record) and NCA."""

    subject: EventSubject
    pk: PKResult  # the simulation (its clock starts ``offset_h`` earlier with an SS history)
    offset_h: float  # time added before the subject's first record for the SS history
    exposure: Exposure

    @property
    def time_h(self) -> np.ndarray:
        t = self.pk.time_h - self.offset_h
        return t[t >= 0]

    def concentration_ng_per_mL(self) -> np.ndarray:
        drug = self.pk.model.drug
        if drug is None:
            raise ValueError("a subject's result needs a dosed IL-2 drug")
        c = self.pk.concentration_ng_per_mL(drug.name)
        return c[self.pk.time_h - self.offset_h >= 0]

    def at(self, times_h: Sequence[float] | np.ndarray) -> np.ndarray:
        """The simulated concentration (ng/mL) at ``times_h`` (exact at observation times)."""
        return np.interp(np.asarray(times_h, float), self.time_h, self.concentration_ng_per_mL())


def _with_history(subject: EventSubject, drug: Drug, weight_kg: float) -> tuple[Regimen, float]:
    """The subject's regimen with the doses before an SS = 1 dose that bring it to steady
    state, every time shifted so the first history dose is at 0; and that shift (h)."""
    ss = subject.steady_state
    if ss is None:
        return subject.regimen, 0.0
    _, t_half_h = disposition_for(drug).two_compartment(weight_kg).half_lives_h()
    n = max(1, math.ceil(SS_HALF_LIVES * t_half_h / ss.interval_h))
    if n + len(subject.regimen.explicit) > MAX_DOSES:
        raise RegimenError(
            f"event table: subject {subject.id}'s steady state needs {n:,} earlier doses "
            f"(II {ss.interval_h:g} h, half-life {t_half_h:g} h); at most {MAX_DOSES:,}"
        )
    offset = max(0.0, n * ss.interval_h - ss.dose.time_h)
    history = [
        replace(ss.dose, time_h=ss.dose.time_h - k * ss.interval_h + offset)
        for k in range(n, 0, -1)
    ]
    doses = history + [replace(d, time_h=d.time_h + offset) for d in subject.regimen.explicit]
    return Regimen(text=f"{subject.regimen.text} at steady state", explicit=tuple(doses)), offset


def simulate_subjects(
    drug: Drug | str,
    subjects: Sequence[EventSubject],
    *,
    body: str = "human",
    weight_kg: float | None = None,
    bsa_m2: float | None = None,
    duration_h: float | None = None,
) -> list[SubjectResult]:
    """Each subject of a dataset simulated on its own (WT and BSA from the table, else
    ``weight_kg`` / ``bsa_m2``, else the body's), its curve sampled exactly at its observation
    times, and NCA over its own clock. ``duration_h``: how long after each subject's first
    record (default: past its last observation and long enough for its last dose to clear)."""
    from il2sim.catalog import get_body

    d = get_drug(drug) if isinstance(drug, str) else drug
    out = []
    for s in subjects:
        w = s.weight_kg or weight_kg or get_body(body).weight_kg.value
        reg, offset = _with_history(s, d, w)
        dur = None
        if duration_h is not None or s.observation_times_h:
            dur = offset + max(duration_h or 0.0, *(t + 1e-9 for t in s.observation_times_h))
        if dur is None:  # pk's default for the drug, counted from the shifted first dose
            res = pk(d, reg, body=body, weight_kg=w, bsa_m2=s.bsa_m2 or bsa_m2)
        else:
            res = pk(
                d,
                reg,
                body=body,
                weight_kg=w,
                bsa_m2=s.bsa_m2 or bsa_m2,
                duration_h=dur,
                extra_times_h=[offset + t for t in s.observation_times_h],
            )
        expo = res.exposure[d.name]
        if offset > 0:  # NCA on the subject's own clock, after the history
            t, c = res.time_h - offset, res.concentration_ng_per_mL(d.name)
            keep = t >= 0
            starts = np.array([e.time_h - offset for e in res.model.doses[d.name]])
            given = starts[(starts >= 0) & (starts < t[-1])]
            mass = dosed_ng(res.model, d.name, offset, offset + t[-1])
            expo = exposure(t[keep], c[keep], dose_times_h=given, dose_ng=mass)
        out.append(SubjectResult(s, res, offset, expo))
    return out


def _observation_grid(result: SubjectResult) -> np.ndarray:
    """Where a subject without observation records is reported: hourly for a week or less,
    else daily."""
    end = float(result.time_h[-1])
    step = 1.0 if end <= 24.0 * 7 else 24.0
    return np.arange(0.0, end + 1e-9, step)


def simulated_dataset(results: Sequence[SubjectResult]) -> pd.DataFrame:
    """The dataset with the simulation in it: dose records (EVID 1, MDV 1) and observation
    records (EVID 0, MDV 0) with DV = PRED = the simulated plasma concentration (ng/mL; one
    deterministic subject, so the individual and population predictions coincide), sorted by
    ID and TIME as NONMEM reads them."""
    rows = []
    for r in results:
        s = r.subject
        for dose in s.regimen.explicit:
            rate = dose.amount / dose.duration_h if dose.duration_h > 0 else 0.0
            ss = r.subject.steady_state
            is_ss = ss is not None and dose == ss.dose
            rows.append(
                {
                    "ID": s.id,
                    "TIME": dose.time_h,
                    "EVID": 1,
                    "AMT": dose.amount,
                    "CMT": 1 if dose.route == "sc" else 2,
                    "RATE": rate,
                    "II": ss.interval_h if ss is not None and is_ss else 0.0,
                    "SS": int(is_ss),
                    "MDV": 1,
                    "DV": 0.0,
                    "PRED": 0.0,
                }
            )
        times = np.array(s.observation_times_h) if s.observation_times_h else _observation_grid(r)
        conc = r.at(times)
        for t, c in zip(times, conc, strict=True):
            rows.append(
                {
                    "ID": s.id,
                    "TIME": float(t),
                    "EVID": 0,
                    "AMT": 0.0,
                    "CMT": 2,
                    "RATE": 0.0,
                    "II": 0.0,
                    "SS": 0,
                    "MDV": 0,
                    "DV": float(c),
                    "PRED": float(c),
                }
            )
    df = pd.DataFrame(rows)
    order = {sid: k for k, sid in enumerate(dict.fromkeys(r.subject.id for r in results))}
    df["_order"] = df["ID"].map(order)
    df = df.sort_values(["_order", "TIME", "EVID"], ascending=[True, True, False], kind="stable")
    return df.drop(columns="_order").reset_index(drop=True)
