"""A PEtab objective as a pyPESTO problem: pyPESTO's optimisers (scipy L-BFGS-B, Fides) run
il2sim's fits, its parallel-tempering sampler gives posteriors, and a user can hand the same
problem to anything else in pyPESTO (profiles, visualisation, storage).

Gradients are finite differences of the objective (libRoadRunner gives no parameter
sensitivities here): scipy's own for L-BFGS-B, pyPESTO's :class:`pypesto.objective.FD` for
Fides (forward differences, one evaluation per parameter, steps of 1e-4 on the PEtab scale: on
the Boehm problem as good as 1e-5 or central differences, and the fastest). Model failures
reach the optimiser as a large finite value (``FAILED_NLL``) so that a line search or trust
region steps back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import pypesto

    from il2sim.analysis._petab import PetabObjective

#: Optimisers a fit can use, by the name the CLI takes.
OPTIMIZERS = ("L-BFGS-B", "fides")
#: Finite-difference steps on the parameters' PEtab scales (log10 for most): scipy's (the step
#: il2sim's fits have always used) and pyPESTO's for Fides.
FD_STEP = 1e-6
FIDES_FD_STEP = 1e-4


def to_pypesto(
    objective: PetabObjective, starts: Sequence[np.ndarray] = (), *, fd_gradient: bool = False
) -> pypesto.Problem:
    """The objective (negative log-likelihood on the PEtab scales of the outer parameters,
    hierarchical scales solved inside) as a bounded pyPESTO problem, with ``starts`` as its
    start points in order; with ``fd_gradient`` it also gives pyPESTO's forward-difference
    gradient (for Fides; scipy's L-BFGS-B differentiates by itself)."""
    import pypesto
    from pypesto.objective import FD

    from il2sim.analysis._petab import _penalised

    lo, hi = np.array(objective.bounds(), dtype=float).T
    fun = pypesto.Objective(fun=lambda x: _penalised(objective, x))
    return pypesto.Problem(
        objective=FD(fun, grad=True, hess=False, method=FD.FORWARD, delta_fun=FIDES_FD_STEP)
        if fd_gradient
        else fun,
        lb=lo,
        ub=hi,
        x_names=list(objective.outer),
        x_guesses=[np.clip(np.asarray(s, dtype=float), lo, hi) for s in starts] or None,
    )


def optimizer(name: str, *, max_iter: int = 500) -> pypesto.optimize.Optimizer:
    """pyPESTO's optimiser called ``name`` (one of :data:`OPTIMIZERS`)."""
    import pypesto.optimize

    if name == "L-BFGS-B":
        return pypesto.optimize.ScipyOptimizer(
            method="L-BFGS-B", options={"eps": FD_STEP, "maxiter": max_iter}
        )
    if name == "fides":
        import fides

        return pypesto.optimize.FidesOptimizer(
            hessian_update=fides.BFGS(), options={fides.Options.MAXITER: max_iter}, verbose=0
        )
    raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")


@dataclass(frozen=True)
class Posterior:
    """MCMC draws of the outer parameters (natural scale, burn-in removed) and their summary:
    median and central 95% interval per parameter; ``burn_in`` (Geweke test) and
    ``effective_size`` as pyPESTO reports them."""

    draws: pd.DataFrame
    summary: pd.DataFrame
    burn_in: int
    effective_size: float


def sample_posterior(
    objective: PetabObjective,
    x_start: np.ndarray,
    n_samples: int,
    *,
    n_chains: int = 3,
    seed: int = 1,
) -> Posterior:
    """Adaptive parallel tempering (pyPESTO; ``n_chains`` temperatures, adaptive Metropolis
    within each) from ``x_start`` (PEtab scales; a fit's optimum), the prior uniform on the
    PEtab scales within the bounds; the cold chain's draws after the Geweke burn-in. Mixing is
    slow in many dimensions: read ``effective_size`` (on the Boehm problem, 9 parameters,
    10,000 draws gave ~11 effective draws)."""
    import pypesto.sample

    if n_samples < 100:
        raise ValueError(f"n_samples must be at least 100 for a burn-in test, got {n_samples}")
    np.random.seed(seed)  # pyPESTO's samplers draw from numpy's global generator
    problem = to_pypesto(objective)
    sampler = pypesto.sample.AdaptiveParallelTemperingSampler(
        internal_sampler=pypesto.sample.AdaptiveMetropolisSampler(),
        n_chains=n_chains,
        options={"show_progress": False},
    )
    x0 = np.clip(np.asarray(x_start, dtype=float), problem.lb, problem.ub)
    # every chain starts at the optimum (one x0 would mix prior draws into the hotter chains'
    # starts, and with a few thousand draws the cold chain had not come back to the optimum)
    result = pypesto.sample.sample(problem, n_samples, sampler=sampler, x0=[x0] * n_chains)
    burn_in = int(pypesto.sample.geweke_test(result))
    ess = float(pypesto.sample.effective_sample_size(result))
    trace = np.asarray(result.sample_result.trace_x[0, burn_in:, :])
    draws = pd.DataFrame(
        [objective.natural(x) for x in trace], columns=list(objective.outer)
    ).reset_index(drop=True)
    q = draws.quantile([0.5, 0.025, 0.975]).T
    q.columns = ["median", "lower_95", "upper_95"]
    return Posterior(draws, q.rename_axis("parameter").reset_index(), burn_in, ess)
