"""Virtual-patient cohorts: which model parameters vary between patients and how, covariates,
plausibility bounds, response criteria and the published outcomes a virtual population is
selected to reproduce. Validated with field-named errors like every other scenario file."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from il2sim.catalog._therapy import Arm, Disease


class Variation(BaseModel):
    """Between-patient distribution of one parameter of the arm network (its id, e.g.
    ``im_tumour_growth_per_day`` or ``N0_tumour_cell_tumour``). ``median`` defaults to the
    model's own value. Log-normal parameters give ``fold_range`` (plausible range as multiples of
    the median, drawn log-uniformly for plausible patients, and the truncation of the population
    distribution); logit-normal (bounded) parameters give absolute ``bounds`` and ``sd`` on the
    logit scale."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parameter: str
    distribution: Literal["lognormal", "logitnormal"] = "lognormal"
    median: float | None = Field(default=None, gt=0)
    cv: float | None = Field(
        default=None, gt=0, le=3, description="lognormal: coefficient of variation"
    )
    sd: float | None = Field(
        default=None, gt=0, le=5, description="logitnormal: SD on the logit scale"
    )
    fold_range: tuple[float, float] | None = None
    bounds: tuple[float, float] | None = None
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _shape(self) -> Variation:
        if self.distribution == "lognormal":
            if self.cv is None or self.fold_range is None:
                raise ValueError("a lognormal variation needs cv and fold_range")
            lo, hi = self.fold_range
            if not 0 < lo < 1 < hi:
                raise ValueError(f"fold_range must be (below 1, above 1), got {self.fold_range}")
        else:
            if self.sd is None or self.bounds is None:
                raise ValueError("a logitnormal variation needs sd and bounds")
            lo, hi = self.bounds
            if not 0.0 <= lo < hi <= 1.0:
                raise ValueError(
                    f"bounds must be (lower, upper) with 0 <= lower < upper <= 1 (a logitnormal "
                    f"parameter is a fraction), got {self.bounds}"
                )
            if self.median is not None and not lo < self.median < hi:
                raise ValueError(f"median {self.median:g} must lie inside bounds {self.bounds}")
        return self

    def plausible_range(self, median: float) -> tuple[float, float]:
        """The range plausible patients span: ``fold_range`` x ``median`` (lognormal) or the
        absolute ``bounds`` (logitnormal); the validator guarantees the field is there."""
        if self.distribution == "lognormal" and self.fold_range is not None:
            return median * self.fold_range[0], median * self.fold_range[1]
        if self.distribution == "logitnormal" and self.bounds is not None:
            return self.bounds
        raise ValueError(f"{self.parameter}: a {self.distribution} variation without its range")

    @property
    def scale_sd(self) -> float:
        """The population SD on the distribution's own scale: of the log (lognormal, from
        ``cv``) or of the logit (logitnormal, ``sd``)."""
        if self.distribution == "lognormal" and self.cv is not None:
            return float(np.sqrt(np.log1p(self.cv**2)))  # as numpy computes it elsewhere
        if self.distribution == "logitnormal" and self.sd is not None:
            return self.sd
        raise ValueError(f"{self.parameter}: a {self.distribution} variation without its SD")


class Correlation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    a: str
    b: str
    rho: float = Field(ge=-0.99, le=0.99)
    source: str = Field(min_length=3)


