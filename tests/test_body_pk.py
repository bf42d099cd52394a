"""The body model: PK against labels and population-PK papers, dosing, mass balance,
target-mediated disposition, targeting arms, prodrugs, complexes and checkpoint antibodies."""

import numpy as np
import pytest

from il2sim.catalog import get_drug
from il2sim.model import build_body_model
from il2sim.simulate import Simulator, pk

#: Whole-body simulations: part of `make test`, not of the `make test-fast` loop.
pytestmark = pytest.mark.slow

HD_DOSE = "600,000 IU/kg over 15 min"


@pytest.fixture(scope="module")
def hd():
    return pk("aldesleukin", HD_DOSE)


def test_aldesleukin_clearance_matches_label(hd):
    """Dose / AUC = 120 mL/min (Konrad 1990 Cancer Res 50:2009; Proleukin label), 10%."""
    dose_ng = 600_000 * 70 / 16.4e6 * 1e6
    cl_mL_per_min = dose_ng / hd.exposure["aldesleukin"].auc / 60
    assert cl_mL_per_min == pytest.approx(120, rel=0.10)
    assert hd.exposure["aldesleukin"].cl_L_per_h * 1e3 / 60 == pytest.approx(120, rel=0.10)


def test_nca_of_a_linear_antibody_recovers_its_clearance():
    """Pembrolizumab 200 mg q3w x 4 (linear two-compartment PK): NCA clearance (dose /
    AUC0-inf) equals the model's CL within 1%, Ctrough rises dose by dose, and the terminal
    volume exceeds the steady-state volume V1 + V2, as it must for a two-compartment drug."""
    from il2sim.catalog import get_antibody

    ref = get_antibody("pembrolizumab").two_compartment(70)
    r = pk(None, None, antibodies=[("pembrolizumab", "200 mg q3w x 4 doses")], duration_h=4800)
    e = r.exposure["pembrolizumab"]
    assert e.cl_L_per_h == pytest.approx(ref.cl_L_per_h, rel=0.01)
    troughs = [iv.ctrough for iv in e.intervals[:-1]]
    assert len(troughs) == 3 and troughs[0] < troughs[1] < troughs[2] == e.ctrough
    assert e.vz_L > ref.v1_L + ref.v2_L
    assert e.auc_extrap_pct < 1.0 and e.accumulation_ratio > 1.0


def test_aldesleukin_elimination_half_life_matches_label(hd):
    """Elimination half-life 85 min (Proleukin label), 10%, fitted on the simulated curve."""
    assert hd.exposure["aldesleukin"].t_half_beta_min == pytest.approx(85, rel=0.10)


def test_aldesleukin_distribution_half_life_without_cell_uptake():
    """The disposition alone gives the label's 13 / 85 min (the NCA fit is exact)."""
    from il2sim.simulate import half_lives

    m = build_body_model("aldesleukin", HD_DOSE, horizon_h=24)
    cells = {p: v.value * 1e-9 for p, v in m.network.parameters.items() if p.startswith("N_")}
    t = np.linspace(0, 12, 4001)
    c = Simulator(m.network).run(t, [m.plasma_ng_per_mL["aldesleukin"]], cells).values[:, 0]
    alpha, beta = half_lives(t, c)
    assert alpha == pytest.approx(13, rel=0.05)
    assert beta == pytest.approx(85, rel=0.05)


@pytest.mark.xfail(
    strict=True,
    reason="receptor-mediated uptake by ~5e11 lymphocytes steepens the low-concentration tail; "
    "the bi-exponential fit over three logs then gives a ~8-9 min distribution phase, not the "
    "label's 13 min (13.1 min once the cell sink is removed, test above)",
)
def test_aldesleukin_distribution_half_life_matches_label(hd):
    assert hd.exposure["aldesleukin"].t_half_alpha_min == pytest.approx(13, rel=0.25)


def test_bolus_concentration_is_dose_over_central_volume():
    m = build_body_model("aldesleukin", "1 mg once", horizon_h=1)
    c0 = Simulator(m.network).run([0.0, 1e-6], ["[L_aldesleukin_central]"]).values[0, 0]
    assert c0 == pytest.approx(1e6 / 15.3e3 / 9.0, rel=1e-6)  # nmol / L


