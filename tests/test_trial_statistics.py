"""Trial statistics a reader trusts: distinct virtual patients, confidence intervals bounded
by them, arms compared by ORR difference, Cox hazard ratio and log-rank test, training rows
accounted for, and the joint selection of a virtual population against them."""

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from il2sim import catalog
from il2sim.cohort import (
    check_request,
    check_rows,
    compare_arms,
    draw_patients,
    hazard_ratio,
    logrank_p,
    select_virtual_population,
)
from il2sim.cohort._recist import patient_scan_days
from il2sim.cohort._summary import summarise_arm

SPEC = catalog.get_cohort("melanoma")


def test_scan_schedule_follows_checkmate_067():
    """Week 12, then every 6 weeks to week 49, then every 12 weeks (Larkin 2015)."""
    days = SPEC.response.scan_days(728)
    assert days[:3] == (84.0, 126.0, 168.0)
    assert days[days.index(336.0) + 1] == 378.0  # week 54 after week 48
    assert np.diff(days)[-1] == 84.0 and days[-1] <= 728


def test_hazard_ratio_and_logrank_recover_a_known_difference():
    """Exponential PFS with hazards in ratio 1:2: Cox HR 0.5 inside its CI, log-rank
    significant; identical arms give HR ~1 and a large p."""
    rng = np.random.default_rng(1)
    n = 3000
    a, b = rng.exponential(200, n), rng.exponential(100, n)
    ev = np.ones(n, bool)
    hr, lo, hi = hazard_ratio(a, ev, b, ev)
    assert lo < hr < hi and lo < 0.5 < hi and hi / lo < 1.2
    assert logrank_p(a, ev, b, ev) < 1e-10
    c = rng.exponential(100, n)
    assert logrank_p(c, ev, b, ev) > 0.01


def _outcomes(arm, bors, pfs, progressed, vp=None):
    n = len(bors)
    out = pd.DataFrame(
        {
            "patient": np.arange(n),
            "arm": arm,
            "status": "ok",
            "bor": bors,
            "pfs_days": pfs,
            "progressed": progressed,
            "best_change_pct": 0.0,
        }
    )
    if vp is not None:
        out["vp"] = vp
    return out


def test_orr_difference_has_newcombe_interval_and_repeats_count_once():
    ref = _outcomes("a", ["PR"] * 20 + ["PD"] * 80, [84.0] * 100, [True] * 100)
    arm = _outcomes("b", ["PR"] * 40 + ["PD"] * 60, [126.0] * 100, [True] * 100)
    c = compare_arms(pd.concat([ref, arm]), "a").iloc[0]
    assert c.ORR_difference_pp == pytest.approx(20.0)
    assert 7 < c.ORR_difference_low_pp < 20 < c.ORR_difference_high_pp < 33
    # the same 10 virtual patients drawn ten times each: statistics of 10 patients
    vp = np.repeat(np.arange(10), 10)
    rep = _outcomes("b", ["PR"] * 40 + ["PD"] * 60, [126.0] * 100, [True] * 100, vp=vp)
    c10 = compare_arms(pd.concat([ref, rep]), "a").iloc[0]
    assert c10.n == 10


def test_rate_intervals_are_bounded_by_distinct_patients():
    """1,000 draws of 100 virtual patients: ORR is the draws' but its CI is that of 100."""
    vp = np.tile(np.arange(100), 10)
    bors = np.where(vp < 30, "PR", "SD")
    o = _outcomes("x", bors, np.full(1000, 210.0), np.zeros(1000, bool), vp=vp)
    s = summarise_arm(o, "x", [84.0, 210.0])
    assert s["ORR"]["value"] == pytest.approx(0.3) and s["ORR"]["n_distinct"] == 100
    lo, hi = s["ORR"]["ci95"]
    assert (lo, hi) == pytest.approx((0.2124, 0.3998), abs=1e-3)  # exact CI of 30/100
    assert "100 distinct virtual patients" in s["note"]


def test_vpop_draws_are_distinct_while_the_population_has_them():
    vpop, _ = catalog.virtual_population("melanoma")
    defaults: dict = {}
    some = draw_patients(SPEC, len(vpop) - 1, seed=3, defaults=defaults)
    assert not some.vp.duplicated().any()
    more = draw_patients(SPEC, len(vpop) + 5, seed=3, defaults=defaults)
    counts = more.vp.value_counts()
    assert set(counts.index) == set(vpop.patient) and counts.max() == 2


