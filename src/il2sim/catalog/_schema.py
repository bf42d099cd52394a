"""Pydantic records for the catalog: every number carries its source or an assumption.

A number is a :class:`Sourced` value: ``value`` plus ``source`` (DOI/PMID and table/figure,
a data file, or ``"assumption: <why>"``). Assumptions must give a plausible ``range``. Units are
in the field names (``kd_nM``, ``count_per_cell``) so a YAML file reads unambiguously.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

#: Receptor kinds a cell can carry (molecules per cell).
CELL_RECEPTORS = (
    "IL2RA",
    "IL2RB",
    "IL2RG",
    "IL15RA",
    "PD1",
    "PDL1",
    "EDB_FN",
    "FAP",
    "CTLA4",
)
#: Antigens a targeting arm may bind.
TARGETS = ("PD1", "PDL1", "EDB_FN", "FAP")
#: Source text given to numbers a user types without a source.
USER_SOURCE = "user-supplied"

DrugKind = Literal[
    "cytokine",
    "mutein",
    "fc_fusion",
    "pegylated_prodrug",
    "antibody_complex",
    "cytokine_receptor_fusion",
    "immunocytokine",
    "cis_targeted_fusion",
]
Species = Literal["human", "mouse"]


def _bare_number_to_sourced(value: object) -> object:
    """Let users write ``kd_il2ra_nM: 1.5``; the value is then marked user-supplied."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return {"value": value, "source": USER_SOURCE}
    return value


class Sourced(BaseModel):
    """A number with its provenance.

    ``source`` names the paper (DOI or PMID, and table or figure), the data file, or starts with
    ``"assumption:"`` followed by the reasoning, in which case ``range`` is required.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float
    source: str = Field(min_length=3)
    range: tuple[float, float] | None = None
    note: str | None = None

    @property
    def is_assumption(self) -> bool:
        return self.source.lower().startswith("assumption")

    @model_validator(mode="after")
    def _check(self) -> Sourced:
        if self.is_assumption and self.range is None:
            raise ValueError("an assumption must give a plausible range, e.g. range: [low, high]")
        if self.range is not None:
            lo, hi = self.range
            if lo > hi:
                raise ValueError(f"range must be [low, high], got [{lo}, {hi}]")
            if not lo <= self.value <= hi:
                raise ValueError(f"value {self.value} lies outside its range [{lo}, {hi}]")
        return self


SourcedNumber = Annotated[Sourced, BeforeValidator(_bare_number_to_sourced)]


def _positive(v: Sourced | None, name: str) -> Sourced | None:
    if v is not None and not v.value > 0:
        raise ValueError(f"{name} must be > 0 (got {v.value})")
    return v


class TargetingArm(BaseModel):
    """An antibody or binder arm that captures the drug on cells carrying ``target``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: Literal[TARGETS]  # type: ignore[valid-type]
    count: SourcedNumber
    kd_nM: SourcedNumber

    @field_validator("count")
    @classmethod
    def _count(cls, v: Sourced) -> Sourced:
        if v.value not in (1, 2, 3, 4):
            raise ValueError(f"count must be a whole number from 1 to 4 (got {v.value})")
        return v

    @field_validator("kd_nM")
    @classmethod
    def _kd(cls, v: Sourced) -> Sourced:
        return _positive(v, "kd_nM")


