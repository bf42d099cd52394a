"""The reaction scheme of one multivalent drug binding one cell's receptors.

A complex is a bound configuration of one drug molecule: for each unit, a multiset of copy
states (which sites of that copy are bound). Bonds form either from solution (the first bond,
rate ``multiplicity * kon``) or on the cell surface between an already bound molecule and a
further receptor (rate ``count * kon * Kx``, times the unit's cooperativity when a second site
of the same unit copy binds). Each bond breaks with ``koff = kon * Kd`` per bond. The scheme is
the same in a dish (the kinetic model) and in the body (the whole-body network); only where the
species live and how rates are scaled differ.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from il2sim.binding._design import SIGNALING_KIND, BindingDesign


@dataclass(frozen=True)
class BindingStep:
    """One reversible bond formation.

    ``source`` is ``None`` for the first bond (free drug from solution), else the complex that
    binds a further receptor on the cell. Forward rate constant: ``forward_multiplicity * kon``
    from solution, or ``forward_multiplicity * kon * Kx`` (times cooperativity when
    ``cooperative``) on the surface. Reverse: ``reverse_multiplicity * kon * kd_nM``.
    """

    source: str | None
    receptor: str
    product: str
    kd_nM: float
    forward_multiplicity: int
    reverse_multiplicity: int
    cooperative: bool


@dataclass(frozen=True)
class BindingScheme:
    """Receptor kinds, complexes (with their engaged signaling receptors) and binding steps."""

    kinds: tuple[str, ...]
    complexes: tuple[str, ...]
    signaling_bonds: dict[str, int]
    receptor_bonds: dict[str, dict[str, int]]
    steps: tuple[BindingStep, ...]


def _unit_states(
    sites: Sequence[int], copies: int
) -> list[tuple[tuple[tuple[int, ...], int], ...]]:
    """Multisets of ``copies`` unit-copy states (bound-site subsets); each a tuple of
    (subset, count) with count > 0 (the all-free copies implied)."""
    subsets = [c for r in range(1, len(sites) + 1) for c in itertools.combinations(sites, r)]
    out = []
    for combo in itertools.combinations_with_replacement(range(len(subsets) + 1), copies):
        counts: dict[tuple[int, ...], int] = {}
        for i in combo:
            if i < len(subsets):
                counts[subsets[i]] = counts.get(subsets[i], 0) + 1
        out.append(tuple(sorted(counts.items())))
    return sorted(set(out))


def binding_scheme(design: BindingDesign) -> BindingScheme:
    """Enumerate the complexes and bond-forming steps of ``design``.

    Complex names read ``"1x0(IL2RA+IL2RBG)"``: one copy of unit 0 bound by IL-2Ralpha and
    IL-2Rbeta/gamma-c; several unit states are joined by commas.
    """
    site_unit, slots, mult = design.layout()
    active = {s: sl for s, sl in enumerate(slots) if sl is not None}  # site -> (kind, Kd)
    active_sites = list(active)
    kinds = tuple(sorted({active[s][0] for s in active_sites} | {SIGNALING_KIND}))
    units = sorted({site_unit[s] for s in active_sites})
    per_unit = {
        u: _unit_states([s for s in active_sites if site_unit[s] == u], mult[u]) for u in units
    }
    configs = [c for c in itertools.product(*(per_unit[u] for u in units)) if any(c)]

    label = {}
    for s in active_sites:
        same = [
            t for t in active_sites if site_unit[t] == site_unit[s] and active[t][0] == active[s][0]
        ]
        label[s] = active[s][0] if len(same) == 1 else f"{active[s][0]}{same.index(s) + 1}"

    def cname(cfg: tuple) -> str:
        parts = []
        for u, ustate in zip(units, cfg, strict=True):
            for subset, n in ustate:
                parts.append(f"{n}x{u}({'+'.join(label[s] for s in subset)})")
        return ",".join(parts)

    names = [cname(c) for c in configs]
    receptor_bonds: dict[str, dict[str, int]] = {}
    for cfg, name in zip(configs, names, strict=True):
        bonds: dict[str, int] = {}
        for ustate in cfg:
            for subset, n in ustate:
                for s in subset:
                    bonds[active[s][0]] = bonds.get(active[s][0], 0) + n
        receptor_bonds[name] = bonds
    signaling = {n: receptor_bonds[n].get(SIGNALING_KIND, 0) for n in names}

    steps: list[BindingStep] = []
    for cfg in configs:
        for ui, u in enumerate(units):
            state = dict(cfg[ui])
            free_copies = mult[u] - sum(state.values())
            unit_sites = [s for s in active_sites if site_unit[s] == u]
            for subset, count in [((), free_copies), *state.items()]:
                if count <= 0:
                    continue
                for s in unit_sites:
                    if s in subset:
                        continue
                    new = dict(state)
                    if subset:
                        new[subset] -= 1
                        if new[subset] == 0:
                            del new[subset]
                    ns = tuple(sorted((*subset, s)))
                    new[ns] = new.get(ns, 0) + 1
                    cfg2 = tuple(
                        tuple(sorted(new.items())) if j == ui else cfg[j] for j in range(len(units))
                    )
                    steps.append(
                        BindingStep(
                            source=cname(cfg),
                            receptor=active[s][0],
                            product=cname(cfg2),
                            kd_nM=active[s][1],
                            forward_multiplicity=count,
                            reverse_multiplicity=new[ns],
                            cooperative=len(subset) == 1 and len(unit_sites) > 1,
                        )
                    )
    for ui, u in enumerate(units):
        for s in [s for s in active_sites if site_unit[s] == u]:
            cfg1 = tuple(((((s,), 1),) if j == ui else ()) for j in range(len(units)))
            steps.append(
                BindingStep(
                    source=None,
                    receptor=active[s][0],
                    product=cname(cfg1),
                    kd_nM=active[s][1],
                    forward_multiplicity=mult[u],
                    reverse_multiplicity=1,
                    cooperative=False,
                )
            )
    return BindingScheme(
        kinds=kinds,
        complexes=tuple(names),
        signaling_bonds=signaling,
        receptor_bonds=receptor_bonds,
        steps=tuple(steps),
    )
