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
