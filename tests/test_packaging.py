"""What pyproject.toml declares about Python versions is what CI tests, and nothing more."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


def declared_minimum() -> tuple[int, int]:
    found = re.fullmatch(r">=3\.(\d+)", PROJECT["project"]["requires-python"])
    assert found is not None, "requires-python should be a plain >=3.N floor"
    return 3, int(found.group(1))


def test_every_tool_targets_the_declared_minimum() -> None:
    major, minor = declared_minimum()
    assert PROJECT["tool"]["mypy"]["python_version"] == f"{major}.{minor}"
    assert PROJECT["tool"]["ruff"]["target-version"] == f"py{major}{minor}"


def test_classifiers_name_only_the_version_ci_runs() -> None:
    major, minor = declared_minimum()
    versions = [
        c.rsplit(":: ", 1)[1]
        for c in PROJECT["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert versions == [f"{major}.{minor}"]
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert 'python="python$floor"' in ci  # CI builds its venv with exactly that interpreter
    assert '"$python" -m venv .venv' in ci


def test_this_interpreter_is_one_the_project_supports() -> None:
    assert sys.version_info[:2] >= declared_minimum()
