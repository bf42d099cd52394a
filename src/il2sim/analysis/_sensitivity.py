"""Global sensitivity of a cohort readout to the cohort's varied parameters: Morris elementary
effects and Sobol indices with SALib, and partial rank correlation (PRCC) on a Latin hypercube.

Factors move across the central 90% of their population distributions (or their whole
plausible ranges) on the scale they vary on (log for log-normal parameters, logit for bounded
ones), at the reference weight. Every point is a virtual patient
simulated on the arm without the trial screening (a sensitivity analysis needs every corner of
the range); a point whose tumour is gone before treatment or whose solve fails has no readout:
Morris drops the trajectories that contain one (and says how many), PRCC the points, Sobol
refuses (its estimators need every point).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from il2sim.catalog import CohortSpec, get_cohort
from il2sim.cohort import build_arm, run_cohort

READOUTS = {
    "final_change_pct": "change in sum of diameters at the end of treatment (%)",
    "best_change_pct": "best change in sum of diameters (%)",
    "vascular_leak_index_max": "highest daily vascular-leak index",
    "cytokine_release_index_max": "highest daily cytokine-release index",
}
METHODS = ("morris", "sobol", "prcc")


@dataclass
class SensitivityResult:
    """One row per factor, most influential first (``importance``: mu* for Morris, total
    order for Sobol, |PRCC| for PRCC), and the simulated points."""

    method: str
    arm: str
    readout: str
    table: pd.DataFrame
    points: pd.DataFrame
    dropped: int  # points (PRCC) or trajectories (Morris) without a readout


Z90 = stats.norm.ppf(0.95)  # the central 90% of a population distribution


def _logit_back(a: float, b: float) -> Callable[[np.ndarray], np.ndarray]:
    """The map from the logit scale back to a logit-normal parameter's range [a, b]."""
    return lambda x: a + (b - a) * special.expit(x)


def _problem(spec: CohortSpec, defaults: dict[str, float], ranges: str) -> tuple[dict, list]:
    """SALib problem on the transformed scale: the population's central 90% (``population``)
    or the whole plausible range (``plausible``), and the maps back to parameter values."""
    names: list[str] = []
    bounds: list[list[float]] = []
    back: list[Callable[[np.ndarray], np.ndarray]] = []
    for v in spec.variability:
        med = v.median if v.median is not None else defaults[v.parameter]
        names.append(v.parameter)
        if v.distribution == "lognormal":
            plo, phi = np.log(v.plausible_range(med))
            if ranges == "plausible":
                lo, hi = plo, phi
            else:
                lo = max(plo, np.log(med) - Z90 * v.scale_sd)
                hi = min(phi, np.log(med) + Z90 * v.scale_sd)
            back.append(np.exp)
        else:
            a, b = v.plausible_range(med)
            if ranges == "plausible":
                lo, hi = special.logit(1e-3), special.logit(1 - 1e-3)
            else:
                c = special.logit((med - a) / (b - a))
                lo, hi = c - Z90 * v.scale_sd, c + Z90 * v.scale_sd
            back.append(_logit_back(a, b))
        bounds.append([float(lo), float(hi)])
    return {"num_vars": len(names), "names": names, "bounds": bounds}, back


