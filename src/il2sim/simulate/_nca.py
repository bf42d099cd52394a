"""Non-compartmental analysis of a simulated concentration-time curve."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Exposure:
    cmax: float
    tmax_h: float
    ctrough: float
    auc: float  # concentration x hour (linear-up / log-down trapezoid)
    t_half_alpha_min: float | None
    t_half_beta_min: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _loglinear_half_life(t: np.ndarray, c: np.ndarray) -> float | None:
    ok = c > 0
    if ok.sum() < 3:
        return None
    slope = np.polyfit(t[ok], np.log(c[ok]), 1)[0]
    return math.log(2) / -slope if slope < 0 else None


def half_lives(t_h: np.ndarray, c: np.ndarray) -> tuple[float | None, float | None]:
    """Distribution and elimination half-lives (minutes) of a single-dose decline by curve
    stripping: the terminal log-linear phase (second half of the decline to 1e-3 Cmax)
    gives beta; the residuals of the early phase after subtracting it give alpha."""
    i0 = int(np.argmax(c))
    t, y = t_h[i0:], c[i0:]
    keep = np.cumprod(y > y[0] * 1e-3).astype(bool)  # the measurable range: 3 logs below Cmax
    t, y = t[keep], y[keep]
    if t.size < 9:
        return None, None
    late = t >= t[0] + 0.5 * (t[-1] - t[0])
    tb = _loglinear_half_life(t[late], y[late])
    if tb is None:
        return None, None
    beta = math.log(2) / tb
    coef = np.polyfit(t[late], np.log(y[late]), 1)
    resid = y - np.exp(np.polyval(coef, t))
    early = (t <= t[0] + (t[-1] - t[0]) / 4) & (resid > 0.05 * y)
    ta = _loglinear_half_life(t[early], resid[early]) if early.sum() >= 3 else None
    if ta is not None and ta >= tb:
        ta = None
    return (None if ta is None else ta * 60), tb * 60 if beta > 0 else None


def exposure(
    t_h: np.ndarray, c: np.ndarray, *, first_interval_end_h: float | None = None
) -> Exposure:
    """Cmax, Tmax, Ctrough (last value), AUC; half-lives from the first dosing interval
    (up to ``first_interval_end_h``) or the whole curve."""
    t_h, c = np.asarray(t_h, float), np.asarray(c, float)
    i = int(np.argmax(c))
    dt = np.diff(t_h)
    c0, c1 = c[:-1], c[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_down = (c1 < c0) & (c1 > 0) & (c0 > 0)
        seg = np.where(log_down, (c0 - c1) * dt / np.log(c0 / c1), (c0 + c1) * dt / 2)
    auc = float(np.sum(seg))
    if first_interval_end_h is not None:
        m = t_h <= first_interval_end_h
        ta, tb = half_lives(t_h[m], c[m])
    else:
        ta, tb = half_lives(t_h, c)
    return Exposure(float(c[i]), float(t_h[i]), float(c[-1]), auc, ta, tb)
