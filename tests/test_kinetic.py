"""Kinetic binding model: exact long-time limit, conservation, and the published Fallon 2000
IL-2 trafficking model reproduced from its BioModels SBML file."""

from pathlib import Path

import libsbml
import numpy as np
import pytest
import roadrunner

from il2sim.binding import BindingDesign, Trafficking, dose_response, simulate_kinetics
from il2sim.catalog import signaling_params

FALLON = Path(__file__).parent / "data" / "sbml" / "BIOMD0000000665__fallon2000.xml"


@pytest.mark.parametrize(
    ("drug", "cell", "conc_nM"),
    [
        ("aldesleukin", "treg", 0.01),
        ("fc_wt_nterm_biv", "treg", 0.05),
        ("pd1_il2v", "cd8_terminal_exhausted", 0.001),
        ("il2_s4b6_complex", "nk", 1.0),
        ("l19_il2", "treg", 0.01),
    ],
)
def test_long_time_limit_equals_equilibrium(drug: str, cell: str, conc_nM: float) -> None:
    res = simulate_kinetics(drug, cell, conc_nM, [0.0, 1e3, 1e4])
    eq = dose_response([drug], [cell], [conc_nM])
    assert res.active_complexes()[-1] == pytest.approx(
        eq.active_complexes_per_cell.iloc[0], rel=1e-6
    )


def test_receptors_conserved_without_trafficking() -> None:
    res = simulate_kinetics("fc_wt_nterm_biv", "treg", 0.1, np.linspace(0, 120, 13))
    # IL-2Ralpha: free + every bond to it, summed over configurations, is constant.
    bonds = np.zeros(len(res.species))
    for i, name in enumerate(res.species):
        if name == "R_IL2RA":
            bonds[i] = 1
        elif name.startswith("C["):
            for part in name[2:-1].split(","):
                n = int(part.split("x")[0])
                bonds[i] += n * part.count("IL2RA")
    total = res.y @ bonds
    assert np.allclose(total, total[0], rtol=1e-8)


def _fallon_without_proliferation(fix_endosomal_kon: bool = True) -> roadrunner.RoadRunner:
    """The BioModels file with its cell-proliferation rate rule removed (cell density fixed),
    since il2sim's single-cell model holds the cell density constant.

    The file's reaction for endosomal free ligand (IL_2_binding_dissociating) uses the surface
    association constant ``kf`` where the matching receptor reaction uses the endosomal ``kfe``,
    so ligand is not conserved between them; ``fix_endosomal_kon`` uses ``kfe`` in both."""
    doc = libsbml.readSBMLFromFile(str(FALLON))
    model = doc.getModel()
    model.removeRuleByVariable("Y_0")
    model.getSpecies("Y_0").setBoundaryCondition(True)
    if fix_endosomal_kon:
        model.getReaction("IL_2_binding_dissociating").getKineticLaw().getMath().renameSIdRefs(
            "kf", "kfe"
        )
    return roadrunner.RoadRunner(libsbml.writeSBMLToString(doc))


@pytest.mark.xfail(
    reason="BIOMD0000000665 as distributed uses kf (surface) for endosomal ligand consumption but "
    "kfe for the receptor side of the same binding step, so it does not conserve ligand; il2sim "
    "conserves mass and matches the file only once that step uses kfe on both sides",
    strict=True,
)
def test_reproduces_fallon2000_file_as_distributed() -> None:
    _compare_with_fallon(_fallon_without_proliferation(fix_endosomal_kon=False))


def test_reproduces_fallon2000_trafficking_model() -> None:
    _compare_with_fallon(_fallon_without_proliferation())


