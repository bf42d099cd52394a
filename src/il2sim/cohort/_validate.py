"""Every training row of a cohort re-simulated on its shipped virtual population: model value
with its 95% CI beside the published value and interval; and beside them the cohort's held-out
published outcomes (predictions: no parameter was selected or tuned on them).

Rates carry exact (Clopper-Pearson) intervals over the virtual patients; a median PFS carries
the interval where the Kaplan-Meier curve's 95% confidence band (Greenwood, log-log) crosses
one half. Rows of the disease the model does not reproduce are listed with their reason.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from il2sim.catalog import DAYS_PER_MONTH, CohortSpec, get_cohort, training_rows
from il2sim.cohort._endpoints import (
    SAFETY_PROBABILITY,
    endpoint_value,
    event_probability,
    in_class,
)
from il2sim.cohort._recist import rate
from il2sim.cohort._run import CohortResult, run_cohort

COLUMNS = (
    "row",
    "arm",
    "endpoint",
    "published",
    "published_low",
    "published_high",
    "interval",
    "model",
    "model_low",
    "model_high",
    "n_model",
    "within",
    "source",
)


def check_rows(spec: CohortSpec) -> None:
    """Every target and untargeted entry names a training row that exists, and a target's
    value is the row's (rates as fractions of the row's percentages)."""
    rows = training_rows()
    known = set(rows.id)
    for t in spec.targets:
        if t.row and t.row not in known:
            raise ValueError(
                f"cohort {spec.name!r}: target {t.arm} {t.endpoint} names training row "
                f"{t.row!r}, which clinical_training.csv does not hold ({', '.join(sorted(known))})"
            )
    for u in spec.untargeted:
        if u.row not in known:
            raise ValueError(
                f"cohort {spec.name!r}: untargeted row {u.row!r} is not in clinical_training.csv"
            )


def median_pfs_ci_months(days: np.ndarray, events: np.ndarray) -> tuple[float, float]:
    """95% CI of the Kaplan-Meier median (months): where the confidence band of S(t) crosses
    one half (nan where a bound is not reached)."""
    days, events = np.asarray(days, float), np.asarray(events, bool)
    if not events.any():
        return float("nan"), float("nan")
    data = stats.CensoredData(uncensored=days[events], right=days[~events])
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():  # undefined where S is 0 or 1
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(0.95, method="log-log")
    t = sf.quantiles

    def first_below(s: np.ndarray) -> float:
        idx = np.nonzero(s <= 0.5)[0]
        return float(t[idx[0]]) / DAYS_PER_MONTH if idx.size else float("nan")

    return first_below(band.low.probabilities), first_below(band.high.probabilities)


@dataclass
class Validation:
    """The rows of one cohort, model beside published; ``all_within`` is about the training
    rows (a held-out prediction may miss: that is what it is for)."""

    cohort: str
    table: pd.DataFrame  # COLUMNS: the training rows
    untargeted: pd.DataFrame  # row, endpoint, reason
    n_patients: int
    predictions: pd.DataFrame  # COLUMNS: held-out published outcomes, never tuned to

    @property
    def all_within(self) -> bool:
        return bool(self.table.within.all())


def _model_value(ok: pd.DataFrame, endpoint: str) -> tuple[float, float, float]:
    v = endpoint_value(ok, endpoint)
    if endpoint == "median_PFS_months":
        lo, hi = median_pfs_ci_months(ok.pfs_days.to_numpy(), ok.progressed.to_numpy())
        return (float("nan") if v is None else v), lo, hi
    if endpoint in SAFETY_PROBABILITY:  # an expected share: exact CI of its nearest count
        r = rate(round(float(event_probability(ok, endpoint).sum())), len(ok))
        return (float("nan") if v is None else v), r.ci_low, r.ci_high
    r = rate(int(in_class(ok, endpoint).sum()), len(ok))
    return r.value, r.ci_low, r.ci_high


def _rows(targets, ok_all: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for t in targets:
        ok = ok_all[ok_all.arm == t.arm]
        if ok.empty:
            raise ValueError(f"arm {t.arm!r} has no evaluable patient to compare")
        v, lo, hi = _model_value(ok, t.endpoint)
        plo, phi = t.interval
        rows.append(
            {
                "row": t.row,
                "arm": t.arm,
                "endpoint": t.endpoint,
                "published": t.value,
                "published_low": plo,
                "published_high": phi,
                "interval": t.interval_kind,
                "model": v,
                "model_low": lo,
                "model_high": hi,
                "n_model": len(ok),
                "within": bool(np.isfinite(v) and plo <= v <= phi),
                "source": t.source,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def compare(spec: CohortSpec, result: CohortResult) -> Validation:
    """Model against published for every target and held-out prediction of ``spec``
    (``result`` ran their arms)."""
    ok_all = result.outcomes[result.outcomes.status == "ok"]
    untargeted = pd.DataFrame(
        [u.model_dump() for u in spec.untargeted], columns=["row", "endpoint", "reason"]
    )
    return Validation(
        spec.name,
        _rows(spec.targets, ok_all),
        untargeted,
        len(result.patients),
        _rows(spec.predictions, ok_all),
    )


def validate(
    cohort: CohortSpec | str,
    *,
    workers: int = 1,
    out_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Validation:
    """Re-simulate every target and prediction arm of ``cohort`` on its whole shipped virtual
    population and compare each training row and held-out outcome."""
    spec = get_cohort(cohort)
    if not spec.targets:
        raise ValueError(f"cohort {spec.name!r} has no training rows (targets) to validate")
    check_rows(spec)
    arms = list(dict.fromkeys(t.arm for t in (*spec.targets, *spec.predictions)))
    result = run_cohort(
        spec,
        arms,
        population="vpop",
        workers=workers,
        out_dir=out_dir,
        progress=progress,
        notice=notice,
    )
    return compare(spec, result)
