"""Tumour response by RECIST 1.1 (Eisenhauer et al. 2009 Eur J Cancer 45:228) from a simulated
tumour burden, response rates with exact confidence intervals, and Kaplan-Meier estimates.

A lesion's diameter scales with the cube root of its tumour cell number (lesions grow and
shrink in all three dimensions). With one lesion the sum of target-lesion diameters (SLD) is
SLD0 * (N / N0)^(1/3); with several (:class:`PatientLesions`) it is the sum of each lesion's
diameter, each lesion holding fixed shares of the two tumour clones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from il2sim.catalog import Lesions, Response

CATEGORIES = ("CR", "PR", "SD", "PD")


def sld_mm(cells: np.ndarray, baseline_cells: float, response: Response) -> np.ndarray:
    """Sum of diameters (mm) for tumour cell numbers, from the baseline SLD."""
    ratio = np.clip(np.asarray(cells, dtype=float) / baseline_cells, 0.0, None)
    return response.baseline_sld_mm * np.cbrt(ratio)


@dataclass(frozen=True)
class PatientLesions:
    """One patient's lesions: target lesions (``target``) and occult metastases below
    detection; baseline diameters (mm), each lesion's share of the antigen-presenting and of
    the escape clone at baseline (each share vector sums to 1), the T-cell killing each meets
    relative to the patient's average, and baseline cell numbers. An occult lesion reaching
    ``new_lesion_mm`` is a new lesion (progression)."""

    diameter0_mm: np.ndarray
    antigen_share: np.ndarray
    escape_share: np.ndarray
    kill_factor: np.ndarray
    cells0: np.ndarray
    target: np.ndarray
    new_lesion_mm: float = 5.0

    def diameters_mm(
        self, antigen_cells: np.ndarray, escape_cells: np.ndarray, kill_integral: np.ndarray
    ) -> np.ndarray:
        """Each lesion's diameter (columns) at each time (rows) from the two clones' totals and
        the T-cell killing the antigen clone met since baseline (integral of its per-cell rate):
        a lesion meeting f times the average killing holds exp(-(f - 1) * integral) times its
        share of the antigen clone."""
        a = np.clip(np.asarray(antigen_cells, dtype=float), 0.0, None)[:, None]
        e = np.clip(np.asarray(escape_cells, dtype=float), 0.0, None)[:, None]
        k = np.asarray(kill_integral, dtype=float)[:, None]
        extra = np.exp(np.clip(-(self.kill_factor - 1.0) * k, -700.0, 700.0))
        cells = a * self.antigen_share * extra + e * self.escape_share
        return self.diameter0_mm * np.cbrt(cells / self.cells0)

    def read(
        self, antigen_cells: np.ndarray, escape_cells: np.ndarray, kill_integral: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Target-lesion diameters (rows: times), their sum (mm), and whether a new lesion is
        seen (an occult one at ``new_lesion_mm`` or more)."""
        d = self.diameters_mm(antigen_cells, escape_cells, kill_integral)
        targets = d[:, self.target]
        new: np.ndarray = np.asarray((d[:, ~self.target] >= self.new_lesion_mm).any(axis=1))
        return targets, np.asarray(targets.sum(axis=1)), new


def _log_normal(rng: np.random.Generator, sd: float, n: int) -> np.ndarray:
    return np.exp(sd * rng.standard_normal(n))


