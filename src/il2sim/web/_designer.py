"""The designer page: a drug from its Kd values, valency, targeting arm and format; live
pSTAT5 dose-responses per cell type against a reference drug, the EC50 and selectivity table,
and the drug's exposure after a regimen."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from il2sim import catalog, report, simulate
from il2sim.catalog import TARGETS
from il2sim.web._forms import (
    FORMATS,
    DesignFields,
    FormError,
    check_regimen,
    drug_from_fields,
    drug_yaml,
    parse_number,
)
from il2sim.web._widgets import FieldMessages, png, show_error

_KEYS = {
    "name": "d_name",
    "kind": "d_kind",
    "valency": "d_valency",
    "kd_il2ra_nM": "d_kd_il2ra",
    "kd_il2rbg_nM": "d_kd_il2rbg",
    "arm_target": "d_arm_target",
    "arm_count": "d_arm_count",
    "arm_kd_nM": "d_arm_kd",
}
_NO_ARM = "none"


def _fill_from(drug_name: str) -> None:
    """Copy a catalog drug's values into the fields (the 'start from' choice)."""
    f = DesignFields.from_drug(catalog.get_drug(drug_name))
    ss = st.session_state
    for attr, key in _KEYS.items():
        ss[key] = getattr(f, attr)
    ss["d_binds_alpha"] = f.kd_il2ra_nM is not None
    if f.kd_il2ra_nM is None:
        ss["d_kd_il2ra"] = "10"
    ss["d_arm_target"] = f.arm_target or _NO_ARM


def _cells_of(species: str) -> list[str]:
    return sorted(n for n, c in catalog.cells().items() if c.species == species)


def _default_cells(species: str) -> list[str]:
    prefix = "" if species == "human" else "mouse_"
    have = set(_cells_of(species))
    return [f"{prefix}{c}" for c in report.DEMO_CELLS if f"{prefix}{c}" in have]


@st.cache_data(max_entries=64, show_spinner=False)
def _compare(drug_json: str, reference: str, cells: tuple[str, ...], blockade: bool):
    drug = catalog.Drug.model_validate_json(drug_json)
    table = report.compare_potency(drug, reference, cells, pd1_blockade=blockade)
    fig = report.compare_dose_response_figure(drug, reference, cells, pd1_blockade=blockade)
    return png(fig), table


