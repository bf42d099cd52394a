"""The Kirschner & Panetta 1998 classic, rebuilt in il2sim, against its BioModels file."""

from pathlib import Path

import numpy as np
import pytest

from il2sim.model import check_sbml, kirschner_panetta_1998, to_sbml
from il2sim.simulate import Simulator, dose_sbml

FILE = Path(__file__).parent / "data" / "sbml" / "BIOMD0000000732__kirschner1998.xml"
T_DAYS = np.linspace(0, 1000, 2001)


def test_rebuild_passes_libsbml_unit_checks():
    assert check_sbml(to_sbml(kirschner_panetta_1998())) == []


def test_file_form_matches_biomodels_trajectory():
    """Same equations (p1 E IL/g1), same parameters and start (E=0, T=1, IL=0): 1000 days."""
    ours = Simulator(kirschner_panetta_1998(paper_form=False)).run(T_DAYS, ["E", "T", "IL"])
    theirs = Simulator(FILE).run(T_DAYS, ["Immune_cells", "Tumor", "IL2"])
    scale = np.abs(theirs.values).max(axis=0)
    assert np.max(np.abs(ours.values - theirs.values) / scale) < 1e-5
    assert theirs.values[:, 1].max() > 1e5  # the tumour grows and oscillates, not a trivial run


def test_paper_form_differs_when_il2_is_high():
    """With IL-2 therapy (s2) pushing IL near g1, (g1 + IL) saturates proliferation."""
    t = np.linspace(0, 200, 401)
    paper = Simulator(kirschner_panetta_1998(s2=5e8)).run(t, ["E"]).values[:, 0]
    file_form = Simulator(kirschner_panetta_1998(paper_form=False, s2=5e8)).run(t, ["E"]).values
    assert file_form[-1, 0] > 2 * paper[-1]


def test_il2sim_regimen_on_the_biomodels_file():
    """Continuous IL-2 into the file's IL2 species: plateau at rate / mu3 (mu3 = 10 /day)."""
    text = dose_sbml(
        FILE, "IL2", "1e7 nmol/day continuous for 20 days", horizon_h=24 * 100, time_unit_h=24
    )
    il2 = Simulator(text).run(np.linspace(0, 30, 301), ["IL2"]).values[:, 0]
    assert il2[150] == pytest.approx(1e6, rel=1e-3)
    assert il2[-1] < 1e4  # washed out after the infusion stops (day 20)


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match=r"unknown Kirschner-Panetta parameter\(s\) \['g4'\]"):
        kirschner_panetta_1998(g4=1.0)


def test_steady_state_is_where_the_trajectory_settles():
    """c = 0.035: the tumour-immune system spirals into a coexistence state."""
    sim = Simulator(kirschner_panetta_1998())
    ss = sim.steady_state(["E", "T", "IL"], initial={"E": 2e4, "T": 3e4, "IL": 1e4})
    late = sim.run(np.linspace(0, 20000, 401), ["E", "T"]).values[-1]
    assert ss["T"] == pytest.approx(late[1], rel=0.05)
    assert ss["E"] == pytest.approx(late[0], rel=0.05)
