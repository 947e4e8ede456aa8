"""The layer order of docs/architecture.md holds: no module imports from a later layer or a sibling package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ganaug"


def layers() -> list[list[str]]:
    """The layers stated in docs/architecture.md, first to last, each a list of package or module names."""
    text = (REPO / "docs" / "architecture.md").read_text()
    (line,) = re.findall(r"^layers: (.+)$", text, flags=re.M)
    return [[name.strip() for name in layer.split(",")] for layer in line.split("->")]


def rank() -> dict[str, int]:
    return {name: i for i, layer in enumerate(layers()) for name in layer}


def imports(path: Path) -> list[str]:
    """The ganaug top-level names a module imports (ganaug.flow.stages -> flow)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
        names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
        out += [n.split(".")[1] for n in names if n.startswith("ganaug.")]
    return out


def violations(package: Path, order: dict[str, int]) -> list[str]:
    """'module imports other' for every import that points to a later layer or a sibling."""
    bad = []
    for path in sorted(package.rglob("*.py")):
        me = path.relative_to(package).parts[0].removesuffix(".py")
        if me in ("__init__", "__main__"):
            continue
        for other in imports(path):
            if other != me and order[other] >= order[me]:
                bad.append(f"{path.relative_to(package.parent)} imports ganaug.{other}")
    return bad


def test_every_package_has_a_layer() -> None:
    order = rank()
    names = {p.name.removesuffix(".py") for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    assert names - {"__init__", "__main__"} == set(order)


def test_no_import_breaks_the_layer_order() -> None:
    assert violations(PACKAGE, rank()) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    fake = tmp_path / "ganaug"
    for name, body in (("errors.py", ""), ("data/__init__.py", "from ganaug.flow import run\n"), ("flow/run.py", "")):
        (fake / name).parent.mkdir(parents=True, exist_ok=True)
        (fake / name).write_text(body)
    order = {"errors": 0, "data": 1, "flow": 2}
    assert violations(fake, order) == ["ganaug/data/__init__.py imports ganaug.flow"]
    (fake / "data" / "__init__.py").write_text("import ganaug.errors\n")
    assert violations(fake, order) == []


@pytest.mark.parametrize("sibling", [("gan", "synth"), ("quality", "auto")])
def test_siblings_share_a_layer(sibling: tuple[str, str]) -> None:
    order = rank()
    assert order[sibling[0]] == order[sibling[1]]
