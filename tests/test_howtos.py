"""Every how-to in tests/examples is in the README verbatim (and runs there as a test)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
HOWTOS = sorted((ROOT / "tests" / "examples").glob("test_howto_*.py"))


@pytest.mark.parametrize("path", HOWTOS, ids=[p.name for p in HOWTOS])
def test_howto_is_in_the_readme_verbatim(path: Path) -> None:
    assert f"```python\n{path.read_text('utf-8')}```" in README, path.name
