"""Unit definitions used by il2sim networks, in SBML terms (kind, exponent, scale,
multiplier): model time in hours, amounts in nmol, volumes in litres."""

from __future__ import annotations

import libsbml

_K = {
    "mole": libsbml.UNIT_KIND_MOLE,
    "litre": libsbml.UNIT_KIND_LITRE,
    "second": libsbml.UNIT_KIND_SECOND,
    "item": libsbml.UNIT_KIND_ITEM,
    "gram": libsbml.UNIT_KIND_GRAM,
    "dimensionless": libsbml.UNIT_KIND_DIMENSIONLESS,
    "metre": libsbml.UNIT_KIND_METRE,
}

_HOUR = ("second", 1, 0, 3600.0)
_NMOL = ("mole", 1, -9, 1.0)

#: SBML's own unit ids, used as they are.
BUILTIN = {"dimensionless", "item", "litre"}

#: unit id -> list of (kind, exponent, scale, multiplier)
UNITS: dict[str, list[tuple[str, int, int, float]]] = {
    "hour": [_HOUR],
    "nmol": [_NMOL],
    "nM": [_NMOL, ("litre", -1, 0, 1.0)],
    "per_h": [("second", -1, 0, 3600.0)],
    "per_nM_per_h": [("mole", -1, -9, 1.0), ("litre", 1, 0, 1.0), ("second", -1, 0, 3600.0)],
    "nM_per_item": [_NMOL, ("litre", -1, 0, 1.0), ("item", -1, 0, 1.0)],
    "L_per_h": [("litre", 1, 0, 1.0), ("second", -1, 0, 3600.0)],
    "nmol_per_h": [_NMOL, ("second", -1, 0, 3600.0)],
    "item_per_nmol": [("item", 1, 0, 1.0), ("mole", -1, -9, 1.0)],
    "ug_per_nmol": [("gram", 1, -6, 1.0), ("mole", -1, -9, 1.0)],
    "item_per_h": [("item", 1, 0, 1.0), ("second", -1, 0, 3600.0)],
    "per_item_per_h": [("item", -1, 0, 1.0), ("second", -1, 0, 3600.0)],
    "ng_per_mL": [("gram", 1, -6, 1.0), ("litre", -1, 0, 1.0)],
    "ng_h_per_mL": [("gram", 1, -6, 1.0), ("litre", -1, 0, 1.0), ("second", 1, 0, 3600.0)],
    # Kirschner-Panetta model units
    "per_day": [("second", -1, 0, 86400.0)],
    "day": [("second", 1, 0, 86400.0)],
    "cell": [("item", 1, 0, 1.0)],
    "per_cell": [("item", -1, 0, 1.0)],
    "cell_per_day": [("item", 1, 0, 1.0), ("second", -1, 0, 86400.0)],
    "per_cell_per_day": [("item", -1, 0, 1.0), ("second", -1, 0, 86400.0)],
    "il2_unit": [("item", 1, 0, 1.0)],
    "il2_unit_per_day": [("item", 1, 0, 1.0), ("second", -1, 0, 86400.0)],
    "il2_unit_per_cell_per_day": [("second", -1, 0, 86400.0)],
}


def add_unit_definitions(model: libsbml.Model, used: set[str]) -> None:
    for uid in sorted(used - BUILTIN):
        if uid not in UNITS:
            raise KeyError(f"unknown unit {uid!r}; known: {sorted(UNITS)}")
        ud = model.createUnitDefinition()
        ud.setId(uid)
        for kind, exp, scale, mult in UNITS[uid]:
            u = ud.createUnit()
            u.setKind(_K[kind])
            u.setExponent(exp)
            u.setScale(scale)
            u.setMultiplier(mult)
