"""Turn catalog drugs and cells into the arrays the binding solvers work on.

A drug is a set of *units*: ``valency`` cytokine units, each with an IL-2Ralpha site and an
IL-2Rbeta/gamma-c site (and an IL-15Ralpha site for IL-15), and targeting arms, each one site
for its antigen. A cell is a vector of receptor counts over :data:`KINDS`. The signaling
receptor ``IL2RBG`` is the IL-2Rbeta/gamma-c pair, limited by the scarcer chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from il2sim.catalog import Cell, Drug

#: Receptor kinds the solvers see, in array order.
KINDS: tuple[str, ...] = ("IL2RA", "IL2RBG", "IL15RA", "PD1", "PDL1", "EDB_FN", "FAP")
#: The kind whose engagement by an IL-2 unit signals (JAK1/JAK3 -> STAT5).
SIGNALING_KIND = "IL2RBG"


_MAX_ARMS = 2


@dataclass(frozen=True)
class Arm:
    """``count`` identical targeting arms binding ``target`` with ``kd_nM``."""

    target: str
    count: int
    kd_nM: float


@dataclass(frozen=True)
class BindingDesign:
    """A drug reduced to what binding needs: cytokine units and targeting arms.

    ``valency`` cytokine units, each with optional IL-2Ralpha, IL-2Rbeta/gamma-c and IL-15Ralpha
    sites (``None`` = no binding), plus up to two kinds of targeting arm.
    """

    name: str
    valency: int = 1
    kd_il2ra_nM: float | None = None
    kd_il2rbg_nM: float | None = None
    kd_il15ra_nM: float | None = None
    arms: tuple[Arm, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for label, kd in (
            ("kd_il2ra_nM", self.kd_il2ra_nM),
            ("kd_il2rbg_nM", self.kd_il2rbg_nM),
            ("kd_il15ra_nM", self.kd_il15ra_nM),
            *((f"arms[{i}].kd_nM", arm.kd_nM) for i, arm in enumerate(self.arms)),
        ):
            if kd is not None and not (np.isfinite(kd) and kd > 0):
                raise ValueError(
                    f"design {self.name!r}: {label} must be a positive number, got {kd}"
                )
        if self.valency < 1:
            raise ValueError(f"design {self.name!r}: valency must be >= 1, got {self.valency}")
        if len(self.arms) > _MAX_ARMS:
            raise ValueError(f"design {self.name!r}: at most {_MAX_ARMS} kinds of targeting arm")
        for arm in self.arms:
            if arm.target not in KINDS:
                raise ValueError(
                    f"design {self.name!r}: arm target must be one of {KINDS}, got {arm.target!r}"
                )
            if arm.count < 1:
                raise ValueError(f"design {self.name!r}: arm count must be >= 1")
        if self.kd_il2ra_nM is None and self.kd_il2rbg_nM is None and self.kd_il15ra_nM is None:
            raise ValueError(f"design {self.name!r}: needs at least one cytokine-receptor Kd")

    @classmethod
    def from_drug(cls, drug: Drug) -> BindingDesign:
        def val(x):
            return None if x is None else float(x.value)

        return cls(
            name=drug.name,
            valency=int(drug.valency.value),
            kd_il2ra_nM=val(drug.kd_il2ra_nM),
            kd_il2rbg_nM=val(drug.kd_il2rbg_nM),
            kd_il15ra_nM=val(drug.kd_il15ra_nM),
            arms=tuple(Arm(a.target, int(a.count.value), a.kd_nM.value) for a in drug.arms),
        )

    def layout(self) -> tuple[tuple[int, ...], list[tuple[str, float] | None], list[int]]:
        """Sites as ``(site_unit, slots, unit_multiplicity)`` for the equilibrium solver.

        Unit 0 is the cytokine unit (IL-2Ralpha, IL-2Rbeta/gamma-c, IL-15Ralpha slots; ``None``
        where a site does not bind), repeated ``valency`` times. With one cytokine unit, the
        targeting arms belong to that unit: an arm-captured molecule presents its IL-2 to
        IL-2Rbeta/gamma-c in cis exactly as CD25 capture does (the cooperativity factor of the
        unit applies; Codarri Deak 2022). With several cytokine units, each arm kind is a unit
        of its own, linked to the rest only by the cross-linking constant.
        """
        slots: list[tuple[str, float] | None] = [
            None if self.kd_il2ra_nM is None else ("IL2RA", self.kd_il2ra_nM),
            None if self.kd_il2rbg_nM is None else ("IL2RBG", self.kd_il2rbg_nM),
            None if self.kd_il15ra_nM is None else ("IL15RA", self.kd_il15ra_nM),
        ]
        site_unit = [0, 0, 0]
        mult = [self.valency]
        for i, arm in enumerate(self.arms):
            if self.valency == 1:
                slots += [(arm.target, arm.kd_nM)] * arm.count
                site_unit += [0] * arm.count
            else:
                slots.append((arm.target, arm.kd_nM))
                site_unit.append(i + 1)
                mult.append(arm.count)
        return tuple(site_unit), slots, mult

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(sl[0] for sl in self.layout()[1] if sl is not None))


def as_design(drug: Drug | BindingDesign) -> BindingDesign:
    return drug if isinstance(drug, BindingDesign) else BindingDesign.from_drug(drug)


def cell_receptor_vector(
    cell: Cell | dict[str, float], kinds: Sequence[str] = KINDS, *, pd1_blockade: bool = False
) -> np.ndarray:
    """Receptors per cell over ``kinds``; ``IL2RBG`` = min(IL-2Rbeta, gamma-c)."""
    counts = cell.receptor_counts(pd1_blockade) if isinstance(cell, Cell) else dict(cell)
    if "IL2RBG" not in counts:
        counts["IL2RBG"] = min(counts.get("IL2RB", 0.0), counts.get("IL2RG", 0.0))
    return np.array([float(counts.get(k, 0.0)) for k in kinds])


def group_by_layout(designs: Sequence[BindingDesign]) -> dict[tuple[int, ...], list[int]]:
    """Indices of ``designs`` grouped by site layout (each group is one solver call)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, d in enumerate(designs):
        groups.setdefault(d.layout()[0], []).append(i)
    return groups


def design_arrays(
    designs: Sequence[BindingDesign], kinds: Sequence[str]
) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """Stack designs of one layout into ``site_unit``, ``unit_multiplicity`` (D, U) and
    ``affinity_per_nM`` (D, S, J) = 1/Kd (0 where a slot does not bind)."""
    site_unit = designs[0].layout()[0]
    if any(d.layout()[0] != site_unit for d in designs):
        raise ValueError("design_arrays needs designs of one layout; use group_by_layout first")
    mult = np.zeros((len(designs), max(site_unit) + 1))
    aff = np.zeros((len(designs), len(site_unit), len(kinds)))
    index = {k: j for j, k in enumerate(kinds)}
    for d, design in enumerate(designs):
        _, slots, m = design.layout()
        mult[d] = m
        for s, slot in enumerate(slots):
            if slot is not None and slot[0] in index:
                aff[d, s, index[slot[0]]] += 1.0 / slot[1]
    return site_unit, mult, aff


def kinds_used(designs: Sequence[BindingDesign]) -> tuple[str, ...]:
    """The receptor kinds any of ``designs`` binds, signaling kind always included."""
    used = {k for d in designs for k in d.kinds} | {SIGNALING_KIND}
    return tuple(k for k in KINDS if k in used)
