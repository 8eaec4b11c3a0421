"""A locustfile of your own around ``LMIFUser``: ``locust -f examples/load_locustfile.py``.

It drives a receiver the way a detection scan does: mostly ``detection.match_found``, some
violations and new boxes, and a few events delivered twice. Locust's usual options apply (web UI,
``--headless``, ``--users``, ``--master`` and ``--worker``...).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

from lmif_mock.load import LMIFUser


class DetectionScanBurst(LMIFUser):
    """One user of the burst; Locust starts as many as ``--users`` says."""

    host = "http://127.0.0.1:8000"  # or --host on the command line
    path = "/webhooks/lmif"
    secret = os.environ.get("LMIF_WEBHOOK_SECRET", "lmif_whsec_example")
    mix: ClassVar[Mapping[str, float]] = {
        "detection.match_found": 8,
        "violation.detected": 1,
        "box.created": 1,
    }
    duplicates = 0.05
