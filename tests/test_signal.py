"""What the receptor layer must reproduce (issue: 'Foundation and the receptor layer')."""

import numpy as np
import pandas as pd
import pytest

from il2sim.binding import dose_response, potency, selectivity

CELLS = ["treg", "cd8", "cd8_naive", "nk", "cd8_terminal_exhausted"]


@pytest.fixture(scope="module")
def ec50() -> pd.DataFrame:
    drugs = [
        "aldesleukin", "il2v", "nemvaleukin", "il2_s4b6_complex", "il2_jes61_complex",
        "pd1_il2v", "fc_wt_nterm_mono", "fc_wt_nterm_biv", "fc_r38q_nterm_mono",
        "fc_r38q_nterm_biv", "fc_h16n_nterm_mono", "fc_h16n_nterm_biv", "super2", "n88d_fc",
    ]  # fmt: skip
    return potency(drugs, CELLS).pivot(index="drug", columns="cell", values="ec50_nM")


def test_wild_type_il2_treg_ec50_at_least_tenfold_below_cd8_and_nk(ec50: pd.DataFrame) -> None:
    wt = ec50.loc["aldesleukin"]
    assert wt["cd8"] / wt["treg"] >= 10
    assert wt["nk"] / wt["treg"] >= 10


@pytest.mark.xfail(
    reason="the data (Meyer-lab PBMC, 0.5-1 h) give Treg EC50 34x below NK (45 pM vs 1.5 nM); the "
    "calibrated model gives 13x: NK's IL-2Rbeta count (8774) lets NK bind IL-2 more readily "
    "than the fit to all drugs allows. 'About two orders' is not reached on NK.",
    strict=True,
)
def test_wild_type_il2_treg_ec50_about_two_orders_below_nk(ec50: pd.DataFrame) -> None:
    wt = ec50.loc["aldesleukin"]
    assert wt["nk"] / wt["treg"] >= 30


def test_high_and_intermediate_affinity_receptors_emerge() -> None:
    # Published: high-affinity IL-2R Kd ~10 pM, intermediate (beta/gamma-c) ~1 nM
    # (Peterson LB et al. 2018 Nat Med introduction). Apparent Kd = dose giving half-maximal
    # IL-2Rbeta/gamma-c engagement; tolerance 3-fold.
    doses = np.logspace(-6, 2, 801)
    tab = dose_response(["aldesleukin"], ["treg", "nk"], doses)
    kd = {}
    for cell, sub in tab.groupby("cell"):
        a = sub.active_complexes_per_cell.to_numpy()
        kd[cell] = np.interp(a.max() / 2, a, doses)
    assert 10e-3 / 3 <= kd["treg"] <= 10e-3 * 3
    assert 1.0 / 3 <= kd["nk"] <= 1.0 * 3


def test_no_alpha_il2v_loses_the_treg_advantage(ec50: pd.DataFrame) -> None:
    assert ec50.loc["il2v", "treg"] >= 10 * ec50.loc["aldesleukin", "treg"]
    for cell in ("nk", "cd8"):
        ratio = ec50.loc["il2v", cell] / ec50.loc["aldesleukin", cell]
        assert 1 / 3 <= ratio <= 3


@pytest.mark.parametrize("mutein", ["fc_wt_nterm", "fc_r38q_nterm", "fc_h16n_nterm"])
def test_bivalent_fc_more_treg_selective_than_monovalent(ec50: pd.DataFrame, mutein: str) -> None:
    def sel(name: str) -> float:
        return min(ec50.loc[name, "nk"], ec50.loc[name, "cd8"]) / ec50.loc[name, "treg"]

    assert sel(f"{mutein}_biv") > sel(f"{mutein}_mono")


def test_pd1_il2v_potent_on_pd1_high_cells_only(ec50: pd.DataFrame) -> None:
    assert (
        ec50.loc["il2v", "cd8_terminal_exhausted"]
        >= 10 * ec50.loc["pd1_il2v", "cd8_terminal_exhausted"]
    )
    ratio_pd1_negative = ec50.loc["il2v", "cd8_naive"] / ec50.loc["pd1_il2v", "cd8_naive"]
    assert 1 / 2 <= ratio_pd1_negative <= 2


@pytest.mark.parametrize("drug", ["nemvaleukin", "il2_s4b6_complex", "il2v"])
def test_alpha_blocked_drugs_spare_tregs(ec50: pd.DataFrame, drug: str) -> None:
    assert ec50.loc[drug, "treg"] >= 10 * ec50.loc["aldesleukin", "treg"]
    assert ec50.loc[drug, "treg"] >= ec50.loc[drug, "nk"]  # no longer Treg-preferring


def test_jes61_complex_favours_tregs(ec50: pd.DataFrame) -> None:
    for cell in ("nk", "cd8"):
        assert ec50.loc["il2_jes61_complex", cell] > 3 * ec50.loc["il2_jes61_complex", "treg"]


def test_super2_needs_no_cd25(ec50: pd.DataFrame) -> None:
    # Levin 2012: super-2 signals potently on CD25-low cells.
    assert ec50.loc["super2", "nk"] < ec50.loc["aldesleukin", "nk"] / 10
    assert ec50.loc["super2", "cd8"] < ec50.loc["aldesleukin", "cd8"] / 10


def test_n88d_is_treg_selective(ec50: pd.DataFrame) -> None:
    assert ec50.loc["n88d_fc", "nk"] / ec50.loc["n88d_fc", "treg"] > 20


def test_selectivity_function_matches_table(ec50: pd.DataFrame) -> None:
    s = selectivity("aldesleukin", "treg", "nk")
    assert s == pytest.approx(
        ec50.loc["aldesleukin", "nk"] / ec50.loc["aldesleukin", "treg"], rel=1e-9
    )


def test_pd1_blockade_raises_il2_sensitivity_of_stem_like_cells() -> None:
    before = potency(["aldesleukin"], ["cd8_stem_like"]).ec50_nM.iloc[0]
    after = potency(["aldesleukin"], ["cd8_stem_like"], pd1_blockade=True).ec50_nM.iloc[0]
    assert after < before


def test_pd1_blockade_holds_pd1_away_from_a_pd1_targeted_drug() -> None:
    """Under a blocking anti-PD-1 antibody (> 70% of PD-1 occupied, Brahmer 2010 J Clin Oncol
    28:3167) PD1-IL2v finds less PD-1: its EC50 on PD-1+ effector-like CD8 rises (~4x), yet it
    stays far more potent there than untargeted IL2v, whose EC50 PD-1 occupancy cannot move."""

    def ec50(drug: str, blockade: bool) -> float:
        tab = potency([drug], ["cd8_effector_like"], pd1_blockade=blockade)
        return float(tab.ec50_nM.iloc[0])

    assert ec50("pd1_il2v", True) > 3 * ec50("pd1_il2v", False)
    assert ec50("pd1_il2v", True) < ec50("il2v", True) / 50
    assert ec50("il2v", True) == pytest.approx(ec50("il2v", False), rel=1e-9)
