"""Curated, sourced data: drugs, cell populations and fitted signaling parameters.

Every number is a :class:`Sourced` value (value + source or ``assumption: why`` with a range).
"""

from il2sim.catalog._load import (
    CatalogError,
    cells,
    drugs,
    get_cell,
    get_drug,
    load_drug_file,
    parse_record,
    signaling_params,
    signaling_params_path,
)
from il2sim.catalog._schema import (
    CELL_RECEPTORS,
    TARGETS,
    USER_SOURCE,
    Cell,
    Drug,
    ProdrugState,
    Sourced,
    TargetingArm,
)
from il2sim.catalog._signaling import FitReport, SignalingParams

__all__ = [
    "CELL_RECEPTORS",
    "TARGETS",
    "USER_SOURCE",
    "CatalogError",
    "Cell",
    "Drug",
    "FitReport",
    "ProdrugState",
    "SignalingParams",
    "Sourced",
    "TargetingArm",
    "cells",
    "drugs",
    "get_cell",
    "get_drug",
    "load_drug_file",
    "parse_record",
    "signaling_params",
    "signaling_params_path",
]
