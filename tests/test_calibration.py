"""Calibration on the Meyer-lab pSTAT5 data is reproducible, fits, and predicts."""

import numpy as np
import pandas as pd
import pytest

from il2sim.binding import calibrate, load_pstat5_data, prediction_r2
from il2sim.catalog import signaling_params


@pytest.fixture(scope="module")
def fit():
    return calibrate()


def test_data_shipped_and_mapped_to_catalog() -> None:
    data = load_pstat5_data()
    assert len(data) == 2640 + 768
    assert set(data.cell) == {"treg", "cd4_helper", "cd8", "nk"}


def test_stored_parameters_are_what_the_command_fits(fit) -> None:
    p = signaling_params()
    assert np.log10(fit.kx_nM_per_receptor) == pytest.approx(
        np.log10(p.kx_nM_per_receptor.value), abs=0.05
    )
    assert np.log10(fit.cooperativity) == pytest.approx(np.log10(p.cooperativity.value), abs=0.05)
    assert np.log10(fit.k_half_complexes) == pytest.approx(
        np.log10(p.k_half_complexes.value), abs=0.05
    )
    assert p.fit is not None and p.fit.r2_overall == pytest.approx(fit.r2_overall, abs=1e-3)


def test_fit_quality(fit) -> None:
    assert fit.r2_overall >= 0.75
    for cell, by_time in fit.r2_by_cell_time.items():
        for t in ("0.5h", "1h"):
            assert by_time[t] >= 0.7, (cell, t)


def test_predicts_a_drug_from_its_affinities_alone() -> None:
    # R38Q/H16N bivalent left out of the fit; its curves predicted from Kd values.
    result = calibrate(exclude_drugs=["fc_r38q_h16n_biv"])
    assert prediction_r2(result, "fc_r38q_h16n_biv") >= 0.6


@pytest.mark.xfail(
    reason="H16N monovalent (IL2RBGKD 22 nM) is the one ligand the model fits poorly (R2 < 0.2): "
    "the data show a Treg response the weakened beta/gamma-c binding does not allow in the model",
    strict=True,
)
def test_h16n_monovalent_fit(fit) -> None:
    assert prediction_r2(fit, "fc_h16n_nterm_mono") >= 0.5


def test_measured_ec50_recovers_a_hill_curve_and_refuses_what_it_cannot_see() -> None:
    from il2sim.binding import measured_ec50

    doses = np.repeat(84.0 / 3.0 ** np.arange(12)[::-1], 3)
    rng = np.random.default_rng(1)
    hill = 0.9 / (1 + (0.5 / doses) ** 1.2)
    noisy = hill + rng.normal(0, 0.02, doses.size)
    assert np.log10(measured_ec50(doses, noisy)) == pytest.approx(np.log10(0.5), abs=0.05)
    assert np.isnan(measured_ec50(doses, rng.normal(0.05, 0.02, doses.size)))  # no rise
    rising = 0.9 / (1 + (500.0 / doses) ** 1.0)  # half-maximum beyond the highest dose
    assert np.isnan(measured_ec50(doses, rising))


@pytest.fixture(scope="module")
def cross_validation():
    from il2sim.binding import cross_validate

    return cross_validate()


@pytest.mark.slow
def test_leave_one_ligand_out_predicts_ec50s_within_a_log(cross_validation) -> None:
    """Every ligand held out in turn and predicted from its Kd values alone: measured 0.81
    log10 RMSE over 90 identified curves (README); a bound that fails if the receptor layer
    predicts worse. IL-15 and the bivalent R38Q fusion are predicted within 0.5 log."""
    cv = cross_validation
    assert set(cv.table.drug) == set(load_pstat5_data().drug)
    assert len(cv.scored) >= 80 and cv.rmse <= 0.9
    per = cv.by_drug().set_index("drug").rmse_log10
    assert per["il15"] <= 0.5 and per["fc_r38q_nterm_biv"] <= 0.5


def test_floor_and_order_inversions_of_measured_ec50s() -> None:
    """The time-invariant floor is the spread of a ligand's log10 EC50s around their mean per
    cell type; an inversion is a ligand weaker in both Kds measured more potent."""
    from il2sim.binding import BindingDesign, CrossValidation

    rows = [  # drug, cell, time, measured, predicted
        ("weak", "nk", 1.0, 1.0, 5.0),
        ("weak", "nk", 4.0, 100.0, 5.0),
        ("weak", "treg", 1.0, 0.1, 0.2),
        ("strong", "nk", 1.0, 10.0, 1.0),
        ("strong", "nk", 4.0, 10.0, 1.0),
        ("strong", "treg", 1.0, 0.01, 0.02),
    ]
    table = pd.DataFrame(
        rows, columns=["drug", "cell", "time_h", "ec50_measured_nM", "ec50_predicted_nM"]
    )
    table["log10_error"] = np.log10(table.ec50_predicted_nM / table.ec50_measured_nM)
    designs = (
        BindingDesign("weak", 1, kd_il2ra_nM=1.0, kd_il2rbg_nM=100.0),
        BindingDesign("strong", 1, kd_il2ra_nM=0.1, kd_il2rbg_nM=10.0),
    )
    cv = CrossValidation(table, designs)
    floor = cv.by_drug().set_index("drug").floor_log10
    assert floor["weak"] == pytest.approx(np.sqrt(2.0 / 3.0))  # +-1 log on NK, 0 on Treg
    assert floor["strong"] == 0.0
    assert cv.rmse_floor == pytest.approx(np.sqrt(2.0 / 6.0))
    inv = cv.order_inversions()
    assert inv[["weaker", "stronger", "cell", "time_h"]].values.tolist() == [
        ["weak", "strong", "nk", 1.0]
    ]
    assert inv.log10_ratio.iloc[0] == pytest.approx(-1.0)


