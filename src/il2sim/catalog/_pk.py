"""Pharmacokinetic records: drug disposition classes, checkpoint antibodies and bodies.

Disposition is given for a reference adult human (``reference_weight_kg``) as a two-compartment
model (clearance, central and peripheral volumes, inter-compartmental clearance, or the
distribution and elimination half-lives from which those follow), plus subcutaneous absorption
and tissue (tumour, infected lymphoid organ) exchange. Other body weights and mouse follow by
allometry (clearances by weight^exponent, volumes in proportion to weight).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from il2sim.catalog._schema import Sourced, SourcedNumber, Species

Compartment = str  # "central", "peripheral" or a tissue name


class TwoCompartment(BaseModel):
    """Micro-parameters of a two-compartment model for one subject (litres, hours)."""

    model_config = ConfigDict(frozen=True)

    cl_L_per_h: float
    v1_L: float
    q_L_per_h: float
    v2_L: float

    @classmethod
    def allometric(
        cls, cl: float, v1: float, q: float, v2: float, weight_ratio: float, cl_exponent: float
    ) -> TwoCompartment:
        """Reference-adult parameters scaled to ``weight_ratio`` x the reference weight:
        clearances by weight_ratio^cl_exponent, volumes in proportion."""
        fc = weight_ratio**cl_exponent
        return cls(
            cl_L_per_h=cl * fc, v1_L=v1 * weight_ratio, q_L_per_h=q * fc, v2_L=v2 * weight_ratio
        )

    def half_lives_h(self) -> tuple[float, float]:
        """Distribution (alpha) and elimination (beta) half-lives."""
        k10, k12, k21 = (
            self.cl_L_per_h / self.v1_L,
            self.q_L_per_h / self.v1_L,
            self.q_L_per_h / self.v2_L,
        )
        s, p = k10 + k12 + k21, k10 * k21
        disc = math.sqrt(max(s * s - 4 * p, 0.0))
        alpha, beta = (s + disc) / 2, (s - disc) / 2
        return math.log(2) / alpha, math.log(2) / beta


def _from_half_lives(cl: float, v1: float, ta_h: float, tb_h: float) -> tuple[float, float]:
    """Q and V2 from CL, V1 and the two half-lives (alpha + beta = k10 + k12 + k21,
    alpha * beta = k10 * k21)."""
    alpha, beta = math.log(2) / ta_h, math.log(2) / tb_h
    k10 = cl / v1
    k21 = alpha * beta / k10
    k12 = alpha + beta - k10 - k21
    if not (k12 > 0 and k21 > 0):
        raise ValueError(
            f"half-lives {ta_h * 60:g} / {tb_h * 60:g} min are inconsistent with CL {cl:g} L/h "
            f"and V1 {v1:g} L (k12 = {k12:.3g}, k21 = {k21:.3g} /h must be > 0)"
        )
    q = k12 * v1
    return q, q / k21


class Disposition(BaseModel):
    """How a class of molecule moves through and leaves the body (reference adult human)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    mw_kDa: SourcedNumber
    reference_weight_kg: SourcedNumber
    cl_L_per_h: SourcedNumber
    v1_L: SourcedNumber
    q_L_per_h: SourcedNumber | None = None
    v2_L: SourcedNumber | None = None
    t_half_alpha_min: SourcedNumber | None = None
    t_half_beta_min: SourcedNumber | None = None
    ka_sc_per_h: SourcedNumber
    bioavailability_sc: SourcedNumber
    tissue_exchange_per_h: SourcedNumber
    cl_weight_exponent: SourcedNumber
    releases: str | None = None
    release_half_life_h: SourcedNumber | None = None
    release_kd_nM: SourcedNumber | None = None
    carrier: str | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Disposition:
        given = (self.q_L_per_h is not None, self.v2_L is not None)
        halves = (self.t_half_alpha_min is not None, self.t_half_beta_min is not None)
        if not ((all(given) and not any(halves)) or (all(halves) and not any(given))):
            raise ValueError(
                "give either q_L_per_h and v2_L, or t_half_alpha_min and t_half_beta_min"
            )
        for f in ("cl_L_per_h", "v1_L", "ka_sc_per_h", "tissue_exchange_per_h", "mw_kDa"):
            if not getattr(self, f).value > 0:
                raise ValueError(f"{f} must be > 0")
        if not 0 < self.bioavailability_sc.value <= 1:
            raise ValueError("bioavailability_sc must be in (0, 1]")
        if (self.releases is None) != (self.release_half_life_h is None):
            raise ValueError("releases and release_half_life_h go together")
        return self

    def two_compartment(self, weight_kg: float) -> TwoCompartment:
        """Parameters for a subject of ``weight_kg`` (clearances allometric, volumes linear)."""
        cl, v1 = self.cl_L_per_h.value, self.v1_L.value
        if self.q_L_per_h is not None and self.v2_L is not None:
            q, v2 = self.q_L_per_h.value, self.v2_L.value
        elif self.t_half_alpha_min is not None and self.t_half_beta_min is not None:
            alpha_h, beta_h = self.t_half_alpha_min.value / 60, self.t_half_beta_min.value / 60
            q, v2 = _from_half_lives(cl, v1, alpha_h, beta_h)
        else:  # the model validator refuses such a record; kept for a record built unchecked
            raise ValueError(
                "give either q_L_per_h and v2_L, or t_half_alpha_min and t_half_beta_min"
            )
        return TwoCompartment.allometric(
            cl, v1, q, v2, weight_kg / self.reference_weight_kg.value, self.cl_weight_exponent.value
        )

    def sourced_numbers(self) -> list[tuple[str, Sourced]]:
        return [(k, v) for k, v in self if isinstance(v, Sourced)]


