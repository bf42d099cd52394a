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
from il2sim.cohort._run import ArmModel, CohortResult, build_arm, run_cohort
from il2sim.cohort._sample import correlation_matrix, sample_patients

__all__ = [
    "ArmModel",
    "Assessment",
    "CohortResult",
    "Rate",
    "assess",
    "build_arm",
    "correlation_matrix",
    "kaplan_meier",
    "rate",
    "response_rates",
    "run_cohort",
    "sample_patients",
    "sld_mm",
]
