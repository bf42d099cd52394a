"""Every code block in the README and the documentation does what it shows: Python blocks run,
YAML drug files load, and every ``il2sim`` command line names a real command with real options
and values its parsers accept (parsed, not run: some are hour-long trials)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
import typer

from il2sim import catalog
from il2sim.cli import app

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def _blocks(lang: str) -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for i, m in enumerate(FENCE.finditer(page.read_text())):
            if m.group(1) == lang:
                out.append((f"{page.relative_to(ROOT)}[{i}]", m.group(2)))
    return out


def _command_lines() -> list[tuple[str, str]]:
    """``il2sim ...`` lines of the plain (shell) blocks, comments and ``[optional]`` parts cut."""
    out = []
    for where, text in _blocks(""):
        for line in text.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("il2sim "):
                line = re.sub(r"\s+#.*$", "", line)
                out.append((where, re.sub(r"\s*\[[^\]]*\]", "", line)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("where", "code"), _blocks("python"), ids=[w for w, _ in _blocks("python")]
)
def test_python_blocks_run(where: str, code: str, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)  # blocks may name files of the repository (tests/data/...)
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})


@pytest.mark.parametrize(("where", "text"), _blocks("yaml"), ids=[w for w, _ in _blocks("yaml")])
def test_yaml_blocks_are_valid_drug_files(where: str, text: str, tmp_path) -> None:
    path = tmp_path / "drug.yaml"
    path.write_text(text)
    assert catalog.load_drug_file(path).name


COMMAND_LINES = _command_lines()


def test_the_docs_show_every_command() -> None:
    shown = {shlex.split(line)[1] for _, line in COMMAND_LINES}
    group = typer.main.get_command(app)
    missing = set(group.commands) - shown - {"drugs", "cells", "demo", "web"}  # type: ignore[attr-defined]
    assert not missing, f"commands without an example in the README or docs: {sorted(missing)}"


@pytest.mark.parametrize(("where", "line"), COMMAND_LINES, ids=[line for _, line in COMMAND_LINES])
def test_command_lines_parse(where: str, line: str) -> None:
    group = typer.main.get_command(app)
    name, *rest = shlex.split(line)[1:]
    cmd = group.commands.get(name)  # type: ignore[attr-defined]
    assert cmd is not None, f"{where}: unknown command in {line!r}"
    try:
        cmd.make_context(name, rest)
    except click.UsageError as e:
        pytest.fail(f"{where}: {line!r}: {e.format_message()}")
