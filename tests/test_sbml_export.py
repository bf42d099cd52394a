"""Every shipped drug in every scenario exports as SBML that libSBML accepts (consistency and
unit checks), and the exported file replays the same trajectory in plain libRoadRunner and in
an independent scipy integration of the same equations."""

import json

import numpy as np
import pytest
import roadrunner
from typer.testing import CliRunner

from il2sim import catalog
from il2sim.cli import app
from il2sim.model import build_body_model, build_scenario_model, check_sbml, to_sbml
from il2sim.simulate import ReferenceSimulator, Simulator

#: Whole-body simulations: part of `make test`, not of the `make test-fast` loop.
pytestmark = pytest.mark.slow


def _needs_iu(scenario: catalog.Scenario) -> bool:
    return scenario.regimen is not None and "IU" in scenario.regimen


@pytest.mark.parametrize("scenario", sorted(catalog.scenarios()))
def test_every_drug_exports_without_libsbml_problems(scenario):
    sc = catalog.get_scenario(scenario)
    drugs = sorted(catalog.drugs()) if sc.drug else [None]
    checked = 0
    for name in drugs:
        drug = catalog.get_drug(name) if name else None
        if drug is not None and _needs_iu(sc) and drug.iu_per_mg is None:
            with pytest.raises(catalog.RegimenError, match="needs the drug's IU per mg"):
                build_scenario_model(sc, drug=drug)
            continue
        net = build_scenario_model(sc, drug=drug).network
        assert check_sbml(to_sbml(net)) == [], f"{scenario} x {name}"
        checked += 1
    assert checked >= 1


