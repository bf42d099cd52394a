"""Drop from a network what the wanted outputs do not need, so that the solver carries fewer
states and evaluates fewer readouts per step (a virtual trial reads only tumour size and the
toxicity indices; a therapy report reads everything).

Exact: every remaining state follows the same equations. Removed are readouts (rules) that no
rate, rate rule, event, initial assignment, kept id or other needed readout reads, and
accumulating species (internalised or eliminated drug): only ever produced, read by nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable

from il2sim.model._network import Network

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _ids(text: str | None) -> set[str]:
    return set(_TOKEN.findall(text or ""))


def prune(net: Network, keep: Iterable[str]) -> Network:
    """A copy of ``net`` without readouts and accumulating species that ``keep`` (ids to be
    selected in simulations) and the dynamics do not need."""
    keep = set(keep)
    unknown = keep - set(net.species) - set(net.parameters) - set(net.compartments)
    if unknown:
        raise KeyError(f"prune: unknown ids to keep: {sorted(unknown)}")
    out = copy.deepcopy(net)
    dynamics = [r.rate for r in out.reactions.values()]
    dynamics += list(out.rate_rules.values())
    dynamics += [s.initial_assignment for s in out.species.values() if s.initial_assignment]
    for ev in out.events.values():
        dynamics += [ev.trigger, *ev.assignments.values()]
    read = set(keep).union(*(_ids(t) for t in dynamics))
    todo = [v for v in out.rules if v in read]
    while todo:  # readouts that needed readouts read
        for ref in _ids(out.rules[todo.pop()].formula):
            if ref in out.rules and ref not in read:
                todo.append(ref)
            read.add(ref)
    for v in [v for v in out.rules if v not in read]:
        del out.rules[v]
        del out.parameters[v]
    consumed = {s for r in out.reactions.values() for s in r.reactants}
    assigned = set(out.rate_rules).union(*(ev.assignments for ev in out.events.values()))
    for sp in [s for s in out.species if s not in read | consumed | assigned]:
        for r in out.reactions.values():
            r.products.pop(sp, None)
        del out.species[sp]
    return out
