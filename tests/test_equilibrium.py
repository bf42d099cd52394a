"""The multivalent equilibrium solver: closed forms, conservation, and a scipy reference."""

import numpy as np
import pytest
from scipy.optimize import brentq, fsolve

from il2sim.binding import BindingDesign, EquilibriumError, dose_response, solve_equilibrium


def test_monovalent_single_site_is_exact() -> None:
    L = np.logspace(-4, 3, 40)
    st = solve_equilibrium(L, [[1.0]], [[[1 / 2.0]]], [[1000.0]], 0.1, site_unit=(0,))
    np.testing.assert_allclose(st.bound_receptors[:, 0], 1000 * L / (2.0 + L), rtol=1e-10)
    np.testing.assert_allclose(st.bound_ligand, 1000 * L / (2.0 + L), rtol=1e-10)


def _reference(L, n, a, rt, kx, c, site_unit):
    """Per-point scipy solution of the same conservation equations (for comparison)."""
    units = sorted(set(site_unit))

    def bound(R):
        w = kx * a @ R
        logQ, dlz = 0.0, np.zeros(len(site_unit))
        for u in units:
            ss = [s for s in range(len(site_unit)) if site_unit[s] == u]
            P = np.prod(1 + w[ss])
            cc = c if len(ss) > 1 else 1.0
            z = (1 - cc) * (1 + w[ss].sum()) + cc * P
            logQ += n[u] * np.log(z)
            for s in ss:
                dlz[s] = ((1 - cc) + cc * P / (1 + w[s])) / z
        nsite = np.array([n[site_unit[s]] for s in range(len(site_unit))])
        per_site = L * np.exp(logQ) * nsite * dlz  # / kx * kx
        return (per_site[:, None] * a * R[None, :]).sum(axis=0)

    sol = fsolve(lambda u: np.exp(u) + bound(np.exp(u)) - rt, np.log(rt) - 1, xtol=1e-13)
    return rt - np.exp(sol)


@pytest.mark.parametrize("seed", range(5))
def test_matches_scipy_reference_on_random_designs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    site_unit = (0, 0, 1)
    n = np.array([rng.integers(1, 3), rng.integers(1, 3)], dtype=float)
    a = np.zeros((3, 3))
    a[0, 0], a[1, 1], a[2, 2] = 10 ** rng.uniform(-2, 2, 3)
    rt = 10 ** rng.uniform(2, 4, 3)
    L, kx, c = 10 ** rng.uniform(-3, 1), 10 ** rng.uniform(-4, -1), 10 ** rng.uniform(0, 4)
    st = solve_equilibrium(L, n, a, rt, kx, site_unit=site_unit, cooperativity=c)
    np.testing.assert_allclose(
        st.bound_receptors[0], _reference(L, n, a, rt, kx, c, site_unit), rtol=1e-6
    )


def test_receptor_conservation_and_bounds() -> None:
    tab = dose_response(
        ["fc_wt_nterm_biv", "pd1_il2v"], ["treg", "cd8_terminal_exhausted"], np.logspace(-5, 3, 30)
    )
    assert (tab.active_complexes_per_cell >= 0).all()
    # active complexes can never exceed the cell's IL-2Rbeta/gamma-c pairs
    assert (tab[tab.cell == "treg"].active_complexes_per_cell <= 663 + 1e-6).all()


def test_independent_sites_when_cooperativity_is_one() -> None:
    # With c = 1 a two-site unit equals two independent one-site units.
    a2 = np.array([[1.0, 0.0], [0.0, 0.5]])
    kw = dict(
        conc_nM=0.3, affinity_per_nM=a2, receptors_per_cell=[500.0, 800.0], kx_nM_per_receptor=0.01
    )
    one = solve_equilibrium(unit_multiplicity=[2.0], site_unit=(0, 0), cooperativity=1.0, **kw)
    two = solve_equilibrium(unit_multiplicity=[2.0, 2.0], site_unit=(0, 1), **kw)
    np.testing.assert_allclose(one.bound_receptors, two.bound_receptors, rtol=1e-10)


def test_monotone_in_dose_for_monovalent_drug() -> None:
    tab = dose_response(["aldesleukin"], ["treg", "nk"], np.logspace(-6, 4, 60))
    for _, sub in tab.groupby("cell"):
        assert np.all(np.diff(sub.active_complexes_per_cell.to_numpy()) >= -1e-9)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="conc_nM must be finite and >= 0"):
        solve_equilibrium(-1.0, [1.0], [[1.0]], [100.0], 0.1, site_unit=(0,))
    with pytest.raises(ValueError, match="kx_nM_per_receptor must be > 0"):
        solve_equilibrium(1.0, [1.0], [[1.0]], [100.0], 0.0, site_unit=(0,))
    with pytest.raises(ValueError, match="kd_il2rbg_nM must be a positive number"):
        BindingDesign("x", kd_il2rbg_nM=-1.0)


def test_nonconvergence_names_the_parameter_set() -> None:
    with pytest.raises(EquilibriumError, match=r"conc_nM=1, kx_nM_per_receptor=0\.1"):
        solve_equilibrium(1.0, [1.0], [[1.0]], [100.0], 0.1, site_unit=(0,), max_iter=1, tol=0.0)


def test_brentq_reference_for_two_receptor_monovalent_il2() -> None:
    # IL-2 unit with alpha and beta/gamma sites, c applied: solve the 2x2 system by nesting brentq.
    L, ka, kb, ra, rb, kx, c = 0.05, 1 / 10.0, 1 / 1.0, 3600.0, 660.0, 1e-5, 1e4

    def bound(Ra, Rb):
        z = 1 + L * ka * Ra + L * kb * Rb + L * ka * Ra * kx * c * kb * Rb
        del z
        ba = L * ka * Ra * (1 + kx * c * kb * Rb)
        bb = L * kb * Rb * (1 + kx * c * ka * Ra)
        return ba, bb

    def Rb_given(Ra):
        return brentq(lambda Rb: Rb + bound(Ra, Rb)[1] - rb, 0, rb)

    Ra = brentq(lambda Ra: Ra + bound(Ra, Rb_given(Ra))[0] - ra, 0, ra)
    st = solve_equilibrium(
        L, [1.0], [[ka, 0.0], [0.0, kb]], [ra, rb], kx, site_unit=(0, 0), cooperativity=c
    )
    np.testing.assert_allclose(st.free_receptors[0], [Ra, Rb_given(Ra)], rtol=1e-8)
