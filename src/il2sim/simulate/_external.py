"""Give il2sim regimens to any SBML model (e.g. the published models in BioModels)."""

from __future__ import annotations

from pathlib import Path

from il2sim.catalog import Regimen, RegimenError, parse_regimen, read_text_file
from il2sim.model import add_dosing


def dose_sbml(
    model: str | Path,
    species_id: str,
    regimen: Regimen | str,
    *,
    horizon_h: float,
    time_unit_h: float = 1.0,
    amount_per_unit: float = 1.0,
) -> str:
    """The SBML text of ``model`` with ``regimen`` dosed into ``species_id``.

    Foreign models have their own units: ``time_unit_h`` is the model's time unit in hours
    (24 for a model in days) and ``amount_per_unit`` the model amount per regimen unit. Only
    flat amounts (no /kg or /m2) make sense here; write them in ``nmol`` (e.g.
    ``"1e7 nmol/day for 5 days"`` adds 1e7 model units a day when ``amount_per_unit`` is 1).
    """
    text = str(model)
    if not text.lstrip().startswith("<"):
        text = read_text_file(Path(model), "SBML file")
    reg = parse_regimen(regimen) if isinstance(regimen, str) else regimen
    doses = []
    for d in reg.doses(horizon_h):
        if d.unit != "nmol":
            raise RegimenError(
                f"dosing a foreign SBML model needs flat amounts in model units written as "
                f"'nmol' (got {d.unit!r}); convert with amount_per_unit"
            )
        doses.append(
            (d.time_h / time_unit_h, d.amount * amount_per_unit, d.duration_h / time_unit_h)
        )
    return add_dosing(text, species_id, doses)
