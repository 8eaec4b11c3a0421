"""Pages of the dashboard's lists, with links to the previous and next ones.

A webhook with 20,000 deliveries once rendered all of them on one 36 MB page, and 32 such pages
asked for at once kept the fake from answering its health check for minutes. Lists that grow with
the session are shown :data:`PAGE_SIZE` rows at a time, ``?page=N`` choosing which.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from markupsafe import Markup
from werkzeug.wrappers import Request

from lmif_mock.errors import LMIFMockError, NotFoundError

Row = TypeVar("Row")

#: Rows on one page of a dashboard list.
PAGE_SIZE = 20


@dataclass(frozen=True)
class Pager:
    """Page ``number`` (from 1) of a list of ``total`` rows, ``size`` rows a page."""

    number: int
    total: int
    size: int = PAGE_SIZE

    @property
    def last(self) -> int:
        """The last page's number (1 for an empty list: its page says it is empty)."""
        return max(1, -(-self.total // self.size))

    def rows(self, items: Sequence[Row]) -> Sequence[Row]:
        """This page's share of ``items``."""
        start = (self.number - 1) * self.size
        return items[start : start + self.size]

    def links(self, path: str, newer_first: bool = False) -> Markup:
        """Previous / next links under a list (nothing when it fits one page); ``path`` is a
        dashboard path this module's caller built."""
        if self.last == 1:
            return Markup()
        before, after = ("Newer", "Older") if newer_first else ("Previous", "Next")
        parts = []
        if self.number > 1:
            parts.append(
                Markup('<a rel=prev href="{}?page={}">{}</a>').format(path, self.number - 1, before)
            )
        parts.append(Markup("<span>page {} of {}</span>").format(self.number, self.last))
        if self.number < self.last:
            parts.append(
                Markup('<a rel=next href="{}?page={}">{}</a>').format(path, self.number + 1, after)
            )
        return Markup("<nav class=pages>{}</nav>").format(Markup(" ").join(parts))


def pager(request: Request, total: int, size: int = PAGE_SIZE) -> Pager:
    """The page ``?page=`` asks for (the first without it); a page that is not a whole number
    from 1 is refused, and one past the last is not found."""
    text = request.args.get("page", "1")
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) < 1:
        raise LMIFMockError(f"page must be a whole number from 1, not {text[:20]!r}")
    found = Pager(int(text), total, size)
    if found.number > found.last:
        raise NotFoundError(f"no page {found.number}: the last is {found.last}")
    return found
