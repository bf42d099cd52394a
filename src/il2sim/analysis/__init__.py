"""Analyses over many simulations: global sensitivity (SALib Morris and Sobol, PRCC) of any
cohort readout to the cohort's varied parameters, and inverse design of drugs and regimens
under a toxicity limit."""

from il2sim.analysis._design import DesignResult, DesignSpace, design, pareto_front
from il2sim.analysis._sensitivity import METHODS, READOUTS, SensitivityResult, prcc, sensitivity

__all__ = [
    "METHODS",
    "READOUTS",
    "DesignResult",
    "DesignSpace",
    "SensitivityResult",
    "design",
    "pareto_front",
    "prcc",
    "sensitivity",
]