def prcc(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Partial rank correlation of each column of X with y (other columns controlled for), and
    its p-value (t distribution, n - 2 - (k - 1) degrees of freedom)."""
    R = np.column_stack([stats.rankdata(c) for c in X.T])
    ry = stats.rankdata(y)
    n, k = R.shape
    out = np.empty(k)
    for j in range(k):
        others = np.column_stack([np.ones(n), np.delete(R, j, axis=1)])
        rx = R[:, j] - others @ np.linalg.lstsq(others, R[:, j], rcond=None)[0]
        res_y = ry - others @ np.linalg.lstsq(others, ry, rcond=None)[0]
        out[j] = np.corrcoef(rx, res_y)[0, 1]
    dof = n - 2 - (k - 1)
    t = out * np.sqrt(dof / np.clip(1 - out**2, 1e-12, None))
    return out, 2 * stats.t.sf(np.abs(t), dof)


def sensitivity(
    spec: CohortSpec | str,
    arm: str,
    *,
    method: str = "morris",
    n: int = 10,
    readout: str = "final_change_pct",
    ranges: str = "population",
    seed: int = 1,
    workers: int = 1,
    scheduler: str | None = None,
    out_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SensitivityResult:
    """Sensitivity of ``readout`` on ``arm`` to every varied parameter of the cohort across
    ``ranges`` (``population``: each distribution's central 90%; ``plausible``: the whole
    plausible range). ``n``: Morris trajectories, Sobol base samples (x (D + 2) points) or
    PRCC points."""
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import latin
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    spec = get_cohort(spec)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {', '.join(READOUTS)}; got {readout!r}")
    if n < 2:
        raise ValueError(f"n must be at least 2 (got {n})")
    if ranges not in ("population", "plausible"):
        raise ValueError(f"ranges must be 'population' or 'plausible'; got {ranges!r}")
    defaults = build_arm(spec, arm).defaults
    problem, back = _problem(spec, defaults, ranges)
    if method == "morris":
        X = morris_sample.sample(problem, n, num_levels=4, seed=seed)
    elif method == "sobol":
        X = sobol_sample.sample(problem, n, calc_second_order=False, seed=seed)
    else:
        X = latin.sample(problem, n, seed=seed)
    values = np.column_stack([f(X[:, j]) for j, f in enumerate(back)])
    patients = pd.DataFrame(values, columns=problem["names"])
    patients.insert(0, "patient", np.arange(len(patients)))
    res = run_cohort(
        spec,
        [arm],
        patients=patients,
        workers=workers,
        scheduler=scheduler,
        out_dir=out_dir,
        screen=False,
        progress=progress,
    )
    o = res.outcomes.set_index("patient").sort_index()
    ok = (o.status == "ok").to_numpy()
    y = np.where(ok, o.get(readout, pd.Series(np.nan, index=o.index)).to_numpy(float), np.nan)
    points = patients.assign(status=o.status.to_numpy(), **{readout: y})
    D = problem["num_vars"]
    if method == "morris":
        traj = ok.reshape(-1, D + 1).all(axis=1)
        if traj.sum() < 2:
            raise ValueError("fewer than two Morris trajectories have a readout at every point")
        keep = np.repeat(traj, D + 1)
        Si = morris_analyze.analyze(problem, X[keep], y[keep], num_levels=4, seed=seed)
        table = pd.DataFrame(
            {
                "factor": problem["names"],
                "importance": Si["mu_star"],
                "mu": Si["mu"],
                "sigma": Si["sigma"],
                "mu_star_conf": Si["mu_star_conf"],
            }
        )
        dropped = int((~traj).sum())
    elif method == "sobol":
        if not ok.all():
            bad = o[~ok]
            raise ValueError(
                f"Sobol indices need every point; {len(bad)} of {len(o)} have no readout "
                f"(e.g. patient {bad.index[0]}: {bad.error.iloc[0][:200]}); use morris or prcc"
            )
        Si = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        table = pd.DataFrame(
            {
                "factor": problem["names"],
                "importance": Si["ST"],
                "S1": Si["S1"],
                "S1_conf": Si["S1_conf"],
                "ST_conf": Si["ST_conf"],
            }
        )
        dropped = 0
    else:
        r, p = prcc(X[ok], y[ok])
        table = pd.DataFrame(
            {"factor": problem["names"], "importance": np.abs(r), "prcc": r, "p_value": p}
        )
        dropped = int((~ok).sum())
    table = table.sort_values("importance", ascending=False, ignore_index=True)
    return SensitivityResult(method, arm, readout, table, points, dropped)
