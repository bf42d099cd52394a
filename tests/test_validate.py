"""`il2sim validate`: every training row re-simulated on the shipped virtual populations,
model beside published, each row inside its published interval (or an xfail that says why)."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from il2sim import catalog
from il2sim.cli import app

pytestmark = pytest.mark.slow

#: Rows the model cannot reproduce, with the reason (strict: they fail today). No training
#: row (the ipilimumab median PFS, between the week-12 and week-18 scans, was one until scans
#: fell within their visit windows); four held-out predictions of CheckMate 067 (the
#: nivolumab + ipilimumab arm, ipilimumab's toxicity), which no parameter was tuned on.
MISSES: dict[tuple[str, str, str], str] = {
    ("melanoma", "nivolumab_ipilimumab", "ORR"): (
        "prediction: CheckMate 067 nivolumab + ipilimumab ORR 57.6% (52.0-63.2); the model "
        "gives 49.5% (44.5-54.5) on the populations re-selected with the draining lymph node "
        "(48.5% before it). Its nivolumab alone gives 47.8%: the model's CTLA-4 blockade adds "
        "little response to PD-1 blockade (suspects as for the PFS row)"
    ),
    ("melanoma", "nivolumab_ipilimumab", "median_PFS_months"): (
        "prediction: CheckMate 067 nivolumab + ipilimumab median PFS 11.5 months (8.9-16.7); "
        "the model gives 5.3 (4.3-5.5), barely more than its nivolumab alone (4.3, itself at the "
        "lower edge of CheckMate 067's 4.3-9.5). Not yet diagnosed; suspects: the model's CTLA-4 "
        "blockade acts only while its four doses last (priming, intratumoral Treg depletion); "
        "several lesions per patient (2026-12-02) left it at 4.3, priming in the draining lymph "
        "node with trafficking to the tumour (2026-12-03) moved it to 5.3"
    ),
    ("melanoma", "nivolumab_ipilimumab", "grade34_TRAE"): (
        "prediction: CheckMate 067 nivolumab + ipilimumab grade 3-4 treatment-related events "
        "55.0% (49.3-60.6); the model gives 22.9%: the CTLA-4 hazard is assumed equal to the "
        "PD-1 one per exposed day (no training row for it), and independent hazards cannot make "
        "the two blockades' synergistic toxicity"
    ),
    ("melanoma", "ipilimumab", "grade34_TRAE"): (
        "prediction: CheckMate 067 ipilimumab grade 3-4 treatment-related events 27.3% "
        "(22.5-32.6); the model gives 7.7%: the CTLA-4 hazard per exposed day is assumed equal "
        "to the PD-1 one (calibrated on nivolumab's 16.3%), and anti-CTLA-4 is the more toxic"
    ),
}


def _param(c: str, t, basis: str):
    return pytest.param(
        c,
        t.arm,
        t.endpoint,
        basis,
        id=f"{c}-{t.row}-{t.arm}-{t.endpoint}",
        marks=[pytest.mark.xfail(strict=True, reason=MISSES[(c, t.arm, t.endpoint)])]
        if (c, t.arm, t.endpoint) in MISSES
        else [],
    )


ROWS = [
    _param(c, t, basis)
    for c in ("melanoma", "rcc")
    for basis, items in (
        ("training", catalog.get_cohort(c).targets),
        ("prediction", catalog.get_cohort(c).predictions),
    )
    for t in items
]


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    out = tmp_path_factory.mktemp("validate")
    r = CliRunner().invoke(
        app, ["validate", "melanoma", "rcc", "--workers", "2", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    return r.output, pd.read_parquet(out / "validation.parquet"), out


@pytest.mark.parametrize(("cohort", "arm", "endpoint", "basis"), ROWS)
def test_training_row_is_reproduced_within_its_published_interval(
    validated, cohort, arm, endpoint, basis
):
    """Each training row, and each held-out prediction, inside its published interval."""
    _, table, _ = validated
    mine = table[(table.cohort == cohort) & (table.basis == basis)]
    row = mine[(mine.arm == arm) & (mine.endpoint == endpoint)]
    assert len(row) == 1
    r = row.iloc[0]
    assert r.published_low <= r.model <= r.published_high, r.to_dict()


def test_validation_matches_the_selection_record_and_reports_every_row(validated):
    """The shipped populations re-simulate to exactly what their selection recorded; the
    command prints and writes a row per target, and lists the rows it cannot reproduce."""
    output, table, out = validated
    leak = []  # grade 3-4 capillary leak: calibrated on both cohorts' high-dose arms pooled
    for cohort in ("melanoma", "rcc"):
        spec = catalog.get_cohort(cohort)
        vpop, record = catalog.virtual_population(cohort)
        mine = table[(table.cohort == cohort) & (table.basis == "training")]
        assert len(mine) == len(spec.targets)
        assert (mine.n_model == len(vpop)).all()
        for r in mine.itertuples():
            if r.endpoint == "grade34_vascular_leak":
                leak.append((r.model, r.n_model, r.published))
            elif r.endpoint in catalog.SAFETY_ENDPOINTS:  # hazards calibrated on the population
                assert r.model == pytest.approx(r.published, abs=5e-4)
            else:
                assert r.model == pytest.approx(record["achieved"][r.arm][r.endpoint])
        held_out = table[(table.cohort == cohort) & (table.basis == "prediction")]
        assert len(held_out) == len(spec.predictions)
        assert f"{cohort}: {int(mine.within.sum())}/{len(mine)} training rows" in output
    pooled = sum(m * n for m, n, _ in leak) / sum(n for _, n, _ in leak)
    # the threshold is kept to 3 significant digits (0.536)
    assert len(leak) == 2 and pooled == pytest.approx(leak[0][2], abs=2e-3)
    html = (out / "validation.html").read_text()
    assert "T6" in html and "dacarbazine: chemotherapy is not modelled" in html
    assert "Predictions (held out, never tuned to)" in html
    assert "melanoma: predictions (held out, never tuned to): 1/5 inside" in " ".join(
        output.split()
    )


def test_validate_refuses_unknown_cohorts_and_workers():
    r = CliRunner().invoke(app, ["validate", "glioma"])
    assert r.exit_code != 0 and "COHORT:" in r.output and "glioma" in r.output
    r = CliRunner().invoke(app, ["validate", "melanoma", "--workers", "0"])
    assert r.exit_code != 0 and "--workers must be between 1 and" in r.output
