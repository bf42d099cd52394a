"""Bad input ends in one clear error that names the input and what is allowed, never a
traceback; messages are printed verbatim; exposure does not depend on the output grid."""

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from il2sim import simulate
from il2sim.catalog import RegimenError, parse_regimen
from il2sim.catalog._regimen import _PART
from il2sim.cli import app

TURNOVER = Path(__file__).parent / "data" / "petab" / "Turnover_preequilibration"
OBS_HEADER = "observableId\tobservableFormula\tnoiseFormula\tobservableTransformation\t"
OBS_HEADER += "noiseDistribution\n"
PAR_HEADER = "parameterId\tparameterScale\tlowerBound\tupperBound\tnominalValue\testimate\n"


def _obs(row: str) -> tuple[str, str]:
    return "observables.tsv", OBS_HEADER + row + "\n"


def _par(*rows: str) -> tuple[str, str]:
    return "parameters.tsv", PAR_HEADER + "".join(r + "\n" for r in rows)


def _meas(old: str, new: str, line: int = 2) -> tuple[str, tuple[str, str, int]]:
    return "measurements.tsv", (old, new, line)


#: case -> (file, its new content or a (old, new, line) edit of the shipped file), message
FIT_CASES = {
    "formula syntax": (_obs("X_obs\tX +* 2\t0.1\tlin\tnormal"), "Error parsing 'X +* 2'"),
    "unknown symbol": (
        _obs("X_obs\tX * foo\t0.1\tlin\tnormal"),
        "petablint: Missing parameter(s) in the model or the parameters table: {'foo'}",
    ),
    "zero noise": (_obs("X_obs\tX\t0\tlin\tnormal"), "noiseFormula '0' gives 0; it must be > 0"),
    "negative noise": (
        _obs("X_obs\tX\t-0.1\tlin\tnormal"),
        "noiseFormula '-0.1' gives -0.1; it must be > 0",
    ),
    "division by zero": (
        _obs("X_obs\tX / 0\t0.1\tlin\tnormal"),
        "observableFormula 'X / 0' is infinite or undefined",
    ),
    "noise division by zero": (
        _obs("X_obs\tX\t1/0\tlin\tnormal"),
        "petablint: a formula divides by zero",
    ),
    "python in a formula": (
        _obs("X_obs\t__import__('os').system('echo PWNED')\t0.1\tlin\tnormal"),
        "Error parsing",
    ),
    "unknown observable": (
        _meas("X_obs", "Y_obs"),
        "Observables {'Y_obs'} used in measurement table but not defined",
    ),
    "NaN measurement": (_meas("2.272319744", "nan", 3), "Some measurement(s) are null"),
    "text measurement": (
        _meas("2.272319744", "abc", 3),
        "measurement table row 2: measurement 'abc' is not a number",
    ),
    "unknown condition": (
        _meas("stim", "nowhere", 3),
        "references conditions that are not specified in the condition table: {'nowhere'}",
    ),
    "extra parameter": (
        _par("k_deg\tlog10\t0.01\t10\t0.5\t1", "foo\tlog10\t0.01\t10\t0.5\t1"),
        "Extraneous parameter(s) in parameter table: {'foo'}",
    ),
    "empty parameter table": (_par(), "parameter table: missing or empty"),
    "no parameter file": (
        (
            "problem.yaml",
            "format_version: 1\nproblems:\n- condition_files: [conditions.tsv]\n"
            "  measurement_files: [measurements.tsv]\n  observable_files: [observables.tsv]\n"
            "  sbml_files: [model.xml]\n",
        ),
        "parameter table: missing or empty; the problem YAML needs a parameter_file",
    ),
    "nothing to estimate": (
        _par("k_deg\tlog10\t0.01\t10\t0.5\t0"),
        "no parameter has estimate = 1",
    ),
    "unknown scale": (_par("k_deg\tlog2\t0.01\t10\t0.5\t1"), "got log2"),
    "bounds swapped": (
        _par("k_deg\tlog10\t10\t0.01\t0.5\t1"),
        "lowerBound greater than upperBound for parameterId k_deg",
    ),
    "log scale with a zero bound": (
        _par("k_deg\tlog10\t0\t10\t0.5\t1"),
        "Bounds for log10 scaled parameter k_deg must be positive",
    ),
    "estimate is text": (
        _par("k_deg\tlog10\t0.01\t10\t0.5\tyes"),
        "parameter table: estimate of ['k_deg'] is not a number",
    ),
    "nominal is text": (
        _par("k_deg\tlog10\t0.01\t10\tabc\t1"),
        "parameter table: nominalValue of ['k_deg'] is not a number",
    ),
    "no measurements": (
        ("measurements.tsv", "observableId\tsimulationConditionId\tmeasurement\ttime\n"),
        "measurement table: no measurements",
    ),
    "negative time": (
        _meas("\t0.5", "\t-0.5", 3),
        "time must be >= 0 or inf (steady state)",
    ),
    "condition names an unknown parameter": (
        ("conditions.tsv", "conditionId\tconditionName\tk_syn\npre\tb\t1\nstim\ts\tk_unknown\n"),
        "Missing parameter(s) in the model or the parameters table: {'k_unknown'}",
    ),
    "no noise column": (
        ("observables.tsv", "observableId\tobservableFormula\nX_obs\tX\n"),
        "Observable table requires the columns {'noiseFormula'}",
    ),
    "log of a negative simulation": (
        _obs("X_obs\tX - 10\t0.1\tlog\tnormal"),
        "a log-transformed observable needs simulation and measurement > 0, got -8",
    ),
    "not SBML": (("model.xml", "<sbml>not</sbml>"), "SBML model could not be loaded"),
    "not UTF-8": (("measurements.tsv", b"\xff\xfe\x00garbage"), "'utf-8' codec can't decode"),
}