@pytest.mark.parametrize("route", ["over 120 min", "", "SC"])
def test_doses_at_the_same_time_add_up(route):
    """Two doses given together (two infusions overlapping, two boluses or two SC injections
    at one time) deliver both: AUC as the two given a day apart and twice one dose's, within
    5% (receptor-mediated clearance is saturable, so exposure is not exactly linear in dose);
    not one dose's, as when the second event's assignment saw the values before the first
    had acted."""

    def auc(regimen: str) -> float:
        return pk("aldesleukin", regimen, duration_h=72).exposure["aldesleukin"].auc

    one = auc(f"1 mg {route}")
    together = auc(f"1 mg {route}; 1 mg {route}")
    apart = auc(f"1 mg {route}; 1 mg {route} from day 2")
    assert together == pytest.approx(apart, rel=0.05)
    assert together == pytest.approx(2 * one, rel=0.05)


def test_subcutaneous_bioavailability():
    """AUC(SC) / AUC(IV) = F = 0.3 (IM bioavailability, Konrad 1990), within 10%."""
    iv = pk("aldesleukin", "1e6 IU/m2", duration_h=48).exposure["aldesleukin"].auc
    sc = pk("aldesleukin", "1e6 IU/m2 SC", duration_h=48).exposure["aldesleukin"]
    assert sc.auc / iv == pytest.approx(0.3, rel=0.10)
    assert 2 <= sc.tmax_h <= 6  # label SC Tmax 2-6 h


def test_mouse_clears_il2_in_minutes():
    e = pk("aldesleukin", "600,000 IU/kg", body="mouse", duration_h=2).exposure["aldesleukin"]
    assert e.t_half_beta_min < 20


def test_pembrolizumab_half_life_matches_label():
    """Terminal half-life 22 days (Keytruda Swiss label, geometric mean, CV 32%), 20%."""
    r = pk(None, None, antibodies=[("pembrolizumab", "200 mg once")], duration_h=24 * 120)
    assert r.exposure["pembrolizumab"].t_half_beta_min / 60 / 24 == pytest.approx(22, rel=0.2)


def test_mass_balance():
    """Free + bound + eliminated + internalised drug = what was dosed, at every time."""
    m = build_body_model("aldesleukin", "600,000 IU/kg q8h x 3 doses over 15 min", horizon_h=30)
    net = m.network
    ids = [s for s in net.species if "aldesleukin" in s and not s.startswith("depot")]
    t = np.linspace(0, 30, 301)
    amounts = Simulator(net).run(t, ids).values.sum(axis=1)  # bare ids select amounts
    dosed = np.array(
        [
            sum(
                e.amount_nmol * min(max(x - e.time_h, 0) / e.duration_h, 1)
                for e in m.doses["aldesleukin"]
            )
            for x in t
        ]
    )
    assert np.allclose(amounts, dosed, rtol=1e-5, atol=1e-6 * dosed.max())


def test_clearance_rises_as_cells_expand():
    """Target-mediated disposition: 10x more receptor-bearing cells, same compiled model, lower
    exposure at a low dose."""
    m = build_body_model("aldesleukin", "1e5 IU/kg", horizon_h=24)
    sim = Simulator(m.network)
    t = np.linspace(0, 24, 2001)
    rule = [m.plasma_ng_per_mL["aldesleukin"]]
    base = sim.run(t, rule).values[:, 0]
    more = {p: 10 * v.value for p, v in m.network.parameters.items() if p.startswith("N_")}
    expanded = sim.run(t, rule, more).values[:, 0]
    assert np.trapezoid(expanded, t) < 0.9 * np.trapezoid(base, t)


def _tumour_amount(result, form_id: str) -> np.ndarray:
    net = result.model.network
    ids = [s for s in net.species if s.startswith(f"C_{form_id}_") and "_tumour_" in s]
    ids.append(f"L_{form_id}_tumour")
    return Simulator(net).run(result.time_h, ids).values.sum(axis=1)


def test_immunocytokine_is_retained_in_the_tumour():
    """The EDB-fibronectin arm keeps L19-IL2 in the tumour (Carnemolla 2002, qualitative)."""
    l19 = get_drug("l19_il2")
    no_arm = l19.model_copy(update={"arms": [], "name": "l19_il2_no_arm"})
    with_arm = pk(l19, "0.1 mg/kg once", duration_h=72)
    without = pk(no_arm, "0.1 mg/kg once", duration_h=72)
    a, b = _tumour_amount(with_arm, "l19_il2")[-1], _tumour_amount(without, "l19_il2_no_arm")[-1]
    assert a > 100 * max(b, 1e-12)


