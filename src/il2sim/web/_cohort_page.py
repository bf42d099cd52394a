"""The virtual-trial page: a small cohort run (arms given to the same virtual patients) with
progress and cancel; response table, Kaplan-Meier, waterfall and spider plots, downloads."""

from __future__ import annotations

import json

import streamlit as st

from il2sim import catalog, cohort, report
from il2sim.web._forms import WEB_MAX_PATIENTS, CohortRequest, cohort_request
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

_JOB = "cohort"


#: How the population choices read on the page.
POPULATION_LABELS = {
    "vpop": "the calibrated virtual population",
    "distribution": "the parameter distributions",
    "plausible": "the plausible ranges",
}


def cohort_page() -> None:
    st.title("Virtual trial")
    ss = st.session_state
    if interrupted(_JOB):
        st.warning(
            "The last trial stopped before it finished. Finished chunks of patients are kept "
            "and are reused when you run the same trial again."
        )
    messages = FieldMessages()
    left, right = st.columns([1, 2])
    with left:
        name = st.selectbox("Cohort", sorted(catalog.cohorts()), key="c_cohort")
        spec = catalog.get_cohort(name)
        st.caption(spec.description)
        arm_names = [a.name for a in spec.arms]
        default = [a for a in ("nivolumab",) if a in arm_names] or arm_names[:1]
        arms = st.multiselect("Arms", arm_names, default=default, key=f"c_arms_{name}")
        messages.place("arms")
        n = st.text_input(f"Virtual patients (1 to {WEB_MAX_PATIENTS})", value="20", key="c_n")
        messages.place("n")
        seed = st.text_input("Seed", value="1", key="c_seed")
        messages.place("seed")
        population = st.selectbox(
            "Patients from",
            list(cohort.POPULATIONS),
            format_func=lambda k: POPULATION_LABELS[k],
            key="c_population",
        )
        messages.place("population")
        run = st.button("Run trial", type="primary", key="c_run")
    with right:
        submit(
            run, messages, "c_errors", lambda: cohort_request(name, arms, n, seed, population), _run
        )
    result = ss.get("c_result")
    if result is not None:  # below the form, the page's full width
        _show(result)


def _run(req: CohortRequest) -> None:
    st.button("Cancel run", key="c_cancel")
    bar = st.progress(0.0, text="compiling the arm models")

    def tick(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"{done} of {total} patient-arms")

    out = work_dir(f"cohort_{req.spec.name}")
    try:
        with running(_JOB):
            result = cohort.run_cohort(
                req.spec,
                req.arms,
                n=req.n,
                seed=req.seed,
                population=req.population,
                out_dir=out,
                chunk_size=5,
                progress=tick,
            )
    except (catalog.CatalogError, catalog.RegimenError, ValueError) as e:
        show_error(f"{e} (finished chunks are kept)")
        return
    bar.progress(1.0, text=f"done: {len(result.patients)} patients x {len(req.arms)} arm(s)")
    st.session_state["c_result"] = result


def _show(result: cohort.CohortResult) -> None:
    summary = result.summary()
    st.subheader(f"{result.spec.name}: {summary['n_patients']} virtual patients")
    st.caption(
        "Arms marked calibrated reproduce the training rows named; every other arm is a prediction."
    )
    st.table(report.response_table(summary, result.spec).set_index("arm"))
    st.plotly_chart(report.km_plotly(result), width="stretch", key="c_km")
    if summary.get("comparison"):
        st.markdown("**Arms compared** (each against the first)")
        st.table(report.comparison_table(summary).set_index("arm"))
    for arm, s in summary["arms"].items():
        if s["n_evaluable"]:
            st.image(png(report.waterfall_spider_figure(result, arm)), width="stretch")
    downloads(
        "Patients", result.outcomes, json.dumps(summary, indent=2), f"{result.spec.name}_patients"
    )
