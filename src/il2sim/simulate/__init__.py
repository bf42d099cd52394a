"""Run networks with libRoadRunner (dosing events, batches through one compiled model) or,
for large trial models, CVODES with sparse linear algebra (:class:`SparseSimulator`),
non-compartmental analysis, and the drug-exposure entry point :func:`pk`."""

from il2sim.simulate._dataset import SubjectResult, simulate_subjects, simulated_dataset
from il2sim.simulate._engine import SimulationError, Simulator, Trajectory, compiled_model_cache
from il2sim.simulate._external import dose_sbml
from il2sim.simulate._grades import (
    GRADE34_THRESHOLDS,
    SUSCEPTIBILITY_SD,
    calibrate_grade34_threshold,
    grade34_probability,
)
from il2sim.simulate._nca import (
    DosingInterval,
    Exposure,
    cumulative_auc,
    dosing_intervals,
    exposure,
    format_duration_h,
    half_lives,
    terminal_slope,
)
from il2sim.simulate._pk import PKResult, engagement_intervals, pk, pk_scenario
from il2sim.simulate._processes import MAX_WORKERS, die_with_parent, kill_when_parent_dies
from il2sim.simulate._reference import ReferenceSimulator
from il2sim.simulate._sparse import SparseSimulator
from il2sim.simulate._store import (
    RunFolderError,
    RunStore,
    atomic_write_bytes,
    check_output_folder,
    fingerprint,
    source_digest,
    write_results,
)
from il2sim.simulate._therapy import (
    TherapyResult,
    draw_interval,
    posterior_draws,
    run_arm,
    run_therapy,
    therapy_intervals,
)

__all__ = [
    "GRADE34_THRESHOLDS",
    "MAX_WORKERS",
    "SUSCEPTIBILITY_SD",
    "DosingInterval",
    "Exposure",
    "PKResult",
    "ReferenceSimulator",
    "RunFolderError",
    "RunStore",
    "SimulationError",
    "Simulator",
    "SparseSimulator",
    "SubjectResult",
    "TherapyResult",
    "Trajectory",
    "atomic_write_bytes",
    "calibrate_grade34_threshold",
    "check_output_folder",
    "compiled_model_cache",
    "cumulative_auc",
    "die_with_parent",
    "dose_sbml",
    "dosing_intervals",
    "draw_interval",
    "engagement_intervals",
    "exposure",
    "fingerprint",
    "format_duration_h",
    "grade34_probability",
    "half_lives",
    "kill_when_parent_dies",
    "pk",
    "pk_scenario",
    "posterior_draws",
    "run_arm",
    "run_therapy",
    "simulate_subjects",
    "simulated_dataset",
    "source_digest",
    "terminal_slope",
    "therapy_intervals",
    "write_results",
]
