"""The command line: tables, JSON, and errors that say what to write instead."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from il2sim.cli import app

runner = CliRunner()


def test_drugs_and_cells_list_the_catalog() -> None:
    out = runner.invoke(app, ["drugs"])
    assert out.exit_code == 0 and "pd1_il2v" in out.output and "aldesleukin" in out.output
    out = runner.invoke(app, ["cells", "--species", "mouse"])
    assert out.exit_code == 0 and "mouse_treg" in out.output and "│ cd8_naive " not in out.output


def test_signal_json_shape() -> None:
    out = runner.invoke(
        app,
        ["signal", "--drug", "aldesleukin", "--cells", "treg,nk", "--json", "--reference", "nk"],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["drug"] == "aldesleukin"
    assert set(data["cells"]) == {"treg", "nk"}
    assert data["cells"]["treg"]["ec50_nM"] < data["cells"]["nk"]["ec50_nM"]
    assert data["cells"]["treg"]["selectivity_vs_nk"] > 1
    assert 0 < data["cells"]["nk"]["emax"] <= 1


def test_signal_user_yaml_and_plot(tmp_path: Path) -> None:
    f = tmp_path / "mine.yaml"
    f.write_text("name: mine\nvalency: 2\nkd_il2ra_nM: 1.0\nkd_il2rbg_nM: 20\n")
    png = tmp_path / "fig.png"
    out = runner.invoke(app, ["signal", "--drug", str(f), "--cells", "treg,nk", "--plot", str(png)])
    assert out.exit_code == 0, out.output
    assert png.stat().st_size > 1000


@pytest.mark.slow
def test_signal_kinetic_time_point() -> None:
    out = runner.invoke(
        app, ["signal", "--drug", "aldesleukin", "--cells", "treg", "--time-min", "60", "--json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["cells"]["treg"]["ec50_nM"] > 0


def test_errors_name_the_flag_and_what_is_allowed(tmp_path: Path) -> None:
    out = runner.invoke(app, ["signal", "--drug", "aldesleukin", "--cells", "treg,martian"])
    assert out.exit_code == 2
    assert "--cells: unknown cell 'martian'; known cells:" in out.output
    out = runner.invoke(app, ["signal", "--drug", "nope"])
    assert out.exit_code == 2 and "--drug: unknown drug 'nope'" in out.output
    out = runner.invoke(app, ["signal", "--drug", "aldesleukin", "--species", "dog"])
    assert out.exit_code == 2 and "--species must be 'human' or 'mouse', got 'dog'" in out.output
    out = runner.invoke(app, ["signal", "--drug", "aldesleukin", "--time-min", "-5"])
    assert out.exit_code == 2 and "--time-min must be a positive number of minutes" in out.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nvalency: 1\nkd_il2ra_nM: -3\nkd_il2rbg_nM: 1\n")
    out = runner.invoke(app, ["signal", "--drug", str(bad)])
    assert out.exit_code == 2 and "field 'kd_il2ra_nM': kd_il2ra_nM must be > 0" in out.output
    out = runner.invoke(
        app, ["signal", "--drug", "aldesleukin", "--cells", "treg", "--reference", "nk"]
    )
    assert out.exit_code == 2 and "--reference must be one of the --cells (treg)" in out.output


@pytest.mark.slow
def test_demo_writes_table_and_figure(tmp_path: Path) -> None:
    out = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    for name in ("ec50_nM.csv", "ec50_relative_to_treg.csv", "dose_response.png"):
        assert (tmp_path / name).stat().st_size > 100


def test_calibrate_writes_parameters(tmp_path: Path) -> None:
    target = tmp_path / "params.yaml"
    out = runner.invoke(app, ["calibrate", "--out", str(target)])
    assert out.exit_code == 0, out.output
    assert "kx_nM_per_receptor" in target.read_text() and "R^2" in out.output


@pytest.mark.slow
def test_calibrate_cross_validates_without_touching_the_catalog(tmp_path: Path) -> None:
    from il2sim.catalog import signaling_params_path

    before = signaling_params_path().read_bytes()
    bad = runner.invoke(app, ["calibrate", "--cross-validate", "--out", str(tmp_path / "x.yaml")])
    assert bad.exit_code != 0 and "--out: with --cross-validate give a .csv file" in bad.output
    target = tmp_path / "cv.csv"
    out = runner.invoke(app, ["calibrate", "--cross-validate", "--out", str(target)])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "leave-one-ligand-out: RMSE" in text and "fc_h16n_nterm_mono" in text
    assert len(target.read_text().splitlines()) > 100
    assert signaling_params_path().read_bytes() == before


def test_signal_gives_ec50_intervals_over_the_posterior(tmp_path: Path) -> None:
    import json

    out = runner.invoke(
        app, ["signal", "--drug", "aldesleukin", "--cells", "treg,nk", "--uncertainty", "40"]
    )
    assert out.exit_code == 0, out.output
    assert "95% interval (40 posterior draws)" in " ".join(out.output.split())
    js = runner.invoke(
        app,
        ["signal", "--drug", "aldesleukin", "--cells", "treg,nk", "--uncertainty", "40", "--json"],
    )
    cells = json.loads(js.output)["cells"]
    for c in ("treg", "nk"):
        lo, hi = cells[c]["ec50_95_interval_nM"]
        assert lo < hi and lo <= cells[c]["ec50_nM"] <= hi
    assert cells["treg"]["ec50_95_interval_nM"][1] < cells["nk"]["ec50_95_interval_nM"][0]
    png = tmp_path / "bands.png"
    drawn = runner.invoke(
        app,
        ["signal", "--drug", "il2v", "--cells", "nk", "--uncertainty", "20", "--plot", str(png)],
    )
    assert drawn.exit_code == 0 and png.stat().st_size > 10_000  # curves with 95% bands
    bad = runner.invoke(app, ["signal", "--drug", "aldesleukin", "--uncertainty", "0"])
    assert bad.exit_code != 0 and "--uncertainty must be between 1 and 100,000" in bad.output
    bad = runner.invoke(
        app, ["signal", "--drug", "aldesleukin", "--uncertainty", "5", "--time-min", "30"]
    )
    assert bad.exit_code != 0 and "--uncertainty works at equilibrium" in bad.output


def test_version_names_the_code_it_runs() -> None:
    from il2sim import __version__
    from il2sim.simulate import source_digest

    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0
    assert (
        out.output.strip()
        == f"il2sim {__version__} (code and catalog digest {source_digest()[:12]})"
    )


def test_pk_reports_concentrations_at_requested_times_and_in_iu_per_ml():
    """`--at` samples the drug exactly at the given hours; `--units IU/mL` converts every
    concentration of the drug by its IU per mg (aldesleukin 16.4 MIU/mg) and renames the keys;
    a drug without IU per mg and an unknown unit are refused by name."""
    base = ["pk", "--drug", "aldesleukin", "--regimen", "600,000 IU/kg q8h x 3 doses"]
    ng = json.loads(CliRunner().invoke(app, [*base, "--json", "--at", "1,8"]).output)
    iu = json.loads(
        CliRunner().invoke(app, [*base, "--json", "--at", "1,8", "--units", "IU/mL"]).output
    )
    assert [r["time_h"] for r in ng["at"]] == [1.0, 8.0]
    assert iu["at"][0]["concentration_IU_per_mL"] == pytest.approx(
        ng["at"][0]["concentration_ng_per_mL"] * 16.4, rel=1e-9
    )
    assert iu["cmax_IU_per_mL"] == pytest.approx(ng["cmax_ng_per_mL"] * 16.4, rel=1e-9)
    assert iu["intervals"][0]["auc_IU_h_per_mL"] == pytest.approx(
        ng["intervals"][0]["auc_ng_h_per_mL"] * 16.4, rel=1e-9
    )
    assert iu["unit"] == "IU/mL" and "cmax_ng_per_mL" not in iu
    r = CliRunner().invoke(app, ["pk", "--drug", "il2v", "--regimen", "1 mg", "--units", "IU/mL"])
    assert r.exit_code == 2 and "--units IU/mL: il2v has no IU per mg" in r.output
    r = CliRunner().invoke(app, [*base, "--units", "mg/L"])
    assert r.exit_code == 2 and "--units must be one of ng/mL, IU/mL, nM" in r.output
    r = CliRunner().invoke(app, [*base, "--at", "1,x"])
    assert r.exit_code == 2 and "--at: 'x' is not a time in hours" in r.output
