"""il2sim: mechanistic simulation of IL-2 immunotherapy, from receptor binding on single cells
to virtual clinical trials.

Layers (imports point down): ``catalog`` (sourced data) -> ``binding`` (receptor binding and
pSTAT5) -> ``report`` and ``cli``.
"""

from il2sim import binding, catalog

__version__ = "0.1.0"
__all__ = ["__version__", "binding", "catalog"]
