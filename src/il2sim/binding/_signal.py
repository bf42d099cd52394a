"""From binding to pSTAT5: dose-responses, EC50/Emax and selectivity, vectorised over
drugs x cells x doses.

Active complexes are IL-2Rbeta/gamma-c pairs engaged by an IL-2 unit. pSTAT5 saturates with
them: ``pstat5 = A^h / (A^h + K^h)`` (fraction of the cell's maximal response), ``K`` =
``k_half_complexes`` from the calibration. Cells with few IL-2Rbeta/gamma-c cannot reach full
pSTAT5: Emax differs between cell types as a consequence, not as a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from il2sim.binding._design import (
    SIGNALING_KIND,
    BindingDesign,
    as_design,
    cell_receptor_vector,
    design_arrays,
    group_by_layout,
    kinds_used,
)
from il2sim.binding._equilibrium import solve_equilibrium
from il2sim.catalog import Cell, Drug, SignalingParams, get_cell, get_drug, signaling_params

#: Dose grid used for EC50/Emax: 1e-7 to 1e5 nM, 12 points per decade.
POTENCY_DOSES_nM = np.logspace(-7, 5, 12 * 12 + 1)


@dataclass(frozen=True)
class Transduction:
    """The numbers that turn binding into pSTAT5 (taken from :class:`SignalingParams`)."""

    kx_nM_per_receptor: float
    cooperativity: float
    k_half_complexes: float
    hill: float = 1.0

    @classmethod
    def from_params(cls, params: SignalingParams | None = None) -> Transduction:
        p = params or signaling_params()
        return cls(p.kx_nM_per_receptor.value, p.cooperativity.value, p.k_half_complexes.value)

    def pstat5(self, active_complexes: np.ndarray) -> np.ndarray:
        a = np.power(np.maximum(active_complexes, 0.0), self.hill)
        return a / (a + self.k_half_complexes**self.hill)


DrugLike = Drug | BindingDesign | str
CellLike = Cell | str


def _designs(drugs: Sequence[DrugLike]) -> list[BindingDesign]:
    return [as_design(get_drug(d) if isinstance(d, str) else d) for d in drugs]


def _cells(cells: Sequence[CellLike]) -> list[Cell]:
    return [get_cell(c) for c in cells]


def active_complexes(
    designs: Sequence[BindingDesign],
    receptor_matrix: np.ndarray,
    kinds: Sequence[str],
    doses_nM: np.ndarray,
    tr: Transduction,
) -> tuple[np.ndarray, np.ndarray]:
    """Active complexes and bound drug per cell on the full grid, shape (D, C, K).

    ``receptor_matrix`` is (C, J) over ``kinds``.
    """
    doses = np.asarray(doses_nM, dtype=float)
    D, C, K = len(designs), receptor_matrix.shape[0], doses.size
    j_sig = list(kinds).index(SIGNALING_KIND)
    active = np.zeros((D, C, K))
    bound = np.zeros((D, C, K))
    for idx in group_by_layout(designs).values():
        site_unit, mult, aff = design_arrays([designs[i] for i in idx], kinds)
        state = solve_equilibrium(
            doses[None, None, :],
            mult[:, None, None, :],
            aff[:, None, None, :, :],
            receptor_matrix[None, :, None, :],
            tr.kx_nM_per_receptor,
            site_unit=site_unit,
            cooperativity=tr.cooperativity,
        )
        active[idx] = state.bound_receptors[:, j_sig].reshape(len(idx), C, K)
        bound[idx] = state.bound_ligand.reshape(len(idx), C, K)
    return active, bound


def dose_response(
    drugs: Sequence[DrugLike],
    cells: Sequence[CellLike],
    doses_nM: Sequence[float] | np.ndarray,
    *,
    params: SignalingParams | None = None,
    pd1_blockade: bool = False,
) -> pd.DataFrame:
    """pSTAT5 and binding of each drug on each cell at each dose (long table).

    Columns: drug, cell, dose_nM, active_complexes_per_cell, bound_drug_per_cell, pstat5
    (fraction of the maximal response).
    """
    designs = _designs(drugs)
    cell_objs = _cells(cells)
    doses = np.asarray(doses_nM, dtype=float)
    if doses.ndim != 1 or np.any(doses < 0) or not np.all(np.isfinite(doses)):
        raise ValueError("doses_nM must be a 1-D list of finite concentrations >= 0 (nM)")
    tr = Transduction.from_params(params)
    kinds = kinds_used(designs)
    rmat = np.stack([cell_receptor_vector(c, kinds, pd1_blockade=pd1_blockade) for c in cell_objs])
    active, bound = active_complexes(designs, rmat, kinds, doses, tr)
    D, C, K = active.shape
    return pd.DataFrame(
        {
            "drug": np.repeat([d.name for d in designs], C * K),
            "cell": np.tile(np.repeat([c.name for c in cell_objs], K), D),
            "dose_nM": np.tile(doses, D * C),
            "active_complexes_per_cell": active.ravel(),
            "bound_drug_per_cell": bound.ravel(),
            "pstat5": tr.pstat5(active).ravel(),
        }
    )


def ec50_emax(doses_nM: np.ndarray, response: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EC50 (interpolated in log dose on the rising side) and Emax along the last axis.

    Emax is the largest response on the grid (a multivalent drug can fall again at high dose);
    EC50 is the lowest dose reaching half of it. Where Emax is below 1e-6 the EC50 is ``inf``.
    """
    resp = np.asarray(response, dtype=float)
    emax = resp.max(axis=-1)
    half = emax[..., None] / 2.0
    above = resp >= half
    first = np.argmax(above, axis=-1)
    logd = np.log10(doses_nM)
    i1 = np.clip(first, 1, resp.shape[-1] - 1)
    i0 = i1 - 1
    y0 = np.take_along_axis(resp, i0[..., None], -1)[..., 0]
    y1 = np.take_along_axis(resp, i1[..., None], -1)[..., 0]
    frac = np.where(y1 > y0, (half[..., 0] - y0) / np.where(y1 > y0, y1 - y0, 1.0), 0.0)
    log_ec50 = logd[i0] + np.clip(frac, 0, 1) * (logd[i1] - logd[i0])
    log_ec50 = np.where(first == 0, logd[0], log_ec50)
    ec50 = np.where(emax > 1e-6, 10.0**log_ec50, np.inf)
    return ec50, emax


