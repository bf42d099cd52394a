"""Analyses over many simulations: global sensitivity (SALib Morris and Sobol, PRCC) of any
cohort readout to the cohort's varied parameters."""

from il2sim.analysis._sensitivity import METHODS, READOUTS, SensitivityResult, prcc, sensitivity

__all__ = ["METHODS", "READOUTS", "SensitivityResult", "prcc", "sensitivity"]
