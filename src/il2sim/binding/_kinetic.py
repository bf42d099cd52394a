"""Kinetic model of the same multivalent binding, with receptor trafficking, for one cell.

States are the bound configurations of one drug molecule (which sites of which unit copies are
bound), on the cell surface and in endosomes, plus free receptors, free drug in the medium and in
endosomes, and degraded drug. Bonds form with ``kon`` from solution, with ``kon * Kx`` (times the
unit's cooperativity when a second site of the same unit binds) on the cell, and break with
``koff = kon * Kd``: without trafficking and at constant drug, the long-time limit is exactly the
equilibrium model (detailed balance). Trafficking follows Fallon & Lauffenburger 2000 and
Farhat et al. 2021: constitutive and complex-induced receptor synthesis, endocytosis of free
receptors and (faster) of signaling complexes, endosomal unbinding with weaker affinity,
recycling, degradation, and exocytosis of free endosomal drug. With ``cells_per_L`` the medium is
depleted by the cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp

from il2sim.binding._design import (
    KINDS,
    SIGNALING_KIND,
    BindingDesign,
    as_design,
    cell_receptor_vector,
)
from il2sim.binding._scheme import binding_scheme
from il2sim.binding._signal import Transduction
from il2sim.catalog import Cell, Drug, SignalingParams, get_cell, get_drug, signaling_params

AVOGADRO = 6.02214076e23


class KineticError(RuntimeError):
    """Integration failed; the message names the drug, cell, concentration and time."""


@dataclass(frozen=True)
class Trafficking:
    """Receptor trafficking rates (per minute) and endosome properties.

    ``synthesis_per_min`` gives constitutive receptor synthesis (molecules/cell/min) by kind;
    kinds not given are synthesised at the rate that keeps the cell's receptor numbers at steady
    state before drug is added. ``induced_synthesis_per_complex`` adds synthesis proportional to
    signaling complexes (Fallon 2000).
    """

    endocytosis_free_per_min: float = 0.0
    endocytosis_active_per_min: float = 0.0
    recycling_per_min: float = 0.0
    degradation_per_min: float = 0.0
    ligand_exocytosis_per_min: float = 0.0
    endosome_volume_L: float = 1e-14
    endosome_koff_factor: float = 5.0
    endosome_kon_factor: float = 1.0
    synthesis_per_min: Mapping[str, float] = field(default_factory=dict)
    induced_synthesis_per_complex: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (
            "endocytosis_free_per_min",
            "endocytosis_active_per_min",
            "recycling_per_min",
            "degradation_per_min",
            "ligand_exocytosis_per_min",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Trafficking.{name} must be >= 0, got {getattr(self, name)}")
        for name in ("endosome_volume_L", "endosome_koff_factor", "endosome_kon_factor"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Trafficking.{name} must be > 0, got {getattr(self, name)}")

    @property
    def active(self) -> bool:
        return self.endocytosis_free_per_min > 0 or self.endocytosis_active_per_min > 0

    @classmethod
    def none(cls) -> Trafficking:
        """No trafficking: pure binding kinetics (relaxes to the equilibrium model)."""
        return cls()

    @classmethod
    def fallon2000(cls) -> Trafficking:
        """IL-2 receptor trafficking of Fallon & Lauffenburger 2000 Biotechnol Prog 16:905
        (BioModels BIOMD0000000665): kt 0.007, ke 0.04, kh 0.035, kx 0.15 /min, Ve 10 fL per
        cell, endosomal koff 8x surface, ksyn 0.0011 per complex per min; no receptor recycling.
        The endosomal kon factor 0.0888 follows from the model's kfe = kre/1000, kf = kr/11.1."""
        return cls(
            endocytosis_free_per_min=0.007,
            endocytosis_active_per_min=0.04,
            recycling_per_min=0.0,
            degradation_per_min=0.035,
            ligand_exocytosis_per_min=0.15,
            endosome_volume_L=1e-14,
            endosome_koff_factor=8.0,
            endosome_kon_factor=8.0 * 11.1 / 1000.0,
            induced_synthesis_per_complex={SIGNALING_KIND: 0.0011},
        )


