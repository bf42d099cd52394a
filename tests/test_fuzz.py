"""Hostile input, generated: regimen texts, NONMEM event tables, drug records and CLI flags.
Whatever comes in ends either in a valid object or in the project's own error type with a
one-line message that names the input; never another exception, a traceback or a hang.
~750 generated cases a run (4 x 150 + 40 + 2 x 40 CLI invocations), the issue's >= 300.
(Hand-made cases with their exact messages live in test_bad_input.py.)"""

import math
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from il2sim.catalog import (
    CatalogError,
    Drug,
    RegimenError,
    parse_record,
    parse_regimen,
    read_event_table,
)
from il2sim.catalog._event_table import COLUMNS as EVENT_TABLE_COLUMNS
from il2sim.cli import app

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Pieces a regimen is written with, so generated texts reach deep into the parser.
WORDS = [
    "600,000",
    "1e6",
    "0.006",
    "-1",
    "0",
    "1e400",
    "nan",
    "inf",
    "1_000",
    "٣",
    "IU",
    "MIU",
    "mg",
    "ug",
    "nmol",
    "/kg",
    "/m2",
    "/lb",
    "/day",
    "IV",
    "SC",
    "bolus",
    "push",
    "over",
    "15",
    "min",
    "h",
    "continuous",
    "q8h",
    "q0h",
    "q0.001h",
    "q3w",
    "QD",
    "BID",
    "every",
    "3",
    "weeks",
    "x",
    "14",
    "doses",
    "cycles",
    "for",
    "5",
    "days",
    "d1-5",
    "q21d",
    "from",
    "day",
    "22",
    ";",
    "once",
    "daily",
    "(",
    ")",
    "\x00",
    "\u202e",
]


def _one_line_error(err: Exception) -> None:
    msg = str(err)
    assert msg and "\n" not in msg.strip() and "Traceback" not in msg


@FUZZ
@given(st.lists(st.sampled_from(WORDS), min_size=0, max_size=12).map(" ".join))
def test_regimen_texts_parse_or_are_refused_by_name(text):
    try:
        reg = parse_regimen(text)
    except RegimenError as err:
        _one_line_error(err)
        return
    try:  # a regimen that parses must also list its doses, or refuse with a reason
        doses = reg.doses(24.0 * 90)
    except RegimenError as err:
        _one_line_error(err)
        return
    assert all(math.isfinite(d.time_h) and d.amount > 0 for d in doses)


@FUZZ
@given(st.text(alphabet=string.printable + "µ²³½٣\u00a0", max_size=60))
def test_arbitrary_regimen_text_never_escapes(text):
    try:
        parse_regimen(text).doses(24.0 * 30)
    except RegimenError as err:
        _one_line_error(err)


CELLS = st.one_of(
    st.sampled_from([".", "", "0", "1", "2", "-1", "-2", "8", "24", "1e9", "nan", "inf", "x"]),
    st.integers(-5, 10_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
# the columns il2sim reads, plus ones it must refuse or ignore by name
COLS = st.sampled_from([*EVENT_TABLE_COLUMNS, "DV", "DOSE", "time"])


@FUZZ
@given(
    st.lists(COLS, min_size=1, max_size=8, unique=True),
    st.lists(st.lists(CELLS, min_size=8, max_size=8), min_size=0, max_size=6),
)
def test_event_tables_read_or_are_refused_naming_row_or_column(tmp_path_factory, cols, rows):
    f = tmp_path_factory.mktemp("fuzz") / "events.csv"
    lines = [",".join(cols)] + [",".join(r[: len(cols)]) for r in rows]
    f.write_text("\n".join(lines) + "\n")
    try:
        subjects = read_event_table(f)
    except RegimenError as err:
        _one_line_error(err)
        assert "event table" in str(err)
        return
    for s in subjects:
        assert s.regimen.explicit and all(d.amount > 0 for d in s.regimen.explicit)


GOOD_DRUG = {
    "name": "fuzz_drug",
    "kind": "mutein",
    "valency": {"value": 1, "source": "test"},
    "kd_il2ra_nM": {"value": 10.0, "source": "test"},
    "kd_il2rbg_nM": {"value": 1.0, "source": "test"},
}
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.fixed_dictionaries({"value": st.floats(allow_nan=True), "source": st.text(max_size=5)}),
    st.fixed_dictionaries({"value": st.text(max_size=5)}),
)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from([*GOOD_DRUG, "kd_il15ra_nM", "mw_kDa", "iu_per_mg", "arms", "bogus"]),
        VALUES,
        max_size=4,
    )
)
def test_drug_records_validate_or_name_the_field(changes):
    record = {**GOOD_DRUG, **changes}
    try:
        drug = parse_record(Drug, record, "fuzz.yaml")
    except CatalogError as err:
        assert str(err).startswith("fuzz.yaml")
        return
    assert drug.name == record["name"]


BAD_NUMBERS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "0", "-1", "-0.0", "1e-400", "x", "", "1_0"]),
    st.floats(max_value=0.0, allow_nan=False).map(repr),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["--weight-kg", "--bsa-m2", "--duration-days"]), BAD_NUMBERS)
def test_pk_numeric_flags_refuse_bad_values_with_exit_code_2(flag, value):
    r = CliRunner().invoke(
        app, ["pk", "--drug", "aldesleukin", "--regimen", "1 mg", f"{flag}={value}"]
    )
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and flag in r.output


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=string.printable, max_size=15))
def test_pk_at_and_units_refuse_what_they_cannot_read(text):
    for flag in ("--at", "--units"):
        r = CliRunner().invoke(
            app,
            [
                "pk",
                "--drug",
                "aldesleukin",
                "--regimen",
                "1 mg",
                "--duration-days",
                "0.01",
                f"{flag}={text}",
            ],
        )
        assert r.exit_code in (0, 2), r.output
        assert "Traceback" not in r.output
        if r.exit_code == 2:
            assert flag in r.output or "--regimen" in r.output


pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
