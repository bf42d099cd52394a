"""The catalog: every shipped entry loads and carries its sources; user files are validated
with messages that name the field."""

from pathlib import Path

import pytest

from il2sim import catalog
from il2sim.catalog import USER_SOURCE, CatalogError, get_cell, get_drug, load_drug_file

REQUIRED_DRUGS = {
    "aldesleukin", "il15", "il2v", "super2", "n88d_fc", "bempegaldesleukin", "nemvaleukin",
    "il2_s4b6_complex", "il2_jes61_complex", "anv419", "l19_il2", "pd1_il2v", "pdl1_il2v",
    "fc_wt_nterm_mono", "fc_wt_nterm_biv", "fc_r38q_nterm_mono", "fc_r38q_nterm_biv",
    "fc_h16n_nterm_mono", "fc_h16n_nterm_biv", "fc_r38q_h16n_biv",
}  # fmt: skip
REQUIRED_CELLS = {
    "treg", "cd4_helper", "cd8_naive", "cd8_memory", "nk", "cd8_stem_like", "cd8_effector_like",
    "cd8_terminal_exhausted", "endothelium_cd25", "mouse_treg", "mouse_nk",
    "mouse_cd8_stem_like", "mouse_cd8_terminal_exhausted",
}  # fmt: skip


def test_required_entries_present() -> None:
    assert set(catalog.drugs()) >= REQUIRED_DRUGS
    assert set(catalog.cells()) >= REQUIRED_CELLS


@pytest.mark.parametrize("name", sorted(catalog.drugs()))
def test_every_drug_number_is_sourced(name: str) -> None:
    for path, num in catalog.drugs()[name].sourced_numbers():
        assert num.source != USER_SOURCE, f"{name}.{path} has no source"
        if num.is_assumption:
            assert num.range is not None, f"{name}.{path}: assumption without range"


@pytest.mark.parametrize("name", sorted(catalog.cells()))
def test_every_cell_number_is_sourced(name: str) -> None:
    cell = catalog.cells()[name]
    assert cell.sourced_numbers(), f"{name} has no receptors"
    for path, num in cell.sourced_numbers():
        assert num.source != USER_SOURCE, f"{name}.{path} has no source"


def test_il2rbeta_disagreement_kept_as_range() -> None:
    # Two releases of the Meyer-lab counts differ ~3-fold for IL-2Rbeta on Treg and NK.
    lo, hi = get_cell("treg").receptors_per_cell["IL2RB"].range
    assert hi / lo >= 3
    lo, hi = get_cell("nk").receptors_per_cell["IL2RB"].range
    assert hi / lo >= 1.8


def test_pd1_blockade_raises_cd25_on_stem_like_cells() -> None:
    cell = get_cell("cd8_stem_like")
    assert cell.receptor_counts(pd1_blockade=True)["IL2RA"] > cell.receptor_counts()["IL2RA"]


def test_minimal_user_drug(tmp_path: Path) -> None:
    f = tmp_path / "my.yaml"
    f.write_text("name: my_mutein\nvalency: 2\nkd_il2ra_nM: null\nkd_il2rbg_nM: 3.5\n")
    drug = load_drug_file(f)
    assert drug.valency.value == 2
    assert drug.kd_il2rbg_nM.source == USER_SOURCE
    assert get_drug(str(f)).name == "my_mutein"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: x\nvalency: 1\nkd_il2ra_nM: -1\nkd_il2rbg_nM: 1\n",
            "field 'kd_il2ra_nM': kd_il2ra_nM must be > 0 (got -1.0)",
        ),
        (
            "name: x\nvalency: 1\nkd_il2ra_nM: 1\nkd_il2rbg_nM: 1\ncolour: red\n",
            "field 'colour': unknown field",
        ),
        (
            "name: x\nkd_il2ra_nM: 1\nkd_il2rbg_nM: 1\n",
            "field 'valency': required field is missing",
        ),
        (
            "name: x\nvalency: 7\nkd_il2ra_nM: 1\nkd_il2rbg_nM: 1\n",
            "field 'valency': valency must be a whole number from 1 to 4 (got 7.0)",
        ),
        (
            "name: x\nvalency: 1\nkd_il2ra_nM: null\nkd_il2rbg_nM: null\n",
            "a drug must bind at least one IL-2 pathway receptor",
        ),
        (
            "name: x\nvalency: 1\nkd_il2ra_nM: {value: 3, source: 'assumption: guess'}\n"
            "kd_il2rbg_nM: 1\n",
            "an assumption must give a plausible range",
        ),
        ("- just\n- a list\n", "expected a mapping of fields"),
    ],
)
def test_bad_user_drug_is_refused_with_field_named(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(CatalogError) as err:
        load_drug_file(f)
    assert message in str(err.value)
    assert str(f) in str(err.value)


def test_unknown_names_list_what_exists() -> None:
    with pytest.raises(CatalogError, match=r"unknown drug 'nope'; known drugs: .*aldesleukin"):
        get_drug("nope")
    with pytest.raises(CatalogError, match=r"unknown cell 'nope'; known cells: .*treg"):
        get_cell("nope")
    with pytest.raises(CatalogError, match="cell 'treg' is human, not mouse"):
        get_cell("treg", species="mouse")


def test_fitted_signaling_parameters_name_their_data() -> None:
    p = catalog.signaling_params()
    for num in (p.kx_nM_per_receptor, p.cooperativity, p.k_half_complexes):
        assert num.source.startswith("fitted to data/meyer_lab/pstat5_pbmc_main.csv")


def test_meyer_relative_il2rbg_unit_is_accepted_and_converted(tmp_path) -> None:
    """The Meyer-lab IL2RBGKD column (native IL-2 = 0.133) pasted as kd_il2rbg_meyer_relative
    becomes nM by value / 0.133 x 1 nM; the shipped Fc fusions are given that way and match
    the lab's table; giving both units is refused by name."""
    import pandas as pd
    import yaml

    from il2sim import catalog

    table = pd.read_csv(catalog.DATA_DIR / "meyer_lab" / "mutein_affinities_nM.csv")
    rel = dict(zip(table.Mutein, table.IL2RBGKD, strict=True))
    assert catalog.get_drug("fc_h16n_nterm_biv").kd_il2rbg_nM.value == pytest.approx(
        rel["H16N N-term"] / 0.133
    )
    assert catalog.get_drug("fc_wt_nterm_mono").kd_il2rbg_nM.value == pytest.approx(
        rel["WT N-term"] / 0.133
    )
    drug = {
        "name": "my_mutein",
        "valency": 2,
        "kd_il2ra_nM": {"value": 0.71, "source": "lab table"},
        "kd_il2rbg_meyer_relative": {"value": 22.35, "source": "lab table row R38Q/H16N"},
    }
    path = tmp_path / "my_mutein.yaml"
    path.write_text(yaml.safe_dump(drug))
    got = catalog.get_drug(str(path)).kd_il2rbg_nM
    assert got.value == pytest.approx(168.045, rel=1e-4)
    assert "native IL-2 = 0.133" in got.source and got.source.startswith("lab table row")
    path.write_text(yaml.safe_dump({**drug, "kd_il2rbg_nM": 168.0}))
    with pytest.raises(catalog.CatalogError, match="give kd_il2rbg_nM or kd_il2rbg_meyer_relative"):
        catalog.get_drug(str(path))
