"""Motif: regulation in each location: Treg suppression of effector proliferation, Treg
restraint of B7 costimulation in a lymphoid disease site, the Treg:CD8 ratio, the PD-1 brake
with its blockade (which also raises CD25 where the catalog says blockade does), and PD-L1
that infected or tumour cells raise as engaged CD8 T cells make interferon-gamma."""

from __future__ import annotations

from il2sim.model._body import PopulationSite, sid
from il2sim.model._immunity._context import ONE, Context
from il2sim.model._network import Species

CD8_ROLES = ("stem", "effector", "terminal", "cd8_memory", "cd8_naive")


def treg_suppression(cx: Context) -> None:
    """Per location with Tregs: ``suppression_<loc>`` (1 at baseline Tregs, lower as they
    expand) and ``treg_cd8_ratio_<loc>`` where CD8 T cells live too; in a lymphoid disease
    site ``costimulation_release_<site>``; also records each location's PD-L1 occupancy
    readouts for the PD-1 brake."""
    net, im, model = cx.net, cx.im, cx.model
    k_supp = cx.par("treg_suppression", per_day=False)
    lymphoid = {t.name for t in model.body.tissues if t.lymphoid}
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
            if loc == cx.site_loc and loc in lymphoid:
                cx.costim_release = _costimulation_release(cx, loc, t)
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


def _costimulation_release(cx: Context, loc: str, treg: str) -> str:
    """``costimulation_release_<loc>``: how much of the B7 (CD80/CD86) costimulation that
    Tregs withhold from antigen-specific CD8 T cells is free, (1 - Tregs / resting Tregs)^2
    while Tregs are below their resting number and 0 at or above it (C1-smooth at rest).
    Tregs strip B7 from antigen-presenting cells through CTLA-4 (Qureshi OS et al. 2011
    Science 332:600; Wing K et al. 2008 Science 322:271); in chronic LCMV, Treg ablation
    rescues exhausted CD8 T cells 10-100-fold, a rescue that needs B7 and cognate antigen
    (Penaloza-MacMaster P et al. 2014 J Exp Med 211:1905)."""
    return cx.net.rule(
        f"costimulation_release_{sid(loc)}",
        f"max(0 dimensionless, 1 dimensionless - N_{treg} / N0_{treg})^2",
        "dimensionless",
        f"B7 costimulation released from Treg restraint in {loc} (0 at resting Tregs, 1 without)",
    )


def _blockade(cx: Context, p: PopulationSite) -> str | None:
    """The highest occupancy of PD-1 on the cell or PD-L1 in its location by a blocker (None
    in an arm without a PD-1 or PD-L1 binder)."""
    terms = []
    if ("PD1", p.id) in cx.model.occupancy:
        terms.append(cx.model.occupancy[("PD1", p.id)])
    terms += cx.pdl1_ref.get(p.location, [])
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else f"max({', '.join(terms)})"


def _brake(cx: Context, p: PopulationSite, rule_id: str, eps: str, name: str) -> str:
    """The rule ``rule_id`` = 1 - ``eps`` x exhaustion x (1 - blockade) on ``p``; its id."""
    b = _blockade(cx, p)
    unblocked = "" if b is None else f" * ({ONE} - {b})"
    return cx.net.rule(
        rule_id, f"{ONE} - {eps} * {cx.exhaustion}{unblocked}", "dimensionless", name
    )


def pd1_brake(cx: Context, p: PopulationSite) -> str:
    """``pd1_signal_<id>``: 1 - eps x exhaustion x (1 - blockade), blockade being the highest
    occupancy of PD-1 on the cell or PD-L1 in its location (no blockade in an arm without a
    PD-1 or PD-L1 binder); returns its id."""
    return _brake(
        cx,
        p,
        f"pd1_signal_{p.id}",
        cx.par("pd1_inhibition", per_day=False),
        f"PD-1 brake factor on {p.cell.name} (1 = no brake)",
    )


