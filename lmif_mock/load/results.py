"""How the ``load`` command and the Locust master it starts exchange the plan and the results.

The command never imports Locust, so it talks to the master process through two environment
variables: one carries the plan in, the other names the file the master writes the run's tally
to once every worker has reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmif_mock.load.tally import Tally

#: JSON of :meth:`LoadPlan.to_dict`, read by the command's locustfile on the master.
PLAN_ENV = "LMIF_LOAD_PLAN"
#: Where the master writes the run's tally (see :func:`write_result`).
RESULT_ENV = "LMIF_LOAD_RESULT"


def write_result(path: str | Path, tally: Tally, missing_workers: int) -> None:
    """Save the whole run's tally and how many workers never reported theirs."""
    document: dict[str, Any] = {"tally": tally.to_message(), "missing_workers": missing_workers}
    Path(path).write_text(json.dumps(document), encoding="utf-8")


def read_result(path: str | Path) -> tuple[Tally, int]:
    """The tally and missing-worker count :func:`write_result` saved."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return Tally.from_message(document["tally"]), int(document["missing_workers"])
