"""The package's shape: every error reachable from the root, and no module importing its importer.

Read from the source rather than by importing every module: some modules import Locust, which
patches the whole process for gevent and must never be loaded inside the test process.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
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


def _imports(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
    return modules


def test_the_world_publishes_and_never_imports_the_fake_or_the_edge() -> None:
    """The world sits below the fake: it hands ``(type, data)`` to a publisher it was given."""
    edge = {"fake", "server", "http", "dispatcher"}
    for path in (PACKAGE / "world").glob("*.py"):
        reached = {m.split(".")[1] for m in _imports(path) if m.startswith("lmif_mock.")}
        assert not reached & edge, f"{path.name} imports {sorted(reached & edge)}"


def _modules_and_packages(folder: Path) -> set[str]:
    """``name.py`` for each module of ``folder`` and ``name/`` for each package in it."""
    modules = {p.name for p in folder.glob("*.py") if p.name != "__init__.py"}
    return modules | {f"{p.name}/" for p in folder.iterdir() if (p / "__init__.py").exists()}


def test_the_readme_module_map_matches_the_tree() -> None:
    import re

    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## How it is built\n", 1)[1].split("\n## ", 1)[0]
    named = {n for n in re.findall(r"`([a-z_]+(?:\.py|/))`", section) if not n.startswith("test_")}
    tree = (
        _modules_and_packages(PACKAGE)
        | _modules_and_packages(PACKAGE / "world")
        | _modules_and_packages(PACKAGE / "http")
        | _modules_and_packages(PACKAGE / "http" / "openapi")
        | _modules_and_packages(PACKAGE / "http" / "serving")
    )
    missing = sorted(tree - named)
    assert missing == [], f"modules the README's map does not name: {missing}"
    unknown = sorted(named - tree)
    assert unknown == [], f"the README's map names modules that do not exist: {unknown}"


#: Issue 14's bar: a module longer than this, or a class, hides more than one idea.
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 300


def _oversized(path: Path) -> list[str]:
    """What in ``path`` is over the bar: the module's length, and each class that is too long."""
    source = path.read_text(encoding="utf-8")
    found = []
    lines = len(source.splitlines())
    if lines > MAX_MODULE_LINES:
        found.append(f"{lines} lines")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            if node.end_lineno - node.lineno > MAX_CLASS_LINES:
                found.append(f"class {node.name}: {node.end_lineno - node.lineno} lines")
    return found


def test_no_module_of_the_library_or_the_plugin_is_over_400_lines_or_has_a_class_over_300() -> None:
    import pytest_lmif

    root = PACKAGE.parent
    paths = [
        *sorted(PACKAGE.rglob("*.py")),
        *sorted(Path(pytest_lmif.__file__).parent.rglob("*.py")),
    ]
    assert len(paths) > 50
    over = {str(p.relative_to(root)): found for p in paths if (found := _oversized(p))}
    assert over == {}, f"over the size bar: {over}"


SERVING = PACKAGE / "http" / "serving"


