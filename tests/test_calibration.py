"""Calibration on the Meyer-lab pSTAT5 data is reproducible, fits, and predicts."""

import numpy as np
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