def _compare_with_fallon(rr: roadrunner.RoadRunner) -> None:
    rr.integrator.relative_tolerance = 1e-10
    rr.integrator.absolute_tolerance = 1e-12
    t = np.linspace(0, 600, 61)
    ref = rr.simulate(0, 600, len(t))
    kr = rr["kr"]  # 1/min
    kd_pM = 11.1  # kf = kr / 11.1 (IL2 == 1 branch of the model's assignment rule)
    design = BindingDesign("fallon_il2", valency=1, kd_il2rbg_nM=kd_pM / 1000)
    traf = Trafficking.fallon2000()
    traf = Trafficking(
        **{**traf.__dict__, "synthesis_per_min": {"IL2RBG": rr["Vs"]}},
    )
    res = simulate_kinetics(
        design,
        {"IL2RBG": 1500.0},
        conc_nM=10e-3,
        t_min=t,
        trafficking=traf,
        cells_per_L=rr["Y_0"],
        constant_ligand=False,
        kon_per_nM_min=kr / kd_pM * 1000,
        initial={
            "R_IL2RBG": 1500.0,
            "C[1x0(IL2RBG)]": 1.0,
            "Re_IL2RBG": 300.0,
            "Ce[1x0(IL2RBG)]": 1.0,
            "Li_nM": 0.01e-3,
            "L_degraded": 1.0,
        },
        params=signaling_params(),
    )
    pairs = {
        "R_IL2RBG": "[Rs_0]",
        "C[1x0(IL2RBG)]": "[Cs_0]",
        "Re_IL2RBG": "[Ri_0]",
        "Ce[1x0(IL2RBG)]": "[Ci_0]",
        "L_degraded": "[Ld_0]",
    }
    for ours, theirs in pairs.items():
        np.testing.assert_allclose(res[ours], ref[theirs], rtol=1e-4, atol=1e-6, err_msg=ours)
    np.testing.assert_allclose(res["L_nM"] * 1000, ref["[L_0]"], rtol=1e-4)  # pM in the file
    np.testing.assert_allclose(res["Li_nM"] * 1000, ref["[Li_0]"], rtol=1e-4, atol=1e-6)


def test_bad_times_are_refused() -> None:
    with pytest.raises(ValueError, match="t_min must be an increasing list"):
        simulate_kinetics("aldesleukin", "treg", 1.0, [5.0, 1.0])


#: One dose grid for both models: an EC50 is half of the largest response on its grid, so
#: comparing EC50s from grids of different extent compares different half-maxima.
GRID_nM = np.logspace(-4, 2, 13)


@pytest.mark.slow
@pytest.mark.parametrize("drug", ["aldesleukin", "fc_h16n_nterm_mono"])
@pytest.mark.parametrize("cell", ["treg", "nk"])
def test_unfinished_binding_makes_a_drug_look_weaker_not_stronger(drug: str, cell: str) -> None:
    """30 min after adding a drug, binding alone (no trafficking) has not finished: pSTAT5 is
    at most its equilibrium value at every dose and the EC50 at least the equilibrium EC50
    (wild type and the weak IL-2Rbeta/gamma-c binder H16N). With Fallon 2000 trafficking the
    EC50 may fall below it, but only as the mechanism says: internalisation lowers the
    maximum (down-regulation), so the half-maximum moves left while surface signalling stays
    at or below equilibrium at every dose."""
    from il2sim.binding import ec50_emax

    eq = dose_response([drug], [cell], GRID_nM).pstat5.to_numpy()
    ec_eq, emax_eq = ec50_emax(GRID_nM, eq)

    def at_30_min(traf: Trafficking, endosomal: bool = True) -> np.ndarray:
        return np.array(
            [
                simulate_kinetics(drug, cell, c, [0.0, 30.0], trafficking=traf).pstat5(endosomal)[
                    -1
                ]
                for c in GRID_nM
            ]
        )

    binding = at_30_min(Trafficking.none())
    assert np.all(binding <= eq * (1 + 1e-6) + 1e-12)
    assert ec50_emax(GRID_nM, binding)[0] >= ec_eq * (1 - 1e-3)
    surface = at_30_min(Trafficking.fallon2000(), endosomal=False)
    assert np.all(surface <= eq * (1 + 1e-6) + 1e-12)
    ec_tr, emax_tr = ec50_emax(GRID_nM, at_30_min(Trafficking.fallon2000()))
    if ec_tr < ec_eq:
        assert emax_tr < emax_eq
