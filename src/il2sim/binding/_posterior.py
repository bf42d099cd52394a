"""Bayesian calibration of the signaling constants: posterior samples of log10 (kx,
cooperativity, k_half) given the Meyer-lab pSTAT5 data (emcee's affine-invariant ensemble
sampler), stored in the catalog and carried to predictions as intervals.

Likelihood: Gaussian residuals with one unknown noise level, marginalised (Jeffreys prior),
the per-(date, cell, time) scales profiled out as in the fit (variable projection); prior
uniform on the fit's log10 bounds. The residuals within one dose-response curve are not
independent (the model misses shapes, not points: R^2 0.80), so by default each curve counts
once: the log-likelihood is tempered by curves / points (``tempering="curve"``), which widens
the posterior to what the number of curves supports. ``tempering=1`` is the textbook
likelihood (exact for independent noise, as in the coverage test on synthetic data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from il2sim.binding._calibrate import (
    LOG10_BOUNDS,
    _model_fraction,
    _problem,
    load_pstat5_data,
    residual_function,
)
from il2sim.catalog import DATA_DIR, SignalingParams, Sourced, signaling_params

NAMES = ("log10_kx_nM_per_receptor", "log10_cooperativity", "log10_k_half_complexes")
POSTERIOR_PATH = DATA_DIR / "fitted" / "signaling_posterior.csv"


@dataclass(frozen=True)
class Posterior:
    """Posterior draws (rows) of the three log10 constants, and how they were made."""

    samples: np.ndarray  # (n, 3), log10 of kx_nM_per_receptor, cooperativity, k_half_complexes
    tempering: float
    acceptance: float

    def interval(self, level: float = 0.95) -> np.ndarray:
        """(3, 2): central credible interval of each log10 constant."""
        q = (1 - level) / 2
        return np.quantile(self.samples, [q, 1 - q], axis=0).T

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.samples, columns=list(NAMES))

    def params(self, n: int | None = None, seed: int = 1) -> list[SignalingParams]:
        """Catalog signaling parameters, one per draw (``n`` drawn with replacement)."""
        base = signaling_params()
        rows = self.samples
        if n is not None:
            rows = rows[np.random.default_rng(seed).integers(0, len(rows), n)]
        src = f"posterior draw ({POSTERIOR_PATH.name})"
        return [
            base.model_copy(
                update={
                    "kx_nM_per_receptor": Sourced(value=10.0 ** r[0], source=src),
                    "cooperativity": Sourced(value=10.0 ** r[1], source=src),
                    "k_half_complexes": Sourced(value=10.0 ** r[2], source=src),
                }
            )
            for r in rows
        ]


def sample_posterior(
    data: pd.DataFrame | None = None,
    *,
    n_walkers: int = 16,
    n_steps: int = 1500,
    burn: int = 500,
    thin: int = 10,
    tempering: float | str = "curve",
    start: Sequence[float] | None = None,
    seed: int = 1,
) -> Posterior:
    """Sample the posterior of the three log10 constants (see the module docstring)."""
    import emcee

    data = load_pstat5_data() if data is None else data.reset_index(drop=True)
    prob = _problem(data)
    residuals = residual_function(prob)
    n = len(prob.y)
    if tempering == "curve":
        curves = data.groupby(["date", "cell", "time_h", "drug"]).ngroups
        temper = curves / n
    elif isinstance(tempering, int | float) and 0 < tempering <= 1:
        temper = float(tempering)
    else:
        raise ValueError(f"tempering must be 'curve' or a number in (0, 1], got {tempering!r}")
    lo, hi = (np.asarray(b, float) for b in LOG10_BOUNDS)

    def log_prob(theta: np.ndarray) -> float:
        if np.any(theta < lo) or np.any(theta > hi):
            return -np.inf
        rss = float(np.sum(residuals(theta) ** 2))
        return -0.5 * temper * n * np.log(rss)

    if start is None:
        p = signaling_params()
        start = [
            np.log10(p.kx_nM_per_receptor.value),
            np.log10(p.cooperativity.value),
            np.log10(p.k_half_complexes.value),
        ]
    rng = np.random.default_rng(seed)
    x0 = np.clip(np.asarray(start, float) + 1e-3 * rng.standard_normal((n_walkers, 3)), lo, hi)
    sampler = emcee.EnsembleSampler(n_walkers, 3, log_prob)
    sampler.random_state = np.random.RandomState(seed).get_state()  # reproducible draws
    sampler.run_mcmc(x0, n_steps, progress=False)
    chain = sampler.get_chain(discard=burn, thin=thin, flat=True)
    return Posterior(chain, temper, float(np.mean(sampler.acceptance_fraction)))


def synthetic_pstat5(
    log10_theta: Sequence[float], sigma: float, data: pd.DataFrame, seed: int = 0
) -> pd.DataFrame:
    """``data`` with its signal replaced by the model's pSTAT5 fraction at ``log10_theta``
    plus Gaussian noise of sd ``sigma`` (every scale 1): data whose truth is known."""
    data = data.reset_index(drop=True)
    f = _model_fraction(_problem(data), np.asarray(log10_theta, float))
    noise = np.random.default_rng(seed).normal(0.0, sigma, len(f))
    return data.assign(signal=f + noise)


def save_posterior(post: Posterior, path: Path | None = None) -> Path:
    """Write the draws as CSV (default: the catalog's), with a header line saying how they
    were made."""
    path = path or POSTERIOR_PATH
    head = (
        f"# posterior draws of the signaling constants (il2sim calibrate --sample): emcee, "
        f"tempering {post.tempering:.4g}, acceptance {post.acceptance:.2f}\n"
    )
    path.write_text(head + post.to_frame().to_csv(index=False, float_format="%.6g"))
    return path


def load_posterior(path: Path = POSTERIOR_PATH) -> Posterior:
    """The shipped posterior draws."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run `il2sim calibrate --sample`")
    head = path.read_text().splitlines()[0]
    frame = pd.read_csv(path, comment="#")
    temper = float(head.split("tempering ")[1].split(",")[0]) if "tempering " in head else 1.0
    acc = float(head.split("acceptance ")[1]) if "acceptance " in head else float("nan")
    return Posterior(frame[list(NAMES)].to_numpy(float), temper, acc)


def potency_intervals(
    drugs: Sequence,
    cells: Sequence,
    posterior: Posterior | None = None,
    *,
    n: int = 200,
    level: float = 0.95,
    pd1_blockade: bool = False,
    seed: int = 1,
) -> pd.DataFrame:
    """EC50 (nM) of each drug on each cell under ``n`` posterior draws (default: the shipped
    posterior): median and central ``level`` interval. Columns: drug, cell, ec50_median_nM,
    ec50_low_nM, ec50_high_nM, n_draws."""
    from il2sim.binding._signal import potency

    if not 1 <= n <= 100_000:
        raise ValueError(f"n must be between 1 and 100,000 posterior draws, got {n}")
    post = posterior or load_posterior()
    tabs = [
        potency(drugs, cells, params=p, pd1_blockade=pd1_blockade).ec50_nM.to_numpy()
        for p in post.params(n, seed=seed)
    ]
    ec = np.stack(tabs)  # (draws, drug x cell)
    keys = potency(drugs, cells, pd1_blockade=pd1_blockade)[["drug", "cell"]]
    q = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        lo, med, hi = np.quantile(ec, [q, 0.5, 1 - q], axis=0)
    return keys.assign(ec50_median_nM=med, ec50_low_nM=lo, ec50_high_nM=hi, n_draws=n)
