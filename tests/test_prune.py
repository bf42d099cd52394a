"""Pruning a network for the outputs a run reads: exact for what is kept, smaller to solve."""

import numpy as np
import pytest

from il2sim import catalog
from il2sim.model import build_arm_model, check_sbml, prune, to_sbml
from il2sim.simulate import Simulator

SPEC = catalog.get_cohort("melanoma")


@pytest.fixture(scope="module")
def arm_model():
    arm = SPEC.arm("nivolumab")
    setting = catalog.Setting(name=SPEC.name, body=SPEC.body, disease=SPEC.disease, arms=[arm])
    return build_arm_model(setting, arm, duration_days=28, run_in_days=SPEC.run_in_days)


@pytest.mark.slow
def test_pruned_model_keeps_its_outputs_exactly_with_fewer_states(arm_model):
    model, im = arm_model
    net = model.network
    keep = [im.burden, "vascular_leak_index"]
    small = prune(net, keep)
    assert check_sbml(to_sbml(small)) == []
    assert not [s for s in small.species if s.startswith(("internalised_", "eliminated_"))]
    assert "vascular_leak_index" in small.rules
    assert "occupancy_PD1_cd8_effector_like_tumour" in small.rules  # read by the PD-1 brake
    assert "Acis_treg_central" in net.rules and "Acis_treg_central" not in small.rules
    assert len(small.species) <= len(net.species) - 20
    assert len(small.rules) <= len(net.rules) // 2
    assert len(net.species) > len(small.species)  # the original is left as it was
    t = SPEC.run_in_days * 24.0 + np.arange(0.0, 28 * 24.0 + 1, 24.0)
    times = np.concatenate([[0.0], t])
    full = Simulator(net, rtol=1e-8, atol=1e-14).run(times, keep).values
    pruned = Simulator(small, rtol=1e-8, atol=1e-14).run(times, keep).values
    np.testing.assert_allclose(pruned, full, rtol=1e-5)


def test_prune_names_unknown_outputs(arm_model):
    with pytest.raises(KeyError, match=r"prune: unknown ids to keep: \['tumor'\]"):
        prune(arm_model[0].network, ["tumor"])