def test_exported_file_replays_in_plain_roadrunner(tmp_path):
    out = tmp_path / "hd.xml"
    result = CliRunner().invoke(app, ["export-sbml", "hd_aldesleukin", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "libSBML consistency and unit checks: passed" in result.output
    rr = roadrunner.RoadRunner(str(out))
    rr.integrator.relative_tolerance = 1e-8
    rr.integrator.absolute_tolerance = 1e-14
    t = np.linspace(0, 48, 961)
    plain = np.asarray(rr.simulate(times=t, selections=["time", "Cp_aldesleukin_ng_per_mL"]))[:, 1]
    model = build_scenario_model("hd_aldesleukin")
    ours_c = Simulator(model.network).run(t, ["Cp_aldesleukin_ng_per_mL"]).values[:, 0]
    assert np.max(np.abs(plain - ours_c)) < 1e-4 * plain.max()


@pytest.mark.parametrize(
    ("drug", "regimen", "hours"),
    [
        ("aldesleukin", "600,000 IU/kg q8h x 14 doses over 15 min", 30),
        ("aldesleukin", "1e6 IU/m2/day SC", 72),
        ("pd1_il2v", "1 mg/kg q3w", 24 * 30),
    ],
)
def test_libroadrunner_and_scipy_agree_on_the_body_model(drug, regimen, hours):
    """Two engines, one network: CVODE (compiled SBML) vs scipy LSODA (numpy RHS), with
    infusions, SC depots and IV boluses."""
    m = build_body_model(drug, regimen, horizon_h=hours)
    t = np.linspace(0, hours, 301)
    species = [f"L_{drug}_central", f"L_{drug}_tumour", "R_IL2RBG_nk_central"]
    rr_sel = [s if m.network.species[s].amount_only else f"[{s}]" for s in species]
    a = Simulator(m.network).run(t, rr_sel).values
    b = ReferenceSimulator(m.network).run(t, species)
    assert np.allclose(a, b, rtol=1e-4, atol=1e-6 * np.abs(a).max(axis=0))


def test_bad_scenario_file_names_the_field(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text("name: x\ndrug: aldesleukin\nregimen: '600,000 IU/kg q0h'\n")
    with pytest.raises(
        catalog.CatalogError, match=r"field 'regimen'.*interval must be at least 15 min"
    ):
        catalog.get_scenario(str(bad))


def test_cli_pk_json(tmp_path):
    png = tmp_path / "pk.png"
    result = CliRunner().invoke(
        app,
        [
            "pk",
            "--drug",
            "aldesleukin",
            "--regimen",
            "600,000 IU/kg over 15 min",
            "--json",
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for key in ("cmax_ng_per_mL", "auc_ng_h_per_mL", "t_half_alpha_min", "t_half_beta_min"):
        assert out[key] is not None and out[key] > 0
    assert out["engagement"]["treg_central"]["IL2RBG_occupancy_max"] > 0.9
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--drug", "aldesleukin", "--regimen", "600,000 IU/kg q0h"],
            "interval must be at least 15 min",
        ),
        (["--drug", "aldesleukin", "--regimen", "-1 mg/kg"], "dose must be a positive number"),
        (["--drug", "aldesleukin", "--regimen", "1 mg/lb"], "unknown dose unit 'mg/lb'"),
        (["--drug", "aldesleukin", "--regimen", "1 mg/kg q8h over 9 h"], "longer than its 8 h"),
        (["--drug", "nope", "--regimen", "1 mg"], "--drug: unknown drug 'nope'"),
        (["--antibody", "nivolumab"], "give one --antibody-regimen per --antibody"),
        (
            ["--drug", "aldesleukin", "--regimen", "1 mg", "--weight-kg", "-3"],
            "--weight-kg must be",
        ),
    ],
)
def test_cli_pk_refuses_bad_input(args, message):
    result = CliRunner().invoke(app, ["pk", *args])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_export_is_the_same_in_every_process():
    """Modifier lists were written in set order, so the SBML of one model changed with
    Python's hash seed."""
    import os
    import subprocess
    import sys

    code = (
        "from il2sim import catalog, model\n"
        "sc = catalog.get_therapy_scenario('acute_vs_chronic')\n"
        "s = sc.settings[0]\n"
        "m, _ = model.build_arm_model(s, s.arms[0], duration_days=7, run_in_days=5)\n"
        "print(model.to_sbml(m.network))\n"
    )
    texts = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(texts) == 1 and "<modifierSpeciesReference" in texts.pop()


def test_antimony_text_reloads_to_the_same_model(tmp_path):
    """Antimony export (HD aldesleukin PK scenario): converted back to SBML by antimony and run
    in libRoadRunner, the plasma curve equals the original's (rel 1e-6)."""
    import antimony
    import roadrunner

    from il2sim.model import build_scenario_model, to_antimony

    text = to_sbml(build_scenario_model("hd_aldesleukin").network)
    ant = to_antimony(text)
    antimony.clearPreviousLoads()
    assert antimony.loadAntimonyString(ant) >= 0, antimony.getLastError()
    back = antimony.getSBMLString(antimony.getMainModuleName())
    times = [0.0, 0.25, 1.0, 8.0, 24.0]
    sel = ["time", "Cp_aldesleukin_ng_per_mL"]
    a = roadrunner.RoadRunner(text).simulate(times=times, selections=sel)
    b = roadrunner.RoadRunner(back).simulate(times=times, selections=sel)
    np.testing.assert_allclose(b[:, 1], a[:, 1], rtol=1e-6, atol=1e-9)


def test_combine_archive_holds_the_model_and_a_sedml_time_course(tmp_path):
    """`export-sbml default --arm wt_il2_anti_pdl1 -o arm.omex`: the archive lists the SBML
    (master) and SED-ML; the SED-ML's time course spans run-in + treatment in hours and each
    reported target names an element of the model; libRoadRunner runs the archived model."""
    import libcombine
    import libsedml
    import roadrunner

    out = tmp_path / "arm.omex"
    r = CliRunner().invoke(
        app, ["export-sbml", "default", "--arm", "wt_il2_anti_pdl1", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    archive = libcombine.CombineArchive()
    assert archive.initializeFromArchive(str(out))
    entries = {
        archive.getEntry(i).getLocation(): archive.getEntry(i)
        for i in range(archive.getNumEntries())
    }
    assert set(entries) == {"model.xml", "simulation.sedml"} and entries["model.xml"].getMaster()
    sbml = archive.extractEntryToString("model.xml")
    sed = libsedml.readSedMLFromString(archive.extractEntryToString("simulation.sedml"))
    assert sed.getNumErrors(libsedml.LIBSEDML_SEV_ERROR) == 0
    sim = sed.getSimulation(0)
    sc = catalog.get_therapy_scenario("default")
    assert sim.getOutputEndTime() == pytest.approx((sc.run_in_days + sc.duration_days) * 24.0)
    ids = [
        sed.getDataGenerator(i).getVariable(0).getTarget().split("'")[1]
        for i in range(1, sed.getNumDataGenerators())
    ]
    assert "virus_spleen" in ids or any(i.startswith("virus") for i in ids)
    rr = roadrunner.RoadRunner(sbml)
    for i in ids:
        assert i in rr.model.getFloatingSpeciesIds() or i in rr.model.getGlobalParameterIds()
    rr.simulate(0, 24.0, 5)


def test_export_names_what_it_cannot_do(tmp_path):
    cases = [
        (["hd_aldesleukin", "-o", str(tmp_path / "m.pdf")], "--out: give a file ending in .xml"),
        (["default", "--arm", "nope", "-o", str(tmp_path / "m.xml")], "no arm 'nope' in default"),
        (["glioma", "--arm", "x", "-o", str(tmp_path / "m.xml")], "neither a therapy scenario"),
        (["melanoma", "--arm", "x", "-o", str(tmp_path / "m.xml")], "'x' is not an arm of"),
    ]
    for args, message in cases:
        r = CliRunner().invoke(app, ["export-sbml", *args])
        assert r.exit_code == 2 and message in " ".join(r.output.split()), r.output
    r = CliRunner().invoke(
        app, ["export-sbml", "melanoma", "--arm", "nivolumab", "-o", str(tmp_path / "n.ant")]
    )
    assert r.exit_code == 0 and "checks: passed" in " ".join(r.output.split())
    assert (tmp_path / "n.ant").read_text().startswith("// Created by libAntimony")