def test_pd1_arm_binds_pd1_and_anti_pd1_competes():
    """PD1-IL2v occupies PD-1 on tumour CD8 T cells; untargeted IL2v does not touch PD-1;
    nivolumab and PD1-IL2v compete for the same PD-1 molecules."""
    pd1 = pk("pd1_il2v", "0.01 mg/kg once", duration_h=24 * 7).engagement()
    il2v = pk("il2v", "0.01 mg/kg once", duration_h=24 * 7).engagement()
    both = pk(
        "pd1_il2v", "0.01 mg/kg once", duration_h=24 * 7, antibodies=[("nivolumab", "240 mg once")]
    )
    site = "cd8_terminal_exhausted_tumour"
    assert pd1[site]["PD1_occupancy_max"] > 0.2
    assert "PD1_occupancy_max" not in il2v[site]
    bound_by_drug = [s for s in both.model.network.species if s.startswith(f"C_pd1_il2v_{site}_")]
    drug_on_pd1 = Simulator(both.model.network).run(both.time_h, bound_by_drug).values.sum(1)
    alone = pk("pd1_il2v", "0.01 mg/kg once", duration_h=24 * 7)
    drug_alone = Simulator(alone.model.network).run(alone.time_h, bound_by_drug).values.sum(1)
    t = both.time_h  # nivolumab reaches the tumour over days: compare the week's exposure
    assert np.trapezoid(drug_on_pd1, t) < 0.8 * np.trapezoid(drug_alone, t)


def test_nivolumab_occupies_pd1_at_trough():
    """Anti-PD-1 at 240 mg q2w keeps PD-1 occupied through the interval (Brahmer 2010 J Clin
    Oncol 28:3167 report ~70% plateau occupancy on blood T cells; here tumour PD-1+ cells)."""
    r = pk(None, None, antibodies=[("nivolumab", "240 mg q2w")], duration_h=24 * 28)
    occ = [
        row["PD1_occupancy_end"] for row in r.engagement().values() if "PD1_occupancy_end" in row
    ]
    assert occ and min(occ) > 0.7


def test_bempegaldesleukin_releases_il2_slowly():
    """Conjugated forms dominate plasma; free IL-2 stays a small fraction (Charych 2017: free
    IL-2 undetectable in vivo) while the conjugate lasts days."""
    r = pk("bempegaldesleukin", "0.006 mg/kg once", duration_h=24 * 7)
    net = r.model.network
    forms = [f.id for f in r.model.forms]
    conc = Simulator(net).run(r.time_h, [f"[L_{f}_central]" for f in forms]).values
    free = conc[:, -1]
    assert free.max() < 0.05 * conc[:, :-1].sum(axis=1).max()
    assert r.exposure["bempegaldesleukin"].t_half_beta_min > 60 * 10


def test_il2_antibody_complex_extends_il2_exposure():
    """An IL-2/antibody complex keeps IL-2 in plasma for days, free IL-2 for minutes
    ('a couple of days' vs minutes, review in shared facts.csv)."""
    cx = pk("il2_s4b6_complex", "1 mg/kg once", duration_h=24 * 7)
    free = pk("aldesleukin", "0.09 mg/kg once", duration_h=24 * 7)  # equimolar IL-2
    t_cx = cx.exposure["il2_s4b6_complex"].t_half_beta_min
    assert t_cx > 10 * free.exposure["aldesleukin"].t_half_beta_min
    assert t_cx > 12 * 60


def test_engagement_intervals_carry_the_signaling_posterior():
    """`pk --uncertainty N`: pSTAT5 of each population re-simulated over N posterior draws of
    the signaling constants. Intervals are proper (low < high), hold the nominal model's value
    (the posterior surrounds the calibrated constants), keep NK above Tregs at the peak of
    high-dose IL-2 throughout, and are reproducible for a seed."""
    from il2sim.simulate import engagement_intervals

    r = pk("aldesleukin", "600,000 IU/kg q8h x 2 doses over 15 min", duration_h=16)
    iv = engagement_intervals(r, 8)
    eng = r.engagement()
    for pop in ("treg_central", "nk_central", "cd8_memory_central"):
        lo, hi = iv[pop]["pstat5_max"]
        assert 0 < lo < eng[pop]["pstat5_max"] < hi <= 1
    assert iv["nk_central"]["pstat5_max"][0] > iv["treg_central"]["pstat5_max"][0]
    assert iv == engagement_intervals(r, 8)
    with pytest.raises(ValueError, match="at least 2 posterior draws"):
        engagement_intervals(r, 1)
