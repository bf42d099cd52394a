"""Therapy scenarios as far as the body model needs them: who (body), what (drug and
checkpoint antibodies) and how (regimens), for how long. Validated like every user input."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from il2sim.catalog._regimen import RegimenError, parse_regimen


class AntibodyDosing(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    antibody: str
    regimen: str

    @field_validator("regimen")
    @classmethod
    def _regimen(cls, v: str) -> str:
        try:
            parse_regimen(v)
        except RegimenError as e:
            raise ValueError(str(e)) from None
        return v


class Scenario(BaseModel):
    """A drug (optional), checkpoint antibodies (optional) and their regimens in a body."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    body: str = "human_adult"
    weight_kg: float | None = Field(default=None, gt=0)
    bsa_m2: float | None = Field(default=None, gt=0)
    drug: str | None = None
    regimen: str | None = None
    antibodies: list[AntibodyDosing] = Field(default_factory=list)
    duration_days: float = Field(default=28.0, gt=0, le=3650)

    @field_validator("regimen")
    @classmethod
    def _regimen(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                parse_regimen(v)
            except RegimenError as e:
                raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _something(self) -> Scenario:
        if self.drug is None and not self.antibodies:
            raise ValueError("a scenario needs a drug or at least one antibody")
        if (self.drug is None) != (self.regimen is None):
            raise ValueError("give drug and regimen together")
        return self
