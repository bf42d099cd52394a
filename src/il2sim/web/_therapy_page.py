"""The therapy page: a built-in scenario cut to one setting and the chosen arms (regimens
editable, the designed drug as an extra arm), run with progress and cancel, shown with the
report's figure and table, downloadable as CSV, Parquet, JSON and SBML."""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from il2sim import catalog, model, report, simulate
from il2sim.web._forms import DESIGN_ARM, drug_yaml, therapy_from_fields
from il2sim.web._widgets import (
    FieldMessages,
    downloads,
    interrupted,
    png,
    running,
    show_error,
    submit,
    work_dir,
)

_JOB = "therapy"


def _design_arm(messages: FieldMessages) -> tuple[str, str] | None:
    """(drug file, regimen) of the designed drug's arm, if the user adds it."""
    drug = st.session_state.get("designed_drug")
    if drug is None:
        st.caption("Design a drug on the Drug designer page to add it here as an arm.")
        return None
    if not st.checkbox(f"Add the designed drug ({drug.name}) as an arm", key="t_use_design"):
        return None
    regimen = st.text_input("Regimen of the designed drug", value="1 mg q1w", key="t_design_reg")
    messages.place(f"regimen:{DESIGN_ARM}")
    text = drug_yaml(drug)
    # named by content: a changed design is a new file, so no cached arm of the old one is reused
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    path = work_dir("drugs") / f"{drug.name}_{digest}.yaml"
    path.write_text(text)
    return str(path), regimen


def therapy_page() -> None:
    st.title("Therapy")
    ss = st.session_state
    if interrupted(_JOB):
        st.warning(
            "The last run stopped before it finished. Finished arms are kept and are reused "
            "when you run again."
        )
    messages = FieldMessages()
    left, right = st.columns([1, 2])
    with left:
        names = sorted(catalog.therapy_scenarios())
        sc = catalog.get_therapy_scenario(
            st.selectbox("Scenario", names, index=names.index("default"), key="t_scenario")
        )
        st.caption(sc.description)
        setting = st.selectbox("Setting", [s.name for s in sc.settings], key="t_setting")
        chosen = next(s for s in sc.settings if s.name == setting)
        st.caption(chosen.description)
        arm_names = [a.name for a in chosen.arms]
        arms = st.multiselect(
            "Arms", arm_names, default=arm_names[:2], key=f"t_arms_{sc.name}_{setting}"
        )
        messages.place("arms")
        regimens: dict[str, str | None] = {}
        for a in chosen.arms:
            if a.name in arms and a.drug is not None:
                regimens[a.name] = st.text_input(
                    f"Regimen of {a.name} ({a.drug})",
                    value=a.regimen,
                    key=f"t_reg_{sc.name}_{setting}_{a.name}",
                )
                messages.place(f"regimen:{a.name}")
        extra = _design_arm(messages)
        days = st.text_input(
            "Days of treatment", value=f"{sc.duration_days:g}", key=f"t_days_{sc.name}"
        )
        messages.place("duration_days")
        messages.place("")
        run = st.button("Run", type="primary", key="t_run")
    with right:
        submit(
            run,
            messages,
            "t_errors",
            lambda: therapy_from_fields(sc.name, setting, arms, regimens, days, designed=extra),
            _run,
        )
    result = ss.get("t_result")
    if result is not None:  # below the form, the page's full width
        _show(result)


def _run(scenario: catalog.TherapyScenario) -> None:
    st.button("Cancel run", key="t_cancel")
    bar = st.progress(0.0, text="starting")
    n = sum(len(s.arms) for s in scenario.settings)

    def tick(arm: str, done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total} arms ({arm})")

    try:
        with running(_JOB):
            result = simulate.run_therapy(
                scenario, workers=1, cache_dir=work_dir("therapy"), progress=tick
            )
    except simulate.RunFolderError as e:  # this session's folder is still in use
        show_error(str(e).removeprefix("--out: "))
        return
    except (simulate.SimulationError, catalog.CatalogError, catalog.RegimenError) as e:
        show_error(f"simulation failed (finished arms are kept): {e}")
        return
    bar.progress(1.0, text=f"done: {n} arms")
    st.session_state["t_result"] = result


def _show(result: simulate.TherapyResult) -> None:
    sc = result.scenario
    for setting in sc.settings:
        st.subheader(f"{sc.name}: {setting.name}")
        st.plotly_chart(
            report.therapy_plotly(result, setting.name),
            width="stretch",
            key=f"t_courses_{setting.name}",
        )
        st.image(png(report.comparison_figure(result, setting.name)), width="stretch")
        table = report.summary_table(result, setting.name)
        st.table(table.set_index("arm").map(lambda v: f"{v:.3g}" if isinstance(v, float) else v))
    summary = json.dumps({"scenario": sc.name, "arms": result.summary}, indent=2, default=float)
    downloads("Results", result.frame, summary, f"{sc.name}_results")
    setting = sc.settings[0]
    arm_name = st.selectbox("SBML of arm", [a.name for a in setting.arms], key="t_sbml_arm")
    arm = next(a for a in setting.arms if a.name == arm_name)
    st.download_button(
        f"SBML of {arm_name}",
        lambda: _sbml(sc, setting, arm),
        file_name=f"il2sim_{setting.name}_{arm_name}.xml",
        mime="application/xml",
        on_click="ignore",
    )


def _sbml(sc: catalog.TherapyScenario, setting: catalog.Setting, arm: catalog.Arm) -> str:
    body, _ = model.build_arm_model(
        setting, arm, duration_days=sc.duration_days, run_in_days=sc.run_in_days
    )
    return model.to_sbml(body.network)
