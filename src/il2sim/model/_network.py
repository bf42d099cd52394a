"""A reaction network with units and provenance, the form every il2sim model takes.

Rates are written in amount per time (nmol/h); species are concentrations (nM) in their
compartment unless ``amount_only`` (cell-bound molecules, depots and accumulators, in nmol).
Parameters carry a unit id (see :mod:`il2sim.model._units`) and the source of their value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class NetworkError(ValueError):
    """A network that cannot be built (duplicate or invalid id, unknown reference)."""


@dataclass
class Compartment:
    id: str
    size_L: float
    name: str = ""
    source: str = ""


@dataclass
class Parameter:
    id: str
    value: float
    units: str
    name: str = ""
    source: str = ""
    constant: bool = True
    sbo: str | None = None


@dataclass
class Species:
    id: str
    compartment: str
    initial: float = 0.0  # nM, or nmol when amount_only
    units: str = "nM"
    name: str = ""
    amount_only: bool = False
    initial_assignment: str | None = None
    sbo: str | None = None


@dataclass
class Reaction:
    id: str
    reactants: dict[str, float]
    products: dict[str, float]
    rate: str  # nmol/h
    name: str = ""
    sbo: str | None = None


@dataclass
class Rule:
    """``variable = formula`` at all times (a non-constant parameter)."""

    variable: str
    formula: str


@dataclass
class Event:
    id: str
    trigger: str
    assignments: dict[str, str]
    name: str = ""
    # False: assignments use the values when the event executes, so simultaneous events add
    # up (two doses at one time); True: the values when the trigger turned true
    values_at_trigger: bool = True


@dataclass
class Network:
    id: str
    name: str = ""
    notes: str = ""
    time_units: str = "hour"
    substance_units: str = "nmol"
    compartments: dict[str, Compartment] = field(default_factory=dict)
    parameters: dict[str, Parameter] = field(default_factory=dict)
    species: dict[str, Species] = field(default_factory=dict)
    reactions: dict[str, Reaction] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    rate_rules: dict[str, str] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)

    def _check_new(self, id_: str) -> None:
        if not _ID.match(id_):
            raise NetworkError(f"invalid id {id_!r}: letters, digits and '_' only")
        for table in (
            self.compartments,
            self.parameters,
            self.species,
            self.reactions,
            self.events,
        ):
            if id_ in table:
                raise NetworkError(f"duplicate id {id_!r} in network {self.id!r}")

    def compartment(self, id_: str, size_L: float, name: str = "", source: str = "") -> str:
        self._check_new(id_)
        self.compartments[id_] = Compartment(id_, size_L, name or id_, source)
        return id_

    def parameter(
        self,
        id_: str,
        value: float,
        units: str,
        name: str = "",
        source: str = "",
        *,
        constant: bool = True,
        sbo: str | None = None,
    ) -> str:
        self._check_new(id_)
        self.parameters[id_] = Parameter(
            id_, float(value), units, name or id_, source, constant, sbo
        )
        return id_

    def ensure_parameter(
        self, id_: str, value: float, units: str, name: str = "", source: str = ""
    ) -> str:
        """Add a parameter unless one with this id exists already (shared constants)."""
        if id_ not in self.parameters:
            self.parameter(id_, value, units, name, source)
        return id_

    def add_species(self, sp: Species) -> str:
        self._check_new(sp.id)
        if sp.compartment not in self.compartments:
            raise NetworkError(f"species {sp.id!r}: unknown compartment {sp.compartment!r}")
        self.species[sp.id] = sp
        return sp.id

    def event_set_parameters(self) -> dict[str, float]:
        """Initial values of the non-constant parameters that events assign and no rule
        defines: what a simulator must restore before re-running the model from t = 0."""
        assigned = {v for e in self.events.values() for v in e.assignments}
        ruled = set(self.rules) | set(self.rate_rules)
        return {
            k: p.value
            for k, p in self.parameters.items()
            if not p.constant and k in assigned - ruled
        }

    def reaction(
        self,
        id_: str,
        reactants: Mapping[str, float],
        products: Mapping[str, float],
        rate: str,
        name: str = "",
        sbo: str | None = None,
    ) -> str:
        self._check_new(id_)
        for s in (*reactants, *products):
            if s not in self.species:
                raise NetworkError(f"reaction {id_!r}: unknown species {s!r}")
        self.reactions[id_] = Reaction(id_, dict(reactants), dict(products), rate, name or id_, sbo)
        return id_

    def rule(
        self, variable: str, formula: str, units: str, name: str = "", source: str = ""
    ) -> str:
        """A readout: a non-constant parameter computed from the state at every time."""
        self.parameter(variable, 0.0, units, name, source, constant=False)
        self.rules[variable] = Rule(variable, formula)
        return variable

    def rate_rule(self, species_id: str, formula: str) -> str:
        """``d species / dt = formula`` (for species outside any reaction, e.g. cell counts)."""
        if species_id not in self.species:
            raise NetworkError(f"rate rule: unknown species {species_id!r}")
        for r in self.reactions.values():
            if species_id in r.reactants or species_id in r.products:
                raise NetworkError(f"rate rule: {species_id!r} also changes in reaction {r.id!r}")
        self.rate_rules[species_id] = formula
        return species_id

    def promote_to_species(self, parameter_id: str, compartment: str, name: str = "") -> str:
        """Turn a constant parameter (e.g. a cell count) into an amount-only species with the
        same id, units and value, so that it can change in time."""
        p = self.parameters.pop(parameter_id)
        return self.add_species(
            Species(parameter_id, compartment, p.value, p.units, name or p.name, amount_only=True)
        )

    def event(
        self,
        id_: str,
        trigger: str,
        assignments: dict[str, str],
        name: str = "",
        *,
        values_at_trigger: bool = True,
    ) -> str:
        self._check_new(id_)
        self.events[id_] = Event(id_, trigger, dict(assignments), name or id_, values_at_trigger)
        return id_

    def summary(self) -> str:
        return (
            f"{self.id}: {len(self.compartments)} compartments, {len(self.species)} species, "
            f"{len(self.reactions)} reactions, {len(self.parameters)} parameters, "
            f"{len(self.rules)} readouts, {len(self.events)} events"
        )
