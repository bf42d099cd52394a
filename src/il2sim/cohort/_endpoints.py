"""Trial endpoints of one arm's evaluable patients, as the training rows name them: response
rates by best overall response, the Kaplan-Meier median of progression-free survival and the
expected shares of patients with a grade 3-4 event (checkpoint blockade's treatment-related
adverse events, IL-2's capillary leak)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from il2sim.catalog import DAYS_PER_MONTH, ENDPOINTS, RATE_ENDPOINTS, SAFETY_ENDPOINTS
from il2sim.cohort._recist import RATE_CLASSES as _BORS
from il2sim.cohort._recist import kaplan_meier

assert set(_BORS) == set(RATE_ENDPOINTS)


def median_survival_days(days: np.ndarray, events: np.ndarray) -> float | None:
    """Kaplan-Meier median: the first time S(t) <= 0.5 (None: not reached)."""
    t, s = kaplan_meier(np.asarray(days, float), np.asarray(events, bool))
    below = np.nonzero(s <= 0.5)[0]
    return float(t[below[0]]) if below.size else None


def endpoint_value(ok: pd.DataFrame, endpoint: str) -> float | None:
    """The value of ``endpoint`` over evaluable patients ``ok`` (columns bor, progressed,
    pfs_days and the safety endpoints' probabilities): a fraction for rates, months for median
    PFS (None when not reached)."""
    if endpoint in _BORS:
        return float(ok.bor.isin(_BORS[endpoint]).mean())
    if endpoint in SAFETY_PROBABILITY:
        return float(event_probability(ok, endpoint).mean())
    if endpoint == "median_PFS_months":
        m = median_survival_days(ok.pfs_days.to_numpy(), ok.progressed.to_numpy())
        return None if m is None else m / DAYS_PER_MONTH
    raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}")


#: Safety endpoint -> the per-patient probability column of a cohort run.
SAFETY_PROBABILITY = {
    "grade34_TRAE": "trae_grade34_probability",
    "grade34_vascular_leak": "vascular_leak_index_grade34_probability",
}
assert set(SAFETY_PROBABILITY) == set(SAFETY_ENDPOINTS)


def event_probability(ok: pd.DataFrame, endpoint: str) -> pd.Series:
    """Per patient, the probability of the safety endpoint's grade 3-4 event (0 on an arm
    without the exposure that causes it)."""
    col = SAFETY_PROBABILITY[endpoint]
    if col not in ok.columns:
        return pd.Series(0.0, index=ok.index)
    return ok[col].fillna(0.0)


def in_class(ok: pd.DataFrame, endpoint: str) -> np.ndarray:
    """Per patient, whether it counts towards a rate endpoint."""
    return ok.bor.isin(_BORS[endpoint]).to_numpy()


def progression_free_at(ok: pd.DataFrame, day: float) -> np.ndarray:
    """Per patient, whether it is alive without progression at ``day`` (follow-up covers it)."""
    return ~(ok.progressed.to_numpy(bool) & (ok.pfs_days.to_numpy(float) <= day))
