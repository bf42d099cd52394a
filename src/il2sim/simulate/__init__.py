"""Run networks with libRoadRunner (dosing events, batches through one compiled model),
non-compartmental analysis, and the drug-exposure entry point :func:`pk`."""

from il2sim.simulate._engine import SimulationError, Simulator, Trajectory
from il2sim.simulate._external import dose_sbml
from il2sim.simulate._nca import Exposure, exposure, half_lives
from il2sim.simulate._pk import PKResult, pk, pk_scenario
from il2sim.simulate._reference import ReferenceSimulator
from il2sim.simulate._therapy import TherapyResult, run_arm, run_therapy

__all__ = [
    "Exposure",
    "PKResult",
    "ReferenceSimulator",
    "SimulationError",
    "Simulator",
    "TherapyResult",
    "Trajectory",
    "dose_sbml",
    "exposure",
    "half_lives",
    "pk",
    "pk_scenario",
    "run_arm",
    "run_therapy",
]