def _format_table(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in out.columns[1:]:
        out[col] = out[col].map(lambda v: f"{v:.3g}")
    return out.set_index("cell")


def designer_page() -> None:
    st.title("Drug designer")
    st.caption(
        "Equilibrium multivalent binding on each cell type (receptor numbers from the catalog) "
        "and pSTAT5 through the transduction fitted to the Meyer-lab PBMC data. Kd in nM."
    )
    ss = st.session_state
    if "d_kd_il2rbg" not in ss:
        ss["d_start"] = "aldesleukin"
        _fill_from("aldesleukin")

    left, right = st.columns([1, 2])
    with left:
        st.selectbox(
            "Start from a catalog drug",
            sorted(catalog.drugs()),
            key="d_start",
            on_change=lambda: _fill_from(ss["d_start"]),
        )
        messages = FieldMessages()
        st.text_input("Name", key="d_name")
        messages.place("name")
        st.selectbox("Format (sets the half-life)", FORMATS, key="d_kind")
        disp = catalog.dispositions()[catalog.disposition_catalog().by_kind[ss["d_kind"]]]
        st.caption(f"disposition class: {disp.name} ({disp.description[:120]})")
        st.text_input("Valency (IL-2 units per molecule)", key="d_valency")
        messages.place("valency")
        st.checkbox("Binds IL-2Ralpha (CD25)", key="d_binds_alpha")
        st.text_input("Kd to IL-2Ralpha (nM)", key="d_kd_il2ra", disabled=not ss["d_binds_alpha"])
        messages.place("kd_il2ra_nM")
        st.text_input("Kd to IL-2Rbeta/gamma-c (nM)", key="d_kd_il2rbg")
        messages.place("kd_il2rbg_nM")
        messages.place("")
        st.selectbox("Targeting arm", (_NO_ARM, *TARGETS), key="d_arm_target")
        has_arm = ss["d_arm_target"] != _NO_ARM
        st.text_input("Arms per molecule", key="d_arm_count", disabled=not has_arm)
        messages.place("arms.0.count")
        st.text_input("Kd of the targeting arm (nM)", key="d_arm_kd", disabled=not has_arm)
        messages.place("arms.0.kd_nM")
        st.divider()
        species = st.radio("Species", ("human", "mouse"), horizontal=True, key="d_species")
        if ss.get("d_cells_species") != species:
            ss["d_cells"] = _default_cells(species)
            ss["d_cells_species"] = species
        cells = st.multiselect("Cell types", _cells_of(species), key="d_cells")
        reference = st.selectbox(
            "Reference drug",
            sorted(catalog.drugs()),
            index=sorted(catalog.drugs()).index("aldesleukin"),
            key="d_reference",
        )
        blockade = st.checkbox("With PD-1 blockade (receptor changes)", key="d_blockade")

    fields = DesignFields(
        name=ss["d_name"],
        kind=ss["d_kind"],
        valency=ss["d_valency"],
        kd_il2ra_nM=ss["d_kd_il2ra"] if ss["d_binds_alpha"] else None,
        kd_il2rbg_nM=ss["d_kd_il2rbg"],
        arm_target=ss["d_arm_target"] if has_arm else None,
        arm_count=ss["d_arm_count"],
        arm_kd_nM=ss["d_arm_kd"],
    )
    try:
        drug = drug_from_fields(fields)
        messages.show({})
    except FormError as e:
        drug = None
        messages.show(e.errors)

    with right:
        if drug is None:
            st.warning("Fix the fields marked on the left; the curves show the last valid design.")
            drug = ss.get("designed_drug")
        if drug is None:
            return
        ss["designed_drug"] = drug
        if not cells:
            st.info("Choose at least one cell type.")
            return
        image, table = _compare(drug.model_dump_json(), reference, tuple(cells), blockade)
        st.image(image, caption="pSTAT5 dose-response", width="stretch")
        st.subheader("EC50 and selectivity")
        st.table(_format_table(table))
        st.caption(
            "EC50 / reference EC50 above 1: weaker than the reference on that cell. "
            "Selectivity vs Treg above 1: the cell responds at lower dose than Tregs."
        )
        st.download_button(
            "Download the drug (YAML)",
            drug_yaml(drug),
            file_name=f"{drug.name}.yaml",
            mime="text/yaml",
        )
        _exposure(drug, species)


def _exposure(drug: catalog.Drug, species: str) -> None:
    with st.expander("Exposure after a regimen (whole-body PK with target-mediated disposition)"):
        regimen = st.text_input(
            "Regimen", value="1 mg IV" if species == "human" else "5 ug IV", key="d_regimen"
        )
        days = st.text_input("Days to simulate", value="7", key="d_pk_days")
        if not st.button("Simulate exposure", key="d_pk_run"):
            return
        try:
            check_regimen(regimen, drug)
            dur = parse_number(days, "days", minimum=0, maximum=365)
        except FormError as e:
            for msg in e.errors.values():
                show_error(msg)
            return
        body = "human_adult" if species == "human" else "mouse_adult"
        with st.spinner("simulating"):
            try:
                res = simulate.pk(drug, regimen, body=body, duration_h=dur * 24.0)
            except (catalog.CatalogError, catalog.RegimenError, ValueError) as e:
                show_error(str(e))
                return
        expo = res.exposure[drug.name]
        half = expo.t_half_beta_min
        st.write(
            f"Cmax {expo.cmax:.3g} ng/mL, AUC {expo.auc:.3g} ng·h/mL, terminal half-life "
            + (f"{half / 60:.3g} h" if half else "not estimable")
        )
        st.image(png(report.pk_figure(res)), width="stretch")
