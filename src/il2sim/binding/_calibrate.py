"""Calibrate the signaling model on the Meyer-lab pSTAT5 dose-responses of human PBMC.

Free parameters: the cross-linking constant ``kx_nM_per_receptor``, the IL-2Ralpha/IL-2Rbeta
cooperativity within one IL-2 unit, and the transduction constant ``k_half_complexes`` (all
shared by every cell and drug), plus one non-negative scale per
(experiment date, cell type, time point), which maps the model's pSTAT5 fraction to the
arbitrary fluorescence units of that measurement. The scales enter linearly and are solved in
closed form for every trial of the three shared parameters (variable projection), so a fit takes
seconds. Receptor numbers and Kd values are fixed at their catalog values: a drug not used in
the fit is then predicted from its affinities alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import least_squares

from il2sim.binding._design import BindingDesign, cell_receptor_vector, kinds_used
from il2sim.binding._signal import Transduction, active_complexes
from il2sim.catalog import DATA_DIR, FitReport, SignalingParams, Sourced, cells, drugs

DATA_FILES = ("pstat5_pbmc_main.csv", "pstat5_pbmc_monovalent_extra.csv")
_LIGAND_TO_DRUG = {
    ("IL2", 0): "aldesleukin",
    ("IL15", 0): "il15",
    ("WT N-term", 0): "fc_wt_nterm_mono",
    ("WT N-term", 1): "fc_wt_nterm_biv",
    ("R38Q N-term", 0): "fc_r38q_nterm_mono",
    ("R38Q N-term", 1): "fc_r38q_nterm_biv",
    ("H16N N-term", 0): "fc_h16n_nterm_mono",
    ("H16N N-term", 1): "fc_h16n_nterm_biv",
    ("R38Q/H16N", 0): "fc_r38q_h16n_mono",
    ("R38Q/H16N", 1): "fc_r38q_h16n_biv",
}
#: Association rate constant for every bond (kinetic model), Farhat et al. 2021 model table.
KON_PER_NM_MIN = Sourced(
    value=0.6,
    source="Farhat AM et al. 2021 Cell Rep model table: kon 1e7 /M/s (= 0.6 /nM/min) for all "
    "ligand-receptor pairs (assumed there); via shared reference/facts.csv",
    range=(0.06, 6.0),
)


#: log10 bounds of (kx_nM_per_receptor, cooperativity, k_half_complexes).
LOG10_BOUNDS = ([-5.0, -1.0, 0.0], [3.0, 5.0, 5.0])


def load_pstat5_data(data_dir: Path | None = None) -> pd.DataFrame:
    """The Meyer-lab pSTAT5 measurements with catalog drug and cell names attached.

    Columns: drug, cell, dose_nM, time_h, date, signal (fluorescence, background-subtracted).
    """
    data_dir = data_dir or DATA_DIR / "meyer_lab"
    frames = []
    for name in DATA_FILES:
        df = pd.read_csv(data_dir / name)
        df["source_file"] = name
        frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    label_to_cell = {c.data_label: n for n, c in cells().items() if c.data_label}
    out = pd.DataFrame(
        {
            "drug": [
                _LIGAND_TO_DRUG[(lig, int(b))]
                for lig, b in zip(raw.Ligand, raw.Bivalent, strict=True)
            ],
            "cell": raw.Cell.map(label_to_cell),
            "dose_nM": raw.Dose.astype(float),
            "time_h": raw.Time.astype(float),
            "date": raw.Date.astype(str),
            "signal": raw.Mean.astype(float),
        }
    )
    if out.cell.isna().any():
        raise ValueError("pSTAT5 data has cell labels with no catalog cell (data_label)")
    return out


@dataclass
class _Problem:
    data: pd.DataFrame
    designs: list[BindingDesign]
    cell_names: list[str]
    doses: np.ndarray
    d_idx: np.ndarray
    c_idx: np.ndarray
    k_idx: np.ndarray
    groups: np.ndarray  # group id per row (date, cell, time)
    y: np.ndarray  # signal normalised by its group maximum


def _problem(data: pd.DataFrame) -> _Problem:
    designs_by_name = {n: BindingDesign.from_drug(drugs()[n]) for n in sorted(data.drug.unique())}
    names = list(designs_by_name)
    cell_names = sorted(data.cell.unique())
    doses = np.sort(data.dose_nM.unique())
    gkey = data.date + "|" + data.cell + "|" + data.time_h.astype(str)
    groups, _ = pd.factorize(gkey)
    gmax = data.groupby(groups)["signal"].transform("max").to_numpy()
    return _Problem(
        data=data,
        designs=[designs_by_name[n] for n in names],
        cell_names=cell_names,
        doses=doses,
        d_idx=data.drug.map({n: i for i, n in enumerate(names)}).to_numpy(),
        c_idx=data.cell.map({n: i for i, n in enumerate(cell_names)}).to_numpy(),
        k_idx=np.searchsorted(doses, data.dose_nM.to_numpy()),
        groups=groups,
        y=data.signal.to_numpy() / np.where(gmax > 0, gmax, 1.0),
    )


def _model_fraction(prob: _Problem, theta: np.ndarray) -> np.ndarray:
    kinds = kinds_used(prob.designs)
    rmat = np.stack([cell_receptor_vector(cells()[c], kinds) for c in prob.cell_names])
    tr = Transduction(*(10.0 ** np.asarray(theta)))
    act, _ = active_complexes(prob.designs, rmat, kinds, prob.doses, tr)
    return tr.pstat5(act)[prob.d_idx, prob.c_idx, prob.k_idx]


def _group_scales(groups: np.ndarray, f: np.ndarray, y: np.ndarray, n_groups: int) -> np.ndarray:
    """Least-squares non-negative scale per group: argmin_a sum (a f - y)^2."""
    fy = np.bincount(groups, f * y, minlength=n_groups)
    ff = np.bincount(groups, f * f, minlength=n_groups)
    return np.where(ff > 0, np.maximum(fy, 0) / np.where(ff > 0, ff, 1), 0.0)


def residual_function(prob: _Problem, train: np.ndarray | None = None):
    """theta (log10 kx, cooperativity, k_half) -> residuals of the ``train`` rows, each group's
    scale solved in closed form (variable projection)."""
    train = np.ones(len(prob.y), bool) if train is None else train
    n_groups = int(prob.groups.max()) + 1

    def residuals(theta: np.ndarray) -> np.ndarray:
        f = _model_fraction(prob, theta)
        a = _group_scales(prob.groups[train], f[train], prob.y[train], n_groups)
        return a[prob.groups[train]] * f[train] - prob.y[train]

    return residuals


@dataclass(frozen=True)
class CalibrationResult:
    """Fitted shared parameters, fit quality, and the data with the model's predictions."""

    kx_nM_per_receptor: float
    cooperativity: float
    k_half_complexes: float
    r2_overall: float
    r2_by_cell_time: dict[str, dict[str, float]]
    table: pd.DataFrame  # data + prediction (normalised units)
    ligands: list[str]

    def to_params(self, data_files: Sequence[str] = DATA_FILES) -> SignalingParams:
        files = " + ".join(f"data/meyer_lab/{f}" for f in data_files)
        src = f"fitted to {files} by `il2sim calibrate` ({dt.date.today().isoformat()})"
        return SignalingParams(
            kx_nM_per_receptor=Sourced(value=float(f"{self.kx_nM_per_receptor:.6g}"), source=src),
            cooperativity=Sourced(value=float(f"{self.cooperativity:.6g}"), source=src),
            k_half_complexes=Sourced(value=float(f"{self.k_half_complexes:.6g}"), source=src),
            kon_per_nM_min=KON_PER_NM_MIN,
            fit=FitReport(
                data_files=[f"data/meyer_lab/{f}" for f in data_files],
                n_points=len(self.table),
                r2_overall=round(self.r2_overall, 4),
                r2_by_cell_time={
                    c: {t: round(v, 4) for t, v in d.items()}
                    for c, d in self.r2_by_cell_time.items()
                },
                ligands=self.ligands,
                command="il2sim calibrate",
            ),
            notes=[
                "One scale per (date, cell type, time point) maps pSTAT5 fraction to fluorescence; "
                "scales are nuisance parameters and not stored.",
                "Equilibrium binding is fitted to all time points; 4 h curves are partly biphasic "
                "(receptor down-regulation), which only the kinetic model can show.",
                "cooperativity x kx_nM_per_receptor is the effective local concentration (nM per "
                "receptor) with which CD25, or a targeting arm of a one-cytokine drug, presents "
                "IL-2 to IL-2Rbeta/gamma-c.",
                *self._bound_notes(),
            ],
        )

    def _bound_notes(self) -> list[str]:
        notes = []
        names = ("kx_nM_per_receptor", "cooperativity", "k_half_complexes")
        values = (self.kx_nM_per_receptor, self.cooperativity, self.k_half_complexes)
        for name, v, lo, hi in zip(names, values, *LOG10_BOUNDS, strict=True):
            if np.isclose(np.log10(v), lo, atol=1e-3) or np.isclose(np.log10(v), hi, atol=1e-3):
                notes.append(
                    f"{name} = {v:.3g} lies at a bound of the fit (log10 bounds [{lo}, {hi}]): "
                    "the data do not identify it beyond that side"
                    + (
                        " (no support for avidity between the IL-2 units of an Fc fusion beyond "
                        "the doubled number of sites)"
                        if name == "kx_nM_per_receptor"
                        else ""
                    )
                )
        return notes


