"""What a cohort run amounts to, per arm: response rates with exact CIs, progression-free
survival (Kaplan-Meier), toxicity rates and the patients that could not be evaluated (with
reasons). Never a NaN: failed and ineligible patients are counted, not averaged."""

from __future__ import annotations

import numpy as np
import pandas as pd

from il2sim.cohort._recist import kaplan_meier, rate, response_rates


def _median_survival(t: np.ndarray, s: np.ndarray) -> float | None:
    below = np.nonzero(s <= 0.5)[0]
    return float(t[below[0]]) if below.size else None  # None: not reached


def summarise_arm(outcomes: pd.DataFrame, arm: str, scan_days: list[float]) -> dict:
    o = outcomes[outcomes.arm == arm]
    ok = o[o.status == "ok"]
    out: dict = {
        "arm": arm,
        "n_patients": len(o),
        "n_evaluable": len(ok),
        "n_ineligible": int((o.status == "ineligible").sum()),
        "n_failed": int((o.status == "failed").sum()),
        "failures": [
            {"patient": int(r.patient), "reason": str(r.error)}
            for r in o[o.status == "failed"].itertuples()
        ],
    }
    if ok.empty:
        out["note"] = "no evaluable patient"
        return out
    out.update({k: v.as_dict() for k, v in response_rates(ok.bor.to_numpy()).items()})
    out["best_overall_response"] = {c: int((ok.bor == c).sum()) for c in ("CR", "PR", "SD", "PD")}
    t, s = kaplan_meier(ok.pfs_days.to_numpy(), ok.progressed.to_numpy())
    out["pfs"] = {
        "median_days": _median_survival(t, s),
        **{f"at_day_{d:g}": float(s[np.searchsorted(t, d, side="right") - 1]) for d in scan_days},
    }
    out["best_change_pct_median"] = float(ok.best_change_pct.median())
    tox = {}
    for col in ok.columns:
        if col.endswith("_grade3"):
            name = col.removesuffix("_grade3")
            tox[name] = {
                "severe": rate(int(ok[col].sum()), len(ok)).as_dict(),
                "any": rate(int(ok[f"{name}_any"].sum()), len(ok)).as_dict(),
                "max_median": float(ok[f"{name}_max"].median()),
            }
    out["toxicity"] = tox
    return out
