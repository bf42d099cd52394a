"""Non-compartmental analysis of a simulated concentration-time curve."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Exposure:
    cmax: float
    tmax_h: float
    ctrough: float | None  # just before the last dose (None with a single dose)
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
    """Distribution and elimination half-lives (minutes) of a single-dose decline: a
    bi-exponential ``A exp(-alpha t) + B exp(-beta t)`` fitted by least squares on log
    concentration from Cmax down to 1e-3 Cmax (the measurable range), started from curve
    stripping. A mono-exponential decline gives ``(None, beta)``."""
    from scipy.optimize import least_squares

    i0 = int(np.argmax(c))
    t, y = t_h[i0:] - t_h[i0], c[i0:]
    keep = np.cumprod(y > y[0] * 1e-3).astype(bool)
    t, y = t[keep], y[keep]
    if t.size < 9 or np.any(y <= 0):
        return None, None
    late = t >= 0.5 * t[-1]
    tb = _loglinear_half_life(t[late], y[late])
    if tb is None:
        return None, None
    b0 = math.log(2) / tb
    B0 = float(np.exp(np.polyval(np.polyfit(t[late], np.log(y[late]), 1), 0.0)))
    A0 = max(y[0] - B0, 1e-3 * y[0])
    x0 = np.log([A0, 5 * b0, B0, b0])

    def resid(x: np.ndarray) -> np.ndarray:
        a_amp, a_rate, b_amp, b_rate = np.exp(np.clip(x, -60.0, 60.0))
        return np.log(a_amp * np.exp(-a_rate * t) + b_amp * np.exp(-b_rate * t)) - np.log(y)

    fit = least_squares(resid, x0, method="lm")
    a_amp, a_rate, b_amp, b_rate = np.exp(np.clip(fit.x, -60.0, 60.0))
    if a_rate < b_rate:
        a_amp, a_rate, b_amp, b_rate = b_amp, b_rate, a_amp, a_rate
    one = np.log(np.exp(np.polyval(np.polyfit(t, np.log(y), 1), t))) - np.log(y)
    if a_amp < 0.01 * b_amp or np.sum(fit.fun**2) > 0.9 * np.sum(one**2):
        return None, tb * 60
    return math.log(2) / a_rate * 60, math.log(2) / b_rate * 60


def exposure(
    t_h: np.ndarray,
    c: np.ndarray,
    *,
    first_interval_end_h: float | None = None,
    auc: float | None = None,
    decline: tuple[np.ndarray, np.ndarray] | None = None,
    trough_time_h: float | None = None,
) -> Exposure:
    """Cmax, Tmax, Ctrough, AUC; half-lives from the first dosing interval
    (up to ``first_interval_end_h``) or the whole curve. ``auc``: the exact integral when the
    caller has it (an ODE state), else the linear-up / log-down trapezoid on the samples.
    ``decline``: ``(t_h, c)`` of a single dose's decline sampled evenly, to fit the half-lives
    on instead. Ctrough is the concentration at ``trough_time_h`` (the caller puts it just
    before the last dose, as pharmacometrics defines a trough); without it, the last value."""
    t_h, c = np.asarray(t_h, float), np.clip(np.asarray(c, float), 0.0, None)
    i = int(np.argmax(c))
    dt = np.diff(t_h)
    c0, c1 = c[:-1], c[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_down = (c1 < c0) & (c1 > 0) & (c0 > 0)
        seg = np.where(log_down, (c0 - c1) * dt / np.log(c0 / c1), (c0 + c1) * dt / 2)
    auc = float(np.sum(seg)) if auc is None else float(auc)
    if decline is not None:
        ta, tb = half_lives(*decline)
    elif first_interval_end_h is not None:
        m = t_h <= first_interval_end_h
        ta, tb = half_lives(t_h[m], c[m])
    else:
        ta, tb = half_lives(t_h, c)
    at = t_h[-1] if trough_time_h is None else trough_time_h
    trough = float(np.interp(at, t_h, c))
    return Exposure(float(c[i]), float(t_h[i]), trough, auc, ta, tb)
