"""Grade 3-4 treatment-related adverse events of checkpoint blockade: exposure, probability,
calibration of the hazards on the training rows, and how arms carry them."""

import math

import numpy as np
import pandas as pd
import pytest

from il2sim import catalog
from il2sim.cohort import build_arm
from il2sim.cohort._trae import (
    calibrate_hazard,
    calibrate_hazards,
    exposure_days,
    grade34_probability,
    pathway_doses,
)


def test_exposure_runs_from_first_dose_to_last_dose_given_plus_window():
    q2w = [float(d) for d in range(0, 729, 14)]
    # progression seen at day 84: doses to day 84 given, events counted to day 84 + 30
    assert exposure_days(q2w, 84.0, 30.0, 728.0) == 114.0
    # no progression: every dose; the window is cut at the end of the trial
    assert exposure_days(q2w, 728.0, 30.0, 728.0) == 728.0
    assert exposure_days([0, 21, 42, 63], 728.0, 30.0, 728.0) == 93.0  # ipilimumab x4
    assert exposure_days([], 728.0, 30.0, 728.0) == 0.0


def test_probability_adds_independent_pathway_hazards():
    p = grade34_probability({"pd1": 100.0, "ctla4": 50.0}, {"pd1": 1e-3, "ctla4": 4e-3})
    assert p == pytest.approx(1 - math.exp(-(0.1 + 0.2)))
    one = grade34_probability({"pd1": 100.0}, {"pd1": 1e-3})
    two = grade34_probability({"ctla4": 50.0}, {"ctla4": 4e-3})
    assert 1 - p == pytest.approx((1 - one) * (1 - two))


def test_hazard_calibration_recovers_the_rate_and_refuses_the_impossible():
    rng = np.random.default_rng(0)
    e = rng.uniform(30, 700, 400)
    h = calibrate_hazard(e, 0.163)
    assert np.mean(1 - np.exp(-h * e)) == pytest.approx(0.163, abs=1e-9)
    with pytest.raises(ValueError, match="rate must be between 0 and the share of exposed"):
        calibrate_hazard(np.r_[e[:10], np.zeros(10)], 0.6)
    with pytest.raises(ValueError, match="no patient was exposed"):
        calibrate_hazard([0.0, 0.0], 0.1)


def test_pathways_come_from_antibody_and_drug_targets():
    assert pathway_doses([("PD1", [0, 14]), ("PDL1", [7]), ("EDB_FN", [0])]) == {
        "pd1": (0.0, 7.0, 14.0)
    }
    spec = catalog.get_cohort("melanoma")
    combo = build_arm(spec, "nivolumab_ipilimumab").checkpoint_dose_days
    assert combo["ctla4"] == (0.0, 21.0, 42.0, 63.0)
    assert combo["pd1"][:6] == (0.0, 21.0, 42.0, 63.0, 84.0, 98.0)
    # PD1-IL2v blocks PD-1 (its targeting arm); untargeted IL2v blocks nothing
    assert set(build_arm(spec, "pd1_il2v").checkpoint_dose_days) == {"pd1"}
    assert build_arm(spec, "il2v").checkpoint_dose_days == {}


def test_calibrate_hazards_needs_an_arm_that_blocks_one_pathway():
    t = catalog.Target(arm="combo", endpoint="grade34_TRAE", value=0.5, n=10, source="test")
    two = pd.DataFrame(
        {"arm": "combo", "status": "ok", "exposure_pd1_days": [90.0], "exposure_ctla4_days": [90.0]}
    )
    with pytest.raises(ValueError, match="blocks 2 checkpoint pathways"):
        calibrate_hazards(two, [t])
    one = pd.DataFrame({"arm": "combo", "status": "ok", "exposure_ctla4_days": [93.0] * 4})
    got = calibrate_hazards(one, [t])
    assert got == {"trae_grade34_hazard_ctla4_per_day": pytest.approx(math.log(2) / 93.0)}


def test_summary_and_table_report_the_expected_share():
    from il2sim.cohort._summary import summarise_arm
    from il2sim.report import response_table

    n = 40
    base = {
        "status": "ok",
        "bor": ["PR"] * 10 + ["PD"] * 30,
        "progressed": True,
        "pfs_days": 84.0,
        "best_change_pct": 0.0,
        "patient": range(n),
    }
    nivo = pd.DataFrame({**base, "arm": "nivo", "trae_grade34_probability": 0.25})
    untreated = pd.DataFrame({**base, "arm": "untreated"})
    outcomes = pd.concat([untreated, nivo], ignore_index=True)
    arms = {a: summarise_arm(outcomes, a, [84.0]) for a in ("untreated", "nivo")}
    assert "trae_grade34" not in arms["untreated"]
    s = arms["nivo"]["trae_grade34"]
    assert s["value"] == pytest.approx(0.25) and s["k"] == 10 and s["n"] == n
    assert s["ci95"][0] < 0.25 < s["ci95"][1]
    table = response_table({"arms": arms}).set_index("arm")
    assert table.loc["nivo", "grade 3-4 TRAE %"] == "25.0"
    assert table.loc["untreated", "grade 3-4 TRAE %"] == "-"