def test_the_server_modules_import_each_other_without_a_circle() -> None:
    """Within ``http/serving/``, imports (``TYPE_CHECKING`` ones too) point one way only."""
    prefix = "lmif_mock.http.serving."
    imports = {
        path.stem: {m.removeprefix(prefix) for m in _imports(path) if m.startswith(prefix)}
        for path in SERVING.glob("*.py")
    }
    assert imports["bounded_server"] >= {"request_intake", "worker_pool", "slow_readers"}

    def reached(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for module in imports.get(todo.pop(), set()) - seen:
                seen.add(module)
                todo.append(module)
        return seen

    circles = sorted(module for module in imports if module in reached(module))
    assert circles == [], f"modules of http/serving/ that import themselves in a circle: {circles}"


#: The only API modules that catch one of the library's errors, and why that is no translation.
_CATCHING_LIBRARY_ERRORS = {
    "errors.py": "the table itself",
    "validation.py": "a field's value refused by the library becomes that field's problem",
    "json_body.py": "a body that cannot be stored is refused while it is read",
    "wait_routes.py": "a wait that timed out is an answer (idle: false), not an error",
}


def test_library_errors_become_api_errors_in_one_table_only() -> None:
    """Handlers let the library's errors escape; ``http/errors.py`` alone decides the answer."""
    library_errors = _package_errors() | {"LMIFMockError"}
    for path in sorted((PACKAGE / "http").glob("*.py")):
        caught: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                kinds = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
                caught |= {k.id for k in kinds if isinstance(k, ast.Name)}
        if path.name not in _CATCHING_LIBRARY_ERRORS:
            assert not caught & library_errors, f"{path.name} catches {sorted(caught)}"


def test_every_library_error_is_answered_as_a_client_error() -> None:
    from lmif_mock.http.errors import DOMAIN_ERRORS, domain_error

    assert len({kind for kind, _ in DOMAIN_ERRORS}) == len(DOMAIN_ERRORS)
    for name in sorted(_package_errors() - {"APIError"}):
        kind = getattr(lmif_mock, name)
        error = kind.__new__(kind)  # some take more than a message; the answer needs only str()
        Exception.__init__(error, "what was wrong")
        answer = domain_error(error)
        assert answer is not None, name
        assert 400 <= answer.status < 500, name
        if name != "SandboxOnlyError":  # answered FORBIDDEN with the provider's own advice
            assert "what was wrong" in repr((answer.message, answer.details)), name


def test_the_plugin_uses_only_the_library_s_public_names() -> None:
    """``pytest_lmif`` is a client of ``lmif_mock`` like any user: it imports from the package root
    only, so the library's modules can move without breaking the plugin (issue 14)."""
    import pytest_lmif

    plugin = Path(pytest_lmif.__file__).parent
    reaching_in = {
        f"{path.relative_to(plugin)}: {module}"
        for path in plugin.rglob("*.py")
        for module in _imports(path)
        if module.startswith("lmif_mock.")
    }
    assert reaching_in == set(), (
        f"plugin modules importing library internals: {sorted(reaching_in)}"
    )
    import lmif_mock

    used = {
        alias.name
        for path in plugin.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "lmif_mock"
        for alias in node.names
    }
    assert {"sign_body", "LAYOUTS"} <= used
    assert used <= set(lmif_mock.__all__), sorted(used - set(lmif_mock.__all__))


def _module_level(statements: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements run when a module is imported: its body, into ``if`` and ``try`` blocks."""
    for statement in statements:
        yield statement
        if isinstance(statement, ast.If):
            yield from _module_level(statement.body + statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _module_level(statement.body + statement.orelse + statement.finalbody)
            for handler in statement.handlers:
                yield from _module_level(handler.body)


def _import_graph(package: Path) -> dict[str, set[str]]:
    """Every module of ``package`` and the modules of it that it imports at module level,
    ``TYPE_CHECKING`` imports included (a circle of types is still a circle for the reader);
    imports inside functions are deferred on purpose and left out."""
    root = package.name
    files = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        found: set[str] = set()
        for node in _module_level(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] != root:
                    continue
                submodules = {f"{node.module}.{a.name}" for a in node.names} & files.keys()
                found |= submodules
                if len(submodules) < len(node.names):
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.split(".")[0] == root}
        graph[name] = {module for module in found if module in files and module != name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that reach each other (strongly connected, more than one)."""

    def reached(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for module in graph[todo.pop()] - seen:
                seen.add(module)
                todo.append(module)
        return seen

    reach = {module: reached(module) for module in graph}
    groups = {
        tuple(sorted(m for m in reach[module] if module in reach[m]))
        for module in graph
        if module in reach[module]
    }
    return sorted(list(group) for group in groups)


def test_no_import_circle_in_the_library_or_the_plugin() -> None:
    import pytest_lmif

    library = _import_graph(PACKAGE)
    assert {"lmif_mock.dispatcher", "lmif_mock.http.app"} <= library.keys()
    assert "lmif_mock.attempt_sender" in library["lmif_mock.dispatcher"]
    assert _circles(library) == []
    assert _circles(_import_graph(Path(pytest_lmif.__file__).parent)) == []


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]
