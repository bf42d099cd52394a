"""Virtual patients: parameter distributions and sampling, plausible-patient selection against
published response rates (Allen et al. 2016), parallel and resumable cohort runs (Dask), and
responses by RECIST 1.1 with toxicity grades."""

from il2sim.cohort._recist import (
    Assessment,
    Rate,
    assess,
    kaplan_meier,
    rate,
    response_rates,
    sld_mm,
)
from il2sim.cohort._run import (
    ArmModel,
    CohortResult,
    SchedulerError,
    build_arm,
    check_request,
    run_cohort,
)
from il2sim.cohort._sample import POPULATIONS, correlation_matrix, draw_patients, sample_patients
from il2sim.cohort._select import Selection, calibrate, select_virtual_population

__all__ = [
    "POPULATIONS",
    "ArmModel",
    "Assessment",
    "CohortResult",
    "Rate",
    "SchedulerError",
    "Selection",
    "assess",
    "build_arm",
    "calibrate",
    "check_request",
    "correlation_matrix",
    "draw_patients",
    "kaplan_meier",
    "rate",
    "response_rates",
    "run_cohort",
    "sample_patients",
    "select_virtual_population",
    "sld_mm",
]
