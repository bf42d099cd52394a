"""Motif: the disease's own dynamics.

A tumour is two clones sharing one logistic capacity: antigen-presenting cells (the count
state of the catalog's tumour cells, the source of antigen) that CD8 T cells kill with the
ratio-dependent law of de Pillis et al. 2005 (Cancer Res 65:7950), and an escape clone
(antigen- or MHC-low, as in acquired resistance to PD-1 blockade: Zaretsky JM et al. 2016
N Engl J Med 375:819) that T cells cannot kill, so that a response can be partial and relapse.
Below about one cell a clone stops dividing. The T-cell-to-tumour ratio counts every tumour
cell, so killing does not run away while the escape clone grows. NK cells kill both clones
at a rate that saturates (IL-2-activated NK cells add little against established tumours:
Rosenberg SA et al. 1993 J Natl Cancer Inst 85:622). A persistent virus replicates
logistically and is cleared by CD8 T cells.
"""

from __future__ import annotations

from il2sim.model._body import sid
from il2sim.model._immunity._context import ONE, Context
from il2sim.model._network import Species


def disease_dynamics(cx: Context) -> None:
    """The burden's rate rules."""
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
    """Antigen-presenting clone ``N_<tumour>`` and escape clone ``tumour_escape_<site>``;
    the burden becomes their sum, ``tumour_burden_<site>``."""
    net, par, site = cx.net, cx.par, sid(cx.loc)
    A = cx.burden
    tp = next(p for p in cx.sites if f"N_{p.id}" == A)
    f_esc = par("tumour_escape_fraction", per_day=False)
    E = net.add_species(
        Species(
            f"tumour_escape_{site}",
            net.species[A].compartment,
            0.0,
            "item",
            "escape-clone tumour cells (not killed by T cells)",
            amount_only=True,
        )
    )
    net.species[E].initial_assignment = f"N0_{tp.id} * {f_esc} / ({ONE} - {f_esc})"
    total = net.rule(
        f"tumour_burden_{site}",
        f"{A} + {E}",
        "item",
        "tumour cells of both clones",
    )
    cx.im.burden, cx.im.escape = total, E
    ratio = f"({ctl} / max({total}, 1 item))"  # finite as the tumour goes
    lam = par("depillis_lambda", per_day=False)
    s_ = par("depillis_s", per_day=False)
    ctl_kill = f"{par('depillis_d_per_day')} * {ratio}^{lam} / ({s_} + {ratio}^{lam})"
    nk_kill = _nk_kill(cx)
    room = f"({ONE} - {total} / {par('tumour_capacity_cells', per_day=False, units='item')})"
    growth = par("tumour_growth_per_day")
    for clone, killed in ((A, ctl_kill), (E, None)):
        kills = f"{killed} + {nk_kill}" if killed else nk_kill
        # below about one cell a clone neither divides nor dies (Hill 2 at one cell): an
        # eradicated clone does not regrow from a continuous remnant, and the remnant fades
        # algebraically instead of exponentially across hundreds of decades (which, with the
        # endogenous IL-2 it drives, broke late CVODE solves after complete responses); an
        # event setting it to exactly 0 instead made later solves of IL2v + nivolumab fail
        present = f"{clone}^2 / ({clone}^2 + (1 item)^2)"
        net.rate_rule(clone, f"({growth} * {room} - ({kills})) * {present} * {clone}")
    # T-cell killing as it acts on the antigen clone's log size (per h): a readout for lesions
    # that meet more or less of it than the patient's average (cohort.PatientLesions)
    cx.im.ctl_kill = net.rule(
        f"tumour_ctl_kill_{site}",
        f"{ctl_kill} * {A}^2 / ({A}^2 + (1 item)^2)",
        "per_h",
        "T-cell killing rate of antigen-presenting tumour cells",
    )


def _nk_kill(cx: Context) -> str:
    """Per-cell NK killing rate of tumour cells: per NK cell and IL-2-activated, saturating at
    ``nk_kill_max_per_day``."""
    nk = next((p for p in cx.sites if cx.role(p) == "nk" and p.location == cx.site_loc), None)
    if nk is None:
        return "0 per_h"
    par = cx.par
    g = f"g_{nk.id}" if nk.id in cx.model.pstat5 else "0 dimensionless"
    raw = cx.net.rule(
        f"nk_kill_unbounded_{sid(cx.loc)}",
        f"{par('nk_kill_per_cell_per_day', units='per_item_per_h')} * N_{nk.id}"
        f" * ({ONE} + {par('il2_cytotoxicity_gain', per_day=False)} * {g})",
        "per_h",
        "NK killing of tumour cells before saturation",
    )
    kmax = par("nk_kill_max_per_day")
    return f"({raw} * {kmax} / ({raw} + {kmax}))"
