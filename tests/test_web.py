"""The web app without a browser: its form rules (shared with the CLI and the YAML files) and
its pages driven through Streamlit's AppTest."""

import html
import re
from pathlib import Path

import pytest

from il2sim import catalog, web
from il2sim.web._forms import (
    WEB_MAX_PATIENTS,
    DesignFields,
    FormError,
    cohort_request,
    drug_from_fields,
    drug_yaml,
    parse_number,
    therapy_from_fields,
)

APP = str(Path(web.__file__).with_name("app.py"))


def test_numbers_are_parsed_never_evaluated(tmp_path):
    assert parse_number(" 1e-3 ", "kd") == 1e-3
    with pytest.raises(FormError) as e:
        parse_number(f"__import__('os').system('touch {tmp_path}/x')", "kd_il2ra_nM")
    assert e.value.errors["kd_il2ra_nM"].startswith("kd_il2ra_nM must be a number, e.g. 0.5")
    assert not (tmp_path / "x").exists()
    for bad, msg in (("nan", "must be a finite number"), ("0", "must be > 0")):
        with pytest.raises(FormError, match=msg):
            parse_number(bad, "kd", minimum=0)
    with pytest.raises(FormError, match="n must be a whole number"):
        parse_number("2.5", "n", minimum=1, integer=True)


def test_designed_drug_follows_the_drug_file_rules():
    drug = drug_from_fields(DesignFields(name="my_no_alpha", kd_il2ra_nM=None, kd_il2rbg_nM="0.5"))
    assert drug.kd_il2ra_nM is None and drug.kd_il2rbg_nM.value == 0.5
    assert drug.kd_il2rbg_nM.source == catalog.USER_SOURCE
    # the YAML it offers loads back as a user's drug file does
    assert catalog.parse_record(catalog.Drug, __import__("yaml").safe_load(drug_yaml(drug)), "f")
    with pytest.raises(FormError) as e:
        drug_from_fields(
            DesignFields(valency="7", kd_il2rbg_nM="-1", arm_target="PD1", arm_kd_nM="zero")
        )
    assert set(e.value.errors) == {"valency", "kd_il2rbg_nM", "arms.0.kd_nM"}
    with pytest.raises(FormError) as e:
        drug_from_fields(DesignFields(valency="7"))
    assert e.value.errors == {"valency": "valency must be a whole number from 1 to 4 (got 7.0)"}
    with pytest.raises(FormError) as e:
        drug_from_fields(DesignFields(name="My Drug"))
    assert "name must be lower-case letters" in e.value.errors["name"]


def test_catalog_drug_fills_the_designer():
    f = DesignFields.from_drug(catalog.get_drug("pd1_il2v"))
    assert f.kd_il2ra_nM is None and f.arm_target == "PD1"
    assert drug_from_fields(f).arms[0].target == "PD1"


def test_therapy_form_cuts_the_scenario_and_checks_each_regimen():
    sc = therapy_from_fields(
        "default", "tumour_human", ["untreated", "il2v"], {"il2v": "5 mg q1w"}, "14"
    )
    (setting,) = sc.settings
    assert [a.name for a in setting.arms] == ["untreated", "il2v"]
    assert setting.arms[1].regimen == "5 mg q1w" and sc.duration_days == 14
    assert sc.readout_days == [7.0, 14.0]
    with pytest.raises(FormError) as e:
        therapy_from_fields(
            "default", "tumour_human", ["il2v", "wt_il2"], {"il2v": "5 IU/kg q1w"}, "0"
        )
    assert set(e.value.errors) == {"regimen:il2v", "duration_days"}
    assert "needs the drug's IU per mg" in e.value.errors["regimen:il2v"]
    assert e.value.errors["duration_days"] == "duration_days must be > 0, got 0"
    with pytest.raises(FormError, match="choose at least one arm"):
        therapy_from_fields("default", "tumour_human", [], {}, "14")


def test_cohort_form_uses_the_cli_rules():
    req = cohort_request("melanoma", ["nivolumab"], "12", "3", "vpop")
    assert (req.n, req.seed, req.arms) == (12, 3, ["nivolumab"])
    with pytest.raises(FormError) as e:
        cohort_request("melanoma", ["bogus"], "0", "-1", None)
    assert e.value.errors["n"] == "n must be >= 1, got 0"  # the CLI says "--n must be >= 1"
    assert e.value.errors["seed"] == "seed must be >= 0, got -1"
    assert e.value.errors["arms"].startswith("arms: unknown arm(s) ['bogus'] for cohort")
    with pytest.raises(FormError, match=f"n must be <= {WEB_MAX_PATIENTS}, got 5000 in the web"):
        cohort_request("melanoma", ["nivolumab"], "5000", "1", None)


def test_serve_command_is_local_and_checks_the_port():
    cmd = web.streamlit_command()
    assert "--server.address=127.0.0.1" in cmd and "--browser.gatherUsageStats=false" in cmd
    with pytest.raises(ValueError, match="port must be from 1 to 65535, got 0"):
        web.streamlit_command(port=0)


def _messages(app) -> list[str]:
    """The field messages on the page, as text."""
    out = []
    for el in app.get("html"):
        body = el.proto.body
        if "il2sim-error" in body:
            out.append(html.unescape(re.sub(r"<[^>]+>", "", body)).removeprefix("⚠ "))
    return out


@pytest.fixture
def app():
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(APP, default_timeout=180).run()


def test_designer_page_updates_table_and_marks_bad_fields(app):
    assert not app.exception
    table = app.table[0].value
    treg_wt = float(table.loc["treg", "EC50 (nM)"])
    # weaker CD25 binding: Tregs lose their edge (EC50 rises), NK cells barely change
    app.text_input(key="d_kd_il2ra").set_value("1000").run()
    table = app.table[0].value
    assert float(table.loc["treg", "EC50 (nM)"]) > 10 * treg_wt
    assert 0.8 < float(table.loc["nk", "EC50 / reference EC50"]) < 1.25
    app.text_input(key="d_kd_il2rbg").set_value("-1").run()
    assert _messages(app) == ["kd_il2rbg_nM must be > 0 (got -1.0)"]
    assert app.table, "the last valid design stays on the page"
    app.text_input(key="d_kd_il2rbg").set_value("1").run()
    assert _messages(app) == []


def test_cli_web_checks_the_port():
    from typer.testing import CliRunner

    from il2sim.cli import app as cli

    r = CliRunner().invoke(cli, ["web", "--port", "70000"])
    assert r.exit_code == 2 and "--port must be from 1 to 65535, got 70000" in r.output


def test_the_designed_drug_joins_a_therapy_as_an_arm(tmp_path):
    drug = drug_from_fields(DesignFields(name="my_no_alpha", kd_il2ra_nM=None))
    path = tmp_path / "my_no_alpha.yaml"
    path.write_text(drug_yaml(drug))
    sc = therapy_from_fields(
        "default", "tumour_human", ["untreated"], {}, "14", designed=(str(path), "2 mg q1w")
    )
    arms = sc.settings[0].arms
    assert [a.name for a in arms] == ["untreated", "my_design"]
    assert catalog.get_drug(arms[1].drug).kd_il2ra_nM is None
    with pytest.raises(FormError) as e:
        therapy_from_fields(
            "default", "tumour_human", [], {}, "14", designed=(str(path), "600,000 IU/kg q8h")
        )
    assert "needs the drug's IU per mg" in e.value.errors["regimen:my_design"]
