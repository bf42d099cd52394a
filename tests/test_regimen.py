"""Regimens in clinical units, NONMEM event tables, and their errors."""

import pandas as pd
import pytest

from il2sim.catalog import (
    RegimenError,
    dose_events,
    get_drug,
    parse_regimen,
    regimen_from_event_table,
)


def test_label_high_dose_regimen():
    doses = parse_regimen("600,000 IU/kg q8h x 14 doses over 15 min").doses(24 * 30)
    assert len(doses) == 14
    assert [d.time_h for d in doses[:3]] == [0.0, 8.0, 16.0]
    assert doses[-1].time_h == 104.0
    assert all(d.duration_h == 0.25 and d.route == "iv" for d in doses)


def test_iu_per_kg_converts_to_the_label_mass():
    """Proleukin label: 600,000 IU/kg = 0.037 mg/kg (16.4 MIU/mg); 15.3 kDa."""
    ald = get_drug("aldesleukin")
    (ev,) = dose_events(
        parse_regimen("600,000 IU/kg").doses(1),
        weight_kg=70,
        bsa_m2=1.8,
        mw_kDa=ald.mw_kDa.value,
        iu_per_mg=ald.iu_per_mg.value,
    )
    mg_per_kg = ev.amount_nmol * ald.mw_kDa.value / 1e3 / 70
    assert mg_per_kg == pytest.approx(0.037, rel=0.02)


def test_cycles_days_and_surface_area():
    doses = parse_regimen("6 ug/kg/day IV d1-5 q21d x 2 cycles").doses(24 * 90)
    assert [d.time_h / 24 for d in doses] == [0, 1, 2, 3, 4, 21, 22, 23, 24, 25]
    sc = parse_regimen("1e6 IU/m2/day SC").doses(24 * 7)
    assert len(sc) == 7 and sc[0].route == "sc" and sc[0].unit == "IU/m2"
    (ev,) = dose_events(sc[:1], weight_kg=70, bsa_m2=2.0, mw_kDa=15.3, iu_per_mg=16.4e6)
    assert ev.amount_nmol == pytest.approx(2e6 / 16.4e6 * 1e3 / 15.3)


def test_continuous_infusion_is_one_long_infusion():
    (dose,) = parse_regimen("18e6 IU/m2/day continuous for 5 days").doses(24 * 30)
    assert dose.duration_h == 120 and dose.amount == pytest.approx(90e6)


def test_parts_and_start_day():
    doses = parse_regimen("0.006 mg/kg q3w; 240 mg once from day 8").doses(24 * 42)
    assert sorted(d.time_h for d in doses) == [0.0, 168.0, 504.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("600,000 IU/kg q0h", "the dosing interval must be at least 15 min; write e.g. 'q8h'"),
        ("1 mg q0.001h", "the dosing interval must be at least 15 min"),
        ("1 mg q1h x 1000000000 doses", "'x N' needs N from 1 to 10,000"),
        ("1e30 mg once", "a dose of 1e+30 is beyond any regimen (at most 1e+10 in its unit)"),
        ("1_000 IU once", "'1_000' is not a number; write digits 0-9"),
        ("\u0661\u0660 mg once", "start with an amount and a unit"),
        ("nan mg once", "start with an amount and a unit"),
        ("-5 mg/kg q3w", "the dose must be a positive number (got -5)"),
        ("5 IU/lb q8h", "unknown dose unit 'IU/lb'; allowed: IU, IU/kg"),
        ("5 mg/kg q8h over 10 h", "an infusion of 10 h is longer than its 8 h dosing interval"),
        ("5 mg/kg fortnightly", "cannot read 'fortnightly'"),
        ("", "regimen is empty"),
    ],
)
def test_bad_regimens_say_what_to_write(text, message):
    with pytest.raises(RegimenError, match=None) as err:
        parse_regimen(text)
    assert message in str(err.value)


def test_a_regimen_with_too_many_doses_in_the_simulated_time_is_refused():
    reg = parse_regimen("1 mg q0.25h")
    assert len(reg.doses(24.0)) == 96
    with pytest.raises(RegimenError, match="more than 10,000 doses within 1825 days"):
        reg.doses(24.0 * 365 * 5)


def test_iu_dose_of_a_drug_without_iu_per_mg():
    with pytest.raises(RegimenError, match="needs the drug's IU per mg, which 'il2v' does not"):
        dose_events(
            parse_regimen("1e6 IU").doses(1),
            weight_kg=70,
            bsa_m2=1.8,
            mw_kDa=80,
            iu_per_mg=None,
            drug_name="il2v",
        )


def test_nonmem_event_table():
    table = pd.DataFrame(
        {
            "TIME": [0, 0, 48],
            "AMT": [1.0, 0.0, 2.0],
            "CMT": [2, 2, 1],
            "RATE": [4.0, None, None],
            "II": [8, None, None],
            "ADDL": [2, None, None],
            "EVID": [1, 0, 1],
        }
    )
    doses = regimen_from_event_table(table, amount_unit="mg").doses(100)
    assert [(d.time_h, d.route, d.duration_h) for d in doses] == [
        (0.0, "iv", 0.25),
        (8.0, "iv", 0.25),
        (16.0, "iv", 0.25),
        (48.0, "sc", 0.0),
    ]
    bad = pd.DataFrame({"TIME": [0], "AMT": [1], "ADDL": [3]})
    with pytest.raises(RegimenError, match="ADDL = 3 needs II > 0"):
        regimen_from_event_table(bad)


@pytest.mark.parametrize(
    ("text", "interval_h", "route"),
    [
        ("10 mg QD", 24.0, "iv"),
        ("10 mg q.d.", 24.0, "iv"),
        ("10 mg once daily", 24.0, "iv"),
        ("10 mg BID", 12.0, "iv"),
        ("10 mg b.i.d.", 12.0, "iv"),
        ("10 mg twice daily", 12.0, "iv"),
        ("10 mg TID", 8.0, "iv"),
        ("10 mg QID", 6.0, "iv"),
        ("10 mg QOD", 48.0, "iv"),
        ("240 mg QW", 168.0, "iv"),
        ("240 mg weekly", 168.0, "iv"),
        ("240 mg Q2W", 336.0, "iv"),
        ("240 mg every 3 weeks", 504.0, "iv"),
        ("1 mg every 2 days", 48.0, "iv"),
        ("1 mg every 8 hours", 8.0, "iv"),
        ("1 mg IV bolus", None, "iv"),
        ("1 mg IV push", None, "iv"),
        ("1 mg SC BID", 12.0, "sc"),
        ("3 mg/kg over 30 min every 2 weeks", 336.0, "iv"),
    ],
)
def test_dosing_words_clinicians_write(text, interval_h, route):
    part = parse_regimen(text).parts[0]
    assert (part.interval_h, part.route) == (interval_h, route)


def test_twice_daily_for_five_days_is_ten_doses_twelve_hours_apart():
    doses = parse_regimen("1 mg BID for 5 days").doses(24 * 30)
    assert len(doses) == 10 and doses[1].time_h == 12.0
