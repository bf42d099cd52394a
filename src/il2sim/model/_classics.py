"""Classic IL-2 immunotherapy models rebuilt as il2sim networks (with units and sources),
to prove the plumbing against their published SBML files."""

from __future__ import annotations

from il2sim.model._network import Network, Species

KP1998 = (
    "Kirschner D, Panetta JC 1998 J Math Biol 37:235-252 (PMID 9785481), Table 1; values as in "
    "BioModels BIOMD0000000732"
)

#: Published parameter values (day, cells, IL-2 units) and their units.
KP1998_PARAMETERS: dict[str, tuple[float, str, str]] = {
    "c": (0.035, "per_day", "antigenicity of the tumour (0-0.05 studied)"),
    "mu2": (0.03, "per_day", "effector death rate"),
    "p1": (0.1245, "per_day", "maximal IL-2-driven effector proliferation"),
    "g1": (2e7, "il2_unit", "IL-2 for half-maximal effector proliferation"),
    "s1": (0.0, "cell_per_day", "adoptive cell transfer (treatment)"),
    "r2": (0.18, "per_day", "tumour growth rate"),
    "b": (1e-9, "per_cell", "inverse tumour carrying capacity"),
    "a": (1.0, "per_day", "maximal tumour kill rate"),
    "g2": (1e5, "cell", "tumour size for half-maximal killing"),
    "p2": (5.0, "il2_unit_per_cell_per_day", "maximal IL-2 production per effector"),
    "g3": (1e3, "cell", "tumour size for half-maximal IL-2 production"),
    "mu3": (10.0, "per_day", "IL-2 decay rate"),
    "s2": (0.0, "il2_unit_per_day", "external IL-2 source (treatment)"),
}


def kirschner_panetta_1998(
    *,
    paper_form: bool = True,
    initial: dict[str, float] | None = None,
    **parameters: float,
) -> Network:
    """Tumour (T), effector cells (E) and IL-2 (IL) of Kirschner & Panetta 1998.

    dE/dt = c T - mu2 E + p1 E IL/(g1 + IL) + s1;  dT/dt = r2 T (1 - b T) - a E T/(g2 + T);
    dIL/dt = p2 E T/(g3 + T) - mu3 IL + s2. ``paper_form=False`` writes the proliferation
    term p1 E IL/g1 as the BioModels file does (its curation dropped ``+ IL``). ``initial``
    sets E, T, IL at t = 0 (BioModels: E = 0, T = 1, IL = 0); keyword arguments override
    parameters (e.g. ``c=0.02, s2=1e7``).
    """
    unknown = set(parameters) - set(KP1998_PARAMETERS)
    if unknown:
        raise ValueError(
            f"unknown Kirschner-Panetta parameter(s) {sorted(unknown)}; "
            f"allowed: {', '.join(KP1998_PARAMETERS)}"
        )
    init = {"E": 0.0, "T": 1.0, "IL": 0.0, **(initial or {})}
    net = Network(
        id="kirschner_panetta_1998",
        name="Kirschner & Panetta 1998: tumour, effector cells and IL-2",
        notes=f"{KP1998}. Proliferation term "
        + (
            "p1 E IL/(g1 + IL) as in the paper."
            if paper_form
            else "p1 E IL/g1 as in BIOMD0000000732."
        ),
        time_units="day",
        substance_units="cell",
    )
    net.compartment("site", 1.0, "tumour site", "the model is not spatial: amounts only")
    for pid, (value, units, name) in KP1998_PARAMETERS.items():
        net.parameter(pid, parameters.get(pid, value), units, name, KP1998)
    net.parameter("one", 1.0, "dimensionless", "the number one", "arithmetic")
    E = net.add_species(Species("E", "site", init["E"], "cell", "effector cells", amount_only=True))
    T = net.add_species(Species("T", "site", init["T"], "cell", "tumour cells", amount_only=True))
    IL = net.add_species(Species("IL", "site", init["IL"], "il2_unit", "IL-2", amount_only=True))
    prolif = "p1 * E * IL / (g1 + IL)" if paper_form else "p1 * E * IL / g1"
    net.reaction("E_recruitment", {}, {E: 1}, "c * T", "effector recruitment by tumour antigen")
    net.reaction("E_death", {E: 1}, {}, "mu2 * E", "effector death")
    net.reaction("E_proliferation", {}, {E: 1}, prolif, "IL-2-driven effector proliferation")
    net.reaction("E_adoptive_transfer", {}, {E: 1}, "s1", "adoptive cell transfer")
    net.reaction("T_growth", {}, {T: 1}, "r2 * T * (one - b * T)", "logistic tumour growth")
    net.reaction("T_killing", {T: 1}, {}, "a * E * T / (g2 + T)", "killing by effector cells")
    net.reaction("IL_production", {}, {IL: 1}, "p2 * E * T / (g3 + T)", "IL-2 production")
    net.reaction("IL_decay", {IL: 1}, {}, "mu3 * IL", "IL-2 loss")
    net.reaction("IL_therapy", {}, {IL: 1}, "s2", "IL-2 therapy")
    return net
