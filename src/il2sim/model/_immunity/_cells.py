"""Motif: cell counts become states, each with its fold change and IL-2 signals."""

from __future__ import annotations

from il2sim.model._body import sid
from il2sim.model._immunity._context import Context, role_of


def cell_states(cx: Context) -> None:
    """Every population with a role gets a count state ``N_<id>`` starting at ``N0_<id>`` (a
    parameter, so a patient's N0 sets the start), a fold-change rule, and, where IL-2 binds it,
    its pSTAT5 as a fraction of its own maximum (``s_<id>``, for activation indices) and the
    proliferation signal ``g_<id>``: one saturating law of the receptor layer's absolute pSTAT5
    for every cell type (half-maximal at ``proliferation_half_max_pstat5``), so that how fast a
    population divides on IL-2 depends on how many complexes it engages, not on how close it
    is to its own maximum. Creates: N_, N0_, fold_, s_, g_ per population."""
    net, im, model = cx.net, cx.im, cx.model
    for p in cx.sites:
        role = role_of(p.cell.name)
        if role is None:
            continue
        comp = p.location if p.location in ("central", "peripheral") else sid(p.location)
        n = net.promote_to_species(f"N_{p.id}", comp, f"{p.cell.label} ({p.location})")
        net.parameter(
            f"N0_{p.id}", p.count, "item", f"{p.cell.name} cells at start ({p.location})", p.source
        )
        net.species[n].initial_assignment = f"N0_{p.id}"
        im.cells[p.id] = n
        im.roles[p.id] = role
        im.fold[p.id] = net.rule(
            f"fold_{p.id}",
            f"{n} / N0_{p.id}",
            "dimensionless",
            f"fold change of {p.cell.name} ({p.location})",
        )
        if p.id in model.pstat5:
            r0 = f"R0_IL2RBG_{p.id}"
            net.rule(
                f"s_{p.id}",
                f"pSTAT5_{p.id} * ({r0} + k_half) / {r0}",
                "dimensionless",
                f"pSTAT5 of {p.cell.name} as a fraction of its own maximum",
            )
            kp = cx.par("proliferation_half_max_pstat5", per_day=False)
            net.rule(
                f"g_{p.id}",
                f"pSTAT5_{p.id} / (pSTAT5_{p.id} + {kp})",
                "dimensionless",
                f"IL-2 proliferation signal of {p.cell.name} (fraction of its maximal division "
                "rate; a common law of absolute pSTAT5, so few IL-2Rbeta means little signal)",
            )
    for p in cx.sites:
        if p.id in im.cells:
            cx.by_loc.setdefault(p.location, []).append(p)
