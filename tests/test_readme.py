"""Every Python example in the README runs as written, so the docs cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str) -> None:
    exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})


def test_quick_start_has_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert "python -m lmif_mock" in lines[0]
    assert "pytest" in lines[1]


def test_readme_lists_every_route() -> None:
    from lmif_mock.http.routes import ROUTES, openapi_path

    for route in ROUTES:
        assert f"| {route.method} | `{openapi_path(route.path)}` |" in README, route.path


def test_readme_lists_every_cli_command() -> None:
    from lmif_mock.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert commands is not None
    for name in commands:
        assert f"`{name}" in README, name


def test_readme_howtos_are_the_tested_files_verbatim() -> None:
    from pathlib import Path

    examples = Path(__file__).resolve().parent / "examples"
    for name in ("test_howto_receiver.py", "test_howto_idempotency_property.py"):
        assert (examples / name).read_text("utf-8") in README, name