def test_every_training_row_is_a_target_or_says_why_not():
    """Every row of clinical_training.csv for a modelled disease is either a cohort target with
    the row's value, or listed as untargeted with its reason: no row is silently dropped."""
    rows = catalog.training_rows()
    specs = [catalog.get_cohort(c) for c in ("melanoma", "rcc")]
    covered = {t.row for s in specs for t in s.targets} | {
        u.row for s in specs for u in s.untargeted
    }
    assert set(rows.id) == covered
    for s in specs:
        check_rows(s)
        for t in s.targets:
            mine = rows[rows.id == t.row]
            name = {"median_PFS_months": "median PFS", "PD": "best response progressive disease"}
            name = {
                **name,
                "DCR": "disease control rate",
                "grade34_TRAE": "grade 3-4 treatment-related adverse events",
                "grade34_vascular_leak": "grade 3-4 capillary leak (hypotension requiring "
                "vasopressors)",
            }.get(t.endpoint, t.endpoint)
            row = mine[mine.endpoint == name]
            assert len(row) == 1, (t.row, t.endpoint)
            scale = 1.0 if t.endpoint == "median_PFS_months" else 100.0
            assert t.value * scale == pytest.approx(float(row.value.iloc[0]), abs=0.5), t


def test_bad_training_rows_are_refused_by_name():
    base = SPEC.model_dump()
    bad_arm = {**base, "targets": [{**base["targets"][0], "arm": "placebo"}]}
    with pytest.raises(ValidationError, match="target arm 'placebo' is not one of the arms"):
        catalog.CohortSpec(**bad_arm)
    bad_end = {**base, "targets": [{**base["targets"][0], "endpoint": "OS"}]}
    with pytest.raises(
        ValidationError,
        match="'ORR', 'CR', 'DCR', 'PD', 'median_PFS_months', 'grade34_TRAE' or "
        "'grade34_vascular_leak'",
    ):
        catalog.CohortSpec(**bad_end)
    bad_pred = {**base, "predictions": [{**base["targets"][0], "arm": "placebo"}]}
    with pytest.raises(ValidationError, match="prediction arm 'placebo' is not one of the arms"):
        catalog.CohortSpec(**bad_pred)
    pct = {**base, "targets": [{**base["targets"][0], "value": 16, "ci_low": 12, "ci_high": 21}]}
    with pytest.raises(ValidationError, match="is not a fraction; give rates between 0 and 1"):
        catalog.CohortSpec(**pct)
    ghost = catalog.CohortSpec(**{**base, "targets": [{**base["targets"][0], "row": "T99"}]})
    with pytest.raises(ValueError, match="names training row 'T99', which clinical_training"):
        check_rows(ghost)


def test_joint_selection_meets_every_training_row_with_distinct_patients():
    """Synthetic plausible patients on the four calibration arms, with response and PFS
    loosely linked and scans within their +-7-day visit windows: the selected population
    meets every target (rates and Kaplan-Meier medians inside their intervals, ipilimumab's
    2.8-3.4 months included, which no scheduled scan day falls in) and no patient is selected
    twice."""
    rng = np.random.default_rng(0)
    n = 4000
    scheduled = SPEC.response.scan_days(SPEC.duration_days)
    window = SPEC.response.scan_window_days
    assert window == 7
    scans = np.array(
        [patient_scan_days(scheduled, window, i, SPEC.duration_days) for i in range(n)]
    )
    frames = []
    for arm, p in {
        "gp100_vaccine": [0.01, 0.02, 0.17, 0.8],
        "hd_aldesleukin": [0.08, 0.12, 0.3, 0.5],
        "nivolumab": [0.12, 0.35, 0.2, 0.33],
        "ipilimumab": [0.03, 0.17, 0.3, 0.5],
    }.items():
        bor = rng.choice(["CR", "PR", "SD", "PD"], size=n, p=p)
        k = np.where(bor == "PD", 0, rng.integers(1, len(scheduled), size=n))
        progressed = (bor == "PD") | (rng.random(n) < 0.7)
        pfs = np.where(progressed, scans[np.arange(n), k], scans[:, -1])
        frames.append(_outcomes(arm, bor, pfs, progressed))
    sel = select_virtual_population(SPEC, pd.concat(frames), seed=1)
    within = sel.within_ci()
    assert 2.8 <= sel.achieved["ipilimumab"]["median_PFS_months"] <= 3.4
    assert all(within.values()), (sel.achieved, sel.note)
    chosen = sel.selected
    assert len(chosen) == len(set(chosen)) >= 150


def test_scans_fall_within_their_visit_window_the_same_for_a_patient_in_every_arm():
    """Each scan is within +-7 days of its scheduled day, drawn from the patient's number (the
    same in every arm and run), different between patients, spread over the whole window."""
    scheduled = SPEC.response.scan_days(SPEC.duration_days)
    days = [patient_scan_days(scheduled, 7.0, i, 728) for i in range(400)]
    assert np.array_equal(days[3], patient_scan_days(scheduled, 7.0, 3, 728))
    shift = np.array([d - np.array(scheduled) for d in days])
    assert np.abs(shift).max() <= 7 and set(np.unique(shift[:, 0])) == set(range(-7, 8))
    assert all(np.all(np.diff(d) > 0) for d in days)
    assert np.array_equal(patient_scan_days(scheduled, 0.0, 5, 728), np.array(scheduled))


