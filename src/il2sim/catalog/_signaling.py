"""Record for the fitted signaling parameters (cross-linking, transduction) and their fit."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from il2sim.catalog._schema import Sourced


class FitReport(BaseModel):
    """How well the calibration reproduced the data it was fitted to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_files: list[str]
    n_points: int
    r2_overall: float
    r2_by_cell_time: dict[str, dict[str, float]]
    ligands: list[str]
    command: str


class SignalingParams(BaseModel):
    """Parameters that turn receptor binding into pSTAT5.

    ``kx_nM_per_receptor``: effective local concentration (nM) one free receptor per cell adds
    for a second bond of a drug already bound to that cell (cross-linking constant).
    ``cooperativity``: extra factor for one IL-2 unit held by IL-2Ralpha and IL-2Rbeta/gamma-c
    together (the high-affinity trimer) over two independent bonds.
    ``k_half_complexes``: active IL-2Rbeta/gamma-c complexes per cell giving half-maximal
    pSTAT5 (saturating transduction). ``kon_per_nM_min``: association rate constant used by the
    kinetic model for every bond.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kx_nM_per_receptor: Sourced
    cooperativity: Sourced
    k_half_complexes: Sourced
    kon_per_nM_min: Sourced
    fit: FitReport | None = None
    notes: list[str] = Field(default_factory=list)
