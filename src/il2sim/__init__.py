"""il2sim: mechanistic simulation of IL-2 immunotherapy, from receptor binding on single cells
to virtual clinical trials.

Layers (imports point down): ``catalog`` (sourced data) -> ``binding`` (receptor binding and
pSTAT5) -> ``model`` (the body as a reaction network, SBML) -> ``simulate`` (engines, PK, NCA,
therapy runs) -> ``cohort`` (virtual patients and trials) -> ``analysis`` (fitting,
sensitivity, design) -> ``report`` -> ``cli`` and ``web``.
"""

from il2sim import binding, catalog

__version__ = "0.1.0"
__all__ = ["__version__", "binding", "catalog"]