class WeightCovariate(BaseModel):
    """Body weight (log-normal, truncated to its bounds); per-kg doses, clearances
    (allometric) and lymphocyte numbers follow it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    median_kg: float = Field(gt=0)
    cv: float = Field(ge=0, le=1)
    lower_kg: float = Field(gt=0)
    upper_kg: float = Field(gt=0)
    source: str = Field(min_length=3)


class Plausibility(BaseModel):
    """What a plausible patient looks like at the start of treatment (Allen 2016: parameter
    sets whose untreated outputs lie within physiological bounds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tumour_cells_min: float = Field(gt=0)
    tumour_cells_max: float = Field(gt=0)
    untreated_growth_min: float = Field(
        gt=0,
        description="tumour at treatment start relative to 28 days earlier, at least this "
        "(measurable, non-regressing disease)",
    )
    source: str = Field(min_length=3)


class Lesions(BaseModel):
    """Several target lesions per patient (RECIST 1.1: at most 5, two per organ). Every
    lesion holds both tumour clones and meets the same immune response per cell (T cells per
    tumour cell and NK killing are the patient's), so each clone divides among the lesions in
    fixed shares and a lesion's size is its share of each clone; lesions differ in baseline
    diameter and in their share of the escape clone (log-normal spreads), which makes mixed
    responses and single-lesion relapse possible while the lesions' total is the model's
    tumour burden exactly. With ``kill_sd_log`` > 0 lesions also meet more or less T-cell
    killing than the patient's average (infiltration differs between sites), read from the
    killing the model's tumour met; the systemic response still follows the lumped tumour.
    Occult metastases (``occult_mean``) are lesions too small to see at baseline: one that
    grows to ``new_lesion_mm`` is a new lesion, progression by RECIST 1.1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    count_min: int = Field(default=1, ge=1, le=5, description="fewest target lesions")
    count_max: int = Field(
        default=5, ge=1, le=5, description="most target lesions (each count equally likely)"
    )
    diameter_sd_log: float = Field(
        default=0.5, ge=0, le=3, description="spread of baseline lesion diameters (ln units)"
    )
    escape_sd_log: float = Field(
        default=1.0,
        ge=0,
        le=5,
        description="lesion-to-lesion spread of the escape clone's share per tumour cell "
        "(ln units; 0: every lesion has the patient's escape fraction)",
    )
    kill_sd_log: float = Field(
        default=0.0,
        ge=0,
        le=2,
        description="lesion-to-lesion spread of the T-cell killing a lesion meets relative to "
        "the patient's average (ln units; 0: the same in every lesion)",
    )
    occult_mean: float = Field(
        default=0.0,
        ge=0,
        le=50,
        description="mean number of occult metastases (below detection at baseline, Poisson); "
        "one growing to new_lesion_mm is a new lesion, which is progression",
    )
    occult_diameter_mm: tuple[float, float] = Field(
        default=(1.0, 4.0), description="range of occult metastases' diameters (log-uniform)"
    )
    new_lesion_mm: float = Field(
        default=5.0, gt=0, le=20, description="diameter at which a new lesion is unequivocal"
    )
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _counts(self) -> Lesions:
        if self.count_max < self.count_min:
            raise ValueError(
                f"response.lesions: count_max ({self.count_max}) must be at least "
                f"count_min ({self.count_min})"
            )
        lo, hi = self.occult_diameter_mm
        if not 0 < lo <= hi < self.new_lesion_mm:
            raise ValueError(
                f"response.lesions: occult_diameter_mm ({lo:g}, {hi:g}) must be increasing, "
                f"above 0 and below new_lesion_mm ({self.new_lesion_mm:g}): occult "
                "metastases are not seen at baseline"
            )
        return self


class Response(BaseModel):
    """RECIST 1.1 from the simulated tumour burden: the sum of diameters scales with the cube
    root of the tumour cell number from its baseline value. Scans follow the trials' schedule:
    the first at ``first_scan_weeks``, then every ``scan_interval_weeks``, every
    ``late_scan_interval_weeks`` after ``late_after_weeks``, each within a visit window of
    ``scan_window_days`` (so that progression times spread as in a trial's Kaplan-Meier
    curves instead of stepping on the scheduled days)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scan_interval_weeks: float = Field(default=6.0, ge=1, le=52)
    first_scan_weeks: float | None = Field(
        default=None, ge=1, le=52, description="first scan (default: one scan interval)"
    )
    late_after_weeks: float | None = Field(
        default=None, gt=0, description="from here on scans are late_scan_interval_weeks apart"
    )
    late_scan_interval_weeks: float | None = Field(default=None, ge=1, le=52)
    scan_window_days: float = Field(
        default=0.0,
        ge=0,
        le=21,
        description="each scan falls uniformly within +- this many days of its scheduled day "
        "(the protocol's visit window), drawn per patient and scan",
    )
    baseline_sld_mm: float = Field(
        default=100.0, gt=0, description="sum of target-lesion diameters at baseline"
    )
    cr_sld_mm: float = Field(
        default=5.0,
        ge=0,
        description="below this the target lesions count as disappeared (complete response)",
    )
    lesions: Lesions | None = Field(
        default=None,
        description="several target lesions per patient (none: one lesion holds the burden)",
    )
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _late_pair(self) -> Response:
        if (self.late_after_weeks is None) != (self.late_scan_interval_weeks is None):
            raise ValueError(
                "response: give late_after_weeks and late_scan_interval_weeks together"
            )
        return self

    def scan_days(self, duration_days: float) -> tuple[float, ...]:
        """Days after the start of treatment with a scan, within ``duration_days``."""
        day = 7.0 * (self.first_scan_weeks or self.scan_interval_weeks)
        out = []
        while day <= duration_days + 1e-9:
            out.append(day)
            late = self.late_after_weeks is not None and day >= 7.0 * self.late_after_weeks
            late_step = self.late_scan_interval_weeks
            step = late_step if late and late_step is not None else self.scan_interval_weeks
            day += 7.0 * step
        return tuple(out)


#: Trial endpoints a target can name: response rates (fractions of the arm) by best overall
#: response, median progression-free survival (months), and safety rates (fractions of the
#: arm; not used to select virtual patients: their hazards are calibrated on them afterwards).
RATE_ENDPOINTS = ("ORR", "CR", "DCR", "PD")
SAFETY_ENDPOINTS = ("grade34_TRAE", "grade34_vascular_leak")
ENDPOINTS = (*RATE_ENDPOINTS, "median_PFS_months", *SAFETY_ENDPOINTS)
FRACTION_ENDPOINTS = (*RATE_ENDPOINTS, *SAFETY_ENDPOINTS)
DAYS_PER_MONTH = 365.25 / 12


class Target(BaseModel):
    """A published outcome (a training row) the selected virtual population must reproduce.
    Rates (``grade34_TRAE``: patients with a grade 3-4 treatment-related adverse event of
    checkpoint blockade; ``grade34_vascular_leak``: with grade 3-4 capillary leak, hypotension
    that needs vasopressors) are fractions; ``median_PFS_months`` in months. Without a
    published CI the accepted range is +-25% of the value (``ci_low``/``ci_high`` left out)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    arm: str
    endpoint: Literal[
        "ORR", "CR", "DCR", "PD", "median_PFS_months", "grade34_TRAE", "grade34_vascular_leak"
    ]
    value: float = Field(ge=0)
    ci_low: float | None = Field(default=None, ge=0)
    ci_high: float | None = Field(default=None, ge=0)
    n: int = Field(gt=0)
    row: str = Field(default="", description="id of the training row (clinical_training.csv)")
    source: str = Field(min_length=3)

    @model_validator(mode="after")
    def _ranges(self) -> Target:
        if self.endpoint in FRACTION_ENDPOINTS:
            for name in ("value", "ci_low", "ci_high"):
                v = getattr(self, name)
                if v is not None and v > 1:
                    raise ValueError(
                        f"targets: {self.endpoint} of arm {self.arm!r}: {name} {v:g} is not a "
                        "fraction; give rates between 0 and 1"
                    )
        if (self.ci_low is None) != (self.ci_high is None):
            raise ValueError(
                f"targets: {self.arm} {self.endpoint}: give ci_low and ci_high together"
            )
        lo, hi = self.interval
        if not lo <= self.value <= hi:
            raise ValueError(
                f"targets: {self.arm} {self.endpoint}: value {self.value:g} lies outside its "
                f"interval [{lo:g}, {hi:g}]"
            )
        return self

    @property
    def interval(self) -> tuple[float, float]:
        """The published 95% CI, or +-25% of the value where none is published."""
        if self.ci_low is not None and self.ci_high is not None:
            return self.ci_low, self.ci_high
        hi = 1.25 * self.value
        return 0.75 * self.value, min(hi, 1.0) if self.endpoint in FRACTION_ENDPOINTS else hi

    @property
    def interval_kind(self) -> str:
        return "95% CI" if self.ci_low is not None else "+-25%"


class Untargeted(BaseModel):
    """A training row of the cohort's disease that the model does not reproduce, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row: str = Field(min_length=1)
    endpoint: str = Field(min_length=1)
    reason: str = Field(min_length=3)


class CohortSpec(BaseModel):
    """A virtual-trial population: one body and disease, the arms it can receive, how patients
    differ, and how response is read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    description: str = ""
    body: str = "human_adult"
    disease: Disease = "tumour"
    duration_days: float = Field(default=126.0, gt=0, le=1100)
    run_in_days: float = Field(default=60.0, gt=0, le=730)
    arms: list[Arm] = Field(min_length=1)
    variability: list[Variation] = Field(min_length=1)
    correlations: list[Correlation] = Field(default_factory=list)
    weight: WeightCovariate | None = None
    plausibility: Plausibility
    response: Response
    targets: list[Target] = Field(default_factory=list)
    untargeted: list[Untargeted] = Field(
        default_factory=list,
        description="training rows of the disease the model does not reproduce, with the reason",
    )
    predictions: list[Target] = Field(
        default_factory=list,
        description=(
            "published outcomes held out of calibration (not training rows): `il2sim validate` "
            "reports the model's prediction beside each; nothing is selected or tuned on them"
        ),
    )
    endogenous_il2_binding: Literal["tumour", "everywhere"] = Field(
        default="tumour",
        description=(
            "where the body's own IL-2 binds cells in the trial model: 'tumour' (where it is "
            "made and acts; in blood and lymphoid tissue it stays below 0.05 pM and gives under "
            "3e-5 of maximal pSTAT5, so binding there is left out: nivolumab arm 114 -> 59 "
            "states, 2-5x faster per patient) or 'everywhere' (the full model of `il2sim run`)"
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> CohortSpec:
        names = [v.parameter for v in self.variability]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"variability lists a parameter twice: {dup}")
        for c in self.correlations:
            for p in (c.a, c.b):
                if p not in names:
                    raise ValueError(
                        f"correlation names {p!r}, which is not in variability ({names})"
                    )
        arms = [a.name for a in self.arms]
        dup = sorted({n for n in arms if arms.count(n) > 1})
        if dup:
            raise ValueError(f"arm names must be unique; repeated: {dup}")
        for kind, items in (("target", self.targets), ("prediction", self.predictions)):
            for t in items:
                if t.arm not in arms:
                    raise ValueError(f"{kind} arm {t.arm!r} is not one of the arms {arms}")
        if self.disease != "tumour":
            raise ValueError("cohorts read tumour response (RECIST); disease must be 'tumour'")
        return self

    def arm(self, name: str) -> Arm:
        for a in self.arms:
            if a.name == name:
                return a
        raise KeyError(
            f"no arm {name!r} in cohort {self.name!r}; arms: {[a.name for a in self.arms]}"
        )
