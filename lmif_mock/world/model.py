"""The whole world: every resource's transitions on one object, as the fake and the API use it."""

from __future__ import annotations

from lmif_mock.world.licenses import Licenses


class World(Licenses):
    """The provider's resources inside one fake, and the transitions that emit their events.

    The world is a publisher: a transition changes state and records ``(type, data)`` in an
    outbox while holding the world's lock, and the outbox is handed to ``publish`` only after the
    lock is released. A receiver that calls the API back while an event is being delivered (say,
    requests a license on ``box.created``) therefore never waits for the world: its transition
    runs at once and its events go out, in order, right after the delivery in progress.

    ``clock`` schedules the time-driven steps, ``new_id(kind)`` names resources, ``rng`` draws
    the little randomness the world needs; none of it refers to the fake, so a world can be
    tested with a list's ``append`` as its publisher.

    Its transitions are written by resource, each layer on the one before: claims and boxes
    (:mod:`~lmif_mock.world.boxes`), detection, violations and grace periods, licenses.
    """