def _r2(y: np.ndarray, yhat: np.ndarray) -> float:
    ss_res = float(np.sum((y - yhat) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def calibrate(
    data: pd.DataFrame | None = None,
    *,
    exclude_drugs: Sequence[str] = (),
    starts: Sequence[tuple[float, float, float]] = (
        (-1.0, 2.0, 2.0),
        (-2.0, 0.0, 3.0),
        (0.0, 3.0, 1.0),
    ),
) -> CalibrationResult:
    """Fit ``kx_nM_per_receptor``, ``cooperativity`` and ``k_half_complexes`` to the data.

    ``exclude_drugs`` are left out of the fit and predicted afterwards (their rows carry
    ``fitted=False`` in the result table), with the group scales taken from the fitted drugs of
    the same date, cell and time.
    """
    data = load_pstat5_data() if data is None else data
    data = data.reset_index(drop=True)
    prob = _problem(data)
    train = ~data.drug.isin(list(exclude_drugs)).to_numpy()
    n_groups = int(prob.groups.max()) + 1
    residuals = residual_function(prob, train)
    best = None
    for x0 in starts:
        fit = least_squares(residuals, np.array(x0), bounds=LOG10_BOUNDS, x_scale=1.0)
        if best is None or fit.cost < best.cost:
            best = fit
    assert best is not None
    f = _model_fraction(prob, best.x)
    a = _group_scales(prob.groups[train], f[train], prob.y[train], n_groups)
    pred = a[prob.groups] * f
    table = data.assign(y=prob.y, prediction=pred, fitted=train)
    r2: dict[str, dict[str, float]] = {}
    for (cell, t), sub in table[table.fitted].groupby(["cell", "time_h"]):
        r2.setdefault(cell, {})[f"{t:g}h"] = _r2(sub.y.to_numpy(), sub.prediction.to_numpy())
    return CalibrationResult(
        kx_nM_per_receptor=10.0 ** best.x[0],
        cooperativity=10.0 ** best.x[1],
        k_half_complexes=10.0 ** best.x[2],
        r2_overall=_r2(prob.y[train], pred[train]),
        r2_by_cell_time=r2,
        table=table,
        ligands=sorted(data.drug[train].unique()),
    )


def prediction_r2(result: CalibrationResult, drug: str) -> float:
    """R-squared of a drug's predicted curves (normalised units) in a calibration result."""
    sub = result.table[result.table.drug == drug]
    if sub.empty:
        raise ValueError(f"drug {drug!r} is not in the calibration data")
    return _r2(sub.y.to_numpy(), sub.prediction.to_numpy())


def write_params(params: SignalingParams, path: Path) -> None:
    """Write fitted parameters as catalog YAML (the file `signaling_params()` reads)."""
    header = (
        "# Signaling parameters fitted by `il2sim calibrate` (il2sim.binding.calibrate).\n"
        "# Re-run `make calibrate` after changing receptor numbers, Kd values or the model.\n"
    )
    body = yaml.safe_dump(params.model_dump(mode="json", exclude_none=True), sort_keys=False)
    path.write_text(header + body)
