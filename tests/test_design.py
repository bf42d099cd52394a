"""Inverse design: one compiled model covers the design space (Kd values, clearance and dose
are parameters), the Pareto front, a small search end to end, and input errors."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim import catalog
from il2sim.analysis import DesignSpace, design, pareto_front
from il2sim.analysis._design import TEMPLATE
from il2sim.cli import app
from il2sim.model._body import build_body_model
from il2sim.simulate import Simulator


@pytest.mark.slow
def test_a_kd_set_at_run_time_equals_a_rebuilt_drug():
    """Setting kd_il2_design_IL2RA on the compiled template gives what building the drug with
    that Kd gives (so the search never needs to recompile for affinities)."""
    template = catalog.get_drug(str(TEMPLATE))
    no_alpha = template.model_copy(
        update={"kd_il2ra_nM": template.kd_il2ra_nM.model_copy(update={"value": 1e4})}
    )
    times = np.linspace(0, 72, 13)

    def course(drug, params=None):
        m = build_body_model(drug, "1 mg q1w", body="human_adult", horizon_h=96)
        sel = [r for r in m.pstat5.values()][:4]
        return Simulator(m.network, rtol=1e-8, atol=1e-14).run(times, sel, params).values

    rebuilt = course(no_alpha)
    at_run_time = course(template, {"kd_il2_design_IL2RA": 1e4})
    assert np.allclose(at_run_time, rebuilt, rtol=1e-5, atol=1e-9)
    assert not np.allclose(course(template), rebuilt, rtol=1e-2)  # and the Kd matters


def test_pareto_front():
    eff = np.array([0.0, -10.0, -20.0, -5.0, -20.0])
    tox = np.array([0.1, 0.2, 0.5, 0.3, 0.6])
    assert pareto_front(eff, tox).tolist() == [True, True, True, False, False]


def test_a_bivalent_template_keeps_the_run_time_parameters():
    """Valency is a discrete choice (another binding scheme, another compiled model), but the
    candidate's Kd values, clearance and dose are set by the same parameter ids."""
    from il2sim.analysis._design import KEY, _arm
    from il2sim.cohort import build_arm

    spec = catalog.get_cohort("melanoma")
    ids = []
    for valency in (1, 2):
        arm = _arm("q3w", (), valency)
        assert catalog.get_drug(arm.drug).valency.value == valency
        model = build_arm(spec.model_copy(update={"arms": [arm]}), arm.name)
        ids.append({k for k in model.defaults if k.startswith(("kd_", "CL_", "dose_scale_"))})
    assert ids[0] == ids[1]
    assert {f"kd_{KEY}_IL2RA", f"kd_{KEY}_IL2RBG", f"kd_{KEY}_PD1"} <= ids[0]


@pytest.mark.slow
def test_small_design_search_end_to_end(tmp_path):
    space = DesignSpace(intervals=("q3w",))
    kw = {"space": space, "n_candidates": 2, "n_refine": 0, "n_patients": 1, "seed": 3}
    res = design("melanoma", out_dir=tmp_path, **kw)
    # a rerun into the same folder resumes: nothing left to simulate, identical candidates
    first_report = []
    again = design(
        "melanoma", out_dir=tmp_path, progress=lambda d, t: first_report.append((d, t)), **kw
    )
    assert first_report[0] == (2, 2)
    pd.testing.assert_frame_equal(again.candidates, res.candidates)
    c = res.candidates
    assert len(c) == 2 and set(c.interval) == {"q3w"} and set(c.valency) == {1}
    for name in space.names:
        lo, hi = getattr(space, name)
        assert c[name].between(lo, hi).all()
    limit = catalog.immune_parameters()["vascular_leak_threshold"].value
    assert (c.feasible == ((c.vascular_leak_max < limit) & (c.cytokine_release_max < 3.0))).all()
    assert c.pareto.any()
    assert set(res.best.candidate) <= set(c.candidate[c.feasible])


def test_design_input_errors():
    with pytest.raises(ValueError, match="kd_il2ra_nM must be"):
        DesignSpace(kd_il2ra_nM=(10, 1)).check()
    r = CliRunner().invoke(app, ["design", "--intervals", "weekly"])
    assert r.exit_code != 0 and "intervals must be like 'q1w' or 'q14d'" in r.output
    with pytest.raises(ValueError, match="valencies must be IL-2 units per molecule from 1 to 4"):
        DesignSpace(valencies=(0,)).check()
    r = CliRunner().invoke(app, ["design", "--valencies", "two"])
    assert r.exit_code != 0 and "--valencies must be whole numbers like 1,2" in r.output
    r = CliRunner().invoke(app, ["design", "--antibody", "aspirin"])
    assert r.exit_code != 0 and "--antibody/--antibody-regimen:" in r.output
