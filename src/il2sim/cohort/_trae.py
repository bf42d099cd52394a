"""Grade 3-4 treatment-related adverse events of checkpoint blockade (immune-related: colitis,
hepatitis, pneumonitis, endocrinopathies, ...), which no IL-2 mechanism of the body model
produces.

A rate model, as the trials report them: while a patient is exposed to a blocked checkpoint
pathway (from the first dose to the last dose given plus the trials' reporting window; doses
stop at progression) the event has a constant hazard per pathway, independent between
pathways (PD-1 and PD-L1 blockade are one pathway). Each patient carries a probability, not a
draw, so an arm's rate is the expected share and does not jitter with a seed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
from scipy import optimize

#: Checkpoint targets (antibody or targeting arm of a drug) -> the pathway whose hazard applies.
PATHWAYS = {"PD1": "pd1", "PDL1": "pd1", "CTLA4": "ctla4"}
#: The immune parameters (catalog) of the model, per pathway, and the reporting window.
HAZARD_PARAMETERS = {p: f"trae_grade34_hazard_{p}_per_day" for p in sorted(set(PATHWAYS.values()))}
WINDOW_PARAMETER = "trae_reporting_window_days"


def pathway_doses(targets_doses: Iterable[tuple[str, Iterable[float]]]) -> dict[str, tuple]:
    """Per pathway, the sorted days (from the start of treatment) of every dose that blocks
    it, from (target, dose days) pairs; targets that are not checkpoints are left out."""
    out: dict[str, set[float]] = {}
    for target, days in targets_doses:
        if target in PATHWAYS:
            out.setdefault(PATHWAYS[target], set()).update(float(d) for d in days)
    return {p: tuple(sorted(d)) for p, d in sorted(out.items())}


def exposure_days(
    dose_days: Iterable[float], stop_day: float, window_days: float, end_day: float
) -> float:
    """Days exposed to one pathway: from its first dose to the last dose given by
    ``stop_day`` (progression ends treatment) plus ``window_days``, within the trial's
    ``end_day``; 0 without a dose."""
    given = [d for d in dose_days if d <= stop_day]
    if not given:
        return 0.0
    return max(0.0, min(given[-1] + window_days, end_day) - given[0])


def grade34_probability(
    exposure: Mapping[str, float], hazard_per_day: Mapping[str, float]
) -> float:
    """Probability of at least one grade 3-4 event: 1 - exp(-sum of hazard x exposure)."""
    return float(1.0 - np.exp(-sum(hazard_per_day[p] * e for p, e in exposure.items())))


def calibrate_hazard(exposures: Iterable[float], rate: float) -> float:
    """The hazard (per day) whose expected share of patients with an event, over these
    patients' exposures (days), is ``rate``."""
    e = np.asarray(list(exposures), float)
    if e.size == 0 or not (e > 0).any():
        raise ValueError("calibrate_hazard: no patient was exposed")
    if not 0.0 < rate < float((e > 0).mean()):
        raise ValueError(
            f"calibrate_hazard: rate must be between 0 and the share of exposed patients "
            f"({(e > 0).mean():.3f}), got {rate}"
        )

    def gap(log_h: float) -> float:
        return float(np.mean(1.0 - np.exp(-np.exp(log_h) * e)) - rate)

    return float(np.exp(optimize.brentq(gap, -30.0, 10.0, xtol=1e-12)))


def calibrate_hazards(outcomes, targets) -> dict[str, float]:
    """Per safety target (``grade34_TRAE``), the hazard of the one pathway its arm blocks
    that makes the arm's expected rate the target's value on these evaluable patients'
    exposures (``outcomes``: rows of a cohort run with ``exposure_<pathway>_days``).
    Returns catalog parameter -> value (per day)."""
    out: dict[str, float] = {}
    for t in targets:
        if t.endpoint != "grade34_TRAE":
            continue
        ok = outcomes[(outcomes.arm == t.arm) & (outcomes.status == "ok")]
        cols = [c for c in ok.columns if c.startswith("exposure_") and ok[c].notna().any()]
        if len(cols) != 1:
            raise ValueError(
                f"arm {t.arm!r} blocks {len(cols)} checkpoint pathways; a hazard is calibrated "
                "on an arm that blocks exactly one"
            )
        pathway = cols[0].removeprefix("exposure_").removesuffix("_days")
        out[HAZARD_PARAMETERS[pathway]] = calibrate_hazard(ok[cols[0]], t.value)
    return out
