"""The `il2sim` command line, one module per command group (each registers its commands on
the shared :data:`app`, in the order `il2sim --help` lists them); it calls only the public
entry points of the layers below."""

# isort: off
# Registration order is the order of the help: catalog and signaling, exposure, therapy,
# virtual patients, analysis.
from il2sim.cli._app import app
from il2sim.cli import _receptors  # noqa: F401
from il2sim.cli import _exposure  # noqa: F401
from il2sim.cli import _therapy  # noqa: F401
from il2sim.cli import _cohorts  # noqa: F401
from il2sim.cli import _analysis  # noqa: F401

# isort: on

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app()
