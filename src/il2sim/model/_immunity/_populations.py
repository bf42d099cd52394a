"""Motif: the dynamics of each population. Pools that IL-2 expands (Tregs, NK, memory and
naive CD8, CD4 helpers) proliferate with their IL-2 signal up to a cap and return to
baseline; antigen-specific CD8 T cells in the disease site form the chain stem-like ->
effector-like -> terminally exhausted, driven by antigen and braked by PD-1, with IL-2
delivered with CD25 or in cis favouring effector-like progeny; elsewhere they contract."""

from __future__ import annotations

from il2sim.model._body import receptors_vanish_with_cells, sid
from il2sim.model._immunity._context import ONE, Context, switch
from il2sim.model._immunity._lymph_node import extra_priming
from il2sim.model._immunity._regulation import cd25_induction, killing_brake, pd1_brake

POOLS = ("treg", "nk", "cd8_memory", "cd8_naive", "cd4_helper")


def population_dynamics(cx: Context) -> None:
    """Rate rules of the IL-2-driven pools (Treg suppression on all but Tregs; Fc-competent
    anti-CTLA-4 depletes Tregs in the disease site), contraction of antigen-specific cells
    outside the site, and in the site each one's PD-1 brake, CD25 induction and ``cis_<id>``:
    the part of its proliferation signal ``g_<id>`` carried by CD25- or arm-assisted complexes."""
    net, model, im = cx.net, cx.model, cx.im
    fmax = cx.par("max_fold_expansion", per_day=False)
    contraction = cx.par("contraction_per_day")
    kp = cx.par("proliferation_half_max_pstat5", per_day=False)
    for p in cx.sites:
        role = im.roles.get(p.id)
        if role is None or role == "tumour":
            continue
        n, n0 = f"N_{p.id}", f"N0_{p.id}"
        g = f"g_{p.id}" if p.id in model.pstat5 else "0 dimensionless"
        sup = f" * {cx.supp[p.location]}" if p.location in cx.supp and role != "treg" else ""
        if role in POOLS:
            pm = cx.par(f"prolif_max_per_day_{role}")
            deplete = ""
            if role == "treg" and ("CTLA4", p.id) in model.occupancy and p.location == cx.site_loc:
                k_dep = cx.par("ctla4_treg_depletion_per_day")
                deplete = f" - {k_dep} * {model.occupancy[('CTLA4', p.id)]} * {n}"
            if role == "treg" and cx.treg_depletion_times_h:
                on = switch(cx, "treg_depletion", cx.treg_depletion_times_h, "Treg depletion")
                deplete += f" - {cx.par('treg_depletion_per_day')} * {on} * {n}"
            net.rate_rule(
                n,
                f"{pm} * {g}{sup} * {n} * ({ONE} - {n} / ({fmax} * {n0}))"
                f" - {contraction} * ({n} - {n0}){deplete}",
            )
            continue
        if cx.antigen is None or p.location != cx.site_loc:
            net.rate_rule(n, f"-{contraction} * ({n} - {n0})")
            continue
        cd25_induction(cx, p, pd1_brake(cx, p))
        cis = (
            f"pSTAT5cis_{p.id} / (pSTAT5_{p.id} + {kp})"
            if p.id in model.cis_pstat5
            else "0 dimensionless"
        )
        net.rule(
            f"cis_{p.id}",
            cis,
            "dimensionless",
            f"the part of {p.cell.name}'s IL-2 proliferation signal carried by CD25- or "
            "arm-assisted (cis) complexes",
        )
    cx.chain = {
        im.roles[p.id]: p
        for p in cx.sites
        if p.location == cx.site_loc and im.roles.get(p.id) in ("stem", "effector", "terminal")
    }