def _variant(tmp_path: Path, file: str, content) -> Path:
    d = tmp_path / "problem"
    shutil.copytree(TURNOVER, d)
    if isinstance(content, tuple):
        old, new, line = content
        lines = (d / file).read_text().splitlines()
        lines[line - 1] = lines[line - 1].replace(old, new, 1)
        (d / file).write_text("\n".join(lines) + "\n")
    elif isinstance(content, bytes):
        (d / file).write_bytes(content)
    else:
        (d / file).write_text(content)
    return d / "problem.yaml"


@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_fit_names_every_problem_without_a_traceback(tmp_path, case):
    (file, content), message = FIT_CASES[case]
    problem = _variant(tmp_path, file, content)
    r = CliRunner().invoke(
        app, ["fit", str(problem), "--starts", "1", "--out", str(tmp_path / "out")]
    )
    text = " ".join(r.output.split())
    assert r.exit_code == 2, text
    assert text.startswith("error: PROBLEM: ") and message in text, text
    assert r.exception is None or isinstance(r.exception, SystemExit)


def test_messages_are_printed_verbatim(tmp_path):
    name = str(tmp_path / "a[/bold] [low, high] :x: [red]b.yaml")
    r = CliRunner().invoke(app, ["signal", "--drug", name])
    assert r.exit_code == 2
    assert f"--drug: {name}: cannot read file" in r.output.replace("\n", "")
    assert "❌" not in r.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("TIME,AMT,CMT\n0,abc,2\n", "event table row 1, column AMT: 'abc' is not a finite"),
        ("TIME,AMT\n0,inf\n", "event table row 1, column AMT: 'inf' is not a finite number"),
        ("TIME,AMT\nx,1\n", "event table row 1, column TIME: 'x' is not a finite number"),
        ("", "the file is empty; it needs a header line with TIME and AMT"),
        (b"TIME,AMT\n0,\xff\xfe\n", "not UTF-8 text"),
        ("DOSE\n1\n", "event table: missing column TIME; needs TIME and AMT"),
        ("TIME,AMT,DOSE\n0,1,1\n", "event table: unknown column 'DOSE'; il2sim reads ID, TIME"),
        (
            "ID,TIME,AMT\n1,0,1\n2,0,1\n1,24,1\n",
            "event table row 3, column ID: subject 1 appears again after other subjects",
        ),
        (
            "ID,TIME,AMT\n1,24,1\n1,0,1\n",
            "event table row 2, column TIME: 0 h is before the previous row's 24 h",
        ),
        (
            "ID,TIME,AMT,WT\n1,0,1,70\n1,24,1,72\n",
            "event table row 2, column WT: subject 1's WT changes (70 -> 72)",
        ),
        ("TIME,AMT,RATE\n0,1,-2\n", "event table row 1, column RATE: -2 (a modelled rate"),
        ("TIME,AMT,SS\n0,1,1\n", "event table row 1: SS = 1 needs II > 0"),
        ("TIME,AMT,SS,II\n0,1,2,24\n", "event table row 1, column SS: 2 is not supported"),
    ],
)
def test_event_table_errors_are_named(tmp_path, content, message):
    f = tmp_path / "events.csv"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    r = CliRunner().invoke(
        app, ["pk", "--drug", "aldesleukin", "--event-table", str(f), "--duration-days", "2"]
    )
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and text.startswith("error: --event-table: ") and message in text


