"""Leave-one-ligand-out cross-validation of the signaling calibration: refit the shared
parameters without a ligand, predict its EC50 on each cell type from its Kd values alone, and
compare with the EC50 of its measured dose-responses at each time point.

The measured EC50 comes from a Hill curve fitted to the ligand's normalised pSTAT5 (every
experiment date pooled, each date's signal divided by its largest on that cell and time, as in
the calibration); where the fitted curve does not reach half its top within the tested doses,
or barely rises, the EC50 is not identified and is listed, not scored. The model EC50 is the
equilibrium model's (the calibration's model), the same at every time point: the error's
change with time shows what equilibrium binding misses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from il2sim.binding._calibrate import calibrate, load_pstat5_data
from il2sim.binding._design import BindingDesign
from il2sim.binding._signal import potency
from il2sim.catalog import get_drug

#: A measured curve identifies an EC50 only if its fitted rise is at least ``MIN_TOP`` of the
#: largest signal on its cell and time, the Hill curve explains it (R^2 >= ``MIN_R2``: weak
#: ligands' flat, noisy curves do not), and its mean at the highest dose is ``PLATEAU`` of
#: the fitted maximum or more (otherwise the EC50 would be an extrapolation).
MIN_TOP, MIN_R2, PLATEAU = 0.2, 0.8, 0.75


def _hill(log_dose: np.ndarray, bottom: float, top: float, log_ec50: float, n: float):
    return bottom + top / (1.0 + 10.0 ** (n * (log_ec50 - log_dose)))


def measured_ec50(dose_nM: np.ndarray, y: np.ndarray) -> float:
    """EC50 (nM) of a Hill curve (slope 0.5-4) fitted to normalised responses ``y`` at
    ``dose_nM``; nan where the data do not identify it (no rise, half the top not reached
    within the tested doses, or no plateau by the highest dose)."""
    x = np.log10(np.asarray(dose_nM, float))
    y = np.asarray(y, float)
    lo, hi = x.min(), x.max()
    p0 = (float(np.min(y)), float(np.ptp(y)) or 0.1, float(np.median(x)), 1.0)
    try:
        (bottom, top, log_ec50, n), _ = curve_fit(
            _hill,
            x,
            y,
            p0=p0,
            bounds=([-0.05, 0.0, lo - 3.0, 0.5], [1.0, 2.0, hi + 3.0, 4.0]),
            maxfev=20_000,
        )
    except RuntimeError:
        return float("nan")
    at_top = float(np.mean(y[x == hi]))
    resid = y - _hill(x, bottom, top, log_ec50, n)
    r2 = 1.0 - float(np.sum(resid**2)) / max(float(np.sum((y - y.mean()) ** 2)), 1e-300)
    if (
        top < MIN_TOP
        or r2 < MIN_R2
        or not lo <= log_ec50 <= hi
        or at_top < PLATEAU * (bottom + top)
    ):
        return float("nan")
    return float(10.0**log_ec50)


@dataclass(frozen=True)
class CrossValidation:
    """Per held-out ligand, cell type and time point: measured and predicted EC50 (nM) and
    the log10 error (predicted / measured); nan where the data do not identify an EC50."""

    table: pd.DataFrame  # drug, cell, time_h, ec50_measured_nM, ec50_predicted_nM, log10_error
    #: the held-out ligands' binding (valency and Kds), for :meth:`order_inversions`
    designs: tuple[BindingDesign, ...] = ()

    @property
    def scored(self) -> pd.DataFrame:
        return self.table.dropna(subset=["log10_error"])

    @property
    def rmse(self) -> float:
        """Root mean square log10 EC50 error over every scored held-out curve."""
        return float(np.sqrt(np.mean(self.scored.log10_error**2)))

    def _floor_deviations(self) -> pd.Series:
        s = self.scored
        log_ec50 = np.log10(s.ec50_measured_nM)
        return log_ec50 - log_ec50.groupby([s.drug, s.cell]).transform("mean")

    @property
    def rmse_floor(self) -> float:
        """The RMSE of the best time-invariant prediction of the scored curves: each ligand
        and cell type predicted at the mean of its measured log10 EC50s over the time points.
        The equilibrium model gives one EC50 per ligand and cell, so it cannot score below
        this, whatever its parameters."""
        return float(np.sqrt(np.mean(self._floor_deviations() ** 2)))

    def by_drug(self) -> pd.DataFrame:
        """Per held-out ligand: RMSE (log10), mean error (bias), the time-invariant floor of
        its RMSE (see :attr:`rmse_floor`), curves scored and not."""
        floor = self._floor_deviations().groupby(self.scored.drug)
        floor = floor.apply(lambda d: float(np.sqrt(np.mean(d**2))))
        rows = []
        for drug, sub in self.table.groupby("drug", sort=True):
            e = sub.log10_error.dropna()
            rows.append(
                {
                    "drug": drug,
                    "rmse_log10": float(np.sqrt(np.mean(e**2))) if len(e) else float("nan"),
                    "bias_log10": float(e.mean()) if len(e) else float("nan"),
                    "floor_log10": float(floor.get(drug, float("nan"))),
                    "scored": len(e),
                    "not_identified": int(sub.log10_error.isna().sum()),
                }
            )
        return pd.DataFrame(rows)

    def order_inversions(self) -> pd.DataFrame:
        """Measured curves that rank two ligands of the same valency against their Kds: the
        ligand at least as weak in both Kds measured more potent on the same cell type and
        time point. No model whose potency rises with affinity can reproduce these, whatever
        its parameters. Columns: weaker, stronger, cell, time_h, log10_ratio (EC50 of the
        weaker over the stronger, < 0)."""
        kd = {  # name: (valency, IL-2Ralpha Kd, IL-2Rbeta/gamma-c Kd)
            d.name: (d.valency, d.kd_il2ra_nM, d.kd_il2rbg_nM)
            for d in self.designs
            if d.kd_il2ra_nM is not None and d.kd_il2rbg_nM is not None
        }
        ec = self.table.dropna(subset=["ec50_measured_nM"])
        ec = ec.set_index(["drug", "cell", "time_h"]).ec50_measured_nM
        rows = []
        measured = set(ec.index.get_level_values(0))
        for a, b in itertools.permutations(kd, 2):
            (va, ra, ba), (vb, rb, bb) = kd[a], kd[b]
            if va != vb or not (ra >= rb and ba >= bb) or a not in measured:
                continue
            for (cell, t), ec_a in ec.loc[a].items():
                ec_b = ec.get((b, cell, t))
                if ec_b is not None and ec_a < ec_b:
                    rows.append(
                        {
                            "weaker": a,
                            "stronger": b,
                            "cell": cell,
                            "time_h": t,
                            "log10_ratio": float(np.log10(ec_a / ec_b)),
                        }
                    )
        cols = ["weaker", "stronger", "cell", "time_h", "log10_ratio"]
        return pd.DataFrame(rows, columns=cols)

    def by_time(self) -> pd.DataFrame:
        """RMSE and bias (log10) per time point, over every held-out ligand and cell."""
        g = self.scored.groupby("time_h").log10_error
        return pd.DataFrame(
            {
                "rmse_log10": g.apply(lambda e: float(np.sqrt(np.mean(e**2)))),
                "bias_log10": g.mean(),
                "scored": g.size(),
            }
        ).reset_index()

    def by_drug_and_cell(self) -> pd.DataFrame:
        """Mean log10 error per held-out ligand (rows) and cell type (columns)."""
        return self.scored.pivot_table(
            index="drug", columns="cell", values="log10_error", aggfunc="mean"
        )


def cross_validate(
    data: pd.DataFrame | None = None,
    *,
    drugs: Sequence[str] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> CrossValidation:
    """Leave each ligand of ``data`` (default: the shipped Meyer-lab data) out in turn,
    refit, and predict its EC50 on each cell type; ``drugs`` limits which are held out."""
    data = load_pstat5_data() if data is None else data
    held = list(drugs) if drugs is not None else sorted(data.drug.unique())
    gkey = data.date + "|" + data.cell + "|" + data.time_h.astype(str)
    y = data.signal / data.groupby(gkey)["signal"].transform("max").clip(lower=1e-300)
    data = data.assign(y=y.to_numpy())
    rows = []
    for i, drug in enumerate(held):
        if progress is not None:
            progress(drug, i, len(held))
        fit = calibrate(data.drop(columns="y"), exclude_drugs=[drug])
        mine = data[data.drug == drug]
        pred = potency([drug], sorted(mine.cell.unique()), params=fit.to_params())
        pred = pred.set_index("cell").ec50_nM
        for (cell, t), sub in mine.groupby(["cell", "time_h"]):
            meas = measured_ec50(sub.dose_nM.to_numpy(), sub.y.to_numpy())
            p = float(pred[cell])
            ok = np.isfinite(meas) and np.isfinite(p) and p > 0
            rows.append(
                {
                    "drug": drug,
                    "cell": cell,
                    "time_h": float(t),
                    "ec50_measured_nM": meas,
                    "ec50_predicted_nM": p,
                    "log10_error": float(np.log10(p / meas)) if ok else float("nan"),
                }
            )
    if progress is not None:
        progress("", len(held), len(held))
    designs = tuple(BindingDesign.from_drug(get_drug(d)) for d in held)
    return CrossValidation(pd.DataFrame(rows), designs)
