"""The whole body as a reaction network (PK compartments, dosing, receptor binding on every
cell population, checkpoint antibodies), exported as SBML with units; and classic models.
"""

from il2sim.model._body import (
    BodyModel,
    Form,
    PopulationSite,
    antibody_boluses,
    build_body_model,
    build_scenario_model,
    dosed_ng,
    sid,
)
from il2sim.model._classics import KP1998_PARAMETERS, kirschner_panetta_1998
from il2sim.model._exchange import (
    ExchangeError,
    simulation_sedml,
    to_antimony,
    write_combine_archive,
)
from il2sim.model._immunity import build_arm_model
from il2sim.model._network import Network, NetworkError, Species
from il2sim.model._prune import prune
from il2sim.model._sbml import SBMLError, add_dosing, check_sbml, to_sbml

__all__ = [
    "KP1998_PARAMETERS",
    "BodyModel",
    "ExchangeError",
    "Form",
    "Network",
    "NetworkError",
    "PopulationSite",
    "SBMLError",
    "Species",
    "add_dosing",
    "antibody_boluses",
    "build_arm_model",
    "build_body_model",
    "build_scenario_model",
    "check_sbml",
    "dosed_ng",
    "kirschner_panetta_1998",
    "prune",
    "sid",
    "simulation_sedml",
    "to_antimony",
    "to_sbml",
    "write_combine_archive",
]