def test_event_table_reads_dot_as_missing(tmp_path):
    f = tmp_path / "events.csv"
    f.write_text("TIME,AMT,CMT,RATE\n0,1,.,.\n")
    from il2sim.catalog import regimen_from_event_table

    (dose,) = regimen_from_event_table(f).explicit
    assert (dose.time_h, dose.amount, dose.route, dose.duration_h) == (0.0, 1.0, "iv", 0.0)


BOMB = """a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: [*b,*b,*b,*b,*b,*b,*b,*b,*b]
"""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: x\nvalency: " + "[" * 50_000 + "]" * 50_000 + "\n", "nested more than 50 levels"),
        (BOMB, "YAML aliases (*name) are not accepted; write the values out"),
        (b"name: \xff\xfe\n", "not UTF-8 text (byte 0xff at position 6); save the YAML file"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
@pytest.mark.parametrize("command", ["signal", "run", "cohort"])
def test_hostile_yaml_is_refused_by_name(tmp_path, content, message, command):
    f = tmp_path / "input.yaml"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    args = {
        "signal": ["signal", "--drug", str(f)],
        "run": ["run", str(f), "--out", str(tmp_path / "o")],
        "cohort": ["cohort", str(f), "--out", str(tmp_path / "o")],
    }[command]
    r = CliRunner().invoke(app, args)
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and f"{f}: " in text and message in text, text


def test_long_regimens_are_refused_at_once():
    with pytest.raises(RegimenError, match="regimen is 60,000 characters long; write at most"):
        parse_regimen("1" * 60_000)
    # the amount pattern reads a run of digits once (it backtracked quadratically)
    assert _PART.match("1" * 60_000 + "!") is None


@pytest.mark.slow
def test_auc_and_half_lives_do_not_depend_on_the_duration():
    """A 10-year run gave an AUC 29% high and no half-life (a fixed 20,001-point grid)."""
    short = simulate.pk("aldesleukin", "600,000 IU/kg once over 15 min", duration_h=48.0)
    long = simulate.pk("aldesleukin", "600,000 IU/kg once over 15 min", duration_h=3650 * 24.0)
    a, b = short.exposure["aldesleukin"], long.exposure["aldesleukin"]
    assert b.auc == pytest.approx(a.auc, rel=1e-4)
    assert b.cmax == pytest.approx(a.cmax, rel=1e-6) and b.tmax_h == a.tmax_h == 0.25
    assert b.t_half_beta_min == pytest.approx(a.t_half_beta_min, rel=1e-3)
    assert b.t_half_alpha_min == pytest.approx(a.t_half_alpha_min, rel=1e-3)


def test_sbml_file_that_is_not_utf8_is_named(tmp_path):
    f = tmp_path / "model.xml"
    f.write_bytes(b"<?xml \xff\xfe")
    with pytest.raises(simulate.SimulationError, match=r"not UTF-8 text .* save the SBML file"):
        simulate.Simulator(f)


def test_treg_depletion_days_are_checked_by_name(tmp_path):
    import yaml

    from conftest import tiny_scenario

    sc = tiny_scenario()
    sc["settings"][0]["arms"][0]["treg_depletion_days"] = [2, -1]
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(sc))
    r = CliRunner().invoke(app, ["run", str(f), "--out", str(tmp_path / "o")])
    text = " ".join(r.output.split())
    assert r.exit_code == 2
    assert "field 'settings.0.arms.0.treg_depletion_days': treg_depletion_days must lie in" in text


