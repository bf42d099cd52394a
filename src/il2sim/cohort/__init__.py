"""Virtual patients: parameter distributions and sampling, plausible-patient selection against
published response rates (Allen et al. 2016), parallel and resumable cohort runs (Dask), and
responses by RECIST 1.1 with toxicity grades."""

from il2sim.cohort._compare import compare_arms, hazard_ratio, logrank_p
from il2sim.cohort._recist import (
    Assessment,
    PatientLesions,
    Rate,
    assess,
    assess_sld,
    kaplan_meier,
    patient_lesions,
    rate,
    response_rates,
    sld_mm,
)
from il2sim.cohort._run import (
    ENGINES,
    ArmModel,
    CohortResult,
    SchedulerError,
    arm_engine,
    build_arm,
    check_request,
    run_cohort,
)
from il2sim.cohort._sample import (
    POPULATIONS,
    correlation_matrix,
    draw_patients,
    perturb_patients,
    sample_patients,
)
from il2sim.cohort._select import Selection, calibrate, select_virtual_population
from il2sim.cohort._uncertainty import ENDPOINTS, cohort_intervals
from il2sim.cohort._validate import Validation, check_rows, compare, validate

__all__ = [
    "ENDPOINTS",
    "ENGINES",
    "POPULATIONS",
    "ArmModel",
    "Assessment",
    "CohortResult",
    "PatientLesions",
    "Rate",
    "SchedulerError",
    "Selection",
    "Validation",
    "arm_engine",
    "assess",
    "assess_sld",
    "build_arm",
    "calibrate",
    "check_request",
    "check_rows",
    "cohort_intervals",
    "compare",
    "compare_arms",
    "correlation_matrix",
    "draw_patients",
    "hazard_ratio",
    "kaplan_meier",
    "logrank_p",
    "patient_lesions",
    "perturb_patients",
    "rate",
    "response_rates",
    "run_cohort",
    "sample_patients",
    "select_virtual_population",
    "sld_mm",
    "validate",
]
