"""Non-compartmental analysis of a simulated concentration-time curve, with the field's
definitions (as in PKNCA and Phoenix WinNonlin): per dosing interval Cmax, Tmax, Cmin,
Ctrough (just before the next dose) and AUCtau; over the run AUC0-last, the terminal slope
lambda_z (log-linear fit over the last points, chosen by adjusted R^2), AUC0-inf with its
extrapolated percentage, CL (CL/F after SC) = dose / AUC0-inf, Vz = CL / lambda_z and the
accumulation ratio."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class DosingInterval:
    """One dose's interval: from its start to the next dose (or the end of the run)."""

    start_h: float
    end_h: float
    cmax: float
    tmax_h: float  # since the dose
    cmin: float
    ctrough: float | None  # just before the next dose (None: the last dose's interval)
    auc: float  # over the interval (AUCtau when it ends at the next dose)


@dataclass(frozen=True)
class Exposure:
    cmax: float
    tmax_h: float
    ctrough: float | None  # just before the last dose (None with a single dose)
    auc: float  # AUC0-last, concentration x hour (exact or linear-up / log-down trapezoid)
    t_half_alpha_min: float | None
    t_half_beta_min: float | None
    lambda_z_per_h: float | None = None  # terminal slope (log-linear, adjusted R^2)
    t_half_z_h: float | None = None  # ln 2 / lambda_z
    auc_inf: float | None = None  # AUC0-last + Clast / lambda_z
    auc_extrap_pct: float | None = None  # the extrapolated part of AUC0-inf (%)
    cl_L_per_h: float | None = None  # dose / AUC0-inf (CL/F after SC; needs the dose)
    vz_L: float | None = None  # CL / lambda_z (Vz/F after SC)
    accumulation_ratio: float | None = None  # AUCtau of the last full interval / the first
    intervals: tuple[DosingInterval, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict:
        return asdict(self)


def format_duration_h(hours: float | None) -> str:
    """A duration in the unit that reads best: minutes under 2 h, hours under 2 days, else
    days (``'13 min'``, ``'6.3 h'``, ``'22 d'``)."""
    if hours is None or not math.isfinite(hours):
        return "-"
    if hours < 2:
        return f"{hours * 60:.3g} min"
    if hours < 48:
        return f"{hours:.3g} h"
    return f"{hours / 24:.3g} d"


def cumulative_auc(t_h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """AUC from the first sample to each sample: linear trapezoid while the concentration
    rises or is flat, log trapezoid while it falls (linear-up / log-down)."""
    t_h, c = np.asarray(t_h, float), np.clip(np.asarray(c, float), 0.0, None)
    dt = np.diff(t_h)
    c0, c1 = c[:-1], c[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_down = (c1 < c0) & (c1 > 0) & (c0 > 0)
        seg = np.where(log_down, (c0 - c1) * dt / np.log(c0 / c1), (c0 + c1) * dt / 2)
    return np.concatenate([[0.0], np.cumsum(seg)])


#: Lambda_z: at least this many points; fits within this adjusted R^2 of the best are ties,
#: and a tie goes to the fit with more points (PKNCA's adj.r.squared.factor convention).
MIN_LAMBDA_Z_POINTS, ADJ_R2_TOLERANCE = 3, 1e-4
#: Points below this fraction of Cmax are not used for lambda_z (a simulated curve has no
#: assay limit; this stands in for one, far below any measurable concentration).
LAMBDA_Z_FLOOR = 1e-6
#: Candidate start points tried for the terminal fit on a dense simulated grid.
LAMBDA_Z_CANDIDATES = 60


def terminal_slope(t_h: np.ndarray, c: np.ndarray, after_h: float = 0.0) -> float | None:
    """lambda_z (1/h): the log-linear fit over the last points after Cmax (and after
    ``after_h``, e.g. the end of the last dose) with the best adjusted R^2, ties to the fit
    with more points; None if fewer than three positive points or a slope that is not
    negative."""
    t_h, c = np.asarray(t_h, float), np.asarray(c, float)
    i0 = int(np.argmax(np.where(t_h >= after_h, c, -np.inf)))
    t, y = t_h[i0 + 1 :], c[i0 + 1 :]
    ok = y > max(c[i0], 0.0) * LAMBDA_Z_FLOOR
    t, y = t[ok], np.log(y[ok])
    n = t.size
    if n < MIN_LAMBDA_Z_POINTS:
        return None
    starts = np.unique(
        np.round(np.geomspace(1, n - MIN_LAMBDA_Z_POINTS + 1, LAMBDA_Z_CANDIDATES)).astype(int) - 1
    )
    best: tuple[float, int, float] | None = None  # (adjusted R^2, points, slope)
    for s in starts:
        tt, yy = t[s:], y[s:]
        k = tt.size
        slope, icpt = np.polyfit(tt, yy, 1)
        ss_res = float(np.sum((yy - (slope * tt + icpt)) ** 2))
        ss_tot = float(np.sum((yy - yy.mean()) ** 2))
        r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
        adj = 1.0 - (1.0 - r2) * (k - 1) / (k - 2)
        if (
            best is None
            or adj > best[0] + ADJ_R2_TOLERANCE
            or (adj >= best[0] - ADJ_R2_TOLERANCE and k > best[1])
        ):
            best = (max(adj, best[0]) if best else adj, k, float(slope))
    return -best[2] if best is not None and best[2] < 0 else None


def dosing_intervals(
    t_h: np.ndarray,
    c: np.ndarray,
    dose_times_h: np.ndarray,
    auc_cum: np.ndarray | None = None,
) -> tuple[DosingInterval, ...]:
    """Per dose: Cmax and Tmax (since the dose), Cmin and Ctrough (the last sample before the
    next dose: sample just before each dose for an exact trough) and AUC over the interval
    (to the next dose, the last one's to the end of the run). ``auc_cum``: cumulative AUC at
    each sample when the caller has it exactly (an ODE state), else linear-up / log-down."""
    t_h, c = np.asarray(t_h, float), np.clip(np.asarray(c, float), 0.0, None)
    auc_cum = cumulative_auc(t_h, c) if auc_cum is None else np.asarray(auc_cum, float)
    starts = np.unique(np.asarray(dose_times_h, float))
    starts = starts[(starts >= t_h[0]) & (starts < t_h[-1])]
    out = []
    for k, t0 in enumerate(starts):
        last = k + 1 == starts.size
        t1 = t_h[-1] if last else starts[k + 1]
        m = (t_h >= t0) & ((t_h <= t1) if last else (t_h < t1))
        if not m.any():
            continue
        tt, cc = t_h[m], c[m]
        i = int(np.argmax(cc))
        out.append(
            DosingInterval(
                start_h=float(t0),
                end_h=float(t1),
                cmax=float(cc[i]),
                tmax_h=float(tt[i] - t0),
                cmin=float(cc.min()),
                ctrough=None if last else float(cc[-1]),
                auc=float(np.interp(t1, t_h, auc_cum) - np.interp(t0, t_h, auc_cum)),
            )
        )
    return tuple(out)


def _accumulation(intervals: tuple[DosingInterval, ...]) -> float | None:
    """AUCtau of the last full interval over the first's, when they are equally long."""
    full = [iv for iv in intervals if iv.ctrough is not None]
    if len(full) < 2:
        return None
    a, b = full[0], full[-1]
    if not math.isclose(a.end_h - a.start_h, b.end_h - b.start_h, rel_tol=1e-3) or a.auc <= 0:
        return None
    return b.auc / a.auc


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
    dose_times_h: np.ndarray | None = None,
    dose_ng: float | None = None,
    auc_cum: np.ndarray | None = None,
    decline: tuple[np.ndarray, np.ndarray] | None = None,
) -> Exposure:
    """NCA of one plasma curve (ng/mL against hours). ``dose_times_h``: when the molecule was
    dosed (per-interval metrics, Ctrough just before the last dose, accumulation ratio; the
    caller samples just before each dose for an exact trough); ``dose_ng``: the total dose
    (CL and Vz); ``auc_cum``: the exact cumulative AUC at each sample when the caller has it
    (an ODE state), else linear-up / log-down; ``decline``: ``(t_h, c)`` of the first dose's
    decline sampled evenly, to fit the distribution and elimination half-lives on (else the
    first dosing interval, or the whole curve)."""
    t_h, c = np.asarray(t_h, float), np.clip(np.asarray(c, float), 0.0, None)
    auc_cum = cumulative_auc(t_h, c) if auc_cum is None else np.asarray(auc_cum, float)
    doses = np.unique(np.asarray(dose_times_h if dose_times_h is not None else [], float))
    intervals = dosing_intervals(t_h, c, doses, auc_cum) if doses.size else ()
    if decline is not None:
        ta, tb = half_lives(*decline)
    elif doses.size > 1:
        m = t_h <= doses[1]
        ta, tb = half_lives(t_h[m], c[m])
    else:
        ta, tb = half_lives(t_h, c)
    i = int(np.argmax(c))
    auc = float(auc_cum[-1])
    lz = terminal_slope(t_h, c, after_h=float(doses[-1]) if doses.size else float(t_h[0]))
    auc_inf = extrap = cl = vz = None
    if lz is not None and auc > 0:
        auc_inf = auc + float(c[-1]) / lz
        extrap = 100.0 * (auc_inf - auc) / auc_inf
        if dose_ng is not None and dose_ng > 0:
            cl = dose_ng / auc_inf / 1e3  # ng / (ng h / mL) = mL/h -> L/h
            vz = cl / lz
    full = [iv for iv in intervals if iv.ctrough is not None]
    return Exposure(
        cmax=float(c[i]),
        tmax_h=float(t_h[i]),
        ctrough=full[-1].ctrough if full else None,
        auc=auc,
        t_half_alpha_min=ta,
        t_half_beta_min=tb,
        lambda_z_per_h=lz,
        t_half_z_h=None if lz is None else math.log(2) / lz,
        auc_inf=auc_inf,
        auc_extrap_pct=extrap,
        cl_L_per_h=cl,
        vz_L=vz,
        accumulation_ratio=_accumulation(intervals),
        intervals=intervals,
    )
