"""Therapy scenarios as far as the body model needs them: who (body), what (drug and
checkpoint antibodies) and how (regimens), for how long. Validated like every user input."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from il2sim.catalog._regimen import RegimenText


class AntibodyDosing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    antibody: str
    regimen: RegimenText


class Scenario(BaseModel):
    """A drug (optional), checkpoint antibodies (optional) and their regimens in a body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    body: str = "human_adult"
    weight_kg: float | None = Field(default=None, gt=0)
    bsa_m2: float | None = Field(default=None, gt=0)
    drug: str | None = None
    regimen: RegimenText | None = None
    antibodies: list[AntibodyDosing] = Field(default_factory=list)
    duration_days: float = Field(default=28.0, gt=0, le=3650)

    @model_validator(mode="after")
    def _something(self) -> Scenario:
        if self.drug is None and not self.antibodies:
            raise ValueError("a scenario needs a drug or at least one antibody")
        if (self.drug is None) != (self.regimen is None):
            raise ValueError("give drug and regimen together")
        return self
