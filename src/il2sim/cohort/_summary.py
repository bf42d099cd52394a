"""What a cohort run amounts to, per arm: response rates with exact CIs, progression-free
survival (Kaplan-Meier), toxicity rates and the patients that could not be evaluated (with
reasons), the expected shares with a grade 3-4 event of the IL-2 toxicity indices and of
checkpoint blockade (treatment-related adverse events). Never a NaN: failed and ineligible
patients are counted, not averaged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from il2sim.catalog import DAYS_PER_MONTH
from il2sim.cohort._endpoints import median_survival_days
from il2sim.cohort._recist import Rate, kaplan_meier, rate, response_rates
from il2sim.simulate import GRADE34_THRESHOLDS


def _bounded(r: Rate, n_distinct: int) -> dict:
    """A rate over n patients of whom only ``n_distinct`` differ: the point estimate over all,
    the exact CI over the distinct ones (repeats add no information)."""
    if n_distinct >= r.n:
        return r.as_dict()
    k = round(r.value * n_distinct)
    narrow = rate(k, n_distinct)
    return {**r.as_dict(), "ci95": [narrow.ci_low, narrow.ci_high], "n_distinct": n_distinct}


def _expected_share(probability: pd.Series, n_distinct: int) -> dict:
    """The expected share of patients with an event, each with its probability; the exact CI
    of the nearest count (over the distinct patients)."""
    p = probability.fillna(0.0)
    r = _bounded(rate(round(float(p.sum())), len(p)), n_distinct)
    return {**r, "value": float(p.mean())}


def summarise_arm(outcomes: pd.DataFrame, arm: str, scan_days: list[float]) -> dict:
    o = outcomes[outcomes.arm == arm]
    ok = o[o.status == "ok"]
    out: dict = {
        "arm": arm,
        "n_patients": len(o),
        "n_evaluable": len(ok),
        "n_ineligible": int((o.status == "ineligible").sum()),
        "n_failed": int((o.status == "failed").sum()),
        # evaluable, but censored where the solver failed late in follow-up
        "n_solver_censored": int(ok.solver_stopped_day.notna().sum())
        if "solver_stopped_day" in ok.columns
        else 0,
        "failures": [
            {"patient": int(r.patient), "reason": str(r.error)}
            for r in o[o.status == "failed"].itertuples()
        ],
    }
    if ok.empty:
        out["note"] = "no evaluable patient"
        return out
    n_distinct = int(ok.vp.nunique()) if "vp" in ok.columns else len(ok)
    out["n_distinct"] = n_distinct
    if n_distinct < len(ok):
        out["note"] = (
            f"{len(ok)} patients drawn from {n_distinct} distinct virtual patients: confidence "
            f"intervals are those of {n_distinct} patients"
        )
    out.update({k: _bounded(v, n_distinct) for k, v in response_rates(ok.bor.to_numpy()).items()})
    out["best_overall_response"] = {c: int((ok.bor == c).sum()) for c in ("CR", "PR", "SD", "PD")}
    t, s = kaplan_meier(ok.pfs_days.to_numpy(), ok.progressed.to_numpy())
    median = median_survival_days(ok.pfs_days.to_numpy(), ok.progressed.to_numpy())
    out["pfs"] = {
        "median_days": median,
        "median_months": None if median is None else median / DAYS_PER_MONTH,
        **{f"at_day_{d:g}": float(s[np.searchsorted(t, d, side="right") - 1]) for d in scan_days},
    }
    out["best_change_pct_median"] = float(ok.best_change_pct.median())
    tox = {}
    for name in GRADE34_THRESHOLDS:  # the IL-2 toxicity indices the arm's model reads
        if f"{name}_grade34_probability" in ok.columns:
            tox[name] = {
                "severe": _expected_share(ok[f"{name}_grade34_probability"], n_distinct),
                "any": rate(int(ok[f"{name}_any"].sum()), len(ok)).as_dict(),
                "max_median": float(ok[f"{name}_max"].median()),
            }
    out["toxicity"] = tox
    if "trae_grade34_probability" in ok.columns and ok.trae_grade34_probability.notna().any():
        out["trae_grade34"] = _expected_share(ok.trae_grade34_probability, n_distinct)
    if "doses_received" in ok.columns and ok.doses_scheduled.notna().any():
        got, due = ok.doses_received.dropna(), ok.doses_scheduled.dropna()
        out["doses"] = {
            "received_median": float(got.median()),
            "scheduled_median": float(due.median()),
            "share_given": float(got.sum() / due.sum()) if due.sum() > 0 else None,
            "patients_with_a_dose_withheld": rate(int((got < due).sum()), len(got)).as_dict(),
        }
    return out
