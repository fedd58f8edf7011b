"""Every StatsD metric name the code can emit, read from the source: each `.incr/.decr/.gauge/.timing/.timer` call.

A name is a string, an f-string or a module constant; each f-string placeholder stands for one or more StatsD name
components and is filled with sample values (the real Flask endpoints for `endpoint`, which contain a dot).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

METHODS = {"incr", "decr", "gauge", "timing", "timer"}
GENERIC_SAMPLE = "sample"


@dataclass(frozen=True)
class Emission:
    """One call site: where it is and its name as parts (str) and placeholders (their source text)."""

    where: str
    parts: tuple[str | tuple[str], ...]

    @property
    def template(self) -> str:
        """The name with each placeholder as {source}."""
        return "".join(p if isinstance(p, str) else "{" + p[0] + "}" for p in self.parts)

    def samples(self, values: Mapping[str, Sequence[str]]) -> list[str]:
        """Concrete names: every combination of the known values of each placeholder (others: one sample)."""
        names = [""]
        for part in self.parts:
            options = [part] if isinstance(part, str) else list(values.get(part[0], [GENERIC_SAMPLE]))
            names = [name + option for name in names for option in options]
        return names


@dataclass(frozen=True)
class Unreadable:
    """A call site whose metric name is not a string, an f-string or a module constant."""
    where: str
    source: str


def _constants(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def _parts(node: ast.expr, constants: Mapping[str, str]) -> tuple[str | tuple[str], ...] | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, ast.Name) and node.id in constants:
        return (constants[node.id],)
    if isinstance(node, ast.JoinedStr):
        parts: list[str | tuple[str]] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                inner = value.value
                if isinstance(inner, ast.Name) and inner.id in constants:
                    parts.append(constants[inner.id])
                else:
                    parts.append((ast.unparse(inner),))
        return tuple(parts)
    return None


def _choices(node: ast.expr) -> list[ast.expr]:
    """`a if cond else b` names either a or b."""
    if isinstance(node, ast.IfExp):
        return _choices(node.body) + _choices(node.orelse)
    return [node]


def scan(files: Iterable[Path], root: Path) -> tuple[list[Emission], list[Unreadable]]:
    """The emissions in files, and the call sites whose name this scanner cannot read."""
    emissions: list[Emission] = []
    unreadable: list[Unreadable] = []
    for path in sorted(files):
        tree = ast.parse(path.read_text(), filename=str(path))
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in METHODS or not node.args:
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            for choice in _choices(node.args[0]):
                parts = _parts(choice, constants)
                if parts is None:
                    unreadable.append(Unreadable(where, ast.unparse(node)))
                else:
                    emissions.append(Emission(where, parts))
    return emissions, unreadable
