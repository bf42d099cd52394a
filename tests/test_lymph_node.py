"""Priming in the tumour-draining lymph node and trafficking to the tumour (motif
``lymph_node_priming``): its steady start, where anti-CTLA-4 and IL-2 act, and where it is
not built."""

import numpy as np
import pytest

from il2sim import catalog
from il2sim.model import build_arm_model
from il2sim.simulate import Simulator

#: Whole-body simulations: part of `make test`, not of the `make test-fast` loop.
pytestmark = pytest.mark.slow

Q, STEM = "tdln_primed_tumour", "N_cd8_stem_like_tumour"
IPI = [{"antibody": "ipilimumab", "regimen": "3 mg/kg q3w over 90 min"}]


def _arm_network(**arm):
    setting = catalog.Setting(
        name="t", body="human_adult", disease="tumour", arms=[catalog.Arm(name="a", **arm)]
    )
    model, _ = build_arm_model(setting, setting.arms[0], duration_days=14, run_in_days=0)
    return model.network


def _run(net, days: float = 14.0):
    sim = Simulator(net, rtol=1e-8, atol=1e-10)
    return sim.run(
        np.linspace(0.0, 24.0 * days, int(4 * days) + 1), [Q, STEM, "tdln_inflow_tumour"]
    )


def test_untreated_node_starts_at_its_steady_state():
    """Without treatment the node's primed pool starts where priming, egress and the effector
    return balance (its initial assignment): its rate is zero at time 0, so over the first two
    hours it moves by < 0.1% (the tumour's cells around it are not at rest yet), and its egress
    is what the formula says."""
    net = _arm_network()
    p = {k: v.value for k, v in net.parameters.items()}
    ag0 = p["N0_tumour_cell_tumour"] / (
        p["N0_tumour_cell_tumour"] + p["im_tumour_antigen_half_saturation_cells"]
    )
    expected = (
        p["im_tdln_priming_per_day"] * ag0 * p["N0_cd8_stem_like_tumour"]
        + p["im_tumour_effector_exit_per_day"] * p["N0_cd8_effector_like_tumour"]
    ) / p["im_tdln_egress_per_day"]
    traj = _run(net, days=1.0)
    assert traj[Q][0] == pytest.approx(expected, rel=1e-9)
    early = Simulator(net, rtol=1e-10, atol=1e-10).run([0.0, 2.0], [Q])[Q]
    assert abs(early[-1] / early[0] - 1.0) < 1e-3
    assert traj["tdln_inflow_tumour"][0] == pytest.approx(
        p["im_tdln_egress_per_day"] * expected, rel=1e-9
    )


def test_anti_ctla4_primes_in_the_node_before_the_tumour_sees_it():
    """Anti-CTLA-4 acts in lymphoid organs: the node's primed pool rises first and the
    tumour's stem-like pool follows through trafficking (it has not moved after 6 hours,
    while the node's pool has)."""
    untreated, ipi = _run(_arm_network()), _run(_arm_network(antibodies=IPI))
    node = ipi[Q] / untreated[Q]
    stem = ipi[STEM] / untreated[STEM]
    assert node[-1] > 1.5  # day 14
    assert stem[-1] > 1.05
    assert node[1] - 1.0 > 10.0 * abs(stem[1] - 1.0)  # 6 h: the node moved, the tumour not yet


def test_systemic_il2_expands_the_node_within_the_stem_like_law():
    """High-dose aldesleukin reaches lymphoid organs: the node's pool divides on it and sends
    more cells into the tumour (model: 1.20x at day 5). The node's cells are stem-like, so
    IL-2Rbeta/gamma-c signal alone gives them 1/(1 + cis_il2_gain) of full division: without
    that requirement (gain 0) the same dose expands them far more."""
    untreated = _run(_arm_network())
    hd_net = _arm_network(drug="aldesleukin", regimen="600,000 IU/kg q8h x 14 doses over 15 min")
    hd = _run(hd_net)
    day5 = 20
    assert hd[Q][day5] / untreated[Q][day5] > 1.1
    assert hd["tdln_inflow_tumour"][day5] > 1.1 * untreated["tdln_inflow_tumour"][day5]
    sim = Simulator(hd_net, rtol=1e-8, atol=1e-10)
    free = sim.run(np.linspace(0.0, 24.0 * 5, 21), [Q], {"im_cis_il2_gain": 0.0})[Q]
    assert free[-1] / untreated[Q][day5] > 2.0 * (hd[Q][day5] / untreated[Q][day5] - 1.0) + 1.0


def test_a_lymphoid_disease_site_primes_in_place():
    """The mouse's chronic infection sits in the spleen, itself a lymphoid organ: no node state
    is built, and a vaccine primes the site's stem-like cells directly."""
    sc = catalog.get_therapy_scenario("default")
    setting = next(s for s in sc.settings if s.name == "chronic_infection_mouse")
    arm = next(a for a in setting.arms if a.vaccine_days)
    model, _ = build_arm_model(setting, arm, duration_days=28, run_in_days=60)
    net = model.network
    assert not [s for s in net.species if s.startswith("tdln_")]
    stem = next(v for k, v in net.rate_rules.items() if k.startswith("N_mouse_cd8_stem_like"))
    assert "vaccine_on" in stem
