"""Motif: endogenous IL-2, secreted by antigen-stimulated CD8 T cells in the disease site and
by antigen-specific CD4 helpers in lymphoid organs, and set to zero once antigen is gone and
less than one molecule is left in the body (its secretion stopping with it until antigen is
back)."""

from __future__ import annotations

from il2sim.model._body import ENDOGENOUS_IL2, form_amounts, sid
from il2sim.model._immunity._context import ONE, Context


def endogenous_il2(cx: Context) -> None:
    """Secretion reactions into the free endogenous IL-2 of the disease site (stem-like and
    effector-like CD8 under antigen) and of lymphoid tissue (CD4 helpers, less as the
    response exhausts), and the ``<endogenous>_gone`` and ``_back`` events."""
    net, ag = cx.net, cx.antigen
    if ag is None:
        return
    if len(cx.chain) == 3:
        lig = f"L_{ENDOGENOUS_IL2}_{sid(cx.loc)}"
        if lig in net.species:
            sec = cx.par("il2_secretion_per_cell_per_h", per_day=False, units="per_h")
            nS, nE = f"N_{cx.chain['stem'].id}", f"N_{cx.chain['effector'].id}"
            net.reaction(
                f"il2_secretion_{sid(cx.loc)}",
                {},
                {lig: 1},
                f"{sec} * {ag} * ({nS} + {nE}) / items_per_nmol",
                "endogenous IL-2 secretion",
                "SBO:0000393",
            )
    lig = f"L_{ENDOGENOUS_IL2}_peripheral"
    helpers = [p for p in cx.sites if cx.role(p) == "cd4_helper" and p.location == "peripheral"]
    if helpers and lig in net.species:
        sec = cx.par("il2_secretion_cd4_per_cell_per_h", per_day=False, units="per_h")
        frac = cx.par("cd4_antigen_specific_fraction", per_day=False)
        loss = cx.par("cd4_il2_loss_when_exhausted", per_day=False)
        for h in helpers:
            net.reaction(
                f"il2_secretion_{h.id}",
                {},
                {lig: 1},
                f"{sec} * {frac} * {ag} * ({ONE} - {loss} * {cx.exhaustion})"
                f" * N_{h.id} / items_per_nmol",
                "endogenous IL-2 secretion by antigen-specific CD4 helpers",
                "SBO:0000393",
            )
    secretion = [r for r in net.reactions.values() if r.id.startswith("il2_secretion_")]
    if not secretion:
        return
    # Once antigen is cleared, endogenous IL-2 below one molecule in the whole body is gone: a
    # continuous amount means nothing there, and its washout would otherwise be followed across
    # tens of decades (after a cleared tumour ~7x the steps of the rest of the treatment). Its
    # secretion stops with it until the antigen is back, and the event fires once: what the
    # solver leaves in the zeroed states afterwards is rounding of either sign (~1e-12 nmol,
    # a thousand molecules, far below the absolute tolerance), which crossed the one-molecule
    # threshold again and again (40-200 times a patient over a 24-month follow-up after a
    # cleared tumour, each a restart of the solver).
    flag = net.parameter(
        f"{ENDOGENOUS_IL2}_secreted",
        1.0,
        "dimensionless",
        "endogenous IL-2 secreted (1) or stopped with antigen cleared and none left (0)",
        "set by events",
        constant=False,
    )
    for r in secretion:
        r.rate = f"{r.rate} * {flag}"
    present = form_amounts(cx.model, ENDOGENOUS_IL2)
    net.event(
        f"{ENDOGENOUS_IL2}_gone",
        f"{cx.antigen_gone} && {flag} > 0.5 dimensionless"
        f" && ({' + '.join(present.values())}) * items_per_nmol < 1 item",
        {flag: "0 dimensionless", **{s: f"0 {net.species[s].units}" for s in present}},
        "endogenous IL-2 below one molecule in the body (antigen cleared): gone, and no more "
        "secreted",
    )
    net.event(
        f"{ENDOGENOUS_IL2}_back",
        cx.antigen_back,
        {flag: "1 dimensionless"},
        "antigen back after it was cleared: endogenous IL-2 secreted again",
    )
