"""Hypothesis's entry point into this package: ``st.from_type(lmif_mock.Event)`` gives events.

Hypothesis calls :func:`register_strategies` while it is itself being imported, which may be in
the middle of importing ``pytest_lmif.strategies`` (that module imports hypothesis). So this
module imports nothing of hypothesis at import time, and the events strategy is looked up only
when first drawn from: no import circle, whichever module is imported first.
"""

from __future__ import annotations

from typing import Any


def register_strategies() -> None:
    """Register the events strategy for :class:`lmif_mock.Event` (lazily resolved)."""
    from hypothesis import strategies as st

    from lmif_mock import Event

    def events_strategy() -> Any:
        from pytest_lmif.strategies import events

        return events()

    st.register_type_strategy(Event, st.deferred(events_strategy))