def antigen_specific_chain(cx: Context) -> None:
    """Stem-like cells self-renew under antigen and IL-2 up to a capacity and feed
    effector-like cells; effector-like cells proliferate with IL-2, keep dividing in programmed
    expansion, survive better with IL-2, and become terminal under antigen and exhaustion
    (less with cis IL-2); terminal cells die. IL-2-driven division of both stem-like and
    effector-like cells needs IL-2 that comes with CD25 or in cis (``cis_il2_gain``: signal
    through IL-2Rbeta/gamma-c alone gives 1/(1 + gain) of it; Hashimoto 2022: CD25 blockade or
    no-alpha IL-2 almost abolishes the synergy with PD-1 blockade). ``ctl_<site>`` counts functional
    cytotoxic cells (IL-2 raises per-cell killing). Needs all three states in the site."""
    if cx.antigen is None or len(cx.chain) != 3:
        return
    net, model, ag, site = cx.net, cx.model, cx.antigen, sid(cx.loc)
    S, E, X = (cx.chain[r] for r in ("stem", "effector", "terminal"))
    nS, nE, nX = f"N_{S.id}", f"N_{E.id}", f"N_{X.id}"
    fS, fE = f"pd1_signal_{S.id}", f"pd1_signal_{E.id}"
    exhaustion = cx.exhaustion
    gain = cx.par("cis_il2_gain", per_day=False)
    prot = cx.par("cis_il2_protection", per_day=False)
    flux_se = net.rule(
        f"flux_stem_to_effector_{site}",
        f"{cx.par('stem_to_effector_per_day')} * {ag} * {fS} * {nS}",
        "item_per_h",
        "stem-like to effector-like differentiation",
    )
    flux_et = net.rule(
        f"flux_effector_to_terminal_{site}",
        f"{cx.par('effector_to_terminal_per_day')} * {ag} * {exhaustion}"
        f" * ({ONE} - {prot} * cis_{E.id}) * {nE}",
        "item_per_h",
        "effector-like to terminal differentiation",
    )
    cap = cx.par("stem_capacity_fold", per_day=False)
    gS = f"g_{S.id}" if S.id in model.pstat5 else "0 dimensionless"
    priming = f" + {cx.tdln_inflow}" if cx.tdln_inflow else extra_priming(cx, S.id)
    net.rate_rule(
        nS,
        f"({cx.par('stem_self_renewal_per_day')} * {ag} * {fS}"
        f" + {cx.par('stem_il2_prolif_max_per_day')} * {fS}"
        f" * ({gS} + {gain} * cis_{S.id}) / ({ONE} + {gain}))"
        f" * {nS} * ({ONE} - {nS} / ({cap} * N0_{S.id})) - {flux_se}{priming}",
    )
    fmax = cx.par("max_fold_expansion", per_day=False)
    gE = f"g_{E.id}" if E.id in model.pstat5 else "0 dimensionless"
    block = exhaustion
    if cx.costim_release is not None:  # B7 freed from Tregs lifts part of exhaustion's block
        rho = cx.par("treg_costimulation_restraint", per_day=False)
        block = f"{exhaustion} * ({ONE} - {rho} * {cx.costim_release})"
    share = cx.par("pd1_il2_brake_share", per_day=False)
    il2_brake = f"({ONE} - {share} * ({ONE} - {fE}))"
    supE = f" * {cx.supp[cx.site_loc]}" if cx.site_loc in cx.supp else ""
    exit_ = f" - {cx.par('tumour_effector_exit_per_day')} * {nE}" if cx.tdln_inflow else ""
    net.rate_rule(
        nE,
        f"{flux_se} + {cx.par('effector_prolif_max_per_day')} * {il2_brake}{supE} * {nE}"
        f" * ({gE} + {gain} * cis_{E.id}) / ({ONE} + {gain})"
        f" * ({ONE} - {nE} / ({fmax} * N0_{E.id}))"
        f" + {cx.par('effector_antigen_prolif_per_day')} * expansion_programme_{site}"
        f" * ({ONE} - {block})"
        f" * {nE} * ({ONE} - {nE} / ({fmax} * N0_{E.id}))"
        f" - {flux_et} - {cx.par('effector_death_per_day')}"
        f" * ({ONE} - {cx.par('il2_survival_max', per_day=False)} * {gE}) * {nE}{exit_}",
    )
    net.rate_rule(nX, f"{flux_et} - {cx.par('terminal_death_per_day')} * {nX}")
    for p in (S, E, X):  # each can die out once antigen is gone (the terminal pool first)
        receptors_vanish_with_cells(model, p.id, f"N_{p.id}")
    share = cx.par("terminal_killing_share", per_day=False)
    kill = killing_brake(cx, E, f"({nE} + {share} * {nX})", f"(N0_{E.id} + {share} * N0_{X.id})")
    cx.ctl_terms.append(
        net.rule(
            f"ctl_{site}",
            f"{kill} * ({ONE} + {cx.par('il2_cytotoxicity_gain', per_day=False)} * {gE})"
            f" * ({nE} + {share} * {nX})",
            "item",
            "functional cytotoxic CD8 T cells (IL-2 raises per-cell killing)",
        )
    )
