"""Motif: the disease's own dynamics. A tumour grows logistically and is killed by CD8 T
cells with the ratio-dependent law of de Pillis et al. 2005 (Cancer Res 65:7950) and by NK
cells; a persistent virus replicates logistically and is cleared by CD8 T cells."""

from __future__ import annotations

from il2sim.model._body import sid
from il2sim.model._immunity._context import ONE, Context


def disease_dynamics(cx: Context) -> None:
    """The burden's rate rule (and, for a tumour, the event that removes its last cell)."""
    im = cx.im
    if im.burden is None:
        return
    ctl = cx.ctl_terms[0] if cx.ctl_terms else "0 item"
    if cx.disease == "tumour":
        _tumour(cx, ctl)
        return
    V = im.burden
    cx.net.rate_rule(
        V,
        f"{cx.par('virus_replication_per_day')} * {V} * ({ONE} - {V})"
        f" - {cx.par('virus_killing_per_ctl_per_day', units='per_item_per_h')} * {ctl} * {V}",
    )


def _tumour(cx: Context, ctl: str) -> None:
    net, model, T, par = cx.net, cx.model, cx.im.burden, cx.par
    tp = next(p for p in cx.sites if f"N_{p.id}" == T)
    ratio = f"({ctl} / max({T}, 1 item))"  # finite as the tumour goes
    lam = par("depillis_lambda", per_day=False)
    s_ = par("depillis_s", per_day=False)
    kill = f"{par('depillis_d_per_day')} * {ratio}^{lam} / ({s_} + {ratio}^{lam})"
    nk = next((p for p in cx.sites if cx.role(p) == "nk" and p.location == cx.site_loc), None)
    nk_term = (
        f" - {par('nk_kill_per_cell_per_day', units='per_item_per_h')} * N_{nk.id}"
        f" * ({ONE} + {par('il2_cytotoxicity_gain', per_day=False)}"
        f" * {f'g_{nk.id}' if nk.id in model.pstat5 else '0 dimensionless'}) * {T}"
        if nk
        else ""
    )
    cap = par("tumour_capacity_fold", per_day=False)
    net.event(
        f"tumour_eradicated_{sid(cx.site_loc)}",
        f"{T} < 1 item",
        {T: "0 item"},
        "tumour eradicated (fewer than one cell)",
    )
    net.rate_rule(
        T,
        f"{par('tumour_growth_per_day')} * {T} * ({ONE} - {T} / ({cap} * N0_{tp.id}))"
        f" - {kill} * {T}{nk_term}",
    )
