"""Pydantic records for the catalog: every number carries its source or an assumption.

A number is a :class:`Sourced` value: ``value`` plus ``source`` (DOI/PMID and table/figure,
a data file, or ``"assumption: <why>"``). Assumptions must give a plausible ``range``. Units are
in the field names (``kd_nM``, ``count_per_cell``) so a YAML file reads unambiguously.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, TypeVar

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


_MaybeSourced = TypeVar("_MaybeSourced", bound="Sourced | None")


def _positive(v: _MaybeSourced, name: str) -> _MaybeSourced:
    if v is not None and not v.value > 0:
        raise ValueError(f"{name} must be > 0 (got {v.value})")
    return v


class TargetingArm(BaseModel):
    """An antibody or binder arm that captures the drug on cells carrying ``target``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # built from TARGETS so that the schema and the list cannot drift apart; pydantic reads the
    # Literal at run time, a static checker cannot
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

    @field_validator("kd_il2ra_fold_weaker", "kd_il2rbg_fold_weaker", "release_half_life_h")
    @classmethod
    def _positive_field(cls, v: Sourced | None, info) -> Sourced | None:
        return _positive(v, info.field_name)

    @field_validator("fraction_of_dose")
    @classmethod
    def _fraction(cls, v: Sourced) -> Sourced:
        if not 0.0 <= v.value <= 1.0:
            raise ValueError(f"fraction_of_dose must be in [0, 1] (got {v.value})")
        return v


#: The Meyer-lab affinity table (Orcutt-Jahns B et al. 2023 Sci Signal; data/meyer_lab/
#: mutein_affinities_nM.csv, column IL2RBGKD) gives IL-2Rbeta/gamma-c binding on a relative
#: scale on which native IL-2 is 0.133 (the lab's kinetic code rescales native IL-2's
#: beta/gamma-c rates by IL2RBGKD / 0.133). A drug file may give that number as
#: ``kd_il2rbg_meyer_relative``; it becomes ``kd_il2rbg_nM`` = value / 0.133 x the native
#: IL-2Rbeta/gamma-c Kd, 1 nM (Peterson LB et al. 2018 Nat Med, introduction).
MEYER_RELATIVE_NATIVE_IL2 = 0.133
NATIVE_IL2RBG_KD_nM = 1.0


def _meyer_relative_to_nM(data: object) -> object:
    """A drug mapping's ``kd_il2rbg_meyer_relative`` as ``kd_il2rbg_nM``, the conversion
    written into its source."""
    if not isinstance(data, dict) or "kd_il2rbg_meyer_relative" not in data:
        return data
    data = dict(data)
    rel = data.pop("kd_il2rbg_meyer_relative")
    if data.get("kd_il2rbg_nM") is not None:
        raise ValueError(
            "give kd_il2rbg_nM or kd_il2rbg_meyer_relative (the Meyer-lab IL2RBGKD column), "
            "not both"
        )
    rel = _bare_number_to_sourced(rel)
    if isinstance(rel, dict):
        rel = Sourced(**rel)
    if not isinstance(rel, Sourced) or not rel.value > 0:
        raise ValueError(
            "kd_il2rbg_meyer_relative must be a positive number on the Meyer-lab relative "
            "scale (native IL-2 = 0.133), e.g. 5.296"
        )
    f = NATIVE_IL2RBG_KD_nM / MEYER_RELATIVE_NATIVE_IL2
    data["kd_il2rbg_nM"] = Sourced(
        value=rel.value * f,
        source=f"{rel.source}; kd_il2rbg_meyer_relative {rel.value:g} on the Meyer-lab scale "
        f"(native IL-2 = {MEYER_RELATIVE_NATIVE_IL2}), x {NATIVE_IL2RBG_KD_nM:g} nM / "
        f"{MEYER_RELATIVE_NATIVE_IL2} (native IL-2 IL-2Rbeta/gamma-c Kd, Peterson LB et al. "
        "2018 Nat Med)",
        range=None if rel.range is None else (rel.range[0] * f, rel.range[1] * f),
        note=rel.note,
    )
    return data


class Drug(BaseModel):
    """An IL-2 pathway drug as the binding layer sees it.

    ``valency`` IL-2 (or IL-15) units per molecule, each with an IL-2Ralpha site
    (``kd_il2ra_nM``; ``null`` when the site is blocked or abolished) and an IL-2Rbeta/gamma-c
    site (``kd_il2rbg_nM``, or ``kd_il2rbg_meyer_relative`` on the Meyer-lab table's scale).
    ``arms`` are targeting arms that capture the drug on cells carrying their target.
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

    _meyer_relative = model_validator(mode="before")(_meyer_relative_to_nM)

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
        """Receptor molecules per cell (all kinds), optionally under PD-1 blockade: receptor
        levels the blockade changes (``pd1_blockade_fold``), and PD-1 itself held by the
        blocking antibody (``pd1_antibody_occupancy``), so a PD-1-targeted drug finds only
        the rest free."""
        counts = {k: 0.0 for k in CELL_RECEPTORS}
        for k, v in self.receptors_per_cell.items():
            counts[k] = v.value
        if pd1_blockade:
            from il2sim.catalog._load import immune_parameters

            for k, fold in self.pd1_blockade_fold.items():
                counts[k] *= fold.value
            counts["PD1"] *= 1.0 - immune_parameters()["pd1_antibody_occupancy"].value
        return counts

    def sourced_numbers(self) -> list[tuple[str, Sourced]]:
        out = [(f"receptors_per_cell.{k}", v) for k, v in self.receptors_per_cell.items()]
        out += [(f"pd1_blockade_fold.{k}", v) for k, v in self.pd1_blockade_fold.items()]
        return out
