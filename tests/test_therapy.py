"""Immunity, disease and toxicity: the default scenario against the papers it implements, the
outputs of `il2sim run`, resumption and input errors."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import tiny_scenario
from il2sim import catalog
from il2sim.cli import app
from il2sim.model import build_arm_model, check_sbml, to_sbml
from il2sim.simulate import Simulator, run_therapy

#: Whole-body simulations: part of `make test`, not of the `make test-fast` loop.
pytestmark = pytest.mark.slow

MOUSE, HUMAN = "chronic_infection_mouse", "tumour_human"


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return run_therapy("default", workers=2, cache_dir=tmp_path_factory.mktemp("run"))


def _fold(res, setting, arm, pop, day=14):
    return res.arm_summary(setting, arm)["fold_expansion"][pop][f"day_{day}"]


def _burden(res, setting, arm, day=14):
    s = res.arm_summary(setting, arm)
    return (s.get("viral_load_change") or s["tumour_cells_change"])[f"day_{day}"]


def _virus_specific(res, arm, day=14):
    f = res.frame[(res.frame.setting == MOUSE) & (res.frame.arm == arm)]
    cells = f[f.variable.str.contains("cd8_(?:stem|effector|terminal)", regex=True)]
    total = cells.groupby("time_d")["value"].sum()
    return float(np.interp(day, total.index, total.values) / total.iloc[0])


def test_every_arm_model_passes_libsbml_checks():
    sc = catalog.get_therapy_scenario()
    for setting in sc.settings:
        arm = setting.arms[-3]  # bempeg + anti-PD-1: the largest network
        model, _ = build_arm_model(setting, arm, duration_days=28, run_in_days=60)
        assert check_sbml(to_sbml(model.network)) == []


def test_run_in_reaches_the_persistent_state(default):
    """After the run-in, untreated chronic infection is at its persistent state: viral load and
    exhausted CD8 T cells stay where they are (within a few percent over 28 days); the
    untreated human tumour keeps growing (it is not held in an immune equilibrium: untreated
    metastatic melanoma progresses within about three months, Hodi 2010, median PFS 2.8)."""
    assert _burden(default, MOUSE, "untreated", 28) == pytest.approx(1.0, abs=0.02)
    assert _fold(
        default, MOUSE, "untreated", "mouse_cd8_effector_like_spleen", 28
    ) == pytest.approx(1.0, abs=0.1)
    assert 1.05 < _burden(default, HUMAN, "untreated", 28) < 1.6


def test_pd_l1_blockade_rescues_exhausted_cd8_and_lowers_virus(default):
    """Barber 2006 Nature 439:682 / West 2013: blockade alone expands virus-specific CD8 T cells
    and lowers viral load in chronic LCMV (the killing rate is calibrated on the viral-load
    drop, so that part is a consistency check; the expansion is not calibrated)."""
    assert _virus_specific(default, "anti_pdl1") > 1.3
    assert _burden(default, MOUSE, "anti_pdl1") < 0.5


@pytest.mark.xfail(
    strict=True,
    reason="West 2013 J Clin Invest 123:2604: IL-2 + PD-L1 blockade beats either alone in viral "
    "load and in virus-specific CD8 T cells. The model gets the viral load (0.033 vs 0.150 of "
    "start at day 14) and more effector-like cells (5.5x vs 4.7x), but not more virus-specific "
    "cells in all (2.05x vs 2.63x, ratio 0.78): the faster clearance removes the antigen drive "
    "that makes terminally exhausted cells. Over the CTL killing rate's whole range (3e-7 to "
    "5e-6 per cell per day) the ratio reaches 1.2 only at 5e-6 (1.23), where blockade alone "
    "lowers the viral load 13,600-fold in two weeks, contradicting the several-fold drop "
    "without clearance that blockade gives (Barber 2006 Nature 439:682; West 2013); where "
    "blockade's drop is 1.4-6.7-fold the ratio is 0.78-1.12 (scan, 2026-12-01)",
)
def test_wild_type_il2_synergises_with_pd_l1_blockade(default):
    combo = _burden(default, MOUSE, "wt_il2_anti_pdl1")
    assert combo < 0.8 * _burden(default, MOUSE, "anti_pdl1")
    assert combo < 0.8 * _burden(default, MOUSE, "wt_il2")
    assert _virus_specific(default, "wt_il2_anti_pdl1") > 1.2 * _virus_specific(
        default, "anti_pdl1"
    )


@pytest.fixture(scope="module")
def hashimoto(tmp_path_factory):
    """Hashimoto 2022's design in chronic LCMV (built-in scenario ``hashimoto_2022``): two
    weeks of anti-PD-L1 alone or with daily IL-2 or equimolar IL2v, read at day 14."""
    return run_therapy("hashimoto_2022", workers=2, cache_dir=tmp_path_factory.mktemp("h"))


def test_no_alpha_il2_loses_the_synergy_wild_type_keeps(hashimoto):
    """Hashimoto 2022 Nature 610:173: PD-1 blockade + IL-2 expands effector-like CD8 T cells
    beyond blockade alone, and a no-alpha IL-2 'almost completely' loses that synergy. By
    mechanism, not by tuning: IL-2-driven division of stem-like and effector-like cells needs
    IL-2 that comes with CD25 (induced by TCR + IL-2 signal) or in cis, while IL-2Rbeta/gamma-c
    signal still supports their survival. Model at day 14: wild-type gain 1.33x, no-alpha gain
    1.14x over blockade alone (criterion: wild-type > 1.2 and no-alpha below half its gain).
    The margin is small: with IL-2 twice daily instead of daily, 1.37x and 1.21x, just past the
    criterion (1.185); with IL-2 for the first week only (West 2013 design, the default
    scenario) 1.17x and 1.02x."""
    eff = "mouse_cd8_effector_like_spleen"
    wt_gain = _fold(hashimoto, MOUSE, "wt_il2_anti_pdl1", eff) / _fold(
        hashimoto, MOUSE, "anti_pdl1", eff
    )
    v_gain = _fold(hashimoto, MOUSE, "il2v_anti_pdl1", eff) / _fold(
        hashimoto, MOUSE, "anti_pdl1", eff
    )
    assert wt_gain > 1.2 and v_gain < 1 + 0.5 * (wt_gain - 1)


def test_pd1_targeted_il2v_restores_effector_like_expansion(default):
    """Codarri Deak 2022 Nature 610:161: PD1-IL2v (which also blocks PD-1) expands effector-like
    CD8 T cells beyond PD-(L)1 blockade with untargeted IL2v; untargeted IL2v alone does not.
    Asserted as orderings with margins (model at day 7: 8.4x over IL2v + blockade, 9.6x over
    blockade alone); the size of the gap the paper reports is the next test."""
    eff = "mouse_cd8_effector_like_spleen"
    pd1 = _fold(default, MOUSE, "pd1_il2v", eff, 7)
    assert pd1 > 1.1 * _fold(default, MOUSE, "il2v_anti_pdl1", eff, 7)
    assert pd1 > 1.3 * _fold(default, MOUSE, "anti_pdl1", eff, 7)
    assert pd1 > 3 * _fold(default, MOUSE, "il2v", eff, 7)  # untargeted IL2v alone: little
    assert _burden(default, MOUSE, "pd1_il2v") <= _burden(default, MOUSE, "il2v_anti_pdl1")


def test_pd1_targeted_il2v_advantage_is_several_fold(default):
    """Codarri Deak 2022 report a several-fold larger effector-like expansion with PD1-IL2v
    than with IL2v + PD-1 blockade. Model at day 7: 8.4x (IL2v + blockade: 5.3x its start,
    PD1-IL2v: 44x). It came with the common proliferation law (IL2v's IL-2Rbeta/gamma-c-only
    signal no longer counts as a full signal on effector-like cells) and the cis requirement
    for stem-like division; before, 1.6x (a strict xfail)."""
    eff = "mouse_cd8_effector_like_spleen"
    pd1 = _fold(default, MOUSE, "pd1_il2v", eff, 7)
    assert pd1 > 2 * _fold(default, MOUSE, "il2v_anti_pdl1", eff, 7)


def test_cd25_rises_on_effector_like_cells_with_blockade_plus_il2_most():
    """Hashimoto 2022: effector CD8 T cells after PD-1 blockade + IL-2 express the trimeric
    (CD25-containing) receptor; after blockade alone they do not. CD25 induction needs TCR
    signal (released by blockade) and IL-2/STAT5 signal together: at day 3 of treatment it is
    high with both, small with blockade alone, and in between with IL-2 alone (the PD-1 brake
    holds back the TCR signal). The same law runs in every arm. Model: 0.55, 0.04 and 0.21."""
    sc = catalog.get_therapy_scenario("default")
    chronic = next(s for s in sc.settings if s.name == MOUSE)
    x = "cd25_induction_mouse_cd8_effector_like_spleen"
    t0 = sc.run_in_days * 24.0
    induced = {}
    for name in ("anti_pdl1", "wt_il2", "wt_il2_anti_pdl1"):
        arm = next(a for a in chronic.arms if a.name == name)
        model, _ = build_arm_model(chronic, arm, duration_days=3, run_in_days=sc.run_in_days)
        sim = Simulator(to_sbml(model.network), rtol=1e-6, atol=1e-12)
        induced[name] = float(sim.run(np.array([0.0, t0, t0 + 72.0]), [x]).values[2, 0])
    assert induced["wt_il2_anti_pdl1"] > 0.3
    assert induced["wt_il2_anti_pdl1"] > 10 * induced["anti_pdl1"]
    assert induced["anti_pdl1"] < induced["wt_il2"] < induced["wt_il2_anti_pdl1"]


def test_no_alpha_il2_with_blockade_expands_bystander_cd8(default):
    """Hashimoto 2022 Extended Data Fig. 11: no-alpha IL-2 + anti-PD-L1 preferentially expands
    PD-1-negative, not virus-specific CD8 T cells; wild-type IL-2 + anti-PD-L1 expands the
    PD-1+ virus-specific ones. Model at day 14 (spleen): bystander memory CD8 1.9x vs 1.0x;
    effector-like virus-specific cells 5.5x vs 4.9x."""
    by, eff = "mouse_cd8_memory_spleen", "mouse_cd8_effector_like_spleen"
    wt, nv = "wt_il2_anti_pdl1", "il2v_anti_pdl1"
    assert _fold(default, MOUSE, nv, by) > 1.5 * _fold(default, MOUSE, wt, by)
    assert _fold(default, MOUSE, wt, eff) > _fold(default, MOUSE, nv, eff)


def test_vaccine_and_pd_l1_blockade_lower_viral_load_together(default):
    """Ha SJ et al. 2008 J Exp Med 205:543: therapeutic vaccination expands virus-specific CD8 T
    cells in chronic LCMV, and with PD-L1 blockade lowers viral load more than either alone."""
    assert _virus_specific(default, "vaccine") > 1.2
    combo = _burden(default, MOUSE, "vaccine_anti_pdl1")
    assert combo < 0.8 * _burden(default, MOUSE, "anti_pdl1")
    assert combo < 0.8 * _burden(default, MOUSE, "vaccine")


@pytest.mark.xfail(
    strict=True,
    reason="Ha 2008 also report more virus-specific CD8 T cells with vaccine + blockade than with "
    "either; in the model the combination clears antigen faster, which removes the drive, so "
    "numbers at day 14 are barely higher than with blockade alone (2.75x vs 2.63x, ratio 1.05). "
    "Over the CTL killing rate's range the ratio reaches 1.2 only from 3e-6 per cell per day "
    "(1.28), where blockade alone lowers the viral load 565-fold in two weeks, against the "
    "several-fold drop without clearance of Barber 2006 / West 2013; at 1.4-6.7-fold drops, "
    "1.05-1.16 (scan, 2026-12-01)",
)
def test_vaccine_and_pd_l1_blockade_expand_cd8_together(default):
    assert _virus_specific(default, "vaccine_anti_pdl1") > 1.2 * _virus_specific(
        default, "anti_pdl1"
    )


@pytest.fixture(scope="module")
def treg_depletion():
    """Penaloza-MacMaster P et al. 2014 J Exp Med 211:1905 in the chronic setting: Treg
    depletion every other day for two weeks (diphtheria toxin in Foxp3-DTR mice), alone and
    with anti-PD-L1, beside untreated and anti-PD-L1 alone."""
    sc = catalog.get_therapy_scenario("default")
    chronic = next(s for s in sc.settings if s.name == MOUSE)
    pdl1 = next(a for a in chronic.arms if a.name == "anti_pdl1")
    days = [0, 2, 4, 6, 8, 10, 12]
    arms = [
        catalog.Arm(name="untreated"),
        pdl1,
        catalog.Arm(name="treg_depletion", treg_depletion_days=days),
        catalog.Arm(
            name="treg_depletion_anti_pdl1", antibodies=pdl1.antibodies, treg_depletion_days=days
        ),
    ]
    setting = chronic.model_copy(update={"arms": arms})
    return run_therapy(
        sc.model_copy(update={"settings": [setting], "duration_days": 14.0}), workers=2
    )


def test_treg_depletion_depletes_tregs_and_alone_leaves_the_virus(treg_depletion):
    """Depletion removes most Tregs in every location; the viral load stays where it was
    without treatment (Penaloza-MacMaster 2014: 'T reg cell depletion failed to diminish
    viral load') within 0.1 log10 (titres are read on a log scale; the model: 0.88 of
    untreated at day 14, a lag of PD-L1 behind the expanding CD8 T cells)."""
    for loc in ("spleen", "central", "peripheral"):
        assert _fold(treg_depletion, MOUSE, "treg_depletion", f"mouse_treg_{loc}") < 0.5
    alone = _burden(treg_depletion, MOUSE, "treg_depletion")
    assert abs(math.log10(alone / _burden(treg_depletion, MOUSE, "untreated"))) < 0.1


def test_treg_depletion_adds_to_pd_l1_blockade_against_the_virus(treg_depletion):
    """Depletion + anti-PD-L1 lowers the viral load more than anti-PD-L1 alone (Penaloza-
    MacMaster 2014). An ordering only (the paper's titres are not in its abstract); the model
    clears the virus by day 14 (anti-PD-L1 alone: 0.15 of the start)."""
    combo = _burden(treg_depletion, MOUSE, "treg_depletion_anti_pdl1")
    assert combo < _burden(treg_depletion, MOUSE, "anti_pdl1")


def test_comparison_figure_shows_each_arms_day_14_folds(treg_depletion):
    """The report's side-by-side figure: bars are the summary's log2 fold changes."""
    import math

    from il2sim import report

    fig = report.comparison_figure(treg_depletion, MOUSE)
    panels = {ax.get_title(): ax for ax in fig.axes}
    assert len(panels) == 6 and "14" in fig.texts[0].get_text()
    bars = [b.get_width() for b in panels["Tregs (site)"].patches]
    want = [
        math.log2(_fold(treg_depletion, MOUSE, a, "mouse_treg_spleen"))
        for a in ("untreated", "anti_pdl1", "treg_depletion", "treg_depletion_anti_pdl1")
    ]
    assert bars == pytest.approx(want)
    burden = [b.get_width() for b in panels["viral load or tumour"].patches]
    assert burden[2] == pytest.approx(math.log2(_burden(treg_depletion, MOUSE, "treg_depletion")))
    # an eradicated virus is not drawn as 'no change': a hatched bar to the axis' end
    assert _burden(treg_depletion, MOUSE, "treg_depletion_anti_pdl1") == 0.0
    cleared = panels["viral load or tumour"].patches[3]
    assert cleared.get_hatch() == "//"
    assert cleared.get_width() == pytest.approx(panels["viral load or tumour"].get_xlim()[0])


def test_treg_depletion_expands_virus_specific_cd8_ten_fold(treg_depletion):
    """Penaloza-MacMaster 2014: Treg ablation expands LCMV-specific CD8 T cells 10-100-fold
    (B7 freed from Tregs' CTLA-4 lifts exhaustion's block on antigen-driven division), and PD-L1
    rises on infected cells; neither happens with PD-L1 blockade alone (Tregs unchanged)."""
    assert 10.0 <= _virus_specific(treg_depletion, "treg_depletion") <= 100.0
    assert _virus_specific(treg_depletion, "anti_pdl1") < 10.0

    def pdl1(arm):
        f = treg_depletion.frame
        sel = f[(f.setting == MOUSE) & (f.arm == arm) & (f.variable == "pdl1_target_cells")]
        return float(np.interp(14.0, sel.time_d, sel.value))

    assert pdl1("untreated") == pytest.approx(1.0, abs=0.02)
    assert pdl1("treg_depletion") > 5.0


def test_costimulation_and_pdl1_induction_are_built_where_the_catalog_says():
    """Tregs' restraint of B7 acts in a lymphoid disease site (the mouse spleen), not in a
    solid tumour; PD-L1 on targets follows engagement in the infection (gain 1) and is not
    built in the tumour, whose calibrated gain is 0 (ipilimumab's ORR leaves its interval
    with any gain on the shipped population)."""
    sc = catalog.get_therapy_scenario()
    built = {}
    for setting in sc.settings:
        model, _ = build_arm_model(setting, setting.arms[0], duration_days=14, run_in_days=60)
        built[setting.name] = model.network
    mouse, human = built[MOUSE], built[HUMAN]
    assert "costimulation_release_spleen" in mouse.rules
    assert "pdl1_targets_spleen" in mouse.species
    assert (
        "pdl1_targets_spleen" in mouse.rules["kill_signal_mouse_cd8_effector_like_spleen"].formula
    )
    assert not any(r.startswith("costimulation_release") for r in human.rules)
    assert "pdl1_targets_tumour" not in human.species
    assert catalog.immune_parameters()["tumour_pdl1_induction_gain"].value == 0.0


def test_low_dose_il2_expands_tregs_more_than_cd8_and_nk(default):
    """Low-dose IL-2 (1e6 IU/m2/day SC) selectively expands Tregs (Koreth 2011 N Engl J Med
    365:2055: several-fold Treg increase, little change in CD8 and NK)."""
    treg = _fold(default, HUMAN, "ld_il2", "treg_peripheral")
    assert treg > 2.0
    assert treg > 2 * _fold(default, HUMAN, "ld_il2", "cd8_memory_peripheral")
    assert treg > 2 * _fold(default, HUMAN, "ld_il2", "nk_peripheral")


def test_no_alpha_il2_expands_nk_and_memory_cd8(default):
    """IL2v expands NK and memory CD8 T cells (Klein C et al. 2017 Oncoimmunology 6:e1277306)."""
    assert _fold(default, HUMAN, "il2v", "nk_peripheral", 7) > 1.3
    assert _fold(default, HUMAN, "il2v", "cd8_memory_peripheral", 7) > 1.2


@pytest.mark.xfail(
    strict=True,
    reason="IL2v spares Tregs (Klein 2017). With one proliferation law of absolute pSTAT5 for "
    "every cell, Tregs' ~660 IL-2Rbeta cap their IL2v signal, but at this arm's dose (13 mg "
    "weekly, equimolar to 4.5 MIU/m2/day wild-type) IL2v still engages enough of them: 6.1x at "
    "day 14 (9.8x under the previous per-population normalisation). No half-maximum of the law "
    "satisfies both this and low-dose IL-2's Treg expansion (> 2x, Koreth 2011): over "
    "0.01-0.2 of maximal pSTAT5, IL2v's Tregs fall below 1.5x only from ~0.12, where low-dose "
    "IL-2's fall below 2x (1.5x); at the catalog's 0.03, 6.1x and 3.9x",
)
def test_no_alpha_il2_expands_tregs_little(default):
    assert _fold(default, HUMAN, "il2v", "treg_peripheral") < 1.5


def test_high_dose_aldesleukin_is_toxic_and_low_dose_is_not(default):
    hd = default.arm_summary(HUMAN, "hd_aldesleukin")["toxicity"]["vascular_leak_index"]
    ld = default.arm_summary(HUMAN, "ld_il2")["toxicity"]["vascular_leak_index"]
    assert hd["exceeded"] and not ld["exceeded"]
    assert hd["max_daily_mean"] > 5 * ld["max_daily_mean"]


def test_high_dose_aldesleukin_leaks_more_than_il2v_at_matched_cd8_stimulation():
    """CD25 on endothelium makes wild-type IL-2 leak more than a no-alpha IL-2 that stimulates
    memory CD8 T cells as much (Krieg 2010 PNAS 107:11906; Klein 2017)."""
    setting = next(s for s in catalog.get_therapy_scenario().settings if s.name == HUMAN)
    arms = {a.name: a for a in setting.arms}
    t = np.concatenate([[0.0], np.linspace(60 * 24, 67 * 24, 169)])
    sel = ["vascular_leak_index", "N_cd8_memory_peripheral"]

    def week(arm, scale=None):
        model, _ = build_arm_model(setting, arm, duration_days=14, run_in_days=60)
        sim = Simulator(model.network, rtol=1e-6, atol=1e-12)

        def run(s):
            p = {} if s is None else {f"dose_scale_{arm.drug}": s}
            v = sim.run(t, sel, p).values[1:]
            return v[:, 0].max(), v[:, 1].max() / v[0, 1]

        return run

    vli_hd, cd8_hd = week(arms["hd_aldesleukin"])(None)
    run_v = week(arms["il2v"])
    lo, hi = 0.01, 3.0
    for _ in range(12):  # dose of IL2v giving the same peak memory CD8 expansion
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if run_v(mid)[1] < cd8_hd else (lo, mid)
    vli_v, cd8_v = run_v((lo * hi) ** 0.5)
    assert cd8_v == pytest.approx(cd8_hd, rel=0.02)
    assert vli_hd > vli_v


def test_outputs_resume_and_errors(tmp_path):
    scenario = tiny_scenario()
    path = tmp_path / "tiny.yaml"
    import yaml

    path.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "<img" in html and "src='http" not in html and "data:image/png;base64," in html
    frame = pd.read_parquet(out / "results.parquet")
    assert list(frame.columns) == ["setting", "arm", "time_d", "variable", "value", "unit"]
    assert frame["value"].notna().all()
    summary = json.loads((out / "summary.json").read_text())
    assert {a["arm"] for a in summary["arms"]} == {"untreated", "ld"}
    # the summary, written last, names the exact results file beside it and what made it
    import hashlib

    from il2sim import __version__
    from il2sim.simulate import source_digest

    prov = summary["provenance"]
    digest = hashlib.sha256((out / "results.parquet").read_bytes()).hexdigest()
    assert prov["files_sha256"] == {"results.parquet": digest}
    assert prov["il2sim_version"] == __version__ and prov["source_digest"] == source_digest()
    assert "viral_load_change" in summary["arms"][0]
    # resume: a second run finds both arms finished and recomputes nothing
    seen = []
    again = run_therapy(str(path), cache_dir=out, progress=lambda a, i, n: seen.append((a, i)))
    assert seen == [("cached", 2)]
    pd.testing.assert_frame_equal(again.frame, frame, check_dtype=False)
    # bad input names the field
    bad = dict(scenario, settings=[dict(scenario["settings"][0], disease="flu")])
    path.write_text(yaml.safe_dump(bad))
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert "field 'settings.0.disease'" in " ".join(result.output.split())


def test_anti_ctla4_depletes_intratumoral_tregs_and_enhances_priming():
    """Fc-competent anti-CTLA-4 depletes Tregs in the tumour (Simpson 2013 J Exp Med 210:1695)
    and lowers the intratumoral Treg:CD8 ratio; blood Tregs, with less exposure, change less."""
    arms = [
        catalog.Arm(name="untreated"),
        catalog.Arm(
            name="ipi",
            antibodies=[{"antibody": "ipilimumab", "regimen": "3 mg/kg q3w over 90 min"}],
        ),
    ]
    sc = catalog.TherapyScenario(
        name="ctla4",
        duration_days=14,
        run_in_days=20,
        readout_days=[14],
        settings=[catalog.Setting(name="t", body="human_adult", disease="tumour", arms=arms)],
    )
    res = run_therapy(sc)
    ipi = res.arm_summary("t", "ipi")
    assert ipi["fold_expansion"]["treg_tumour"]["day_14"] < 0.5
    ratio = ipi["treg_cd8_ratio"]["tumour"]
    assert ratio["day_14"] < 0.5 * ratio["day_0"]
    assert res.arm_summary("t", "untreated")["fold_expansion"]["treg_tumour"]["day_14"] > 0.9
    # and enhances priming of new tumour-specific progenitors (Kvistborg 2014)
    stem = "cd8_stem_like_tumour"
    assert (
        ipi["fold_expansion"][stem]["day_14"]
        > 1.2 * res.arm_summary("t", "untreated")["fold_expansion"][stem]["day_14"]
    )


def test_acute_infection_is_cleared_and_chronic_infection_exhausts():
    """The contrast that defines exhaustion (scenario acute_vs_chronic): an acute infection of a
    resting host is eradicated within about 8-10 days (adult LCMV, Wherry 2003 J Virol 77:4911)
    by an expansion that peaks around day 8 and contracts afterwards (Murali-Krishna 1998
    Immunity 8:167), leaving few terminally exhausted cells; the established chronic infection
    persists with a mostly terminal, PD-1-high pool (Im 2016, Hudson 2019: ~60% terminal)."""
    res = run_therapy("acute_vs_chronic", workers=1)
    f = res.frame
    acute = f[(f.setting == "acute_infection_mouse") & (f.arm == "untreated")]
    chronic = f[(f.setting == "chronic_infection_mouse") & (f.arm == "untreated")]

    def series(frame, pattern):
        sel = frame[frame.variable.str.contains(pattern, regex=True)]
        return sel.groupby("time_d")["value"].sum()

    virus = series(acute, "^viral_load$")
    assert virus.loc[10.0] == 0.0  # eradicated, not merely low
    assert virus.loc[28.0] == 0.0  # and it does not come back
    specific = series(acute, "cd8_(?:stem|effector|terminal)")
    peak_day = float(specific.idxmax())
    assert 6.0 <= peak_day <= 10.0
    assert specific.max() > 10 * specific.iloc[0]
    assert specific.loc[28.0] < 0.5 * specific.max()  # contraction after clearance
    terminal = series(acute, "terminal")
    assert terminal.loc[8.0] / specific.loc[8.0] < 0.1
    assert series(acute, "^exhaustion_programme$").loc[28.0] < 0.5

    assert series(chronic, "^viral_load$").loc[28.0] > 0.8
    chronic_specific = series(chronic, "cd8_(?:stem|effector|terminal)")
    share = series(chronic, "terminal").loc[28.0] / chronic_specific.loc[28.0]
    assert 0.45 < share < 0.75
    assert series(chronic, "^exhaustion_programme$").loc[28.0] > 0.9


def test_cd4_helpers_secrete_il2_under_antigen():
    """Antigen-specific CD4 helpers in lymphoid organs add endogenous IL-2 (human and mouse)."""
    for scenario, setting_name in (
        ("default", HUMAN),
        ("acute_vs_chronic", "acute_infection_mouse"),
    ):
        setting = next(
            s for s in catalog.get_therapy_scenario(scenario).settings if s.name == setting_name
        )
        model, _ = build_arm_model(setting, setting.arms[0], duration_days=7, run_in_days=1)
        helpers = [r for r in model.network.reactions if r.startswith("il2_secretion_")]
        assert any("cd4_helper_peripheral" in r for r in helpers), helpers


def test_run_uncertainty_gives_posterior_intervals_of_every_arm(tmp_path):
    """`run --uncertainty N`: each arm re-solved under N posterior draws of the signaling
    constants; every summary number gets median and 95% interval (low <= median <= high),
    Tregs move more with the constants under IL-2 than untreated (endogenous IL-2 only), and
    a bad N is refused by name."""
    from il2sim.simulate import therapy_intervals

    sc = catalog.TherapyScenario(**tiny_scenario())
    iv = therapy_intervals(sc, 3)
    assert set(iv.arm) == {"untreated", "ld"} and (iv.n_draws == 3).all()
    assert ((iv.low <= iv["median"] + 1e-12) & (iv["median"] <= iv.high + 1e-12)).all()
    treg = iv[iv.metric == "fold_expansion.mouse_treg_spleen.day_7"].set_index("arm")
    width = treg.high - treg.low
    assert width["ld"] > 2 * width["untreated"]
    with pytest.raises(ValueError, match="at least 2 posterior draws"):
        therapy_intervals(sc, 1)
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(tiny_scenario()))
    r = CliRunner().invoke(
        app, ["run", str(path), "--out", str(tmp_path / "o"), "--uncertainty", "1"]
    )
    assert r.exit_code == 2 and "--uncertainty must be between 2 and 10,000 draws" in r.output
