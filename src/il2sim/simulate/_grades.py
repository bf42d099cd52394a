"""Grade 3-4 toxicity of the IL-2 indices (vascular leak, cytokine release), as trials report it.

An index says how hard IL-2 drives the cells behind a toxicity; whether a patient has a grade
3-4 event at that drive depends on the patient (age, cardiac reserve, how the team manages
fluids and pressors). The model: patient i has the event when the index's peak daily mean
reaches ``threshold * u_i``, with ln u_i ~ Normal(0, ``sd``) over patients, so at peak ``p``

    P(grade 3-4) = Phi(ln(p / threshold) / sd).

Each patient carries this probability, not a draw, so a cohort arm's rate is the expected share
(as for checkpoint events) and does not jitter with a seed; a therapy run reports the share of
patients with an event at its typical patient's exposure. The threshold of vascular leak is
calibrated on high-dose IL-2's rate (training row T11), ``sd`` is derived from Kammula 1998 and
the cytokine-release threshold is an assumption (catalog sources).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from scipy import optimize, stats

#: index readout -> (catalog parameter of its grade 3-4 threshold)
GRADE34_THRESHOLDS = {
    "vascular_leak_index": "vascular_leak_grade34_threshold",
    "cytokine_release_index": "cytokine_release_threshold",
}
SUSCEPTIBILITY_SD = "toxicity_susceptibility_sd"


def grade34_probability(
    peak: float | np.ndarray, threshold: float, sd: float
) -> float | np.ndarray:
    """Probability of a grade 3-4 event at this peak daily mean of an index (0 at peak <= 0)."""
    if threshold <= 0 or sd <= 0:
        raise ValueError(f"threshold and sd must be > 0, got {threshold}, {sd}")
    p = np.asarray(peak, float)
    z = np.log(np.where(p > 0, p, 1.0) / threshold) / sd
    out = np.where(p > 0, stats.norm.cdf(z), 0.0)
    return float(out) if out.ndim == 0 else out


def calibrate_grade34_threshold(peaks: Iterable[float], rate: float, sd: float) -> float:
    """The threshold whose expected share of grade 3-4 events over these patients' peaks is
    ``rate``."""
    p = np.asarray(list(peaks), float)
    p = p[p > 0]
    if p.size == 0:
        raise ValueError("calibrate_grade34_threshold: no patient has a positive peak")
    if not 0.0 < rate < 1.0:
        raise ValueError(f"calibrate_grade34_threshold: rate must be between 0 and 1, got {rate}")

    def gap(log_thr: float) -> float:
        return float(np.mean(grade34_probability(p, float(np.exp(log_thr)), sd)) - rate)

    lo, hi = np.log(p.min()) - 10 * sd, np.log(p.max()) + 10 * sd
    return float(np.exp(optimize.brentq(gap, lo, hi, xtol=1e-12)))
