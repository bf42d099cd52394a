"""Run networks with libRoadRunner (dosing events, batches through one compiled model),
non-compartmental analysis, and the drug-exposure entry point :func:`pk`."""

from il2sim.simulate._engine import SimulationError, Simulator, Trajectory
from il2sim.simulate._external import dose_sbml
from il2sim.simulate._nca import Exposure, exposure, half_lives
from il2sim.simulate._pk import PKResult, pk, pk_scenario
from il2sim.simulate._processes import MAX_WORKERS, die_with_parent, kill_when_parent_dies
from il2sim.simulate._reference import ReferenceSimulator
from il2sim.simulate._store import (
    RunFolderError,
    RunStore,
    atomic_write_bytes,
    check_output_folder,
    fingerprint,
    source_digest,
    write_results,
)
from il2sim.simulate._therapy import TherapyResult, run_arm, run_therapy

__all__ = [
    "MAX_WORKERS",
    "Exposure",
    "PKResult",
    "ReferenceSimulator",
    "RunFolderError",
    "RunStore",
    "SimulationError",
    "Simulator",
    "TherapyResult",
    "Trajectory",
    "atomic_write_bytes",
    "check_output_folder",
    "die_with_parent",
    "dose_sbml",
    "exposure",
    "fingerprint",
    "half_lives",
    "kill_when_parent_dies",
    "pk",
    "pk_scenario",
    "run_arm",
    "run_therapy",
    "source_digest",
    "write_results",
]
