"""The package's shape: every error reachable from the root, and no module importing its importer.

Read from the source rather than by importing every module: some modules import Locust, which
patches the whole process for gevent and must never be loaded inside the test process.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lmif_mock

PACKAGE = Path(lmif_mock.__file__).parent


def _class_bases() -> dict[str, tuple[str, list[str]]]:
    """Every class defined in the package: name -> (module file, names of its bases)."""
    classes: dict[str, tuple[str, list[str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [b.id if isinstance(b, ast.Name) else ast.unparse(b) for b in node.bases]
                classes[node.name] = (str(path.relative_to(PACKAGE)), bases)
    return classes


def _package_errors() -> set[str]:
    classes = _class_bases()

    def is_error(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "LMIFMockError":
            return True
        if name not in classes or name in seen:
            return False
        return any(is_error(base, seen | {name}) for base in classes[name][1])

    return {n for n in classes if n != "LMIFMockError" and not n.startswith("_") and is_error(n)}


def test_every_error_class_is_exported_under_the_root_error() -> None:
    errors = _package_errors()
    assert {"WorldError", "DatabaseFileError", "TransportError", "APIError"} <= errors
    missing = sorted(n for n in errors if n not in lmif_mock.__all__)
    assert missing == [], f"not exported from lmif_mock: {missing}"
    for name in errors:
        error = getattr(lmif_mock, name)
        assert issubclass(error, lmif_mock.LMIFMockError), name


def _extras() -> dict[str, list[str]]:
    import tomllib

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    extras: dict[str, list[str]] = project["project"]["optional-dependencies"]
    return extras


def _requirement_names(extra: str, extras: dict[str, list[str]]) -> set[str]:
    """Distribution names ``.[extra]`` installs, following ``lmif-mock[...]`` references."""
    import re

    names: set[str] = set()
    for requirement in extras[extra]:
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
        if name == "lmif-mock":
            for group in re.findall(r"\[(.*?)\]", requirement)[0].split(","):
                names |= _requirement_names(group.strip(), extras)
        else:
            names.add(name)
    return names


def test_framework_examples_and_dev_tools_are_separate_groups_that_test_includes() -> None:
    extras = _extras()
    frameworks = _requirement_names("frameworks", extras)
    dev = _requirement_names("dev", extras)
    assert {"flask", "django", "fastapi", "starlette"} <= frameworks
    assert {"mypy", "ruff"} <= dev
    assert not frameworks & dev
    # The README's and CI's one install command, `.[test]`, still brings everything the suite uses.
    assert frameworks | dev | _requirement_names("load", extras) <= _requirement_names(
        "test", extras
    )
