"""Motif: priming in the tumour-draining lymph node and trafficking to the tumour.

Tumour-specific CD8 T cells are primed in the draining lymph node, where CTLA-4 acts and a
vaccine primes, and reach the tumour through blood; TCF1+ stem-like cells there are the
precursors of the tumour's own and keep it supplied (Connolly KA et al. 2021 Sci Immunol
6:eabg7836; Huang Q et al. 2022 Cell 185:4049). Effector-like cells also leave the tumour by
lymphatics and return to the node. Because the node is a lymphoid organ, the IL-2 that
lymphoid tissue sees (the drug's peripheral exposure) expands the cells on their way, so blood
and lymphoid exposure matter for the tumour and not only the tumour's own.

One state, ``tdln_primed_<site>``: primed tumour-specific CD8 T cells in lymphoid organs on
their way to the tumour (the resting repertoire is not counted). Only where the disease sits
outside lymphoid organs; a lymphoid disease site primes in place.
"""

from __future__ import annotations

from il2sim.model._body import sid
from il2sim.model._immunity._context import ONE, Context, switch
from il2sim.model._network import Species


def _vaccine_term(cx: Context, stem_n0: str) -> str:
    """Priming a vaccine adds on its days (events switch it on for a day): a term of dQ/dt."""
    if not cx.vaccine_times_h:
        return ""
    on = switch(cx, "vaccine", cx.vaccine_times_h, "vaccination")
    return f" + {cx.par('vaccine_priming_per_day')} * {on} * {stem_n0}"


def _ctla4_term(cx: Context, stem_n0: str) -> str:
    """Priming that anti-CTLA-4 adds in lymphoid organs (highest occupancy outside the site)."""
    ctla4 = [
        r
        for (k, pid), r in cx.model.occupancy.items()
        if k == "CTLA4" and not pid.endswith(sid(cx.loc))
    ]
    if not ctla4:
        return ""
    occ = ctla4[0] if len(ctla4) == 1 else f"max({', '.join(ctla4)})"
    return f" + {cx.par('ctla4_priming_per_day')} * {cx.antigen} * {occ} * {stem_n0}"


def extra_priming(cx: Context, stem_id: str) -> str:
    """Priming by a vaccine and by anti-CTLA-4 as a term of the stem-like cells' dS/dt, for a
    disease site that is itself lymphoid (priming in place)."""
    return f"{_vaccine_term(cx, f'N0_{stem_id}')}{_ctla4_term(cx, f'N0_{stem_id}')}"


def lymph_node_priming(cx: Context) -> None:
    """``tdln_primed_<site>`` (item) and ``tdln_inflow_<site>`` (item/h, what enters the
    tumour's stem-like pool). Primed at ``tdln_priming_per_day`` x antigen drive (the tumour's
    antigen drains to the node) relative to the tumour's resting stem-like pool, more with a
    vaccine and anti-CTLA-4; divides on IL-2 up to ``max_fold_expansion`` x that pool and
    leaves at ``tdln_egress_per_day`` into the tumour. The node's tumour-specific cells are
    TCF1+ stem-like cells like those of chronic infection (Connolly 2021), so they obey the
    stem-like law of the site: IL-2Rbeta/gamma-c signal alone gives 1/(1 + ``cis_il2_gain``) of
    the division CD25- or cis-delivered IL-2 gives. Their signal is that of lymphoid memory CD8
    T cells (CD25 low, IL-2Rbeta high, as resting stem-like cells; the node has no binding of
    its own), so what CD25 or a PD-1 arm would add there is left out: an underestimate for
    CD25-binding IL-2 at low doses and for PD-1-targeted IL-2.
    Effector-like cells return at ``tumour_effector_exit_per_day``. Starts at its steady state
    without IL-2 for the tumour and cells at time 0."""
    if cx.disease != "tumour" or cx.antigen is None or len(cx.chain) != 3:
        return
    lymphoid = {t.name for t in cx.model.body.tissues if t.lymphoid}
    if cx.loc in lymphoid or "peripheral" not in cx.net.compartments:
        return
    net, ag, site = cx.net, cx.antigen, sid(cx.loc)
    S, E = cx.chain["stem"], cx.chain["effector"]
    n0 = f"N0_{S.id}"
    memory = next(
        (p for p in cx.sites if cx.role(p) == "cd8_memory" and p.location == "peripheral"), None
    )
    g = f"g_{memory.id}" if memory is not None and memory.id in cx.model.pstat5 else None
    prime, egress = cx.par("tdln_priming_per_day"), cx.par("tdln_egress_per_day")
    Q = net.add_species(
        Species(
            f"tdln_primed_{site}",
            "peripheral",
            0.0,
            "item",
            "primed tumour-specific CD8 T cells in lymphoid organs, on their way to the tumour",
            amount_only=True,
        )
    )
    tumour = next(p for p in cx.sites if cx.role(p) == "tumour" and p.location == cx.loc)
    kt = cx.par("tumour_antigen_half_saturation_cells", per_day=False, units="item")
    t0 = f"N0_{tumour.id}"
    back = cx.par("tumour_effector_exit_per_day")
    # steady state without IL-2: priming + returning effectors = egress, at the start's antigen
    q0 = f"({prime} * {t0} / ({t0} + {kt}) * {n0} + {back} * N0_{E.id}) / {egress}"
    net.species[Q].initial_assignment = q0
    il2 = ""
    if g is not None:  # IL-2Rbeta/gamma-c signal alone: 1 / (1 + gain) of full division
        fmax = cx.par("max_fold_expansion", per_day=False)
        gain = cx.par("cis_il2_gain", per_day=False)
        il2 = (
            f" + {cx.par('stem_il2_prolif_max_per_day')} * {g} / ({ONE} + {gain}) * {Q}"
            f" * ({ONE} - {Q} / ({fmax} * {n0}))"
        )
    net.rate_rule(
        Q,
        f"{prime} * {ag} * {n0}{_vaccine_term(cx, n0)}{_ctla4_term(cx, n0)}{il2}"
        f" - {egress} * {Q}"
        f" + {back} * N_{E.id}",
    )
    cx.tdln_inflow = net.rule(
        f"tdln_inflow_{site}",
        f"{egress} * {Q}",
        "item_per_h",
        "primed tumour-specific CD8 T cells entering the tumour from the draining lymph node",
    )
