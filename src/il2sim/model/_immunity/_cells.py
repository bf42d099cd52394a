"""Motif: cell counts become states, each with its fold change and normalised IL-2 signal."""

from __future__ import annotations

from il2sim.model._body import sid
from il2sim.model._immunity._context import Context, role_of


def cell_states(cx: Context) -> None:
    """Every population with a role gets a count state ``N_<id>`` starting at ``N0_<id>`` (a
    parameter, so a patient's N0 sets the start), a fold-change rule, and, where IL-2 binds it,
    its pSTAT5 as a fraction of its own maximum (``s_<id>``) and the proliferation signal
    ``g_<id>`` (1 at maximal pSTAT5). Creates: N_, N0_, fold_, s_, g_ per population."""
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
            ks = cx.par("signal_half_saturation", per_day=False)
            net.rule(
                f"g_{p.id}",
                f"s_{p.id} * (1 dimensionless + {ks}) / (s_{p.id} + {ks})",
                "dimensionless",
                f"IL-2 proliferation signal of {p.cell.name} (1 at maximal pSTAT5)",
            )
    for p in cx.sites:
        if p.id in im.cells:
            cx.by_loc.setdefault(p.location, []).append(p)