class ProdrugState(BaseModel):
    """One conjugation state of a releasable prodrug (e.g. n PEG chains on IL-2)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    fraction_of_dose: SourcedNumber
    kd_il2ra_fold_weaker: SourcedNumber
    kd_il2rbg_fold_weaker: SourcedNumber
    release_half_life_h: SourcedNumber | None = None


class Drug(BaseModel):
    """An IL-2 pathway drug as the binding layer sees it.

    ``valency`` IL-2 (or IL-15) units per molecule, each with an IL-2Ralpha site
    (``kd_il2ra_nM``; ``null`` when the site is blocked or abolished) and an IL-2Rbeta/gamma-c
    site (``kd_il2rbg_nM``). ``arms`` are targeting arms that capture the drug on cells carrying
    their target.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    display_name: str | None = None
    kind: DrugKind = "mutein"
    description: str = ""
    valency: SourcedNumber
    kd_il2ra_nM: SourcedNumber | None
    kd_il2rbg_nM: SourcedNumber | None
    kd_il15ra_nM: SourcedNumber | None = None
    arms: list[TargetingArm] = Field(default_factory=list)
    mw_kDa: SourcedNumber | None = None
    iu_per_mg: SourcedNumber | None = None
    prodrug_states: list[ProdrugState] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]*", v):
            raise ValueError(
                f"name must be lower-case letters, digits, '_' or '-' (got {v!r}), e.g. my_mutein"
            )
        return v

    @field_validator("valency")
    @classmethod
    def _valency(cls, v: Sourced) -> Sourced:
        if v.value not in (1, 2, 3, 4):
            raise ValueError(f"valency must be a whole number from 1 to 4 (got {v.value})")
        return v

    @field_validator("kd_il2ra_nM", "kd_il2rbg_nM", "kd_il15ra_nM", "mw_kDa", "iu_per_mg")
    @classmethod
    def _kd(cls, v: Sourced | None, info) -> Sourced | None:
        return _positive(v, info.field_name)

    @model_validator(mode="after")
    def _binds_something(self) -> Drug:
        if self.kd_il2rbg_nM is None and self.kd_il2ra_nM is None and self.kd_il15ra_nM is None:
            raise ValueError(
                "a drug must bind at least one IL-2 pathway receptor: give kd_il2ra_nM, "
                "kd_il2rbg_nM or kd_il15ra_nM"
            )
        return self

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def sourced_numbers(self) -> list[tuple[str, Sourced]]:
        """Every number of this drug with a dotted path, for audits and reports."""
        out: list[tuple[str, Sourced]] = [("valency", self.valency)]
        for field in ("kd_il2ra_nM", "kd_il2rbg_nM", "kd_il15ra_nM", "mw_kDa", "iu_per_mg"):
            v = getattr(self, field)
            if v is not None:
                out.append((field, v))
        for i, arm in enumerate(self.arms):
            out += [(f"arms[{i}].count", arm.count), (f"arms[{i}].kd_nM", arm.kd_nM)]
        for st in self.prodrug_states:
            for field in (
                "fraction_of_dose",
                "kd_il2ra_fold_weaker",
                "kd_il2rbg_fold_weaker",
                "release_half_life_h",
            ):
                v = getattr(st, field)
                if v is not None:
                    out.append((f"prodrug_states[{st.name}].{field}", v))
        return out


class Cell(BaseModel):
    """A cell population: receptor molecules per cell, by species and state.

    ``receptors_per_cell`` maps receptor kinds (:data:`CELL_RECEPTORS`) to counts; a missing
    kind means none. ``pd1_blockade_fold`` multiplies counts under PD-1/PD-L1 blockade.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    display_name: str | None = None
    species: Species
    lineage: str
    description: str = ""
    receptors_per_cell: dict[str, SourcedNumber]
    pd1_blockade_fold: dict[str, SourcedNumber] = Field(default_factory=dict)
    data_label: str | None = None
    references: list[str] = Field(default_factory=list)

    @field_validator("receptors_per_cell", "pd1_blockade_fold")
    @classmethod
    def _kinds(cls, v: dict[str, Sourced], info) -> dict[str, Sourced]:
        for kind, num in v.items():
            if kind not in CELL_RECEPTORS:
                raise ValueError(
                    f"unknown receptor {kind!r} in {info.field_name}; allowed: "
                    + ", ".join(CELL_RECEPTORS)
                )
            if num.value < 0:
                raise ValueError(f"{info.field_name}.{kind} must be >= 0 (got {num.value})")
        return v

    @property
    def label(self) -> str:
        return self.display_name or self.name

    def receptor_counts(self, pd1_blockade: bool = False) -> dict[str, float]:
        """Receptor molecules per cell (all kinds), optionally under PD-1 blockade."""
        counts = {k: 0.0 for k in CELL_RECEPTORS}
        for k, v in self.receptors_per_cell.items():
            counts[k] = v.value
        if pd1_blockade:
            for k, fold in self.pd1_blockade_fold.items():
                counts[k] *= fold.value
        return counts

    def sourced_numbers(self) -> list[tuple[str, Sourced]]:
        out = [(f"receptors_per_cell.{k}", v) for k, v in self.receptors_per_cell.items()]
        out += [(f"pd1_blockade_fold.{k}", v) for k, v in self.pd1_blockade_fold.items()]
        return out