@dataclass(frozen=True)
class KineticResult:
    """Time courses of every species; helpers sum them into readouts."""

    t_min: np.ndarray
    species: tuple[str, ...]
    y: np.ndarray  # (T, N) molecules per cell, or nM for L_nM and Li_nM
    signaling_bonds: np.ndarray  # (N,) signaling bonds per species (0 for free species)
    endosomal: np.ndarray  # (N,) bool
    transduction: Transduction

    def __getitem__(self, name: str) -> np.ndarray:
        return self.y[:, self.species.index(name)]

    def active_complexes(self, include_endosomal: bool = True) -> np.ndarray:
        """Engaged IL-2Rbeta/gamma-c complexes per cell over time."""
        w = self.signaling_bonds * (include_endosomal | ~self.endosomal)
        return self.y @ w

    def pstat5(self, include_endosomal: bool = True) -> np.ndarray:
        return self.transduction.pstat5(self.active_complexes(include_endosomal))


@dataclass
class _Network:
    species: list[str]
    signaling: np.ndarray
    endosomal: np.ndarray
    k: np.ndarray
    r1: np.ndarray  # first reactant index (-1: none)
    r2: np.ndarray  # second reactant index (-1: none)
    stoich: np.ndarray  # (N_species, N_reactions)
    y0: np.ndarray


def _build(
    design: BindingDesign,
    receptors: Mapping[str, float],
    conc_nM: float,
    tr: Transduction,
    kon: float,
    traf: Trafficking,
    cells_per_L: float | None,
) -> _Network:
    scheme = binding_scheme(design)
    kinds = scheme.kinds
    species: list[str] = []
    idx: dict[str, int] = {}

    def add(name: str) -> int:
        idx[name] = len(species)
        species.append(name)
        return idx[name]

    for loc in ("", "e"):
        for kind in kinds:
            add(f"R{loc}_{kind}")
    for loc in ("", "e"):
        for name in scheme.complexes:
            add(f"C{loc}[{name}]")
    iL, iLi, iLd = add("L_nM"), add("Li_nM"), add("L_degraded")
    n_sp = len(species)
    signaling = np.zeros(n_sp)
    endosomal = np.array([s.startswith(("Re_", "Ce[", "Li_")) for s in species])
    for loc in ("", "e"):
        for name in scheme.complexes:
            signaling[idx[f"C{loc}[{name}]"]] = scheme.signaling_bonds[name]

    phi = 0.0 if cells_per_L is None else cells_per_L * 1e9 / AVOGADRO  # nM per molecule/cell
    psi = 1e9 / (AVOGADRO * traf.endosome_volume_L)  # endosomal nM per molecule/cell
    rxn: list[tuple[float, int, int, dict[int, float]]] = []

    def r(k: float, a: int, b: int, st: dict[int, float]) -> None:
        if k > 0:
            rxn.append((k, a, b, st))

    kx, coop = tr.kx_nM_per_receptor, tr.cooperativity
    for loc, lig, lig_factor, kon_f, koff_f in (
        ("", iL, phi, 1.0, 1.0),
        ("e", iLi, psi, traf.endosome_kon_factor, traf.endosome_koff_factor),
    ):
        for st in scheme.steps:
            i_r = idx[f"R{loc}_{st.receptor}"]
            i_p = idx[f"C{loc}[{st.product}]"]
            k_rev = st.reverse_multiplicity * kon * st.kd_nM * koff_f
            if st.source is None:
                r(
                    st.forward_multiplicity * kon * kon_f,
                    lig,
                    i_r,
                    {i_r: -1, i_p: +1, lig: -lig_factor},
                )
                r(k_rev, i_p, -1, {i_p: -1, i_r: +1, lig: +lig_factor})
            else:
                i_c = idx[f"C{loc}[{st.source}]"]
                factor = kx * (coop if st.cooperative else 1.0)
                r(
                    st.forward_multiplicity * kon * kon_f * factor,
                    i_c,
                    i_r,
                    {i_c: -1, i_r: -1, i_p: +1},
                )
                r(k_rev, i_p, -1, {i_p: -1, i_r: +1, i_c: +1})

    # trafficking
    r0 = {k: float(receptors.get(k, 0.0)) for k in kinds}
    out_rate = traf.recycling_per_min + traf.degradation_per_min
    for kind in kinds:
        i_s, i_e = idx[f"R_{kind}"], idx[f"Re_{kind}"]
        r(traf.endocytosis_free_per_min, i_s, -1, {i_s: -1, i_e: +1})
        r(traf.recycling_per_min, i_e, -1, {i_e: -1, i_s: +1})
        r(traf.degradation_per_min, i_e, -1, {i_e: -1})
        if kind in traf.synthesis_per_min:
            v = traf.synthesis_per_min[kind]
        elif out_rate > 0:
            v = r0[kind] * traf.endocytosis_free_per_min * traf.degradation_per_min / out_rate
        else:
            v = 0.0
        r(v, -1, -1, {i_s: +1})
        k_ind = traf.induced_synthesis_per_complex.get(kind, 0.0)
        for name in scheme.complexes:
            i_c = idx[f"C[{name}]"]
            if signaling[i_c] > 0:
                r(k_ind * signaling[i_c], i_c, -1, {i_s: +1})
    for name in scheme.complexes:
        i_s, i_e = idx[f"C[{name}]"], idx[f"Ce[{name}]"]
        k_endo = (
            traf.endocytosis_active_per_min if signaling[i_s] > 0 else traf.endocytosis_free_per_min
        )
        r(k_endo, i_s, -1, {i_s: -1, i_e: +1})
        r(traf.recycling_per_min, i_e, -1, {i_e: -1, i_s: +1})
        r(traf.degradation_per_min, i_e, -1, {i_e: -1, iLd: +1})
    r(traf.ligand_exocytosis_per_min / psi, iLi, -1, {iLi: -psi, iL: +phi})

    y0 = np.zeros(n_sp)
    for kind in kinds:
        y0[idx[f"R_{kind}"]] = r0[kind]
        if out_rate > 0:
            y0[idx[f"Re_{kind}"]] = r0[kind] * traf.endocytosis_free_per_min / out_rate
    y0[iL] = conc_nM
    stoich = np.zeros((n_sp, len(rxn)))
    for j, (_, _, _, change) in enumerate(rxn):
        for i, v in change.items():
            stoich[i, j] += v
    return _Network(
        species=species,
        signaling=signaling,
        endosomal=endosomal,
        k=np.array([x[0] for x in rxn]),
        r1=np.array([x[1] for x in rxn], dtype=int),
        r2=np.array([x[2] for x in rxn], dtype=int),
        stoich=stoich,
        y0=y0,
    )


