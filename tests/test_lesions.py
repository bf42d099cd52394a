"""Several target lesions per patient: lesions conserve the model's tumour, reduce to one
lesion without spreads, allow mixed responses, and are checked against lesion-level data
(Topp 2021) as a prediction."""

import numpy as np
import pytest

from il2sim import catalog
from il2sim.catalog import Lesions
from il2sim.cohort import (
    assess,
    assess_sld,
    build_arm,
    draw_patients,
    patient_lesions,
    sld_mm,
)
from il2sim.cohort._run import simulate_chunk

SPEC = catalog.get_cohort("melanoma")
RESP = SPEC.response
SHIPPED = RESP.lesions
NONE = Lesions(escape_sd_log=0.0, kill_sd_log=0.0, source="test: no spreads")


def _spec(lesions):
    return SPEC.model_copy(update={"response": RESP.model_copy(update={"lesions": lesions})})


def test_lesions_divide_the_burden_and_conserve_it():
    a0, e0 = 9.0e9, 1.0e9
    for patient in range(50):
        les = patient_lesions(SHIPPED, patient, 100.0, a0, e0)
        k = int(les.target.sum())
        assert SHIPPED.count_min <= k <= SHIPPED.count_max
        assert les.diameter0_mm[les.target].sum() == pytest.approx(100.0)
        lo, hi = SHIPPED.occult_diameter_mm  # occult metastases: not seen at baseline
        assert ((les.diameter0_mm[~les.target] >= lo) & (les.diameter0_mm[~les.target] <= hi)).all()
        assert les.antigen_share.sum() == pytest.approx(1.0)
        assert les.escape_share.sum() == pytest.approx(1.0)
        assert les.cells0.sum() == pytest.approx(a0 + e0, rel=1e-9)
        # a lesion's cells follow its diameter cubed
        assert les.cells0 / les.cells0.sum() == pytest.approx(
            les.diameter0_mm**3 / np.sum(les.diameter0_mm**3), rel=1e-9
        )
        # without extra killing the lesions always hold exactly the model's two clones
        a, e = np.array([a0, 3e9, 1e8, 0.0]), np.array([e0, 2e9, 5e9, 7e9])
        cells = les.cells0 * (les.diameters_mm(a, e, np.zeros(4)) / les.diameter0_mm) ** 3
        assert cells.sum(axis=1) == pytest.approx(a + e, rel=1e-9)
    same = patient_lesions(SHIPPED, 7, 100.0, a0, e0)
    again = patient_lesions(SHIPPED, 7, 100.0, a0, e0)
    assert np.array_equal(same.diameter0_mm, again.diameter0_mm)  # the patient's own lesions


def test_without_spreads_lesions_give_the_one_lesion_response():
    a = np.array([9e9, 4e9, 1e9, 3e9])
    e = np.array([1e9, 1.2e9, 1.5e9, 2.5e9])
    kill = np.array([0.0, 1.0, 2.0, 2.5])
    for patient in range(20):
        les = patient_lesions(NONE, patient, 100.0, a[0], e[0])
        summed = les.diameters_mm(a, e, kill).sum(axis=1)
        assert summed == pytest.approx(sld_mm(a + e, a[0] + e[0], RESP), rel=1e-9)
    scans = np.array([84.0, 126.0, 168.0])
    one = assess(scans, (a + e)[1:], a[0] + e[0], RESP)
    several = assess_sld(scans, summed[1:], RESP)
    assert (several.bor, several.progressed, several.pfs_days) == (
        one.bor,
        one.progressed,
        one.pfs_days,
    )
    assert several.best_change_pct == pytest.approx(one.best_change_pct)


def test_an_escape_rich_lesion_grows_while_the_others_shrink():
    lesions = Lesions(count_min=3, count_max=3, escape_sd_log=2.0, source="test")
    les = patient_lesions(lesions, 0, 100.0, 9.9e9, 1e8)
    # T cells clear the antigen clone while the escape clone grows 30-fold
    d = les.diameters_mm(np.array([9.9e9, 1e7]), np.array([1e8, 3e9]), np.array([0.0, 7.0]))
    change = d[1] / d[0] - 1.0
    assert change.max() >= 0.2 and change.min() <= -0.3  # a mixed response


