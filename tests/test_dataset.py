"""NONMEM-style datasets: several subjects simulated one by one, steady-state doses, baseline
covariates, and the simulated dataset written back in the same format."""

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim.catalog import read_event_table
from il2sim.cli import app
from il2sim.simulate import pk, simulate_subjects, simulated_dataset

#: Whole-body simulations: part of `make test`, not of the `make test-fast` loop.
pytestmark = pytest.mark.slow

TWO_SUBJECTS = """ID,TIME,AMT,CMT,RATE,II,ADDL,EVID,MDV,WT,DV
1,0,10,2,.,8,2,1,1,60,.
1,1,.,.,.,.,.,0,0,60,.
1,23,.,.,.,.,.,0,0,60,.
2,0,20,2,80,.,.,1,1,90,.
2,2,.,.,.,.,.,0,0,90,.
"""


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    f = tmp_path_factory.mktemp("ds") / "two.csv"
    f.write_text(TWO_SUBJECTS)
    subjects = read_event_table(f, amount_unit="ug/kg")
    return subjects, simulate_subjects("aldesleukin", subjects)


def test_each_subject_is_simulated_on_its_own(two):
    """Two IDs were once merged into one subject whose doses added up: each is now its own
    simulation, with its own weight, equal to a single-subject run of its doses."""
    subjects, results = two
    assert [s.id for s in subjects] == ["1", "2"]
    assert [s.weight_kg for s in subjects] == [60.0, 90.0]
    assert subjects[1].regimen.explicit[0].duration_h == pytest.approx(0.25)  # RATE 80/h
    alone = pk("aldesleukin", "10 ug/kg q8h x 3 doses", weight_kg=60.0, duration_h=23.0)
    assert results[0].exposure.cmax == pytest.approx(alone.exposure["aldesleukin"].cmax, rel=1e-6)
    assert results[0].at([23.0])[0] == pytest.approx(
        np.interp(23.0, alone.time_h, alone.concentration_ng_per_mL("aldesleukin")), rel=1e-6
    )
    assert len(results[0].exposure.intervals) == 3 and len(results[1].exposure.intervals) == 1


def test_the_simulated_dataset_is_the_input_format_with_dv(two, tmp_path):
    """Dose records (EVID 1, MDV 1) and observation records (EVID 0, MDV 0, DV = PRED = the
    simulated concentration at exactly the observed time), by ID and TIME; il2sim reads its
    own output back to the same subjects."""
    subjects, results = two
    df = simulated_dataset(results)
    assert list(df.columns) == [
        "ID",
        "TIME",
        "EVID",
        "AMT",
        "CMT",
        "RATE",
        "II",
        "SS",
        "MDV",
        "DV",
        "PRED",
    ]
    obs = df[df.EVID == 0]
    assert list(zip(obs.ID, obs.TIME, strict=True)) == [("1", 1.0), ("1", 23.0), ("2", 2.0)]
    assert obs.DV.iloc[1] == pytest.approx(results[0].at([23.0])[0])
    assert (obs.DV == obs.PRED).all() and (obs.MDV == 0).all()
    assert (df[df.EVID == 1].MDV == 1).all() and len(df[df.EVID == 1]) == 4
    f = tmp_path / "sim.csv"
    df.to_csv(f, index=False)
    back = read_event_table(f, amount_unit="ug/kg")
    assert [(s.id, s.regimen.explicit, s.observation_times_h) for s in back] == [
        (s.id, s.regimen.explicit, s.observation_times_h) for s in subjects
    ]


def test_steady_state_dose_equals_the_doses_written_out(tmp_path):
    """SS = 1 (IL2v weekly, terminal half-life ~6 days): one day after the steady-state dose,
    the concentration equals that one day after the 20th of 20 weekly doses (within 1%), and
    earlier doses of the subject are reset."""
    f = tmp_path / "ss.csv"
    last = 19 * 168.0
    f.write_text(
        "ID,TIME,AMT,II,ADDL,SS,EVID\n"
        "1,0,1,168,19,0,1\n"
        f"1,{last + 24},.,.,.,.,0\n"
        "2,0,5,.,.,0,1\n"
        "2,100,1,168,0,1,1\n"
        "2,124,.,.,.,.,0\n"
    )
    subjects = read_event_table(f, amount_unit="mg")
    assert len(subjects[1].regimen.explicit) == 1  # the 5 mg before the SS dose is reset
    long, ss = simulate_subjects("il2v", subjects)
    assert ss.offset_h > 0
    assert ss.at([124.0])[0] == pytest.approx(long.at([last + 24.0])[0], rel=0.01)


def test_pk_cli_writes_the_dataset_and_refuses_what_it_cannot_do(tmp_path):
    f = tmp_path / "two.csv"
    f.write_text(TWO_SUBJECTS)
    out = tmp_path / "sim.csv"
    args = ["pk", "--drug", "aldesleukin", "--event-table", str(f), "--amount-unit", "ug/kg"]
    r = CliRunner().invoke(app, [*args, "--dataset-out", str(out)])
    assert r.exit_code == 0, r.output
    assert "2 subjects of the event table" in r.output
    assert len(pd.read_csv(out)) == 7
    r = CliRunner().invoke(app, [*args, "--plot", str(tmp_path / "p.png")])
    assert r.exit_code == 2 and "--plot draws one subject; the event table has 2" in r.output
    r = CliRunner().invoke(
        app, ["pk", "--drug", "aldesleukin", "--regimen", "1 mg", "--dataset-out", str(out)]
    )
    assert r.exit_code == 2 and "--dataset-out writes an --event-table back" in r.output
