"""A trial's endpoints with the receptor layer's uncertainty: the same virtual patients treated
under draws of the signaling posterior, so that an interval says how far the prediction moves
with what the pSTAT5 data leave open (the binomial and Kaplan-Meier intervals of one run say
how far it moves with the patients drawn)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from il2sim.catalog import CohortSpec, get_cohort
from il2sim.cohort._run import _connect, build_arm, check_request, run_cohort
from il2sim.cohort._sample import draw_patients
from il2sim.simulate import draw_interval, posterior_draws

#: The endpoints reported per arm and draw: response rates (%), median PFS (months), the share
#: of patients with a severe vascular leak (%), and the evaluable patients (the run-in depends
#: on the signaling constants too, so a draw may screen a patient in or out).
ENDPOINTS = ("ORR", "CR", "DCR", "median_PFS_months", "severe_leak", "n_evaluable")


def _endpoints(arm_summary: dict) -> dict[str, float]:
    """One draw's endpoints of an arm (NaN where the arm had no evaluable patient or the
    median PFS was not reached)."""
    out = dict.fromkeys(ENDPOINTS, np.nan)
    out["n_evaluable"] = float(arm_summary.get("n_evaluable", 0))
    if out["n_evaluable"] == 0:
        return out
    for k in ("ORR", "CR", "DCR"):
        out[k] = 100.0 * arm_summary[k]["value"]
    months = arm_summary["pfs"]["median_months"]
    out["median_PFS_months"] = np.nan if months is None else float(months)
    leak = arm_summary["toxicity"].get("vascular_leak_index")
    if leak is not None:
        out["severe_leak"] = 100.0 * leak["severe"]["value"]
    return out


def cohort_intervals(
    spec: CohortSpec | str,
    arms: Sequence[str],
    n_draws: int,
    *,
    n: int | None = None,
    seed: int = 1,
    population: str | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    level: float = 0.95,
    draw_seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Every arm's endpoints (:data:`ENDPOINTS`) under ``n_draws`` draws of the signaling
    posterior (kx, cooperativity, k_half; seeded by ``draw_seed``), the same ``n`` patients
    (drawn once with ``seed`` from ``population``, as :func:`run_cohort` draws them) under every
    draw. One row per arm and endpoint: median, low and high at ``level`` over the draws, the
    number of draws that gave a value (an arm without evaluable patients, or a median PFS not
    reached, gives none), and the value at the catalog's constants (``nominal``).
    ``progress(done, total)`` counts finished draws. With ``workers > 1`` one Dask cluster
    serves every draw, so each worker compiles an arm once."""
    spec = get_cohort(spec)
    check_request(spec, arms, n=n, workers=workers, population=population)
    draws = posterior_draws(n_draws, seed=draw_seed)
    patients = draw_patients(
        spec, n, seed=seed, defaults=build_arm(spec, arms[0]).defaults, population=population
    )
    client, cluster = (None, None)
    if workers > 1 and not scheduler:
        client, cluster = _connect(workers, None)
        scheduler = cluster.scheduler_address
    rows = []
    try:
        for i, values in enumerate([{}, *draws]):
            result = run_cohort(
                spec,
                arms,
                patients=patients.assign(**values),
                workers=workers,
                scheduler=scheduler,
            )
            summary = result.summary()["arms"]
            rows += [
                {"arm": a, "draw": i - 1, **_endpoints(summary[a])} for a in arms
            ]  # draw -1: the catalog's constants
            if progress and i:
                progress(i, n_draws)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    table = pd.DataFrame(rows)
    out = []
    for a in arms:
        mine = table[table.arm == a]
        nominal = mine[mine.draw == -1].iloc[0]
        drawn = mine[mine.draw >= 0]
        out += [
            {
                "arm": a,
                "endpoint": e,
                "nominal": float(nominal[e]),
                **draw_interval(drawn[e], level),
            }
            for e in ENDPOINTS
        ]
    return pd.DataFrame(out)
