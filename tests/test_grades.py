"""Grade 3-4 probabilities of the IL-2 toxicity indices (simulate/_grades.py)."""

import numpy as np
import pytest
from scipy import stats

from il2sim import catalog
from il2sim.simulate import (
    GRADE34_THRESHOLDS,
    SUSCEPTIBILITY_SD,
    calibrate_grade34_threshold,
    grade34_probability,
)


def test_a_median_patient_at_the_threshold_and_the_spread_of_patients():
    assert grade34_probability(0.4, 0.4, 0.45) == pytest.approx(0.5)
    # one SD of susceptibility above the threshold: Phi(1)
    assert grade34_probability(0.4 * np.exp(0.45), 0.4, 0.45) == pytest.approx(stats.norm.cdf(1.0))
    p = grade34_probability(np.array([0.0, 0.1, 0.4, 1.6]), 0.4, 0.45)
    assert p[0] == 0.0 and np.all(np.diff(p) > 0) and p[-1] < 1.0


def test_calibration_recovers_the_threshold_that_made_the_rate():
    rng = np.random.default_rng(3)
    peaks = rng.lognormal(np.log(0.56), 0.15, 500)
    rate = float(np.mean(grade34_probability(peaks, 0.61, 0.45)))
    assert calibrate_grade34_threshold(peaks, rate, 0.45) == pytest.approx(0.61, rel=1e-6)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"rate must be between 0 and 1, got 1\.2"):
        calibrate_grade34_threshold([0.5], 1.2, 0.45)
    with pytest.raises(ValueError, match="no patient has a positive peak"):
        calibrate_grade34_threshold([0.0], 0.5, 0.45)
    with pytest.raises(ValueError, match="threshold and sd must be > 0"):
        grade34_probability(0.5, 0.0, 0.45)


def test_catalog_holds_every_threshold_and_the_spread():
    P = catalog.immune_parameters()
    for name in [*GRADE34_THRESHOLDS.values(), SUSCEPTIBILITY_SD]:
        assert P[name].value > 0 and P[name].source
    # the grade 3-4 level of leak lies above the level at which doses are withheld
    assert P["vascular_leak_grade34_threshold"].value > P["vascular_leak_threshold"].value
