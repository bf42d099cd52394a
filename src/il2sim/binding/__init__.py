"""One cell type, one drug: receptor occupancy, active signaling complexes, pSTAT5, EC50s and
selectivity (equilibrium multivalent model, vectorised) and time courses (kinetic model with
receptor trafficking).
"""

from il2sim.binding._calibrate import (
    CalibrationResult,
    calibrate,
    load_pstat5_data,
    prediction_r2,
    write_params,
)
from il2sim.binding._crossval import CrossValidation, cross_validate, measured_ec50
from il2sim.binding._design import (
    KINDS,
    SIGNALING_KIND,
    Arm,
    BindingDesign,
    cell_receptor_vector,
)
from il2sim.binding._equilibrium import EquilibriumError, EquilibriumState, solve_equilibrium
from il2sim.binding._kinetic import (
    KINETIC_DOSES_nM,
    KineticError,
    KineticResult,
    Trafficking,
    kinetic_potency,
    simulate_kinetics,
)
from il2sim.binding._posterior import (
    Posterior,
    load_posterior,
    potency_intervals,
    sample_posterior,
    save_posterior,
    synthetic_pstat5,
)
from il2sim.binding._scheme import BindingScheme, binding_scheme
from il2sim.binding._signal import (
    POTENCY_DOSES_nM,
    Transduction,
    dose_response,
    ec50_emax,
    potency,
    selectivity,
)

__all__ = [
    "KINDS",
    "SIGNALING_KIND",
    "Arm",
    "BindingDesign",
    "BindingScheme",
    "CalibrationResult",
    "CrossValidation",
    "EquilibriumError",
    "EquilibriumState",
    "KINETIC_DOSES_nM",
    "KineticError",
    "KineticResult",
    "POTENCY_DOSES_nM",
    "Posterior",
    "Trafficking",
    "Transduction",
    "binding_scheme",
    "calibrate",
    "cell_receptor_vector",
    "cross_validate",
    "dose_response",
    "ec50_emax",
    "kinetic_potency",
    "load_posterior",
    "load_pstat5_data",
    "measured_ec50",
    "potency",
    "potency_intervals",
    "prediction_r2",
    "sample_posterior",
    "save_posterior",
    "selectivity",
    "simulate_kinetics",
    "solve_equilibrium",
    "synthetic_pstat5",
    "write_params",
]
