"""The `il2sim` application and what every command shares: consoles, the one-line error,
progress bars and checks of output paths and worker counts."""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from il2sim import catalog

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="il2sim: mechanistic simulation of IL-2 immunotherapy.",
)


# Messages are printed verbatim: no markup, emoji codes or highlighting (a solver log's
# "[/path]" or a range "[low, high]" is text, not a style).
def _plain_console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 160
    return Console(stderr=stderr, width=width, markup=False, emoji=False, highlight=False)


console = _plain_console()
err_console = _plain_console(stderr=True)


def _show_version(value: bool) -> None:
    if value:
        from il2sim import __version__
        from il2sim.simulate import source_digest

        console.print(f"il2sim {__version__} (code and catalog digest {source_digest()[:12]})")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="print the version and exit", is_eager=True, callback=_show_version
        ),
    ] = False,
) -> None:
    """il2sim: mechanistic simulation of IL-2 immunotherapy."""


_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def plain_float(text: str) -> float:
    """A number flag as a person writes one: ASCII digits, a point, an exponent. Python's
    float() also takes '1_000', other scripts' digits, 'nan' and 'inf': refused here."""
    t = str(text).strip()
    if not (t.isascii() and _PLAIN_NUMBER.fullmatch(t)):
        raise typer.BadParameter(f"{text!r} is not a plain decimal number (e.g. 70 or 1.5e3)")
    value = float(t)
    if not math.isfinite(value):
        raise typer.BadParameter(f"{text!r} is too large")
    return value


def _fail(message: str) -> typer.Exit:
    err_console.print(Text.assemble(("error:", "bold red"), " ", message))
    return typer.Exit(code=2)


def _progress(transient: bool = False):
    """A progress bar whose descriptions are plain text (names may hold brackets)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def _check_workers(workers: int) -> None:
    from il2sim.simulate import MAX_WORKERS

    if not 1 <= workers <= MAX_WORKERS:
        raise _fail(
            f"--workers must be between 1 and {MAX_WORKERS} (twice this machine's cores), "
            f"got {workers}"
        )


def _check_out(out: Path) -> None:
    """Refuse an output folder that cannot be written before anything is computed."""
    from il2sim import simulate

    try:
        simulate.check_output_folder(out)
    except simulate.RunFolderError as e:
        raise _fail(str(e)) from None


def _check_plot(plot: Path | None) -> None:
    """Refuse a --plot path that is not a writable .png file before anything is computed."""
    if plot is not None:
        _check_output_file(plot, ".png", "--plot")


def _check_output_file(path: Path, suffix: str, flag: str) -> None:
    """Refuse an output path that is not a writable ``suffix`` file before anything runs."""
    import os

    if path.is_dir() or path.suffix.lower() != suffix:
        raise _fail(f"{flag}: give a file name ending in {suffix}, got {path}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise _fail(f"{flag}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise _fail(f"{flag}: cannot write {path} (permission denied)")


def _say(message: str) -> None:
    err_console.print(f"note: {message}")


def _print_frame(frame, title: str, digits: int = 3) -> None:
    """A table (DataFrame) on the console, floats to ``digits`` significant figures."""
    t = Table(title=title)
    for col in frame.columns:
        t.add_column(str(col))
    for _, row in frame.iterrows():
        t.add_row(*(f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in row))
    console.print(t)


def _fmt_kd(v: catalog.Sourced | None) -> str:
    return "none" if v is None else f"{v.value:.3g}"


def _antibody_pairs(names: list[str], regimens: list[str]) -> list[tuple[str, str]]:
    if len(names) != len(regimens):
        raise _fail(
            f"give one --antibody-regimen per --antibody ({len(names)} antibodies, "
            f"{len(regimens)} regimens), e.g. --antibody nivolumab --antibody-regimen '240 mg q2w'"
        )
    for n in names:
        if n not in catalog.antibodies():
            raise _fail(
                f"--antibody: unknown {n!r}; known: {', '.join(sorted(catalog.antibodies()))}"
            )
    for r in regimens:
        try:
            catalog.parse_regimen(r)
        except catalog.RegimenError as e:
            raise _fail(f"--antibody-regimen: {e}") from None
    return list(zip(names, regimens, strict=True))


def _default_out(stem: str, name: str) -> Path:
    """``stem/NAME``: each scenario or cohort has its own default folder, so runs of two
    scenarios never share one unless the user asks."""
    return Path(stem) / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "run")


_POPULATION_HELP = (
    "vpop (shipped virtual population), distribution, plausible, or a .csv file of patients "
    "(a selected population; its columns and values must fit the cohort's variability)"
)


CohortArg = Annotated[str, typer.Argument(metavar="COHORT", help="built-in cohort or cohort YAML")]


PatientsOpt = Annotated[
    int | None,
    typer.Option(help="number of virtual patients (default: the whole virtual population)"),
]


SeedOpt = Annotated[int, typer.Option(help="seed of the draw")]


WorkersOpt = Annotated[int, typer.Option(help="Dask LocalCluster processes (1 = in this process)")]


SchedulerOpt = Annotated[str | None, typer.Option(help="address of an existing Dask scheduler")]


PopulationOpt = Annotated[str | None, typer.Option(help=_POPULATION_HELP)]


EngineOpt = Annotated[
    str,
    typer.Option(
        help="how the models are solved: roadrunner (libRoadRunner, dense LU; the default, "
        "with which the virtual populations were validated), sparse (CVODES with sparse LU and "
        "the exact Jacobian, via CasADi: faster on the large IL-2 arms, slower on the small "
        "ones), or auto (sparse for the arms with the larger models); README, Benchmarks"
    ),
]


FullModelOpt = Annotated[
    bool,
    typer.Option(
        help="bind endogenous IL-2 in every compartment (the therapy model), not only in the "
        "tumour: 2-5x slower, to check the trial model"
    ),
]
