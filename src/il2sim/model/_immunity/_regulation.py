"""Motif: regulation in each location: Treg suppression of effector proliferation, the
Treg:CD8 ratio, and the PD-1 brake with its blockade (which also raises CD25 where the catalog
says blockade does)."""

from __future__ import annotations

from il2sim.model._body import PopulationSite, sid
from il2sim.model._immunity._context import ONE, Context
from il2sim.model._network import Species

CD8_ROLES = ("stem", "effector", "terminal", "cd8_memory", "cd8_naive")


def treg_suppression(cx: Context) -> None:
    """Per location with Tregs: ``suppression_<loc>`` (1 at baseline Tregs, lower as they
    expand) and ``treg_cd8_ratio_<loc>`` where CD8 T cells live too; also records each
    location's PD-L1 occupancy readouts for the PD-1 brake."""
    net, im, model = cx.net, cx.im, cx.model
    k_supp = cx.par("treg_suppression", per_day=False)
    for loc, pops in cx.by_loc.items():
        tregs = [p for p in pops if im.roles[p.id] == "treg"]
        if tregs:
            t = tregs[0].id
            cx.supp[loc] = net.rule(
                f"suppression_{sid(loc)}",
                f"(1 dimensionless + {k_supp}) / (1 dimensionless + {k_supp} * N_{t} / N0_{t})",
                "dimensionless",
                f"Treg suppression of effector proliferation in {loc}",
            )
        cd8 = [p for p in pops if im.roles[p.id] in CD8_ROLES]
        if tregs and cd8:
            im.treg_cd8_ratio[loc] = net.rule(
                f"treg_cd8_ratio_{sid(loc)}",
                f"N_{tregs[0].id} / ({' + '.join(f'N_{p.id}' for p in cd8)})",
                "dimensionless",
                f"Treg:CD8 ratio in {loc}",
            )
    cx.pdl1_ref = {
        loc: [
            r
            for (k, pid), r in model.occupancy.items()
            if k == "PDL1" and pid in {p.id for p in pops}
        ]
        for loc, pops in cx.by_loc.items()
    }
    cx.par("pd1_inhibition", per_day=False)  # the brake's strength, read by pd1_brake


def pd1_brake(cx: Context, p: PopulationSite) -> str:
    """``pd1_signal_<id>``: 1 - eps x exhaustion x (1 - blockade), blockade being the highest
    occupancy of PD-1 on the cell or PD-L1 in its location (no blockade in an arm without a
    PD-1 or PD-L1 binder); returns its id."""
    net, model = cx.net, cx.model
    eps = cx.par("pd1_inhibition", per_day=False)
    terms = []
    if ("PD1", p.id) in model.occupancy:
        terms.append(model.occupancy[("PD1", p.id)])
    terms += cx.pdl1_ref.get(p.location, [])
    if not terms:
        return net.rule(
            f"pd1_signal_{p.id}",
            f"1 dimensionless - {eps} * {cx.exhaustion}",
            "dimensionless",
            f"PD-1 brake factor on {p.cell.name}",
        )
    b = terms[0] if len(terms) == 1 else f"max({', '.join(terms)})"
    brake = net.rule(
        f"pd1_signal_{p.id}",
        f"1 dimensionless - {eps} * {cx.exhaustion} * (1 dimensionless - {b})",
        "dimensionless",
        f"PD-1 brake factor on {p.cell.name} (1 = no brake)",
    )
    return brake


def cd25_induction(cx: Context, p: PopulationSite, brake: str) -> None:
    """CD25 on an antigen-specific CD8 state as a dynamic quantity, in every arm (IL-2 alone
    induces it too, as far as the PD-1 brake lets TCR signal through). Its synthesis is
    (1 + (fold - 1) x) times the resting rate, where ``cd25_induction_<id>`` (0-1) is built by
    TCR signal (antigen x PD-1 brake factor, so raised by blockade) together with the cell's
    IL-2/STAT5 signal (``g_<id>``), and decays without them. TCR signal alone hardly moves it:
    CD25 is an IL-2/STAT5 target (positive feedback), and Hashimoto 2022 find the trimeric
    receptor on effectors after blockade + IL-2, not after blockade alone."""
    net, model = cx.net, cx.model
    fold = p.cell.pd1_blockade_fold.get("IL2RA")
    syn = net.reactions.get(f"synthesis_IL2RA_{p.id}")
    if fold is None or fold.value == 1 or syn is None or cx.antigen is None:
        return
    k = net.parameter(
        f"cd25_blockade_fold_{p.id}",
        fold.value,
        "dimensionless",
        f"CD25 on {p.cell.name} when fully induced (TCR signal released by PD-1 blockade + IL-2)",
        fold.source,
    )
    comp = net.species[cx.im.cells[p.id]].compartment
    x = net.add_species(
        Species(
            f"cd25_induction_{p.id}",
            comp,
            0.0,
            "dimensionless",
            f"CD25 induction of {p.cell.name} (0 resting, 1 fully induced)",
            amount_only=True,
        )
    )
    g = f"g_{p.id}" if p.id in model.pstat5 else "0 dimensionless"
    net.rate_rule(
        x,
        f"{cx.par('cd25_induction_per_day')} * {cx.antigen} * {brake} * {g} * ({ONE} - {x})"
        f" - {cx.par('cd25_loss_per_day')} * {x}",
    )
    syn.rate = f"({syn.rate}) * ({ONE} + ({k} - {ONE}) * {x})"