def test_doses_withheld_are_summarised_and_shown_per_arm():
    """An arm with an IL-2 drug reports the doses given of those due: median per patient, the
    share given and how many patients had a dose withheld; the response table shows them."""
    from il2sim.report import response_table

    o = _outcomes("hd", ["PD"] * 4, [84.0] * 4, [True] * 4)
    o["doses_received"], o["doses_scheduled"] = [14.0, 14.0, 16.0, 28.0], 28.0
    s = summarise_arm(o, "hd", [84.0])
    assert s["doses"]["received_median"] == 15.0 and s["doses"]["scheduled_median"] == 28.0
    assert s["doses"]["share_given"] == pytest.approx(72 / 112)
    assert s["doses"]["patients_with_a_dose_withheld"]["value"] == 0.75
    s["toxicity"] = {}
    nivo = summarise_arm(_outcomes("n", ["PD"], [84.0], [True]), "n", [84.0])
    table = response_table({"arms": {"hd": s, "n": {**nivo, "toxicity": {}}}})
    assert table["IL-2 doses given (median / due)"].tolist() == ["15 / 28", "-"]
    assert "doses" not in summarise_arm(_outcomes("n", ["PD"], [84.0], [True]), "n", [84.0])


def test_a_cohort_file_named_like_a_built_in_keeps_its_population_only_with_its_patients():
    """A user's cohort named 'melanoma' that adds an arm runs on the shipped population; one
    whose variability differs cannot take it (it used to, silently)."""
    from il2sim.cohort._sample import draw_patients, shipped_population

    base = SPEC.model_dump()
    more_arms = catalog.CohortSpec(
        **{**base, "arms": [*base["arms"], {"name": "nivo_extra", "antibodies": []}]}
    )
    vpop, mismatch = shipped_population(more_arms)
    assert vpop is not None and mismatch == []
    changed = [dict(v) for v in base["variability"]]
    changed[0]["cv"] = 0.1
    other = catalog.CohortSpec(**{**base, "variability": changed})
    assert shipped_population(other) == (None, ["variability"])
    with pytest.raises(ValueError, match="variability differ from it; rename the cohort"):
        draw_patients(other, 5, defaults={}, population="vpop")


def test_a_population_file_gives_a_renamed_cohort_the_shipped_patients(tmp_path):
    """`--population FILE`: a cohort file under a new name (new arms) runs on a saved
    population when its columns and values fit the cohort's variability; otherwise a message
    names the file and the row or column."""
    from il2sim.cohort._sample import draw_patients

    vpop, _ = catalog.virtual_population("melanoma")
    path = tmp_path / "pop.csv"
    vpop.to_csv(path, index=False, float_format="%.17g")
    base = SPEC.model_dump()
    mine = catalog.CohortSpec(
        **{**base, "name": "my_melanoma", "arms": [*base["arms"], {"name": "x", "antibodies": []}]}
    )
    from il2sim.cohort import build_arm

    defaults = build_arm(mine, "nivolumab").defaults  # medians the cohort leaves to the model
    drawn = draw_patients(mine, 3, seed=2, defaults=defaults, population=str(path))
    assert set(drawn.vp) <= set(vpop.patient) and drawn.vp.is_unique
    cols = [c for c in vpop.columns if c != "patient"]
    by_vp = vpop.set_index("patient")
    assert (drawn.set_index("vp")[cols] == by_vp.loc[drawn.vp, cols]).all().all()

    def refused(table: pd.DataFrame, match: str) -> None:
        bad = tmp_path / "bad.csv"
        table.to_csv(bad, index=False)
        with pytest.raises(ValueError, match=match):
            draw_patients(mine, 3, defaults=defaults, population=str(bad))

    refused(vpop.assign(im_other=1.0), r"bad.csv: its columns must be .*\['im_other'\]")
    p0 = next(v.parameter for v in SPEC.variability if v.distribution == "lognormal")
    far = vpop.copy()
    far.loc[1, p0] = far[p0].max() * 1e3
    refused(far, rf"row 2, column '{p0}': .* outside the plausible range of cohort 'my_melanoma'")
    text = vpop.astype(object)
    text.loc[0, "weight_kg"] = "heavy"
    refused(text, r"row 1, column 'weight_kg': 'heavy' is not a finite number")
    refused(vpop.iloc[:0], "has no patients")
    with pytest.raises(ValueError, match=r"population: .*nothing\.csv: no such file"):
        check_request(mine, ["x"], n=3, population=str(tmp_path / "nothing.csv"))
    with pytest.raises(ValueError, match=r"or a \.csv file of patients, got 'vpops'"):
        check_request(mine, ["x"], n=3, population="vpops")
