"""Tumour response by RECIST 1.1 (Eisenhauer et al. 2009 Eur J Cancer 45:228) from a simulated
tumour burden, response rates with exact confidence intervals, and Kaplan-Meier estimates.

The sum of target-lesion diameters (SLD) scales with the cube root of the tumour cell number
(lesions grow and shrink in all three dimensions): SLD = SLD0 * (N / N0)^(1/3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from il2sim.catalog import Response

CATEGORIES = ("CR", "PR", "SD", "PD")


def sld_mm(cells: np.ndarray, baseline_cells: float, response: Response) -> np.ndarray:
    """Sum of diameters (mm) for tumour cell numbers, from the baseline SLD."""
    ratio = np.clip(np.asarray(cells, dtype=float) / baseline_cells, 0.0, None)
    return response.baseline_sld_mm * np.cbrt(ratio)


def patient_scan_days(
    scheduled: tuple[float, ...], window_days: float, patient: int, last_day: int
) -> np.ndarray:
    """One patient's scan days (whole days after the start of treatment): each scheduled day
    moved uniformly within +-``window_days``, the same for a patient in every arm and run
    (drawn from its number: a shipped virtual patient's own, which its selection used),
    increasing, within 1..``last_day``."""
    days = np.asarray(scheduled, dtype=float)
    if window_days > 0 and days.size:
        rng = np.random.default_rng((0x5CA4, int(patient)))
        days = days + rng.uniform(-window_days, window_days, days.size)
    out = np.clip(np.rint(days), 1, last_day).astype(int)
    return np.unique(out)


@dataclass(frozen=True)
class Assessment:
    """One patient's response: best overall response, progression and its time, best change."""

    bor: str
    progressed: bool
    pfs_days: float  # time of the scan that showed progression, or of the last scan (censored)
    best_change_pct: float  # best (lowest) SLD change from baseline at any scan


def assess(
    scan_days: np.ndarray, cells_at_scans: np.ndarray, baseline_cells: float, response: Response
) -> Assessment:
    """RECIST 1.1 at each scan: CR when SLD < ``cr_sld_mm`` (lesions gone), PR at >= 30%
    decrease from baseline, PD at >= 20% and >= 5 mm increase over the nadir (baseline
    included), SD otherwise. Best overall response is the best before progression (SD needs no
    minimum duration here: a scan at >= 6 weeks); PFS is the time of the first PD scan."""
    if len(scan_days) == 0:
        raise ValueError(
            "no scans within the follow-up: lengthen duration_days or shorten the scan interval"
        )
    sld = sld_mm(cells_at_scans, baseline_cells, response)
    base = response.baseline_sld_mm
    nadir = base
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    best = "PD"
    seen_any = False
    for day, s in zip(scan_days, sld, strict=True):
        if s >= 1.2 * nadir and s - nadir >= 5.0:
            return Assessment(best if seen_any else "PD", True, float(day), _best_change(sld, base))
        if s < response.cr_sld_mm:
            cat = "CR"
        elif s <= 0.7 * base:
            cat = "PR"
        else:
            cat = "SD"
        if not seen_any or rank[cat] < rank[best]:
            best = cat
        seen_any = True
        nadir = min(nadir, s)
    return Assessment(best, False, float(scan_days[-1]), _best_change(sld, base))


def _best_change(sld: np.ndarray, base: float) -> float:
    return float(100.0 * (sld.min() / base - 1.0))


@dataclass(frozen=True)
class Rate:
    """A proportion with its exact (Clopper-Pearson) 95% confidence interval."""

    k: int
    n: int
    value: float
    ci_low: float
    ci_high: float

    def as_dict(self) -> dict:
        return {"k": self.k, "n": self.n, "value": self.value, "ci95": [self.ci_low, self.ci_high]}


def rate(k: int, n: int) -> Rate:
    if n == 0:
        raise ValueError("no evaluable patients: a rate needs at least one")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="exact")
    return Rate(int(k), int(n), k / n, float(ci.low), float(ci.high))


#: The best overall responses each response-rate endpoint counts.
RATE_CLASSES = {"ORR": ("CR", "PR"), "CR": ("CR",), "DCR": ("CR", "PR", "SD"), "PD": ("PD",)}


def response_rates(bors: list[str] | np.ndarray) -> dict[str, Rate]:
    """ORR (CR + PR), CR, disease-control rate (CR + PR + SD) and progressive disease as best
    response (PD)."""
    b = np.asarray(bors)
    return {k: rate(int(np.isin(b, c).sum()), b.size) for k, c in RATE_CLASSES.items()}


def kaplan_meier(days: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival (times, S(t)) with censoring, by scipy.stats.ecdf; starts at
    (0, 1)."""
    days = np.asarray(days, dtype=float)
    events = np.asarray(events, dtype=bool)
    data = stats.CensoredData(uncensored=days[events], right=days[~events])
    if not events.any():
        return np.array([0.0, days.max()]), np.array([1.0, 1.0])
    sf = stats.ecdf(data).sf
    return np.concatenate([[0.0], sf.quantiles]), np.concatenate([[1.0], sf.probabilities])