@pytest.mark.slow
def test_h16n_measured_ec50s_limit_any_equilibrium_model(cross_validation) -> None:
    """Why H16N is the outlier (docs/science/receptors.md): its own EC50s move with time
    more than one time-invariant prediction can follow (floor 0.67 log10 for the monovalent
    fusion, 0.36 over all curves), and it was measured more potent than the WT fusion though
    weaker in both Kds, on CD8 and NK cells at 1 h among others."""
    floor = cross_validation.by_drug().set_index("drug").floor_log10
    assert floor["fc_h16n_nterm_mono"] >= 0.6
    assert cross_validation.rmse_floor <= 0.45
    inv = cross_validation.order_inversions()
    h16n = inv[(inv.weaker == "fc_h16n_nterm_mono") & (inv.stronger == "fc_wt_nterm_mono")]
    assert {"cd8", "nk", "cd4_helper"} <= set(h16n.cell)


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue goal: RMSE <= 0.5 log10 over held-out ligands, weak IL-2Rbeta/gamma-c "
    "binders no worse than the others. Measured 0.81; H16N (IL-2Rbeta/gamma-c Kd 168 nM) "
    "1.2 (monovalent) and 1.7 (bivalent), predicted ~100-fold too weak on CD4 helpers; "
    "monovalent R38Q 100-fold too potent on Tregs. No variant (transduction Hill, per-cell "
    "cooperativity, receptor counts or their spread, a CD25-high helper subset, pSTAT5 "
    "accumulating with time, a transduction threshold per time point, or these together; "
    "scripts/crossval_variants.py) goes below 0.72; R38Q mono needs a CD25 Kd "
    "of 39 nM, not the table's 0.71; H16N misses by 1.1-1.4 even with its own best Kds: the "
    "best time-invariant prediction of its own EC50s leaves 0.67 (0.36 over all curves) and "
    "four of its curves are more potent than the WT fusion's though weaker in both Kds",
)
def test_leave_one_ligand_out_meets_the_half_log_goal(cross_validation) -> None:
    per = cross_validation.by_drug().set_index("drug").rmse_log10
    assert cross_validation.rmse <= 0.5
    assert (
        per[["fc_h16n_nterm_mono", "fc_h16n_nterm_biv"]].max()
        <= per.drop(["fc_h16n_nterm_mono", "fc_h16n_nterm_biv"]).max()
    )


@pytest.mark.slow
def test_posterior_intervals_cover_known_parameters_on_synthetic_data() -> None:
    """Data simulated from known constants (the real design of three ligands at 0.5 and 1 h,
    Gaussian noise sd 0.03, every scale 1), sampled with the untempered likelihood: the 95%
    intervals of the three log10 constants cover the truth in at least 15 of 18 (6 data
    sets; a calibrated sampler misses that often with probability ~1%)."""
    from il2sim.binding import sample_posterior, synthetic_pstat5

    data = load_pstat5_data()
    design = data[
        data.drug.isin(["aldesleukin", "fc_wt_nterm_biv", "fc_h16n_nterm_mono"])
        & data.time_h.isin([0.5, 1.0])
    ]
    truth = np.array([-1.0, 3.0, 3.5])
    covered = 0
    for rep in range(6):
        syn = synthetic_pstat5(truth, 0.03, design, seed=rep)
        post = sample_posterior(
            syn, n_walkers=8, n_steps=300, burn=100, thin=2, tempering=1.0, start=truth, seed=rep
        )
        iv = post.interval()
        covered += int(((iv[:, 0] <= truth) & (truth <= iv[:, 1])).sum())
        assert np.all(iv[:, 1] - iv[:, 0] < 2.0)  # informative, not the prior's 4-8 decades
    assert covered >= 15


def test_shipped_posterior_brackets_the_stored_fit() -> None:
    """The catalog's posterior draws (`il2sim calibrate --sample`) hold the fitted constants
    inside their 95% intervals (kx at its lower bound: the data do not identify it)."""
    from il2sim.binding import load_posterior

    post = load_posterior()
    assert len(post.samples) >= 1000 and 0.2 < post.acceptance < 0.8
    p = signaling_params()
    fitted = np.log10([p.kx_nM_per_receptor.value, p.cooperativity.value, p.k_half_complexes.value])
    iv = post.interval()
    assert np.all((iv[:, 0] - 0.05 <= fitted) & (fitted <= iv[:, 1] + 0.05))