class DispositionCatalog(BaseModel):
    """Disposition classes, which class each drug kind (or drug) uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    classes: list[Disposition]
    by_kind: dict[str, str]
    by_drug: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _refs(self) -> DispositionCatalog:
        names = {c.name for c in self.classes}
        for where, mapping in (("by_kind", self.by_kind), ("by_drug", self.by_drug)):
            for key, cls in mapping.items():
                if cls not in names:
                    raise ValueError(
                        f"{where}.{key}: unknown class {cls!r}; classes: {sorted(names)}"
                    )
        for c in self.classes:
            if c.carrier is not None and c.carrier not in names:
                raise ValueError(f"{c.name}.carrier: unknown class {c.carrier!r}")
        return self


AntibodyTarget = Literal["PD1", "PDL1", "CTLA4"]


class Antibody(BaseModel):
    """A checkpoint antibody: its target, affinity and disposition (reference adult)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    display_name: str | None = None
    description: str = ""
    target: AntibodyTarget
    kd_nM: SourcedNumber
    mw_kDa: SourcedNumber
    reference_weight_kg: SourcedNumber
    cl_L_per_h: SourcedNumber
    v1_L: SourcedNumber
    q_L_per_h: SourcedNumber
    v2_L: SourcedNumber
    tissue_exchange_per_h: SourcedNumber
    cl_weight_exponent: SourcedNumber
    references: list[str] = Field(default_factory=list)

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def two_compartment(self, weight_kg: float) -> TwoCompartment:
        return TwoCompartment.allometric(
            self.cl_L_per_h.value,
            self.v1_L.value,
            self.q_L_per_h.value,
            self.v2_L.value,
            weight_kg / self.reference_weight_kg.value,
            self.cl_weight_exponent.value,
        )

    def sourced_numbers(self) -> list[tuple[str, Sourced]]:
        return [(k, v) for k, v in self if isinstance(v, Sourced)]


class Tissue(BaseModel):
    """A tissue compartment (tumour, infected lymphoid organ) exchanging with plasma."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    volume_L: SourcedNumber
    interstitial_fraction: SourcedNumber
    #: an organ where antigen-presenting cells prime T cells (spleen, lymph node): there Tregs
    #: restrain the B7 costimulation that antigen-specific CD8 T cells receive
    lymphoid: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v in ("central", "peripheral"):
            raise ValueError("tissue name must differ from 'central' and 'peripheral'")
        return v


class Placement(BaseModel):
    """A cell population in a compartment: cells per kg body weight (central, peripheral) or
    per litre of tissue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: str
    compartment: Compartment
    cells_per_kg: SourcedNumber | None = None
    cells_per_L_tissue: SourcedNumber | None = None

    @model_validator(mode="after")
    def _one(self) -> Placement:
        if (self.cells_per_kg is None) == (self.cells_per_L_tissue is None):
            raise ValueError("give exactly one of cells_per_kg or cells_per_L_tissue")
        return self


class Body(BaseModel):
    """A subject: species, size, tissues and where each cell population lives."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    species: Species
    description: str = ""
    weight_kg: SourcedNumber
    bsa_m2: SourcedNumber
    tissues: list[Tissue] = Field(default_factory=list)
    populations: list[Placement]

    @model_validator(mode="after")
    def _placements(self) -> Body:
        allowed = {"central", "peripheral"} | {t.name for t in self.tissues}
        seen = set()
        for i, p in enumerate(self.populations):
            if p.compartment not in allowed:
                raise ValueError(
                    f"populations[{i}].compartment: {p.compartment!r} is not one of "
                    f"{sorted(allowed)}"
                )
            if p.compartment in ("central", "peripheral") and p.cells_per_kg is None:
                raise ValueError(f"populations[{i}]: central/peripheral cells need cells_per_kg")
            if p.compartment not in ("central", "peripheral") and p.cells_per_L_tissue is None:
                raise ValueError(f"populations[{i}]: tissue cells need cells_per_L_tissue")
            if (p.cell, p.compartment) in seen:
                raise ValueError(f"populations[{i}]: {p.cell} listed twice in {p.compartment}")
            seen.add((p.cell, p.compartment))
        return self

    def sourced_numbers(self) -> list[tuple[str, Sourced]]:
        out = [("weight_kg", self.weight_kg), ("bsa_m2", self.bsa_m2)]
        for t in self.tissues:
            out += [(f"tissues[{t.name}].volume_L", t.volume_L)]
            out += [(f"tissues[{t.name}].interstitial_fraction", t.interstitial_fraction)]
        for p in self.populations:
            num = p.cells_per_kg or p.cells_per_L_tissue
            if num is not None:  # the record's validator requires one of the two
                out.append((f"populations[{p.cell}@{p.compartment}]", num))
        return out
