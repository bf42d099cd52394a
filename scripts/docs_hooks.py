"""MkDocs hook: writes the command-line reference (each command's ``--help``) into the page
that holds the ``<!-- cli-reference -->`` marker, so the site never describes flags the code
does not have."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

MARKER = "<!-- cli-reference -->"


def _help(args: list[str]) -> str:
    from il2sim.cli import app

    result = CliRunner().invoke(
        app,
        [*args, "--help"],
        prog_name="il2sim",
        env={"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"},
    )
    if result.exit_code != 0:
        raise RuntimeError(f"il2sim {' '.join(args)} --help exited {result.exit_code}")
    return result.output.rstrip()


def cli_reference() -> str:
    """Markdown: the top-level help, then one section per command in registration order."""
    from il2sim.cli import app

    group = typer.main.get_command(app)
    parts = ["```text", _help([]), "```"]
    for name in group.commands:  # type: ignore[attr-defined]
        parts += ["", f"## `il2sim {name}`", "", "```text", _help([name]), "```"]
    return "\n".join(parts)


def on_page_markdown(markdown: str, **_: object) -> str:
    return markdown.replace(MARKER, cli_reference()) if MARKER in markdown else markdown
