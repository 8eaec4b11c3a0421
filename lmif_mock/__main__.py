"""Entry point for ``python -m lmif_mock``."""

from __future__ import annotations

import sys

from lmif_mock.cli import main

if __name__ == "__main__":
    sys.exit(main())
