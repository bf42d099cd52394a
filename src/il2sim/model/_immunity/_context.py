"""What the immunity motifs share while they build one arm's network: the body model, the
catalog's immune parameters, the ids each motif leaves for the next."""

from __future__ import annotations

from dataclasses import dataclass, field

from il2sim.catalog import Sourced, immune_parameters
from il2sim.model._body import BodyModel, PopulationSite
from il2sim.model._network import Network, NetworkError

ONE = "1 dimensionless"
DISEASES = ("tumour", "chronic_infection", "acute_infection", "none")
_ROLES = {
    "treg": "treg",
    "nk": "nk",
    "cd8_memory": "cd8_memory",
    "cd8_naive": "cd8_naive",
    "cd4_helper": "cd4_helper",
    "cd8_stem_like": "stem",
    "cd8_effector_like": "effector",
    "cd8_terminal_exhausted": "terminal",
    "tumour_cell": "tumour",
}


def role_of(cell_name: str) -> str | None:
    """The part a catalog cell plays in the immunity layer (None: it stays constant)."""
    return _ROLES.get(cell_name.removeprefix("mouse_"))


@dataclass
class ImmuneModel:
    """Ids of the states and readouts the immunity layer added."""

    disease: str
    cells: dict[str, str] = field(default_factory=dict)  # population id -> count species
    fold: dict[str, str] = field(default_factory=dict)  # population id -> fold-expansion rule
    roles: dict[str, str] = field(default_factory=dict)  # population id -> role
    burden: str | None = None  # tumour cells or viral load species
    escape: str | None = None  # tumour cells T cells cannot kill (part of a tumour's burden)
    ctl_kill: str | None = None  # T-cell killing rate of the antigen clone's cells (per h)
    treg_cd8_ratio: dict[str, str] = field(default_factory=dict)  # location -> rule
    toxicity: dict[str, str] = field(default_factory=dict)  # index name -> rule
    exhaustion: str | None = None  # exhaustion-programme state of the disease site
    pdl1_targets: str | None = None  # PD-L1 on infected or tumour cells (1 at treatment start)


@dataclass
class Context:
    """The state of one build: inputs, and what earlier motifs created for later ones."""

    model: BodyModel
    disease: str
    site_loc: str | None  # the tissue that holds the disease
    im: ImmuneModel
    vaccine_times_h: tuple[float, ...] = ()
    treg_depletion_times_h: tuple[float, ...] = ()
    infection_time_h: float = 0.0
    treatment_start_h: float = 0.0
    P: dict[str, Sourced] = field(default_factory=immune_parameters)
    by_loc: dict[str, list[PopulationSite]] = field(default_factory=dict)  # dynamic populations
    supp: dict[str, str] = field(default_factory=dict)  # location -> Treg suppression rule
    pdl1_ref: dict[str, list[str]] = field(default_factory=dict)  # location -> PD-L1 occupancy
    costim_release: str | None = None  # B7 costimulation released from Treg restraint (site)
    antigen: str | None = None  # antigen drive rule of the disease site
    antigen_gone: str = "false"  # condition: the antigen source is eradicated
    antigen_back: str = "false"  # condition: an eradicated antigen source is back
    exhaustion: str = ONE  # exhaustion programme of the site (1 without antigen)
    ctl_terms: list[str] = field(default_factory=list)  # functional cytotoxic CD8 readouts
    chain: dict[str, PopulationSite] = field(default_factory=dict)  # stem/effector/terminal
    tdln_inflow: str | None = None  # primed cells entering the site from the draining node

    @property
    def net(self) -> Network:
        return self.model.network

    @property
    def sites(self) -> list[PopulationSite]:
        return list(self.model.populations)

    @property
    def loc(self) -> str:
        """The disease site's location (the motifs that read it run only where there is one)."""
        if self.site_loc is None:
            raise NetworkError(f"{self.disease}: this model has no disease site")
        return self.site_loc

    @property
    def burden(self) -> str:
        """The disease burden species (tumour cells or viral load), once the disease motif
        has added it."""
        if self.im.burden is None:
            raise NetworkError(f"{self.disease}: no disease burden species yet")
        return self.im.burden

    def role(self, site: PopulationSite) -> str | None:
        return self.im.roles.get(site.id)

    def par(self, name: str, per_day: bool = True, units: str | None = None) -> str:
        """The catalog's immune parameter ``name`` in the network (rates per day become per
        hour), created on first use; returns its id."""
        num = self.P[name]
        pid = f"im_{name}"
        if pid not in self.net.parameters:
            value = num.value / 24.0 if per_day else num.value
            src = num.source + (" (per day / 24)" if per_day else "")
            self.net.parameter(
                pid, value, units or ("per_h" if per_day else "dimensionless"), name, src
            )
        return pid


def switch(cx: Context, name: str, times_h: tuple[float, ...], what: str) -> str:
    """A parameter ``<name>_on`` that events set to 1 at each of ``times_h`` and back to 0 a
    day later (a treatment that acts for one day); created once, returns its id."""
    net, flag = cx.net, f"{name}_on"
    if flag in net.parameters:
        return flag
    net.parameter(
        flag, 0.0, "dimensionless", f"{what} on (1) or off (0)", "set by events", constant=False
    )
    for k, t in enumerate(times_h):
        t_on = net.parameter(f"t_{name}{k}", t, "hour", f"{what} {k + 1}", "scenario")
        t_off = net.parameter(
            f"t_{name}{k}_end", t + 24.0, "hour", f"end of {what} {k + 1}", "scenario"
        )
        net.event(f"{name}_{k}", f"time >= {t_on}", {flag: ONE}, f"{what} {k + 1}")
        net.event(f"{name}_{k}_end", f"time >= {t_off}", {flag: "0 dimensionless"})
    return flag
