"""Non-compartmental analysis against closed forms: one- and two-compartment IV bolus curves
(superposition of doses), where Cmax, Ctrough, AUCtau, AUC0-inf, lambda_z, CL, Vz and the
accumulation ratio are known exactly."""

import math

import numpy as np
import pytest

from il2sim.simulate import exposure, format_duration_h, terminal_slope

V_L, K_PER_H, DOSE_MG, TAU_H, N_DOSES = 5.0, 0.1, 10.0, 12.0, 6


def _one_compartment(t: np.ndarray) -> np.ndarray:
    """ng/mL after N_DOSES IV boluses of DOSE_MG every TAU_H into V_L, eliminated at K."""
    c = np.zeros_like(t)
    for k in range(N_DOSES):
        dt = t - k * TAU_H
        c += np.where(dt >= 0, DOSE_MG * 1e6 / (V_L * 1e3) * np.exp(-K_PER_H * dt), 0.0)
    return c


def _grid(end_h: float) -> np.ndarray:
    """A dense grid with each dose time and the instant before it (as `pk` samples)."""
    doses = np.arange(N_DOSES) * TAU_H
    return np.unique(np.concatenate([np.linspace(0, end_h, 4001), doses, doses[1:] - 1e-9]))


def test_one_compartment_multiple_dose_matches_closed_form():
    t = _grid(N_DOSES * TAU_H + 200.0)
    c0 = DOSE_MG * 1e6 / (V_L * 1e3)  # ng/mL after one dose
    e = exposure(
        t,
        _one_compartment(t),
        dose_times_h=np.arange(N_DOSES) * TAU_H,
        dose_ng=N_DOSES * DOSE_MG * 1e6,
    )
    r = math.exp(-K_PER_H * TAU_H)
    # Ctrough before the last dose: c0 r (1 - r^(n-1)) / (1 - r)
    assert e.ctrough == pytest.approx(c0 * r * (1 - r ** (N_DOSES - 1)) / (1 - r), rel=1e-6)
    assert e.cmax == pytest.approx(c0 * (1 - r**N_DOSES) / (1 - r), rel=1e-6)
    assert e.tmax_h == pytest.approx((N_DOSES - 1) * TAU_H)
    # AUC over the n-th interval: (c0 / k)(1 - r^n); accumulation ratio (1 - r^(n-1)) / (1 - r)
    for n, iv in enumerate(e.intervals[:-1], start=1):
        assert iv.auc == pytest.approx(c0 / K_PER_H * (1 - r**n), rel=1e-5)
        assert iv.tmax_h == 0.0
        assert iv.ctrough == pytest.approx(iv.cmin, rel=1e-9)
    assert e.accumulation_ratio == pytest.approx((1 - r ** (N_DOSES - 1)) / (1 - r), rel=1e-5)
    assert e.lambda_z_per_h == pytest.approx(K_PER_H, rel=1e-6)
    assert e.auc_inf == pytest.approx(N_DOSES * c0 / K_PER_H, rel=1e-5)
    assert e.cl_L_per_h == pytest.approx(K_PER_H * V_L, rel=1e-5)
    assert e.vz_L == pytest.approx(V_L, rel=1e-5)


def test_auc_inf_extrapolates_a_curve_cut_short():
    """Cut at 2 half-lives after the last dose, AUC0-inf still recovers dose / CL, and the
    extrapolated part is what the cut left out."""
    end = (N_DOSES - 1) * TAU_H + 2 * math.log(2) / K_PER_H
    t = _grid(end)
    c0 = DOSE_MG * 1e6 / (V_L * 1e3)
    e = exposure(t, _one_compartment(t), dose_times_h=np.arange(N_DOSES) * TAU_H)
    clast = _one_compartment(np.array([end]))[0]
    assert e.auc_inf == pytest.approx(N_DOSES * c0 / K_PER_H, rel=1e-4)
    assert e.auc_extrap_pct == pytest.approx(100 * clast / K_PER_H / e.auc_inf, rel=1e-4)
    assert e.cl_L_per_h is None  # no dose given, no clearance


def test_two_compartment_terminal_slope_is_beta():
    """A bi-exponential decline: lambda_z is the slower rate, not a blend, and CL = dose /
    AUC0-inf = dose / (A / alpha + B / beta). Within 0.1%: the adjusted-R^2 rule (ties to more
    points) lets the fit start where the distribution phase is ~1% of the curve."""
    a, alpha, b, beta = 80.0, 2.0, 20.0, 0.05
    t = np.linspace(0, 200, 2001)
    c = a * np.exp(-alpha * t) + b * np.exp(-beta * t)
    e = exposure(t, c, dose_times_h=np.array([0.0]), dose_ng=1e6)
    assert e.lambda_z_per_h == pytest.approx(beta, rel=1e-3)
    assert e.t_half_z_h == pytest.approx(math.log(2) / beta, rel=1e-3)
    assert e.auc_inf == pytest.approx(a / alpha + b / beta, rel=1e-3)
    assert e.cl_L_per_h == pytest.approx(1e6 / (a / alpha + b / beta) / 1e3, rel=1e-3)
    assert e.ctrough is None and e.accumulation_ratio is None and len(e.intervals) == 1


def test_terminal_slope_refuses_a_curve_without_a_decline():
    t = np.linspace(0, 10, 11)
    assert terminal_slope(t, 1 - np.exp(-t)) is None  # rising to a plateau
    assert terminal_slope(t[:3], np.array([1.0, 0.5, 0.25])) is None  # two points after Cmax


def test_durations_read_in_the_unit_that_fits():
    assert format_duration_h(13 / 60) == "13 min"
    assert format_duration_h(6.3) == "6.3 h"
    assert format_duration_h(22 * 24) == "22 d"
    assert format_duration_h(None) == "-"
