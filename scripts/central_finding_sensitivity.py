"""Which assumed parameters does the review's central finding depend on? Morris elementary
effects (SALib) of chronic-infection (LCMV-like) arms in Hashimoto 2022's design.

The finding (Hashimoto 2022 Nature 610:173; Codarri Deak 2022 Nature 610:161): under
persistent antigen, PD-(L)1 blockade expands effector-like CD8 T cells further with wild-type
IL-2 (which binds CD25, induced on these cells by TCR + IL-2 signal) but not with a no-alpha
IL-2. Two weeks of anti-PD-L1 with daily IL-2 or equimolar IL2v, read at day 14, per point:

- ``wt_gain``: effector-like CD8 (spleen) with wild-type IL-2 + anti-PD-L1 over anti-PD-L1 alone
- ``v_gain``: the same with IL2v + anti-PD-L1
- ``synergy_gap``: wt_gain - v_gain (> 0: wild-type IL-2 adds more than no-alpha IL-2)
- ``holds``: wt_gain > 1.2 and v_gain < 1 + (wt_gain - 1) / 2 (the test's criterion)

Each factor moves over its catalog range (log scale where the range is positive and spans more
than 2-fold), every other at its catalog value.

    python scripts/central_finding_sensitivity.py [--r 10] [--seed 1] [--out DIR]

prints the Morris table (mu*, sigma) for each readout and writes ``central_finding_morris.csv``
and ``central_finding_points.csv`` to DIR (default: il2sim_central_finding).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

from il2sim import catalog
from il2sim.model import build_arm_model, to_sbml
from il2sim.simulate import SimulationError, Simulator

SCENARIO, SETTING = "hashimoto_2022", "chronic_infection_mouse"  # the paper's design
EFFECTOR = "N_mouse_cd8_effector_like_spleen"
#: Immune parameters the finding could hinge on (catalog immunity/parameters.yaml).
IMMUNE = (
    "cis_il2_gain",
    "cis_il2_protection",
    "proliferation_half_max_pstat5",
    "cd25_induction_per_day",
    "cd25_loss_per_day",
    "il2_survival_max",
    "effector_prolif_max_per_day",
    "stem_il2_prolif_max_per_day",
    "pd1_inhibition",
    "pd1_il2_brake_share",
    "treg_suppression",
    "effector_antigen_prolif_per_day",
    "virus_killing_per_ctl_per_day",
    "virus_pdl1_induction_gain",
    "pdl1_induction_per_day",
    "il2_secretion_per_cell_per_h",
    "max_fold_expansion",
)
#: CD25 on the effector-like and stem-like states and its rise under blockade (cell catalog).
CELLS = ("mouse_cd8_effector_like", "mouse_cd8_stem_like")
READOUTS = ("wt_gain", "v_gain", "synergy_gap", "holds", "virus_wt_combo_vs_blockade")


def factors() -> list[tuple[str, float, float, bool]]:
    """(model parameter, low, high, log scale) for every factor, in model units."""
    P = catalog.immune_parameters()
    out = []
    for name in IMMUNE:
        p = P[name]
        scale = 1 / 24.0 if name.endswith("_per_day") else 1.0  # the model runs in hours
        lo, hi = (x * scale for x in p.range)
        out.append((f"im_{name}", lo, hi, lo > 0 and hi / lo > 2))
    for cell_name in CELLS:
        cell = catalog.get_cell(cell_name)
        cd25 = cell.receptors_per_cell["IL2RA"]
        lo, hi = cd25.range
        out.append((f"R0_IL2RA_{cell_name}_spleen", lo, hi, True))
        fold = cell.pd1_blockade_fold.get("IL2RA")
        if fold is not None:
            lo, hi = fold.range
            out.append((f"cd25_blockade_fold_{cell_name}_spleen", lo, hi, True))
    return out


def _simulators() -> dict[str, tuple[Simulator, str]]:
    sc = catalog.get_therapy_scenario(SCENARIO)
    setting = next(s for s in sc.settings if s.name == SETTING)
    sims = {}
    for arm in setting.arms:
        if arm.name == "untreated":
            continue
        model, im = build_arm_model(setting, arm, duration_days=14, run_in_days=sc.run_in_days)
        sims[arm.name] = (Simulator(to_sbml(model.network), rtol=1e-6, atol=1e-12), im.burden)
    return sims


def readouts(sims, values: dict[str, float], run_in_h: float) -> dict[str, float]:
    """Day-14 gains of the point ``values`` (NaN where a solve fails)."""
    t = np.array([0.0, run_in_h, run_in_h + 14 * 24.0])
    fold, virus = {}, {}
    for name, (sim, burden) in sims.items():
        known = {k: v for k, v in values.items() if k in sim.parameter_ids}
        try:
            v = sim.run(t, [EFFECTOR, burden], known).values
        except SimulationError:
            return dict.fromkeys(READOUTS, np.nan)
        fold[name], virus[name] = v[2, 0] / v[1, 0], v[2, 1] / max(v[1, 1], 1e-300)
    wt = fold["wt_il2_anti_pdl1"] / fold["anti_pdl1"]
    nv = fold["il2v_anti_pdl1"] / fold["anti_pdl1"]
    return {
        "wt_gain": wt,
        "v_gain": nv,
        "synergy_gap": wt - nv,
        "holds": float(wt > 1.2 and nv < 1 + 0.5 * (wt - 1)),
        "virus_wt_combo_vs_blockade": virus["wt_il2_anti_pdl1"] / max(virus["anti_pdl1"], 1e-300),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--r", type=int, default=10, help="Morris trajectories")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="il2sim_central_finding")
    args = ap.parse_args()
    fac = factors()
    problem = {
        "num_vars": len(fac),
        "names": [f[0] for f in fac],
        "bounds": [[np.log(lo), np.log(hi)] if log else [lo, hi] for _, lo, hi, log in fac],
    }
    X = morris_sample.sample(problem, args.r, num_levels=4, seed=args.seed)
    sims = _simulators()
    run_in_h = catalog.get_therapy_scenario(SCENARIO).run_in_days * 24.0
    rows, start = [], time.time()
    for i, x in enumerate(X):
        values = {
            n: float(np.exp(v) if log else v) for (n, _, _, log), v in zip(fac, x, strict=True)
        }
        rows.append({**values, **readouts(sims, values, run_in_h)})
        if (i + 1) % 10 == 0:
            print(f"{i + 1}/{len(X)} points, {time.time() - start:.0f} s", flush=True)
    points = pd.DataFrame(rows)
    base = readouts(sims, {}, run_in_h)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    points.to_csv(out / "central_finding_points.csv", index=False)
    tables = []
    for readout in ("synergy_gap", "wt_gain", "v_gain"):
        y = points[readout].to_numpy()
        if np.isnan(y).any():  # Morris needs every point of a trajectory: drop failed ones
            keep = ~np.isnan(y).reshape(args.r, -1).any(axis=1)
            Xk, yk = (
                X.reshape(args.r, -1, X.shape[1])[keep].reshape(-1, X.shape[1]),
                y[np.repeat(keep, len(fac) + 1)],
            )
        else:
            Xk, yk = X, y
        res = morris_analyze.analyze(problem, Xk, yk, num_levels=4, seed=args.seed)
        tables.append(
            pd.DataFrame(
                {
                    "readout": readout,
                    "factor": res["names"],
                    "mu_star": res["mu_star"],
                    "sigma": res["sigma"],
                }
            ).sort_values("mu_star", ascending=False)
        )
    table = pd.concat(tables)
    table.to_csv(out / "central_finding_morris.csv", index=False)
    print(f"catalog values: {base}")
    print(
        f"{len(points)} points ({points.synergy_gap.isna().sum()} failed), finding holds at "
        f"{points.holds.mean():.0%} of them; wt_gain {points.wt_gain.min():.2f}-"
        f"{points.wt_gain.max():.2f}, v_gain {points.v_gain.min():.2f}-{points.v_gain.max():.2f}"
    )
    print("| readout | factor | mu* | sigma |\n|---|---|---:|---:|")
    for r in table.itertuples():
        print(f"| {r.readout} | {r.factor} | {r.mu_star:.3g} | {r.sigma:.3g} |")


if __name__ == "__main__":
    main()
