"""Cell states and their dynamics, disease (tumour or virus) and toxicity indices, added to a
body network so that one SBML model carries drug, receptors, cells and disease together.

The network is built from motifs, one per biological process, each a function over a shared
:class:`Context` (in the order :data:`MOTIFS` lists them):

- ``cell_states``: every cell count becomes a state; its IL-2 proliferation signal is one law of
  the cell's absolute pSTAT5 (engaged IL-2Rbeta/gamma-c complexes), the same for every cell type.
- ``treg_suppression``: Tregs suppress effector proliferation in their location and, in a
  lymphoid disease site, withhold B7 costimulation (freed as they are depleted).
- ``antigen`` and ``exhaustion_and_programme``: tumour cells or a persistent virus give the
  site's antigen drive, which builds the exhaustion programme and programmed expansion.
- ``population_dynamics`` and ``antigen_specific_chain``: IL-2 expands the pools it reaches
  (capped, returning to baseline); antigen drives stem-like -> effector-like -> terminally
  exhausted CD8 T cells; PD-1 engagement lowers antigen-driven proliferation and killing and
  blockade (antibody or arm occupancy of PD-1 or PD-L1) lifts it; TCR and IL-2 signal together
  induce CD25 on stem-like and effector-like cells; IL-2 delivered with CD25 or in cis through a
  targeting arm drives their division and pushes progeny toward effector-like cells; PD-L1
  on infected or tumour cells follows interferon-gamma from engaged CD8 T cells and deepens
  the PD-1 brake on their killing (adaptive resistance).
- ``lymph_node_priming``: tumour-specific CD8 T cells are primed in the draining lymph node
  (anti-CTLA-4 and a vaccine act there), divide on the IL-2 lymphoid organs see, and reach the
  tumour's stem-like pool through blood; effector-like cells return by lymphatics.
- ``endogenous_il2``: antigen-stimulated T cells secrete IL-2.
- ``disease_dynamics``: tumours grow logistically and are killed by CD8 T cells (de Pillis et
  al. 2005) and NK cells; a persistent virus replicates and is cleared by CD8 T cells.
- ``toxicity_indices``: vascular leak and cytokine release.

Parameters: ``catalog/data/immunity/parameters.yaml``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from il2sim.model._body import BodyModel, sid
from il2sim.model._immunity._antigen import antigen, exhaustion_and_programme
from il2sim.model._immunity._cells import cell_states
from il2sim.model._immunity._context import DISEASES, Context, ImmuneModel
from il2sim.model._immunity._disease import disease_dynamics
from il2sim.model._immunity._il2 import endogenous_il2
from il2sim.model._immunity._lymph_node import lymph_node_priming
from il2sim.model._immunity._populations import antigen_specific_chain, population_dynamics
from il2sim.model._immunity._regulation import treg_suppression
from il2sim.model._immunity._toxicity import toxicity_indices

__all__ = ["DISEASES", "MOTIFS", "Context", "ImmuneModel", "add_immunity", "build_arm_model"]

#: The motifs an immune network is made of, in the order they are added.
MOTIFS: tuple[Callable[[Context], None], ...] = (
    cell_states,
    treg_suppression,
    antigen,
    exhaustion_and_programme,
    population_dynamics,
    lymph_node_priming,
    antigen_specific_chain,
    endogenous_il2,
    disease_dynamics,
    toxicity_indices,
)


def add_immunity(
    model: BodyModel,
    disease: str,
    *,
    disease_site: str | None = None,
    vaccine_times_h: tuple[float, ...] = (),
    treg_depletion_times_h: tuple[float, ...] = (),
    infection_time_h: float = 0.0,
    treatment_start_h: float = 0.0,
) -> ImmuneModel:
    """Make cell numbers dynamic and add ``disease`` in the body's tissue (tumour or infected
    organ; the first tissue unless ``disease_site``). A tumour or chronic infection is
    established at time 0; an acute infection starts at ``infection_time_h`` in a host whose
    antigen-specific cells are resting. ``vaccine_times_h`` and ``treg_depletion_times_h``: when
    a therapeutic vaccine primes, or Tregs are depleted, each for one day;
    ``treatment_start_h``: the state that induced PD-L1 on infected cells is measured from."""
    if disease not in DISEASES:
        raise ValueError(f"disease must be one of {', '.join(DISEASES)}, got {disease!r}")
    site = disease_site or (model.body.tissues[0].name if model.body.tissues else None)
    cx = Context(
        model,
        disease,
        site,
        ImmuneModel(disease),
        vaccine_times_h=tuple(vaccine_times_h),
        treg_depletion_times_h=tuple(treg_depletion_times_h),
        infection_time_h=infection_time_h,
        treatment_start_h=treatment_start_h,
    )
    for motif in MOTIFS:
        motif(cx)
    return cx.im


def build_arm_model(
    setting,
    arm,
    *,
    duration_days: float,
    run_in_days: float,
    endogenous_il2_sites: Collection[str] | None = None,
    short_infusions_as_bolus: bool = False,
) -> tuple[BodyModel, ImmuneModel]:
    """The full network of one arm of a therapy setting: body, drug, antibodies, endogenous
    IL-2, cells and disease. Treatment starts after ``run_in_days`` (time 0 of the model is the
    start of the run-in). ``endogenous_il2_sites``: the locations where endogenous IL-2 binds
    cells (None: everywhere); ``short_infusions_as_bolus``: see :func:`build_body_model`."""
    from il2sim.model._body import build_body_model

    model = build_body_model(
        arm.drug,
        arm.regimen,
        body=setting.body,
        weight_kg=setting.weight_kg,
        antibodies=[(a.antibody, a.regimen) for a in arm.antibodies],
        horizon_h=duration_days * 24.0,
        endogenous_il2=True,
        endogenous_il2_sites=endogenous_il2_sites,
        dose_offset_h=run_in_days * 24.0,
        short_infusions_as_bolus=short_infusions_as_bolus,
    )
    model.network.id = sid(f"il2sim_{setting.name}_{arm.name}")

    def hours(days) -> tuple[float, ...]:
        return tuple((run_in_days + d) * 24.0 for d in days)

    return model, add_immunity(
        model,
        setting.disease,
        vaccine_times_h=hours(arm.vaccine_days),
        treg_depletion_times_h=hours(arm.treg_depletion_days),
        infection_time_h=run_in_days * 24.0,
        treatment_start_h=run_in_days * 24.0,
    )
