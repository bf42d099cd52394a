"""Turn catalog drugs and cells into the arrays the binding solvers work on.

A drug is a set of *site types*: each IL-2 unit has an IL-2Ralpha site and an IL-2Rbeta/gamma-c
site; each targeting arm is a site for its antigen; ``multiplicity`` counts identical sites per
molecule (valency). A cell is a vector of receptor counts over :data:`KINDS`. The signaling
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


@dataclass(frozen=True)
class Site:
    """``multiplicity`` identical binding sites of one drug molecule for receptor ``kind``."""

    name: str
    multiplicity: int
    kind: str
    kd_nM: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"site {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if not self.kd_nM > 0 or not np.isfinite(self.kd_nM):
            raise ValueError(f"site {self.name!r}: kd_nM must be a positive number, got {self.kd_nM}")
        if self.multiplicity < 1:
            raise ValueError(f"site {self.name!r}: multiplicity must be >= 1")


@dataclass(frozen=True)
class BindingDesign:
    """A drug reduced to its binding sites (what the equilibrium and kinetic models need)."""

    name: str
    sites: tuple[Site, ...] = field(default_factory=tuple)

    @classmethod
    def from_drug(cls, drug: Drug) -> BindingDesign:
        valency = int(drug.valency.value)
        sites = []
        for site_name, kind, kd in (
            ("il2ra", "IL2RA", drug.kd_il2ra_nM),
            ("il2rbg", "IL2RBG", drug.kd_il2rbg_nM),
            ("il15ra", "IL15RA", drug.kd_il15ra_nM),
        ):
            if kd is not None:
                sites.append(Site(site_name, valency, kind, kd.value))
        for i, arm in enumerate(drug.arms):
            sites.append(Site(f"arm{i}_{arm.target.lower()}", int(arm.count.value), arm.target, arm.kd_nM.value))
        return cls(drug.name, tuple(sites))

    @classmethod
    def from_kds(
        cls,
        name: str,
        *,
        valency: int = 1,
        kd_il2ra_nM: float | None = None,
        kd_il2rbg_nM: float | None = None,
        arm_target: str | None = None,
        arm_count: int = 1,
        arm_kd_nM: float | None = None,
    ) -> BindingDesign:
        """A design from numbers, for design searches and quick what-ifs."""
        sites = []
        if kd_il2ra_nM is not None:
            sites.append(Site("il2ra", valency, "IL2RA", kd_il2ra_nM))
        if kd_il2rbg_nM is not None:
            sites.append(Site("il2rbg", valency, "IL2RBG", kd_il2rbg_nM))
        if arm_target is not None:
            if arm_kd_nM is None:
                raise ValueError("arm_kd_nM is required when arm_target is given")
            sites.append(Site(f"arm0_{arm_target.lower()}", arm_count, arm_target, arm_kd_nM))
        if not sites:
            raise ValueError("a design needs at least one binding site (give a Kd)")
        return cls(name, tuple(sites))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.kind for s in self.sites))


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


def design_arrays(
    designs: Sequence[BindingDesign], kinds: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stack designs into padded arrays.

    Returns ``multiplicity`` (D, S), ``affinity_per_nM`` (D, S, J) = 1/Kd (0 where a site does
    not bind a kind) and ``signaling`` (D, S) boolean, with S the largest site count.
    """
    n_sites = max(len(d.sites) for d in designs)
    mult = np.zeros((len(designs), n_sites))
    aff = np.zeros((len(designs), n_sites, len(kinds)))
    sig = np.zeros((len(designs), n_sites), dtype=bool)
    index = {k: j for j, k in enumerate(kinds)}
    for d, design in enumerate(designs):
        for s, site in enumerate(design.sites):
            if site.kind not in index:
                continue
            mult[d, s] = site.multiplicity
            aff[d, s, index[site.kind]] = 1.0 / site.kd_nM
            sig[d, s] = site.kind == SIGNALING_KIND
    return mult, aff, sig


def kinds_used(designs: Sequence[BindingDesign]) -> tuple[str, ...]:
    """The receptor kinds any of ``designs`` binds, signaling kind always included."""
    used = {k for d in designs for k in d.kinds} | {SIGNALING_KIND}
    return tuple(k for k in KINDS if k in used)
