"""The libRoadRunner engine: batches through one compiled model, clear errors, no NaN."""

import numpy as np
import pytest

from il2sim.model import build_body_model
from il2sim.simulate import SimulationError, Simulator


@pytest.fixture(scope="module")
def model():
    return build_body_model("aldesleukin", "1e6 IU/m2 SC", horizon_h=48)


def test_batch_equals_single_runs(model):
    sim = Simulator(model.network)
    t = np.linspace(0, 24, 97)
    sel = [model.plasma_ng_per_mL["aldesleukin"]]
    values = np.array([[1.0], [2.0], [0.5]])
    seen = []
    out, failures = sim.run_batch(
        t, sel, ["dose_scale_aldesleukin"], values, progress=lambda i, n: seen.append((i, n))
    )
    assert failures == [] and seen == [(1, 3), (2, 3), (3, 3)]
    single = sim.run(t, sel, {"dose_scale_aldesleukin": 2.0}).values
    assert np.allclose(out[1], single, rtol=1e-10)
    ratio = np.trapezoid(out[1, :, 0], t) / np.trapezoid(out[0, :, 0], t)
    assert 2.0 <= ratio < 2.2  # twice the dose, a little more than twice the AUC (saturable TMDD)
    # runs are independent: the first run again gives the first result
    assert np.allclose(sim.run(t, sel).values, out[0], rtol=1e-10)


@pytest.fixture(scope="module")
def q8h():
    return build_body_model("aldesleukin", "600,000 IU/kg q8h x 5 doses over 15 min", horizon_h=40)


@pytest.mark.parametrize("split_h", [12.0, 8.0])  # 8 h: the second dose is due at the break
def test_extend_continues_a_run_as_if_it_were_one(q8h, split_h):
    """A run to the break continued to 40 h gives what one run gives (doses after the break
    given once); extend must start where the run stopped; the next run starts clean."""
    sim = Simulator(q8h.network, rtol=1e-8, atol=1e-14)
    sel = [q8h.plasma_ng_per_mL["aldesleukin"]]
    t = np.arange(0.0, 40.5, 0.5)
    whole = sim.run(t, sel).values[:, 0]
    first = sim.run(t[t <= split_h], sel).values[:, 0]
    rest = sim.extend(t[t >= split_h], sel).values[:, 0]
    assert np.allclose(np.r_[first, rest[1:]], whole, rtol=1e-4, atol=1e-6 * whole.max())
    with pytest.raises(ValueError, match="extend must start where the last run stopped"):
        sim.extend([10.0, 20.0], sel)
    assert np.allclose(sim.run(t, sel).values[:, 0], whole, rtol=1e-8)


def test_a_run_after_steady_state_starts_clean(q8h):
    """steady_state follows the trajectory over growing horizons, each a libRoadRunner
    simulate from where the last stopped; the next run used to start with the infusions of
    those doses still on (peak 1,423 instead of 171 ng/mL)."""
    sim = Simulator(q8h.network)
    sel = [q8h.plasma_ng_per_mL["aldesleukin"]]
    t = np.linspace(0.0, 40.0, 81)
    before = sim.run(t, sel).values[:, 0]
    sim.steady_state(sel)
    assert np.allclose(sim.run(t, sel).values[:, 0], before, rtol=1e-7)


def test_unknown_parameter_is_named(model):
    with pytest.raises(KeyError, match="unknown parameter 'CL_nope'"):
        Simulator(model.network).run([0, 1], ["L_aldesleukin_central"], {"CL_nope": 1.0})


def test_failure_names_parameter_set_and_time(model):
    sim = Simulator(model.network, max_steps=3)
    with pytest.raises(SimulationError, match=r"integration failed near t = .* with parameters"):
        sim.run(np.linspace(0, 48, 10), ["L_aldesleukin_central"], {"kon_il2": 1e4})
    out, failures = sim.run_batch(
        np.linspace(0, 48, 10), ["L_aldesleukin_central"], ["kon_il2"], [[1e4]], on_error="record"
    )
    assert len(failures) == 1 and failures[0][0] == 0 and "kon_il2=1e+04" in failures[0][1]
    assert np.isnan(out).all()  # recorded as failed, not silently filled


def test_missing_file_is_reported():
    with pytest.raises(FileNotFoundError, match="SBML file not found"):
        Simulator("no/such/model.xml")