def simulate_kinetics(
    drug: Drug | BindingDesign | str,
    cell: Cell | str | Mapping[str, float],
    conc_nM: float,
    t_min: Sequence[float] | np.ndarray,
    *,
    params: SignalingParams | None = None,
    trafficking: Trafficking | None = None,
    cells_per_L: float | None = None,
    constant_ligand: bool = True,
    pd1_blockade: bool = False,
    initial: Mapping[str, float] | None = None,
    kon_per_nM_min: float | None = None,
    rtol: float = 1e-8,
    atol: float = 1e-10,
) -> KineticResult:
    """Time course of binding, trafficking and pSTAT5 after adding ``conc_nM`` drug at t = 0.

    ``constant_ligand`` keeps the medium concentration fixed (cells in excess medium, the
    assay condition); give ``cells_per_L`` and ``constant_ligand=False`` to let cells deplete it.
    ``initial`` overrides initial amounts by species name (see ``KineticResult.species``).
    """
    design = as_design(get_drug(drug) if isinstance(drug, str) else drug)
    if isinstance(cell, Mapping):
        cell_obj: Cell | dict[str, float] = dict(cell)
        cell_label = "custom"
    else:
        cell_obj = get_cell(cell)
        cell_label = cell_obj.name
    vector = cell_receptor_vector(cell_obj, KINDS, pd1_blockade=pd1_blockade)
    receptors = dict(zip(KINDS, vector, strict=True))
    if not conc_nM >= 0:
        raise ValueError(f"conc_nM must be >= 0, got {conc_nM}")
    t = np.asarray(t_min, dtype=float)
    if t.ndim != 1 or t.size < 2 or np.any(np.diff(t) <= 0) or t[0] < 0:
        raise ValueError("t_min must be an increasing list of at least two times >= 0 (minutes)")
    p = params or signaling_params()
    tr = Transduction.from_params(p)
    kon = kon_per_nM_min if kon_per_nM_min is not None else p.kon_per_nM_min.value
    traf = trafficking or Trafficking.none()
    deplete = not constant_ligand
    if deplete and cells_per_L is None:
        raise ValueError("constant_ligand=False needs cells_per_L (cells per litre of medium)")
    net = _build(design, receptors, conc_nM, tr, kon, traf, cells_per_L if deplete else None)
    y0 = net.y0.copy()
    for name, value in (initial or {}).items():
        if name not in net.species:
            raise ValueError(f"initial: unknown species {name!r}; species are {net.species}")
        y0[net.species.index(name)] = value
    iL = net.species.index("L_nM")
    fixed = np.zeros(len(y0), dtype=bool)
    fixed[iL] = not deplete
    S = net.stoich.copy()
    S[fixed] = 0.0
    has2 = net.r2 >= 0
    has1 = net.r1 >= 0

    def rates(y: np.ndarray) -> np.ndarray:
        x1 = np.where(has1, y[np.maximum(net.r1, 0)], 1.0)
        x2 = np.where(has2, y[np.maximum(net.r2, 0)], 1.0)
        return net.k * x1 * x2

    def rhs(_t: float, y: np.ndarray) -> np.ndarray:
        return S @ rates(y)

    def jac(_t: float, y: np.ndarray) -> np.ndarray:
        d = np.zeros((len(net.k), len(y)))
        rows = np.arange(len(net.k))
        x1 = np.where(has1, y[np.maximum(net.r1, 0)], 1.0)
        x2 = np.where(has2, y[np.maximum(net.r2, 0)], 1.0)
        np.add.at(d, (rows[has1], net.r1[has1]), (net.k * x2)[has1])
        np.add.at(d, (rows[has2], net.r2[has2]), (net.k * x1)[has2])
        return S @ d

    t0 = min(0.0, t[0])
    sol = solve_ivp(rhs, (t0, t[-1]), y0, method="BDF", t_eval=t, jac=jac, rtol=rtol, atol=atol)
    if not sol.success or not np.all(np.isfinite(sol.y)):
        raise KineticError(
            f"kinetic integration failed for drug {design.name!r} on cell {cell_label!r} at "
            f"conc_nM={conc_nM:g} near t={sol.t[-1] if sol.t.size else t0:g} min: {sol.message}"
        )
    return KineticResult(
        t_min=sol.t,
        species=tuple(net.species),
        y=sol.y.T,
        signaling_bonds=net.signaling,
        endosomal=net.endosomal,
        transduction=tr,
    )


