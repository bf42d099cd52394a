"""Therapy scenarios: settings (species, body, disease) each with treatment arms (drug and
regimen, checkpoint antibodies), readout days and duration. Validated with field-named errors."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from il2sim.catalog._regimen import RegimenText
from il2sim.catalog._scenario import AntibodyDosing

Disease = Literal["tumour", "chronic_infection", "acute_infection", "none"]


class Arm(BaseModel):
    """One treatment: an IL-2 drug with its regimen, antibodies with theirs, or neither."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-+]*$")
    label: str | None = None
    drug: str | None = None
    regimen: RegimenText | None = None
    antibodies: list[AntibodyDosing] = Field(default_factory=list)
    vaccine_days: list[float] = Field(
        default_factory=list,
        description="days of treatment (0 = start) on which a therapeutic vaccine primes "
        "antigen-specific CD8 T cells",
    )

    treg_depletion_days: list[float] = Field(
        default_factory=list,
        description="days of treatment (0 = start) on which regulatory T cells are depleted "
        "for one day (e.g. diphtheria toxin in Foxp3-DTR mice)",
    )

    @field_validator("vaccine_days", "treg_depletion_days")
    @classmethod
    def _days(cls, v: list[float], info) -> list[float]:
        if any(not 0 <= d <= 3650 for d in v):
            raise ValueError(
                f"{info.field_name} must lie in [0, 3650] (days from the start of treatment), "
                f"got {v}"
            )
        return sorted(v)

    @model_validator(mode="after")
    def _pair(self) -> Arm:
        if (self.drug is None) != (self.regimen is None):
            raise ValueError("give drug and regimen together (or neither, for an untreated arm)")
        return self


class Setting(BaseModel):
    """A subject and disease in which every arm is simulated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    body: str = "human_adult"
    weight_kg: float | None = Field(default=None, gt=0)
    disease: Disease = "tumour"
    arms: list[Arm] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Setting:
        names = [a.name for a in self.arms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"arm names must be unique within a setting; repeated: {dup}")
        return self


class TherapyScenario(BaseModel):
    """What ``il2sim run`` simulates and reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    duration_days: float = Field(default=42.0, gt=0, le=730)
    run_in_days: float = Field(default=60.0, ge=0, le=730)
    readout_days: list[float] = Field(default_factory=lambda: [7.0, 14.0, 28.0], min_length=1)
    points_per_day: int = Field(default=4, ge=1, le=96)
    settings: list[Setting] = Field(min_length=1)

    @model_validator(mode="after")
    def _readouts(self) -> TherapyScenario:
        bad = [d for d in self.readout_days if not 0 < d <= self.duration_days]
        if bad:
            raise ValueError(
                f"readout_days must lie in (0, duration_days = {self.duration_days:g}]; got {bad}"
            )
        return self
