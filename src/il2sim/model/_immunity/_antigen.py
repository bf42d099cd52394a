"""Motif: the disease's antigen in its site (tumour cells or a replicating virus), the antigen
drive it gives, and the two slow states of the site's antigen-specific CD8 T cells it sets:
the exhaustion programme and programmed expansion."""

from __future__ import annotations

from il2sim.model._body import sid
from il2sim.model._immunity._context import ONE, Context
from il2sim.model._network import Species


def antigen(cx: Context) -> None:
    """``antigen_<site>``: tumour cells or viral load over (itself + half-saturation). A
    tumour needs tumour cells in the site; a virus becomes the state ``virus_<site>``
    (fraction of the tissue maximum) with an extinction event below one infectious unit and,
    for an acute infection, an infection event at ``t_infection``."""
    if cx.disease == "none" or cx.site_loc is None:
        return
    net, im, P, site_loc = cx.net, cx.im, cx.P, cx.site_loc
    loc_id = sid(site_loc)
    if cx.disease == "tumour":
        tum = next((p for p in cx.sites if cx.role(p) == "tumour" and p.location == site_loc), None)
        if tum is None:
            raise ValueError(
                f"a tumour scenario needs tumour cells in {site_loc!r} (body {cx.model.body.name})"
            )
        im.burden = f"N_{tum.id}"
        kt = cx.par("tumour_antigen_half_saturation_cells", per_day=False, units="item")
        cx.antigen = net.rule(
            f"antigen_{loc_id}",
            f"N_{tum.id} / (N_{tum.id} + {kt})",
            "dimensionless",
            "tumour antigen drive",
        )
        cx.antigen_gone = f"N_{tum.id} < 1 item"
        cx.antigen_back = f"N_{tum.id} > 2 item"  # not 1: a tumour near one cell would switch
        return
    acute = cx.disease == "acute_infection"
    v0 = P["virus_initial_acute" if acute else "virus_initial_chronic"]
    comp = net.species[im.cells[cx.by_loc[site_loc][0].id]].compartment
    im.burden = net.add_species(
        Species(
            f"virus_{loc_id}",
            comp,
            0.0 if acute else v0.value,
            "dimensionless",
            "viral load (fraction of tissue maximum)",
            amount_only=True,
        )
    )
    if acute:  # a new infection at the start of treatment, in a resting host
        t_inf = net.parameter(
            "t_infection", cx.infection_time_h, "hour", "time of infection", "scenario"
        )
        v_inf = cx.par("virus_initial_acute", per_day=False)
        net.event("infection", f"time >= {t_inf}", {im.burden: v_inf}, "infection")
    thr = cx.par("virus_extinction_threshold", per_day=False)
    net.event(
        f"virus_extinct_{loc_id}",
        f"{im.burden} < {thr}",
        {im.burden: "0 dimensionless"},
        "virus eradicated (below one infectious unit)",
    )
    kv = cx.par("virus_antigen_half_saturation", per_day=False)
    cx.antigen = net.rule(
        f"antigen_{loc_id}",
        f"{im.burden} / ({im.burden} + {kv})",
        "dimensionless",
        "viral antigen drive",
    )
    cx.antigen_gone = f"{im.burden} <= 0 dimensionless"
    cx.antigen_back = f"{im.burden} > 0 dimensionless"


def exhaustion_and_programme(cx: Context) -> None:
    """Two dimensionless states of the site's antigen-specific CD8 T cells, 1 in an
    established disease and 0 in a resting host: ``exhaustion_<site>`` (the PD-1-high
    programme, built under antigen within about a week, reversed slowly without it) and
    ``expansion_programme_<site>`` (once primed, cells keep dividing for about a week without
    needing antigen at every division)."""
    ag = cx.antigen
    if ag is None:
        return
    net, site_loc = cx.net, cx.loc
    site_comp = net.species[cx.im.cells[cx.by_loc[site_loc][0].id]].compartment
    established = 0.0 if cx.disease == "acute_infection" else 1.0

    def site_state(name: str, description: str) -> str:
        return net.add_species(
            Species(
                f"{name}_{sid(site_loc)}",
                site_comp,
                established,
                "dimensionless",
                description,
                amount_only=True,
            )
        )

    exhaustion = site_state(
        "exhaustion", "exhaustion programme (1 = established chronic exhaustion)"
    )
    net.rate_rule(
        exhaustion,
        f"{cx.par('exhaustion_onset_per_day')} * {ag} * ({ONE} - {exhaustion})"
        f" - {cx.par('exhaustion_reversal_per_day')} * ({ONE} - {ag}) * {exhaustion}",
    )
    cx.exhaustion = cx.im.exhaustion = exhaustion
    programme = site_state(
        "expansion_programme", "share of antigen-specific CD8 T cells in programmed expansion"
    )
    net.rate_rule(
        programme,
        f"{cx.par('priming_per_day')} * {ag} * ({ONE} - {programme})"
        f" - {cx.par('expansion_programme_end_per_day')} * {programme}",
    )
