"""Imports point down: catalog <- binding <- model <- simulate <- report <- cli."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "il2sim"
ORDER = [
    "catalog",
    "binding",
    "model",
    "simulate",
    "cohort",
    "analysis",
    "report",
    "web",
    "cli",
]


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("il2sim."):
            out.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "il2sim":
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("il2sim."))
    return out


@pytest.mark.parametrize("layer", ORDER)
def test_lower_layers_never_import_higher_ones(layer: str) -> None:
    files = sorted((SRC / layer).rglob("*.py"))
    higher = set(ORDER[ORDER.index(layer) + 1 :])
    for f in files:
        bad = _imports(f) & higher
        assert not bad, f"{f.relative_to(SRC)} imports higher layer(s) {sorted(bad)}"


def test_immunity_is_built_from_small_motifs() -> None:
    """The immunity layer is a list of motifs (one per biological process), none a cupboard;
    no function anywhere in src/ is over 120 lines."""
    from il2sim.model._immunity import MOTIFS

    assert [m.__name__ for m in MOTIFS][:2] == ["cell_states", "treg_suppression"]
    for f in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.FunctionDef):
                length = node.end_lineno - node.lineno + 1
                assert length <= 120, f"{f.name}:{node.name} is {length} lines"


def _private_imports(path: Path) -> set[str]:
    """Modules of other layers imported by their private name (il2sim.<layer>._module)."""
    own = path.relative_to(SRC).parts[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            private = len(parts) > 2 and parts[2].startswith("_")
            if parts[0] == "il2sim" and private and parts[1] != own:
                out.add(name)
    return out


def test_layers_use_each_others_public_names_only() -> None:
    """A layer's private modules are its own: others import what its __init__ exports."""
    bad = {
        str(f.relative_to(SRC)): sorted(_private_imports(f))
        for f in sorted(SRC.rglob("*.py"))
        if _private_imports(f)
    }
    assert not bad, bad
