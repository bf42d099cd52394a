"""Can any CTL killing rate give West 2013's and Ha 2008's expansion without contradicting
blockade's own effect? Over ``virus_killing_per_ctl_per_day``'s catalog range, in the default
scenario's chronic infection, at day 14 of treatment:

- ``blockade drop``: viral load before treatment over viral load with anti-PD-L1 alone
  (Barber 2006, West 2013: several-fold, not cleared);
- ``IL-2+b / b`` and ``vaccine+b / b``: virus-specific CD8 T cells (stem-like, effector-like,
  terminal) with IL-2 + anti-PD-L1 or vaccine + anti-PD-L1 over anti-PD-L1 alone (West 2013,
  Ha 2008: more; the strict xfails ask for 1.2x);
- ``IL-2+b viral / b viral``: the combination's viral load over blockade's.

    python scripts/west_ha_killing_scan.py

The numbers quoted in the two xfails of tests/test_therapy.py come from this table.
"""

from __future__ import annotations

import numpy as np

from il2sim import catalog
from il2sim.model import build_arm_model, to_sbml
from il2sim.simulate import Simulator

ARMS = ("anti_pdl1", "wt_il2_anti_pdl1", "vaccine_anti_pdl1")
RATES_PER_DAY = (3e-7, 5e-7, 7e-7, 1e-6, 1.5e-6, 2e-6, 3e-6, 5e-6)
CHAIN = ("stem", "effector", "terminal")


def main() -> None:
    sc = catalog.get_therapy_scenario("default")
    setting = next(s for s in sc.settings if s.name == "chronic_infection_mouse")
    arms = {a.name: a for a in setting.arms}
    t0 = sc.run_in_days * 24.0
    # just before the first dose: an output time on the dosing events can stall CVODE there
    t = np.array([0.0, t0 - 0.01, t0 + 14 * 24.0])
    sims = {}
    for name in ARMS:
        model, im = build_arm_model(
            setting, arms[name], duration_days=14, run_in_days=sc.run_in_days
        )
        cells = [sp for pid, sp in im.cells.items() if any(k in pid for k in CHAIN)]
        sims[name] = (Simulator(to_sbml(model.network), rtol=1e-6, atol=1e-12), [im.burden, *cells])
    print(
        "| killing per CTL per day | blockade drop | IL-2+b / b | vaccine+b / b"
        " | IL-2+b viral / b viral |"
    )
    print("|---:|---:|---:|---:|---:|")
    for k in RATES_PER_DAY:
        out = {}
        for name, (sim, sel) in sims.items():
            v = sim.run(t, sel, {"im_virus_killing_per_ctl_per_day": k / 24.0}).values
            out[name] = (v[2, 0] / v[1, 0], v[2, 1:].sum() / v[1, 1:].sum())
        viral_b, cells_b = out["anti_pdl1"]
        print(
            f"| {k:.1e} | {1 / viral_b:.1f} | {out['wt_il2_anti_pdl1'][1] / cells_b:.2f} "
            f"| {out['vaccine_anti_pdl1'][1] / cells_b:.2f} "
            f"| {out['wt_il2_anti_pdl1'][0] / viral_b:.3f} |"
        )


if __name__ == "__main__":
    main()
