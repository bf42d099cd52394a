"""Arms compared as trials compare them: difference in objective response rate with its 95%
CI (Newcombe's score interval, statsmodels), hazard ratio of progression from a Cox model
(statsmodels PHReg, Breslow ties) with its 95% CI, and the log-rank test (scipy).

A virtual trial gives every arm the same patients; the comparison treats the arms as
independent samples, as a randomised trial would (conservative for paired data). Where a
population was drawn with replacement, each virtual patient counts once (the statistics are
bounded by the number of distinct patients).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def distinct(ok: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct virtual patient (column ``vp``) where patients repeat."""
    if "vp" not in ok.columns or not ok.vp.duplicated().any():
        return ok
    return ok.drop_duplicates("vp")


def hazard_ratio(days_a, events_a, days_b, events_b) -> tuple[float, float, float]:
    """Cox hazard ratio of progression of A against B (reference), with 95% CI; nan where
    it is not estimable (no events, or arms so separated that the likelihood has no maximum)."""
    import warnings

    from statsmodels.duration.hazard_regression import PHReg

    t = np.concatenate([days_a, days_b]).astype(float)
    e = np.concatenate([events_a, events_b]).astype(float)
    x = np.concatenate([np.ones(len(days_a)), np.zeros(len(days_b))])[:, None]
    nan = (float("nan"),) * 3
    if e.sum() == 0:
        return nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = PHReg(t, x, status=e, ties="breslow").fit(disp=False)
    beta, se = float(fit.params[0]), float(fit.bse[0])
    retvals = getattr(fit, "mle_retvals", None) or {}
    if not (retvals.get("converged", True) and np.isfinite(se) and abs(beta) < 20):
        return nan
    return float(np.exp(beta)), float(np.exp(beta - 1.96 * se)), float(np.exp(beta + 1.96 * se))


def logrank_p(days_a, events_a, days_b, events_b) -> float:
    """Two-sided log-rank p-value of A against B."""
    a = stats.CensoredData(
        uncensored=np.asarray(days_a)[events_a], right=np.asarray(days_a)[~events_a]
    )
    b = stats.CensoredData(
        uncensored=np.asarray(days_b)[events_b], right=np.asarray(days_b)[~events_b]
    )
    if not (np.asarray(events_a).any() or np.asarray(events_b).any()):
        return float("nan")
    return float(stats.logrank(a, b).pvalue)


def compare_arms(outcomes: pd.DataFrame, reference: str) -> pd.DataFrame:
    """Every arm against ``reference``: n (distinct patients), ORR difference (percentage
    points, 95% CI), PFS hazard ratio (95% CI) and log-rank p."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    ok = outcomes[outcomes.status == "ok"]
    ref = distinct(ok[ok.arm == reference])
    if ref.empty:
        raise ValueError(f"reference arm {reference!r} has no evaluable patient")
    rows = []
    r_resp = int(ref.bor.isin(["CR", "PR"]).sum())
    r_days, r_ev = ref.pfs_days.to_numpy(float), ref.progressed.to_numpy(bool)
    for arm in dict.fromkeys(ok.arm):
        if arm == reference:
            continue
        a = distinct(ok[ok.arm == arm])
        if a.empty:
            continue
        k = int(a.bor.isin(["CR", "PR"]).sum())
        lo, hi = confint_proportions_2indep(k, len(a), r_resp, len(ref), method="newcomb")
        days, ev = a.pfs_days.to_numpy(float), a.progressed.to_numpy(bool)
        hr, hr_lo, hr_hi = hazard_ratio(days, ev, r_days, r_ev)
        rows.append(
            {
                "arm": arm,
                "reference": reference,
                "n": len(a),
                "n_reference": len(ref),
                "ORR_difference_pp": 100.0 * (k / len(a) - r_resp / len(ref)),
                "ORR_difference_low_pp": 100.0 * float(lo),
                "ORR_difference_high_pp": 100.0 * float(hi),
                "PFS_hazard_ratio": hr,
                "PFS_hazard_ratio_low": hr_lo,
                "PFS_hazard_ratio_high": hr_hi,
                "logrank_p": logrank_p(days, ev, r_days, r_ev),
            }
        )
    return pd.DataFrame(rows)