def test_an_occult_metastasis_growing_to_5_mm_is_a_new_lesion():
    lesions = Lesions(occult_mean=3.0, escape_sd_log=0.0, source="test")
    patient = next(
        p for p in range(100) if (~patient_lesions(lesions, p, 100.0, 1, 1).target).any()
    )
    les = patient_lesions(lesions, patient, 100.0, 9e9, 1e9)
    grow = np.array([1.0, 2.0, 8.0, 64.0])  # both clones grow, the sum 4-fold in diameter
    _, sld, new = les.read(9e9 * grow, 1e9 * grow, np.zeros(4))
    assert sld == pytest.approx(100.0 * np.cbrt(grow))
    first = int(np.argmax(new))
    biggest = les.diameter0_mm[~les.target].max()
    assert not new[0] and new[-1]  # occult at baseline, seen once >= 5 mm
    assert biggest * np.cbrt(grow[first]) >= 5.0 > biggest * np.cbrt(grow[first - 1])
    # a new lesion is progression whatever the sum of the target lesions does
    scans = np.array([84.0, 126.0])
    shrinking = assess_sld(scans, np.array([60.0, 50.0]), RESP, np.array([False, True]))
    assert (shrinking.bor, shrinking.progressed, shrinking.pfs_days) == ("PR", True, 126.0)


def test_lesion_spreads_are_bounded_and_named():
    with pytest.raises(ValueError, match=r"count_max \(2\) must be at least count_min \(3\)"):
        Lesions(count_min=3, count_max=2, source="test")
    with pytest.raises(ValueError, match="count_max"):
        Lesions(count_max=6, source="test")  # RECIST 1.1: at most 5 target lesions
    with pytest.raises(
        ValueError, match=r"occult_diameter_mm \(2, 6\) must be .* below new_lesion_mm \(5\)"
    ):
        Lesions(occult_diameter_mm=(2.0, 6.0), source="test")


@pytest.fixture(scope="module")
def nivolumab_lesions():
    """The shipped melanoma population on nivolumab, read with the shipped lesions."""
    arm = build_arm(SPEC, "nivolumab")
    patients = draw_patients(SPEC, None, defaults=arm.defaults, population="vpop")
    varied = [v.parameter for v in SPEC.variability]
    out, _ = simulate_chunk(arm, patients, varied, SPEC)
    return arm, patients, varied, out[out.status == "ok"]


def test_trial_rows_count_each_patients_lesions(nivolumab_lesions):
    arm, patients, varied, ok = nivolumab_lesions
    assert len(ok) == len(patients)
    assert ok.lesions.between(1, 5).all()
    assert (ok.lesions_shrinking + ok.lesions_growing <= ok.lesions).all()
    # spreads of 0 on the same model give the one-lesion (lumped) responses exactly
    few = patients.iloc[:25]
    lumped, _ = simulate_chunk(arm, few, varied, _spec(None))
    flat, _ = simulate_chunk(arm, few, varied, _spec(NONE))
    for col in ("bor", "pfs_days"):
        assert list(flat[col]) == list(lumped[col])
    assert flat.best_change_pct.to_numpy() == pytest.approx(lumped.best_change_pct, abs=1e-6)


def test_most_late_progressions_keep_a_regressing_lesion(nivolumab_lesions):
    """Prediction (no parameter fitted to it): among patients progressing after the first
    scan, 74-84% kept >= 1 lesion in sustained regression (Topp 2021, KEYNOTE-001/059)."""
    *_, ok = nivolumab_lesions
    late = ok[ok.progressed & (ok.bor != "PD")]
    share = float(np.mean(late.lesions_shrinking > 0))
    assert 0.74 <= share <= 0.84, share


@pytest.mark.xfail(
    strict=True,
    reason="Topp 2021: 17-32% of patients progressing at the first scan had >= 1 shrinking "
    "lesion; the model's primary progressors meet almost no T-cell killing (the lumped "
    "tumour's killing integral is small), so no lesion factor within the assumed spread "
    "(sd 0.3; 2% even at 0.7) makes one shrink: measured 1%",
)
def test_some_early_progressions_have_a_shrinking_lesion(nivolumab_lesions):
    *_, ok = nivolumab_lesions
    early = ok[ok.progressed & (ok.bor == "PD")]
    assert float(np.mean(early.lesions_shrinking > 0)) >= 0.17