@pytest.mark.slow
def test_ctrough_is_the_concentration_just_before_the_last_dose():
    """Ctrough was the last simulated value, so it moved with --duration-days (0.42 -> 0)."""
    reg = "600,000 IU/kg q8h x 14 doses over 15 min"
    week = simulate.pk("aldesleukin", reg, duration_h=7 * 24.0)
    month = simulate.pk("aldesleukin", reg, duration_h=30 * 24.0)
    a, b = week.exposure["aldesleukin"], month.exposure["aldesleukin"]
    assert a.ctrough == pytest.approx(b.ctrough, rel=1e-4)
    before = month.time_h < 104.0  # the last dose starts at 104 h
    assert a.ctrough == pytest.approx(month.concentration_ng_per_mL("aldesleukin")[before][-1])
    one = simulate.pk("aldesleukin", "600,000 IU/kg once", duration_h=48.0)
    assert one.exposure["aldesleukin"].ctrough is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "ID,TIME,AMT\n1,0,1\n2,0,1\n",
            "event table: 2 subjects (ID 1, 2); a regimen is one subject's doses",
        ),
        ("TIME,AMT,SS,II\n0,1,1,24\n", "event table: an SS = 1 dose needs the steady state"),
        ("TIME,AMT,EVID\n0,1,1\n24,0,3\n", "event table row 2, column EVID: 3 is not supported"),
    ],
)
def test_event_tables_the_reader_would_get_wrong_are_refused(tmp_path, content, message):
    """Two IDs were merged into one subject whose doses added up; SS was ignored. A plain
    regimen is one subject without a steady state (read_event_table reads the rest)."""
    from il2sim.catalog import regimen_from_event_table

    f = tmp_path / "events.csv"
    f.write_text(content)
    with pytest.raises(RegimenError, match=re.escape(message)):
        regimen_from_event_table(f)
    f.write_text("ID,TIME,AMT,EVID,SS\n7,0,1,1,0\n7,12,0,0,.\n")
    assert len(regimen_from_event_table(f).explicit) == 1  # one ID, plain doses: accepted


@pytest.mark.parametrize("command", ["signal", "pk"])
def test_plot_must_be_a_writable_png_file(tmp_path, command):
    """--plot DIR used to write DIR.png beside the folder; now a folder, another suffix or a
    missing folder is refused before anything is computed."""
    extra = ["--regimen", "1 mg once"] if command == "pk" else []
    for target, message in (
        (tmp_path, "--plot: give a file name ending in .png"),
        (tmp_path / "curves.txt", "--plot: give a file name ending in .png"),
        (tmp_path / "missing" / "curves.png", "does not exist"),
    ):
        out = CliRunner().invoke(
            app, [command, "--drug", "aldesleukin", *extra, "--plot", str(target)]
        )
        assert out.exit_code == 2 and message in " ".join(out.output.split()), out.output
    assert (
        list(tmp_path.iterdir()) == [] and not (tmp_path.parent / f"{tmp_path.name}.png").exists()
    )


def test_prodrug_and_logit_bounds_that_make_negative_signals_are_refused():
    """A negative release half-life gave negative pSTAT5; logit bounds outside [0, 1] gave
    negative PD-1 inhibition: both are refused by field."""
    from pydantic import ValidationError

    from il2sim import catalog

    drug = catalog.get_drug("bempegaldesleukin").model_dump()
    drug["prodrug_states"][0]["release_half_life_h"] = {"value": -5, "source": "my lab"}
    with pytest.raises(ValidationError, match="release_half_life_h must be > 0"):
        catalog.Drug(**drug)
    drug = catalog.get_drug("bempegaldesleukin").model_dump()
    drug["prodrug_states"][0]["fraction_of_dose"] = {"value": 1.5, "source": "my lab"}
    with pytest.raises(ValidationError, match=re.escape("fraction_of_dose must be in [0, 1]")):
        catalog.Drug(**drug)
    spec = catalog.get_cohort("melanoma").model_dump()
    logit = next(v for v in spec["variability"] if v["distribution"] == "logitnormal")
    logit["bounds"] = [-0.5, 1.5]
    with pytest.raises(ValidationError, match="0 <= lower < upper <= 1"):
        catalog.CohortSpec(**spec)


def test_nonmem_addl_beyond_the_dose_limit_is_refused(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("TIME,AMT,CMT,II,ADDL\n0,1,2,24,1000000000\n")
    out = CliRunner().invoke(app, ["pk", "--drug", "aldesleukin", "--event-table", str(path)])
    assert out.exit_code == 2 and "at most 10,000 doses in all" in " ".join(out.output.split())


def test_petab_signaling_out_that_is_a_file_is_named(tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    out = CliRunner().invoke(app, ["petab-signaling", "--out", str(target)])
    assert out.exit_code == 2 and "is a file; give a folder for the outputs" in out.output
    assert target.read_text() == "x"
