"""What the web forms turn into: catalog drugs, therapy scenarios and cohort requests, checked
by the same rules as the CLI and the YAML files (the catalog's pydantic records, the regimen
parser, :func:`il2sim.cohort.check_request`). Errors come back per field, so the page can show
each message under the field it is about. Nothing typed is evaluated: numbers go through
``float`` only. No Streamlit here, so every rule is testable without a browser."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

from il2sim import catalog, cohort

#: Largest cohort the web app runs interactively (the CLI has no limit).
WEB_MAX_PATIENTS = 200
#: Name of the therapy arm that gives the designed drug.
DESIGN_ARM = "my_design"
#: Molecule formats offered by the designer (drug kinds with a disposition class).
FORMATS = (
    "mutein",
    "fc_fusion",
    "pegylated_prodrug",
    "antibody_complex",
    "immunocytokine",
    "cis_targeted_fusion",
)
_FIELD = re.compile(r"field '([^']+)': (.*)")


class FormError(ValueError):
    """One message per field of a form (field name -> message)."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def parse_number(
    text: str | float,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
) -> float:
    """A number typed in a field (``0.5``, ``1e-3``); :class:`FormError` naming ``field``
    otherwise. ``minimum`` is exclusive for floats and inclusive for integers."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise FormError(
            {field: f"{field} must be a number, e.g. 0.5 or 1e-3; got {text!r}"}
        ) from None
    if not math.isfinite(value):
        raise FormError({field: f"{field} must be a finite number, got {text!r}"})
    if integer:
        if value != int(value):
            raise FormError({field: f"{field} must be a whole number, got {text!r}"})
        if minimum is not None and value < minimum:
            raise FormError({field: f"{field} must be >= {minimum:g}, got {value:g}"})
    elif minimum is not None and value <= minimum:
        raise FormError({field: f"{field} must be > {minimum:g}, got {value:g}"})
    if maximum is not None and value > maximum:
        raise FormError({field: f"{field} must be <= {maximum:g}, got {value:g}"})
    return value


def field_errors(message: str) -> dict[str, str]:
    """``{field: message}`` from a catalog error (one ``where: field 'a.b': msg`` per line);
    a line without a field goes under ``""``."""
    out: dict[str, str] = {}
    for line in str(message).splitlines():
        m = _FIELD.search(line)
        key, msg = (m.group(1), m.group(2)) if m else ("", line)
        out[key] = f"{out[key]}; {msg}" if key in out else msg
    return out


@dataclass(frozen=True)
class DesignFields:
    """The designer's fields as typed. Kd values in nM; ``kd_il2ra_nM`` of ``None`` (or an
    empty arm target) means the site does not bind."""

    name: str = "my_design"
    kind: str = "mutein"
    valency: str = "1"
    kd_il2ra_nM: str | None = "10"
    kd_il2rbg_nM: str = "1"
    arm_target: str | None = None
    arm_count: str = "2"
    arm_kd_nM: str = "1"

    @classmethod
    def from_drug(cls, drug: catalog.Drug) -> DesignFields:
        """Fields filled from a catalog drug (its first targeting arm, if any)."""
        arm = drug.arms[0] if drug.arms else None
        return cls(
            name=f"my_{drug.name}"[:60],
            kind=drug.kind if drug.kind in FORMATS else "mutein",
            valency=f"{drug.valency.value:g}",
            kd_il2ra_nM=None if drug.kd_il2ra_nM is None else f"{drug.kd_il2ra_nM.value:g}",
            kd_il2rbg_nM="" if drug.kd_il2rbg_nM is None else f"{drug.kd_il2rbg_nM.value:g}",
            arm_target=None if arm is None else arm.target,
            arm_count="2" if arm is None else f"{arm.count.value:g}",
            arm_kd_nM="1" if arm is None else f"{arm.kd_nM.value:g}",
        )


def drug_from_fields(f: DesignFields) -> catalog.Drug:
    """The designed drug, validated as a user's drug YAML file is (same schema, same
    messages); :class:`FormError` keyed by the catalog's field names (``kd_il2ra_nM``,
    ``arms.0.kd_nM``, ...)."""
    errors: dict[str, str] = {}
    doc: dict = {"name": f.name.strip(), "kind": f.kind, "display_name": f.name.strip()}

    def number(key: str, text: str, **kw) -> float | None:
        try:
            return parse_number(text, key, **kw)
        except FormError as e:
            errors.update(e.errors)
            return None

    doc["valency"] = number("valency", f.valency)
    doc["kd_il2ra_nM"] = None if f.kd_il2ra_nM is None else number("kd_il2ra_nM", f.kd_il2ra_nM)
    doc["kd_il2rbg_nM"] = number("kd_il2rbg_nM", f.kd_il2rbg_nM)
    if f.arm_target:
        doc["arms"] = [
            {
                "target": f.arm_target,
                "count": number("arms.0.count", f.arm_count),
                "kd_nM": number("arms.0.kd_nM", f.arm_kd_nM),
            }
        ]
    doc["description"] = "designed in the il2sim web app"
    if errors:  # check the other fields too, with a stand-in for each unreadable number
        doc = _stand_in(doc, errors)
    try:
        drug = catalog.parse_record(catalog.Drug, doc, "design")
    except catalog.CatalogError as e:
        raise FormError({**field_errors(str(e)), **errors}) from None
    if errors:
        raise FormError(errors)
    return drug


def _stand_in(doc: dict, errors: Mapping[str, str]) -> dict:
    doc = {**doc, "arms": [dict(a) for a in doc.get("arms", [])]}
    for key in errors:
        if key.startswith("arms.0."):
            doc["arms"][0][key.removeprefix("arms.0.")] = 1.0
        else:
            doc[key] = 1.0
    return doc


def drug_yaml(drug: catalog.Drug) -> str:
    """The drug as a drug YAML file (loads back with ``il2sim signal --drug FILE``)."""
    data = drug.model_dump(mode="json", exclude_none=True)
    for key in ("kd_il2ra_nM", "kd_il2rbg_nM"):  # required, None = does not bind
        data.setdefault(key, None)
    return yaml.safe_dump(data, sort_keys=False)


def check_regimen(text: str, drug: catalog.Drug | str, field: str = "regimen") -> None:
    """Raise :class:`FormError` at ``field`` if ``text`` is not a regimen the drug can be
    given in (parsable, and IU only for drugs with an IU per mg)."""
    try:
        drug_obj = catalog.get_drug(drug)
        reg = catalog.parse_regimen(text)
        doses = reg.doses(24.0 * 1100)  # the longest run a scenario may ask for
        mw = (
            drug_obj.mw_kDa.value
            if drug_obj.mw_kDa is not None
            else catalog.disposition_for(drug_obj).mw_kDa.value
        )
        catalog.dose_events(
            doses[:1],
            weight_kg=70.0,
            bsa_m2=1.8,
            mw_kDa=mw,
            iu_per_mg=drug_obj.iu_per_mg.value if drug_obj.iu_per_mg else None,
            drug_name=drug_obj.name,
        )
    except (catalog.RegimenError, catalog.CatalogError) as e:
        raise FormError({field: str(e)}) from None


def therapy_from_fields(
    scenario: str,
    setting: str,
    arms: Sequence[str],
    regimens: Mapping[str, str | None],
    duration_days: str,
    *,
    designed: tuple[str, str] | None = None,
) -> catalog.TherapyScenario:
    """A built-in therapy scenario cut to one setting and the chosen arms, with the regimens
    and duration as typed, validated as a scenario YAML is. ``designed``: (drug YAML file,
    regimen) of an extra arm :data:`DESIGN_ARM`. :class:`FormError` keys: ``arms``,
    ``duration_days``, ``regimen:<arm>``."""
    sc = catalog.get_therapy_scenario(scenario)
    chosen = next((s for s in sc.settings if s.name == setting), None)
    if chosen is None:
        raise FormError({"setting": f"setting must be one of {[s.name for s in sc.settings]}"})
    errors: dict[str, str] = {}
    by_name = {a.name: a for a in chosen.arms}
    docs = [by_name[a].model_dump(mode="json") for a in arms if a in by_name]
    if designed is not None:
        docs.append({"name": DESIGN_ARM, "drug": designed[0], "regimen": designed[1]})
    if not docs:
        errors["arms"] = "arms: choose at least one arm"
    try:
        days = parse_number(duration_days, "duration_days", minimum=0, maximum=730)
    except FormError as e:
        errors.update(e.errors)
        days = sc.duration_days
    for doc in docs:
        if doc.get("drug") is not None:
            doc["regimen"] = regimens.get(doc["name"], doc["regimen"]) or ""
            try:
                check_regimen(doc["regimen"], doc["drug"], f"regimen:{doc['name']}")
            except FormError as e:
                errors.update(e.errors)
    if errors:
        raise FormError(errors)
    readouts = [d for d in sc.readout_days if d <= days] or [days]
    data = sc.model_dump(mode="json")
    data.update(
        duration_days=days,
        readout_days=readouts,
        settings=[{**chosen.model_dump(mode="json"), "arms": docs}],
    )
    try:
        return catalog.parse_record(catalog.TherapyScenario, data, "scenario")
    except catalog.CatalogError as e:
        raise FormError(_therapy_keys(field_errors(str(e)), [d["name"] for d in docs])) from None


def _therapy_keys(errors: dict[str, str], arm_names: list[str]) -> dict[str, str]:
    out = {}
    for key, msg in errors.items():
        m = re.match(r"settings\.0\.arms\.(\d+)\.(\w+)", key)
        if m and m.group(2) == "regimen":
            key = f"regimen:{arm_names[int(m.group(1))]}"
        out[key] = msg
    return out


@dataclass(frozen=True)
class CohortRequest:
    spec: catalog.CohortSpec
    arms: list[str]
    n: int
    seed: int
    population: str | None


def cohort_request(
    name: str, arms: Sequence[str], n: str, seed: str, population: str | None
) -> CohortRequest:
    """A cohort run as the CLI checks it (:func:`il2sim.cohort.check_request`), plus the web
    app's ceiling of :data:`WEB_MAX_PATIENTS`. :class:`FormError` keys: ``n``, ``seed``,
    ``arms``, ``population``."""
    errors: dict[str, str] = {}
    spec = catalog.get_cohort(name)
    n_val = seed_val = None
    try:
        n_val = int(parse_number(n, "n", minimum=1, maximum=WEB_MAX_PATIENTS, integer=True))
    except FormError as e:
        errors.update(e.errors)
        if "<=" in errors["n"]:
            errors["n"] += " in the web app (run il2sim cohort for larger cohorts)"
    try:
        seed_val = int(parse_number(seed, "seed", minimum=0, integer=True))
    except FormError as e:
        errors.update(e.errors)
    try:
        cohort.check_request(spec, list(arms), n=n_val, population=population)
    except ValueError as e:
        key = str(e).split(" ", 1)[0].rstrip(":")
        errors.setdefault(key, str(e))
    if errors:
        raise FormError(errors)
    # population is one of cohort.POPULATIONS: check_request refused anything else above
    return CohortRequest(spec, list(arms), n_val, seed_val, population)  # type: ignore[arg-type]