#: Doses for kinetic EC50 estimates: 1e-5 to 1e3 nM, 3 per decade.
KINETIC_DOSES_nM = np.logspace(-5, 3, 25)


def kinetic_potency(
    drug: Drug | BindingDesign | str,
    cells: Sequence[Cell | str],
    *,
    time_min: float,
    params: SignalingParams | None = None,
    trafficking: Trafficking | None = None,
    pd1_blockade: bool = False,
) -> pd.DataFrame:
    """EC50 (nM) and Emax of pSTAT5 at ``time_min`` after adding the drug (kinetic model,
    Fallon 2000 trafficking unless given). Columns: drug, cell, ec50_nM, emax."""
    from il2sim.binding._signal import ec50_emax

    design = as_design(get_drug(drug) if isinstance(drug, str) else drug)
    traf = trafficking or Trafficking.fallon2000()
    rows = []
    for cell in cells:
        cell_obj = get_cell(cell)
        resp = np.array(
            [
                simulate_kinetics(
                    design,
                    cell_obj,
                    c,
                    [0.0, time_min],
                    params=params,
                    trafficking=traf,
                    pd1_blockade=pd1_blockade,
                ).pstat5()[-1]
                for c in KINETIC_DOSES_nM
            ]
        )
        ec50, emax = ec50_emax(KINETIC_DOSES_nM, resp)
        rows.append(
            {
                "drug": design.name,
                "cell": cell_obj.name,
                "ec50_nM": float(ec50),
                "emax": float(emax),
            }
        )
    return pd.DataFrame(rows)