def test_compiled_models_are_cached_on_disk_and_give_the_same_results(tmp_path, monkeypatch):
    """A model compiled once is loaded from the cache next time (libRoadRunner's saved state)
    with identical results; a damaged entry is recompiled and replaced; "off" keeps nothing."""
    from il2sim.model import to_sbml
    from il2sim.simulate import compiled_model_cache

    text = to_sbml(
        build_body_model("aldesleukin", "600,000 IU/kg q8h x 3 doses", horizon_h=30).network
    )
    times, sel = np.linspace(0, 30, 61), ["Cp_aldesleukin_ng_per_mL"]
    monkeypatch.setenv("IL2SIM_CACHE_DIR", str(tmp_path / "cache"))
    assert compiled_model_cache() == tmp_path / "cache"
    first = Simulator(text).run(times, sel).values
    (entry,) = (tmp_path / "cache").glob("*.rr")
    stamp = entry.stat().st_mtime_ns
    again = Simulator(text).run(times, sel).values
    np.testing.assert_array_equal(first, again)
    assert entry.stat().st_mtime_ns >= stamp  # read, not rewritten by a recompile elsewhere
    entry.write_bytes(b"not a saved state")
    np.testing.assert_array_equal(first, Simulator(text).run(times, sel).values)
    assert entry.stat().st_size > 1000  # replaced by a good entry
    monkeypatch.setenv("IL2SIM_CACHE_DIR", "off")
    assert compiled_model_cache() is None
    empty = tmp_path / "none"
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty))
    np.testing.assert_array_equal(first, Simulator(text).run(times, sel).values)
    assert not empty.exists()


def test_solver_output_capture_keeps_each_captures_own_text_when_reused_and_nested():
    """The capture file is reused within a process: each capture reads only what was written
    during it, and a capture inside another does not empty the outer one's text."""
    import os

    from il2sim.simulate._engine import _captured_solver_output

    with _captured_solver_output() as first:
        os.write(1, b"first\n")
    with _captured_solver_output() as outer:
        os.write(1, b"outer before\n")
        with _captured_solver_output() as inner:
            os.write(2, b"inner\n")
        os.write(2, b"outer after\n")
    assert first == ["first"]
    assert inner == ["inner"]
    assert outer == ["outer before", "outer after"]


DECAY_SBML = """<?xml version="1.0" encoding="UTF-8"?>
<sbml xmlns="http://www.sbml.org/sbml/level3/version2/core" level="3" version="2">
  <model id="decay">
    <listOfCompartments>
      <compartment id="c" size="1" constant="true" spatialDimensions="3"/>
    </listOfCompartments>
    <listOfSpecies>
      <species id="x" compartment="c" initialAmount="1" hasOnlySubstanceUnits="true"
               boundaryCondition="false" constant="false"/>
    </listOfSpecies>
    <listOfParameters><parameter id="k" value="2" constant="true"/></listOfParameters>
    <listOfRules>
      <rateRule variable="x">
        <math xmlns="http://www.w3.org/1998/Math/MathML">
          <apply><times/><apply><minus/><ci>k</ci></apply><ci>x</ci></apply>
        </math>
      </rateRule>
    </listOfRules>
  </model>
</sbml>"""


def test_subnormals_are_flushed_within_a_solve_only():
    """A cleared drug decays through 1e-308 into subnormal numbers, which x86 computes ~100x
    slower: solves flush them to zero (x86-64 Linux with glibc), and the thread's floating
    point is as before once the solve returns."""
    import platform

    from il2sim.simulate._fpu import subnormals_flushed

    tiny = np.array([1e-310])
    with subnormals_flushed() as flushed:
        inside = tiny * 3.0
    assert (tiny * 3.0)[0] == pytest.approx(3e-310, rel=1e-6)  # restored
    x86_glibc = (
        platform.system() == "Linux"
        and platform.machine() == "x86_64"
        and platform.libc_ver()[0] == "glibc"
    )
    assert flushed == x86_glibc
    assert inside[0] == (0.0 if flushed else pytest.approx(3e-310, rel=1e-6))
    # exp(-2 t): below 1e-308 from t = 355 h; the solve goes through it and leaves the
    # thread's floating point as it was
    out = Simulator(DECAY_SBML, rtol=1e-6, atol=1e-12).run(np.linspace(0, 400, 9), ["x"])
    assert out["x"][1] == pytest.approx(np.exp(-100.0), rel=1e-3, abs=1e-12)
    assert np.all(out["x"][-2:] <= 1e-300)
    assert (tiny * 3.0)[0] == pytest.approx(3e-310, rel=1e-6)