def patient_lesions(
    lesions: Lesions,
    patient: int,
    baseline_sld_mm: float,
    antigen_cells0: float,
    escape_cells0: float,
) -> PatientLesions:
    """Draw one patient's lesions (the same in every arm and run: seeded by the patient's
    number) and divide the clones at baseline among them: lesion volumes follow the diameters
    cubed (target diameters summing to ``baseline_sld_mm``, occult ones log-uniform in
    ``occult_diameter_mm``), escape shares the volumes times a log-normal factor, capped so
    that no lesion holds more escape cells than cells; the antigen clone fills the rest of
    each. Each lesion meets the patient's T-cell killing times a log-normal factor (median
    1)."""
    rng = np.random.default_rng((0x1E51, int(patient)))
    k = int(rng.integers(lesions.count_min, lesions.count_max + 1))
    d = _log_normal(rng, lesions.diameter_sd_log, k)
    factor = _log_normal(rng, lesions.escape_sd_log, k)
    kill = _log_normal(rng, lesions.kill_sd_log, k)
    d0 = baseline_sld_mm * d / d.sum()
    m = int(rng.poisson(lesions.occult_mean)) if lesions.occult_mean > 0 else 0
    if m:  # occult metastases: drawn after the target lesions, which they leave unchanged
        lo, hi = np.log(lesions.occult_diameter_mm)
        d0 = np.concatenate([d0, np.exp(rng.uniform(lo, hi, m))])
        factor = np.concatenate([factor, _log_normal(rng, lesions.escape_sd_log, m)])
        kill = np.concatenate([kill, _log_normal(rng, lesions.kill_sd_log, m)])
    target = np.arange(k + m) < k
    total = max(antigen_cells0, 0.0) + max(escape_cells0, 0.0)
    volume = d0**3 / np.sum(d0**3)

    def made(antigen: np.ndarray, escape: np.ndarray) -> PatientLesions:
        cells0 = antigen * max(antigen_cells0, 0.0) + escape * max(escape_cells0, 0.0)
        return PatientLesions(
            d0, antigen, escape, kill, np.maximum(cells0, 1e-300), target, lesions.new_lesion_mm
        )

    if total <= 0.0 or escape_cells0 <= 0.0:
        return made(volume, volume)
    room = volume * total / escape_cells0  # most escape share each lesion can hold
    w = volume * factor / np.sum(volume * factor)
    for _ in range(k + m):  # move what exceeds a lesion's room to the others, by their weights
        over = w > room
        if not over.any():
            break
        excess = float(np.sum(w[over] - room[over]))
        w[over] = room[over]
        free = ~over & (w < room)
        w[free] += excess * w[free] / w[free].sum()
    w = np.minimum(w, room)
    antigen = (volume * total - w * escape_cells0) / max(antigen_cells0, 1e-300)
    antigen = np.clip(antigen, 0.0, None)
    antigen = antigen / antigen.sum() if antigen.sum() > 0 else volume
    return made(antigen, w / w.sum())


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
    best_change_pct: float  # best (lowest) SLD change from baseline up to progression


def assess(
    scan_days: np.ndarray, cells_at_scans: np.ndarray, baseline_cells: float, response: Response
) -> Assessment:
    """RECIST 1.1 at each scan: CR when SLD < ``cr_sld_mm`` (lesions gone), PR at >= 30%
    decrease from baseline, PD at >= 20% and >= 5 mm increase over the nadir (baseline
    included), SD otherwise. Best overall response is the best before progression (SD needs no
    minimum duration here: a scan at >= 6 weeks); PFS is the time of the first PD scan; the
    best change is the lowest SLD change up to it (later scans do not count)."""
    return assess_sld(scan_days, sld_mm(cells_at_scans, baseline_cells, response), response)


def assess_sld(
    scan_days: np.ndarray,
    sld: np.ndarray,
    response: Response,
    new_lesion: np.ndarray | None = None,
) -> Assessment:
    """RECIST 1.1 (as :func:`assess`) from the sum of target-lesion diameters at each scan
    (mm; baseline ``response.baseline_sld_mm``); a scan that sees a new lesion
    (``new_lesion``) is progression whatever the sum."""
    if len(scan_days) == 0:
        raise ValueError(
            "no scans within the follow-up: lengthen duration_days or shorten the scan interval"
        )
    sld = np.asarray(sld, dtype=float)
    new = np.zeros(sld.size, bool) if new_lesion is None else np.asarray(new_lesion, bool)
    base = response.baseline_sld_mm
    nadir = base
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    best = "PD"
    seen_any = False
    for k, (day, s, fresh) in enumerate(zip(scan_days, sld, new, strict=True)):
        if fresh or (s >= 1.2 * nadir and s - nadir >= 5.0):  # scans after it do not count
            bor = best if seen_any else "PD"
            return Assessment(bor, True, float(day), _best_change(sld[: k + 1], base))
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