def potency(
    drugs: Sequence[DrugLike],
    cells: Sequence[CellLike],
    *,
    params: SignalingParams | None = None,
    pd1_blockade: bool = False,
) -> pd.DataFrame:
    """EC50 (nM) and Emax (fraction of maximal pSTAT5) of each drug on each cell.

    Columns: drug, cell, ec50_nM, emax.
    """
    designs = _designs(drugs)
    cell_objs = _cells(cells)
    tr = Transduction.from_params(params)
    kinds = kinds_used(designs)
    rmat = np.stack([cell_receptor_vector(c, kinds, pd1_blockade=pd1_blockade) for c in cell_objs])
    active, _ = active_complexes(designs, rmat, kinds, POTENCY_DOSES_nM, tr)
    ec50, emax = ec50_emax(POTENCY_DOSES_nM, tr.pstat5(active))
    D, C = ec50.shape
    return pd.DataFrame(
        {
            "drug": np.repeat([d.name for d in designs], C),
            "cell": np.tile([c.name for c in cell_objs], D),
            "ec50_nM": ec50.ravel(),
            "emax": emax.ravel(),
        }
    )


def selectivity(
    drug: DrugLike,
    cell_a: CellLike,
    cell_b: CellLike,
    *,
    params: SignalingParams | None = None,
    pd1_blockade: bool = False,
) -> float:
    """How many times more potent ``drug`` is on ``cell_a`` than on ``cell_b``:
    EC50(b) / EC50(a). Above 1 favours ``cell_a``."""
    tab = potency([drug], [cell_a, cell_b], params=params, pd1_blockade=pd1_blockade)
    ec_a, ec_b = tab["ec50_nM"].to_numpy()
    if not np.isfinite(ec_a):
        return 0.0
    return float(ec_b / ec_a)