def killing_brake(cx: Context, effector: PopulationSite, engaged: str, resting: str) -> str:
    """``kill_signal_<id>``: the PD-1 brake on killing by effector-like cells, with PD-L1 on
    their targets (infected or tumour cells) that rises as engaged CD8 T cells make
    interferon-gamma. ``pdl1_targets_<site>`` (1 until treatment starts) relaxes within about a
    day towards (1 - gain) + gain x engagement / engagement at the start of treatment
    (engagement: antigen x ``engaged``, cells weighted as they kill; an acute infection starts
    from a resting host, so its reference is the catalog's chronic state, antigen at
    ``virus_initial_chronic`` x ``resting``; at least one cell's worth, as the antigen may be
    gone), and PD-1 engagement at the lytic synapse scales
    with it, eps_eff = eps L / (eps L + 1 - eps) (eps at L = 1, below 1 for any L); blockade
    lifts it as it lifts the PD-1 brake. With a gain of 0 (the catalog's for tumours), the
    PD-1 brake factor itself. Penaloza-MacMaster P et al. 2014 J Exp Med 211:1905:
    after Treg ablation PD-L1 rises, especially on LCMV-infected cells, the expanded CD8 T
    cells do not lower the viral load, and PD-L1 blockade then does; in tumours, adaptive
    resistance (Taube JM et al. 2012 Sci Transl Med 4:127ra37: PD-L1 on melanoma cells where
    interferon-gamma-making T cells infiltrate)."""
    gain_name = (
        "tumour_pdl1_induction_gain" if cx.disease == "tumour" else "virus_pdl1_induction_gain"
    )
    if cx.P[gain_name].value == 0:  # PD-L1 stays as it was: the PD-1 brake alone
        return f"pd1_signal_{effector.id}"
    net, site, ag = cx.net, sid(cx.loc), cx.antigen
    comp = net.species[cx.burden].compartment
    engagement = f"max({ag} * {engaged}, 1 item)"  # at least a cell's worth: antigen may be gone
    ref = net.add_species(
        Species(
            f"engaged_cd8_reference_{site}",
            comp,
            0.0,
            "item",
            "engagement of antigen-specific CD8 T cells that PD-L1 induction is measured from",
            amount_only=True,
        )
    )
    if cx.disease == "acute_infection":
        v0 = cx.P["virus_initial_chronic"].value
        chronic = net.parameter(
            f"antigen_chronic_{site}",
            v0 / (v0 + cx.P["virus_antigen_half_saturation"].value),
            "dimensionless",
            "antigen drive at the catalog's chronic viral load",
            "virus_initial_chronic / (virus_initial_chronic + virus_antigen_half_saturation)",
        )
        net.species[ref].initial_assignment = f"{chronic} * {resting}"
    else:
        net.species[ref].initial_assignment = engagement
    tracking = net.parameter(
        f"pdl1_tracking_{site}",
        0.0,
        "dimensionless",
        "PD-L1 on target cells follows engagement (1, from the start of treatment) or not (0)",
        "set by events",
        constant=False,
    )
    t_start = net.parameter(
        f"t_treatment_start_{site}", cx.treatment_start_h, "hour", "start of treatment", "scenario"
    )
    start = {tracking: ONE}
    if cx.disease != "acute_infection":
        start[ref] = engagement
    net.event(f"pdl1_reference_{site}", f"time >= {t_start}", start, "start of treatment")
    L = net.add_species(
        Species(
            f"pdl1_targets_{site}",
            comp,
            1.0,
            "dimensionless",
            "PD-L1 on infected or tumour cells relative to the start of treatment",
            amount_only=True,
        )
    )
    cx.im.pdl1_targets = L
    gain = cx.par(gain_name, per_day=False)
    net.rate_rule(
        L,
        f"{cx.par('pdl1_induction_per_day')} * ({ONE} + {tracking} * {gain}"
        f" * ({ag} * {engaged} / {ref} - {ONE}) - {L})",
    )
    eps = cx.par("pd1_inhibition", per_day=False)
    return _brake(
        cx,
        effector,
        f"kill_signal_{effector.id}",
        f"{eps} * {L} / ({eps} * {L} + {ONE} - {eps})",
        f"PD-1 brake on killing by {effector.cell.name}, with PD-L1 on its targets",
    )


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
