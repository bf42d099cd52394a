"""Analyses over many simulations: fitting PEtab problems (pyPESTO's optimisers and sampler)
with profile likelihoods (and the signaling calibration exported as one), global sensitivity
(SALib Morris and Sobol, PRCC) of any cohort readout to the cohort's varied parameters, and
inverse design of drugs and regimens under a toxicity limit."""

from il2sim.analysis._design import DesignResult, DesignSpace, design, pareto_front
from il2sim.analysis._petab import (
    PROFILE_THRESHOLD,
    FitResult,
    PetabError,
    PetabObjective,
    fit,
    lint,
    profile,
)
from il2sim.analysis._pypesto import OPTIMIZERS, Posterior, sample_posterior, to_pypesto
from il2sim.analysis._sensitivity import METHODS, READOUTS, SensitivityResult, prcc, sensitivity
from il2sim.analysis._signaling_petab import (
    condition_values,
    signaling_model,
    signaling_petab,
)

__all__ = [
    "METHODS",
    "OPTIMIZERS",
    "PROFILE_THRESHOLD",
    "READOUTS",
    "DesignResult",
    "DesignSpace",
    "FitResult",
    "PetabError",
    "PetabObjective",
    "Posterior",
    "SensitivityResult",
    "condition_values",
    "design",
    "fit",
    "lint",
    "pareto_front",
    "prcc",
    "profile",
    "sample_posterior",
    "sensitivity",
    "signaling_model",
    "signaling_petab",
    "to_pypesto",
]
