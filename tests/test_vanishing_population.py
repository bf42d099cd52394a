"""A population that dies out takes its receptors with it (``receptors_vanish_with_cells``):
below one cell its free receptors and complexes are exactly zero and stay so while drug is
present; back above two cells it starts with its resting free receptors."""

import numpy as np
import pytest

from il2sim.model._body import build_body_model, receptors_vanish_with_cells
from il2sim.simulate import Simulator

POP = "cd8_terminal_exhausted_tumour"
N = f"N_{POP}"


def _model(n0: float, rate_per_h: float):
    """PD1-IL2v weekly (first dose at 0 h) and one PD-1+ population whose count starts at
    ``n0`` cells and changes exponentially at ``rate_per_h``."""
    model = build_body_model("pd1_il2v", "13 mg q1w", horizon_h=24.0 * 7)
    net = model.network
    net.promote_to_species(N, "tumour", "terminally exhausted CD8 T cells")
    net.species[N].initial = n0
    net.parameter("k_test", rate_per_h, "per_h", "net growth of the test population", "test")
    net.rate_rule(N, f"k_test * {N}")
    receptors_vanish_with_cells(model, POP, N)
    receptors, complexes = model.bound_states[POP]
    return net, [*receptors.values(), *complexes], receptors


def test_a_population_dying_out_keeps_no_receptors():
    """10 cells dying at 0.05/h fall below one cell at 46.05 h (ln 10 / 0.05): before, its
    PD-1 and complexes are there; from then on every one of its binding states is exactly 0
    over the rest of the week, with drug still in the tumour, and its PD-1 occupancy reads 0
    (not 0/0)."""
    net, states, receptors = _model(10.0, -0.05)
    sim = Simulator(net, rtol=1e-8, atol=1e-14)
    t = np.array([0.0, 12.0, 45.0, 47.0, 80.0, 120.0, 168.0])
    occupancy = f"occupancy_PD1_{POP}"
    traj = sim.run(t, [N, "L_pd1_il2v_tumour", occupancy, *states])
    assert traj[receptors["PD1"]][1] > 0.0 and traj[occupancy][1] > 0.5
    assert traj[N][2] > 1.0 > traj[N][3]
    gone = np.array([traj[s][3:] for s in states])
    assert np.all(gone == 0.0)
    assert np.all(traj[occupancy][3:] == 0.0)
    assert np.all(traj["L_pd1_il2v_tumour"][3:] > 0.0)  # the drug is there to bind


def test_a_population_coming_back_starts_with_resting_receptors():
    """0.2 cells (none at the start: receptors zero) growing at 0.05/h pass two cells at
    46.05 h (ln 10 / 0.05): before, nothing is bound; a minute after, its PD-1 (free and
    bound) is the resting count of the cells it has; later the drug binds and internalises it."""
    net, states, receptors = _model(0.2, 0.05)
    sim = Simulator(net, rtol=1e-8, atol=1e-14)
    t = np.array([0.0, 10.0, 45.9, 46.07, 60.0])
    traj = sim.run(t, [N, *states])
    assert np.all(np.array([traj[s][:3] for s in states]) == 0.0)
    r0 = net.parameters[f"R0_PD1_{POP}"].value
    items_per_nmol = net.parameters["items_per_nmol"].value
    resting = r0 * traj[N][3] / items_per_nmol
    # PD-1 free and in complexes (a complex's name lists the PD-1 arms it holds: PD11, PD12)
    named = {s: net.species[s].name for s in states if s.startswith("C_")}
    arms = {s: name.split(":")[-1].count("PD1") for s, name in named.items()}
    total = sum(k * traj[s][3] for s, k in arms.items() if k) + traj[receptors["PD1"]][3]
    assert traj[N][2] < 2.0 < traj[N][3]
    assert total == pytest.approx(resting, rel=0.02)
    assert traj[receptors["PD1"]][4] > 0.0
