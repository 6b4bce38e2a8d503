"""Imports flow one way (the style guide's layering): every module of deblur/ is read with ``ast`` and each
``deblur`` import it makes, at the top or inside a function, is checked against the layering rules below.

The checker works on source text, so a test feeds it a fake module and checks that it catches the violation.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deblur"


@dataclass(frozen=True)
class Rule:
    """Modules under any of ``modules`` may import from deblur only ``allowed`` (when given) and never ``forbidden``.

    Names are dotted prefixes: ``deblur.ops`` covers ``deblur.ops`` and ``deblur.ops.conv``; a name in
    ``forbidden_exactly`` is forbidden alone, not its submodules (the root ``deblur``, which imports everything).
    """

    modules: tuple[str, ...]
    why: str
    allowed: tuple[str, ...] | None = None
    forbidden: tuple[str, ...] = ()
    exempt: tuple[str, ...] = ()
    forbidden_exactly: tuple[str, ...] = ()


RULES = (
    Rule(
        ("deblur.ops",),
        "ops is the bottom layer: torch, kornia, numpy and deblur.errors only",
        allowed=("deblur.ops", "deblur.errors"),
    ),
    Rule(
        ("deblur.nets", "deblur.losses", "deblur.metrics"),
        "nets, losses and metrics build on ops only",
        allowed=("deblur.ops", "deblur.nets", "deblur.errors"),
    ),
    Rule(
        ("deblur.device", "deblur.errors", "deblur.io"),
        "device, errors and io sit below everything and import only deblur.errors",
        allowed=("deblur.errors",),
    ),
    Rule(
        ("deblur.config",),
        "config sits below everything: its modules import only each other and deblur.errors",
        allowed=("deblur.config", "deblur.errors"),
    ),
    Rule(
        ("deblur.restoration",),
        "restoration needs nets, ops, io and weights, never synthesis, training, data or benchmarks",
        forbidden=("deblur.synth", "deblur.train", "deblur.data", "deblur.bench"),
    ),
    Rule(
        ("deblur",),
        "the package root imports the modules, not the reverse: the version is in deblur.version",
        forbidden_exactly=("deblur",),
        exempt=("deblur.__main__", "deblur.cli"),
    ),
    Rule(
        ("deblur.synth",),
        "synth sits below data and train",
        forbidden=("deblur.data", "deblur.train", "deblur.bench", "deblur.cli"),
    ),
    Rule(
        ("deblur",),
        "the CLI imports anything and nothing imports the CLI",
        forbidden=("deblur.cli",),
        exempt=("deblur.__main__", "deblur.cli"),
    ),
)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``deblur/ops/conv.py`` -> ``deblur.ops.conv``; a package's ``__init__.py`` -> the package's name."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool, known: set[str]) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in ``source``, in functions too; relative imports resolved.

    ``from a import b`` counts as importing ``a.b`` when that is a module in ``known``, else ``a``. Calls of
    ``importlib.import_module("...")`` and ``__import__("...")`` with a literal name count too.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.append((node.lineno, candidate if candidate in known else base))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return sorted(set(found))


def violations(module: str, imports: list[tuple[int, str]], rules: tuple[Rule, ...] = RULES) -> list[str]:
    """One line per import of ``module`` that breaks a rule: where, what, and which rule."""
    # the first-level unit: deblur.ops for deblur.ops.conv, whose modules may import each other
    unit = ".".join(module.split(".")[:2]) if module != "deblur" else None
    out = []
    for line, name in imports:
        if not _within(name, ("deblur",)) or (unit is not None and _within(name, (unit,))):
            continue
        for rule in rules:
            if not _within(module, rule.modules) or _within(module, rule.exempt):
                continue
            if (
                (rule.allowed is not None and not _within(name, rule.allowed))
                or _within(name, rule.forbidden)
                or name in rule.forbidden_exactly
            ):
                out.append(f"{module} (line {line}) imports {name}: {rule.why}")
    return out


def _modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_one_way(module: str) -> None:
    path = MODULES[module]
    imports = imported_modules(path.read_text(), module, path.name == "__init__.py", set(MODULES))
    problems = violations(module, imports)
    assert not problems, "layering violations:\n" + "\n".join(problems)


def test_modules_found() -> None:
    assert {"deblur.ops.conv", "deblur.ops.pyramid", "deblur.nets.blocks", "deblur.synth.kernels"} <= set(MODULES)


def test_checker_catches_violations() -> None:
    known = {"deblur.ops", "deblur.ops.conv", "deblur.train", "deblur.train.loop", "deblur.synth", "deblur.cli"}
    source = """
import torch
from deblur.errors import ConfigError
from . import conv
from ..synth import kernels


def late():
    import deblur.train.loop
    from deblur import cli
    importlib.import_module("deblur.data.pairs")
"""
    imports = imported_modules(source, "deblur.ops.fake", False, known)
    assert imports == [
        (2, "torch"),
        (3, "deblur.errors"),
        (4, "deblur.ops.conv"),
        (5, "deblur.synth"),
        (9, "deblur.train.loop"),
        (10, "deblur.cli"),
        (11, "deblur.data.pairs"),
    ]
    problems = violations("deblur.ops.fake", imports)
    assert [p.split(":")[0] for p in problems] == [
        "deblur.ops.fake (line 5) imports deblur.synth",
        "deblur.ops.fake (line 9) imports deblur.train.loop",
        "deblur.ops.fake (line 10) imports deblur.cli",  # the bottom-layer rule
        "deblur.ops.fake (line 10) imports deblur.cli",  # and the CLI rule
        "deblur.ops.fake (line 11) imports deblur.data.pairs",
    ]
    # allowed: the same imports from the layers that may make them
    assert violations("deblur.train.fake", [(1, "deblur.synth"), (2, "deblur.data.pairs")]) == []
    assert violations("deblur.__main__", [(1, "deblur.cli")]) == []
    assert violations("deblur.cli.train", [(1, "deblur.cli.options"), (2, "deblur.train")]) == []
    assert violations("deblur.config.jobs", [(1, "deblur.nets.unet")]) == [
        "deblur.config.jobs (line 1) imports deblur.nets.unet: config sits below everything: its modules import only "
        "each other and deblur.errors"
    ]
    assert violations("deblur.config.loading", [(1, "deblur.config.jobs")]) == []
    assert violations("deblur.io", [(1, "deblur.config")])  # io stays below config
    assert violations("deblur.restoration", [(1, "deblur.train.loop")])
    assert violations("deblur.restoration", [(1, "deblur.synth.bank")])  # kernel files are read through io
    assert imported_modules("from deblur import __version__\n", "deblur.weights", False, known) == [(1, "deblur")]
    assert violations("deblur.weights", [(1, "deblur")]) == [
        "deblur.weights (line 1) imports deblur: the package root imports the modules, not the reverse: the version "
        "is in deblur.version"
    ]
    assert violations("deblur.train.run", [(1, "deblur")])  # no module below the root imports it
    assert violations("deblur.cli.gan", [(1, "deblur")]) == []  # but the CLI, on top, may
    assert violations("deblur.weights", [(1, "deblur.version"), (2, "deblur.nets")]) == []  # submodules are fine
    assert violations("deblur.synth.folder", [(1, "deblur.data")])
    assert violations("deblur.ops.conv", [(1, "deblur")])  # the root package pulls in everything
    assert violations("deblur", [(1, "deblur.cli")])  # the root package is no exception to the CLI rule
