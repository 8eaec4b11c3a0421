"""The public API is exactly what ``__all__`` says, sorted, and every name in it exists."""

from __future__ import annotations

import lmif_mock


def test_all_is_sorted_unique_and_importable() -> None:
    names = lmif_mock.__all__
    upper = [n for n in names if n.isupper()]
    rest = [n for n in names if not n.isupper()]
    assert upper == sorted(upper)
    assert rest == sorted(rest, key=lambda n: (n[0].islower(), n))
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(lmif_mock, name), name


def test_contract_names_are_public() -> None:
    for name in ("VirtualClock", "RetryPolicy", "sign", "verify", "EVENT_TYPES"):
        assert name in lmif_mock.__all__


def test_library_never_imports_pytest() -> None:
    import subprocess
    import sys

    code = "import sys, lmif_mock, lmif_mock.cli, lmif_mock.fake; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
