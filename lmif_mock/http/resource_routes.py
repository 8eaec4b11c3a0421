"""What every route group over the world's resources starts from: the fake whose world it
shows, the body reader, and lookups that answer NOT_FOUND naming the resource.

Each group (claims, boxes, violations, licenses, ...) lets the world's own errors escape: the
table in :mod:`lmif_mock.http.errors` answers them (404, 409 or 400) the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from lmif_mock.fake import FakeLMIF
from lmif_mock.http.errors import not_found
from lmif_mock.http.json_body import BodyReader
from lmif_mock.world import World

Resource = TypeVar("Resource")


class ResourceRoutes:
    """The base of the world's route groups; a group adds its handlers and ``handlers()``."""

    def __init__(self, fake: FakeLMIF, read_body: BodyReader) -> None:
        self.fake = fake
        self.read_body = read_body

    @property
    def world(self) -> World:
        """The fake's world (read each time: nothing here holds on to its state)."""
        return self.fake.world

    @staticmethod
    def find(table: Mapping[str, Resource], ident: str, kind: str) -> Resource:
        """The ``kind`` with id ``ident`` in ``table``, or NOT_FOUND naming it."""
        found = table.get(ident)
        if found is None:
            raise not_found(kind, ident)
        return found
