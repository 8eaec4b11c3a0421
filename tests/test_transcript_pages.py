"""``GET /_mock/transcript`` answers bounded pages, and the pages together are the whole run.

A 40k-delivery session once answered 50 MB per request, and 40 such requests at once stalled
the fake's health check for over a minute and grew it to 1.7 GB. Pages follow every other list
of the API (``limit`` 20 by default, at most 100, ``offset``, ``meta.total``); the CLI's
``transcript`` command follows them all, and a single page that is not the whole run is refused
by ``replay`` instead of being replayed in part.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import urllib3

from lmif_mock import LMIFServer, VirtualClock
from lmif_mock.cli import build_parser
from lmif_mock.commands import transcript as transcript_command
from lmif_mock.commands.control_client import ControlClient
from lmif_mock.http.listing import DEFAULT_LIMIT, MAX_LIMIT
from lmif_mock.sqlite_store import SQLiteStore
from lmif_mock.store import MemoryStore, Store
from lmif_mock.transcript import TranscriptError, dumps, load, page_items

LISTS = ("webhooks", "events", "deliveries")
_POOL = urllib3.PoolManager(retries=False)


def _ok(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def _down(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    start_response("500 Internal Server Error", [])
    return [b"down"]


def _session(server: LMIFServer, events: int) -> None:
    """Three webhooks (one failing, so deliveries have several attempts) and ``events`` events."""
    server.webhooks.create(_ok, events=["*"])
    server.webhooks.create(_down, events=["box.created"])
    server.webhooks.create(_ok, events=["violation.detected"])
    for number in range(events):
        server.emit("box.created" if number % 2 else "violation.detected")
    server.clock.advance(minutes=6)  # the failing deliveries get their retries


def _get(server: LMIFServer, query: str) -> tuple[int, Any]:
    response = _POOL.request(
        "GET",
        f"{server.url}/_mock/transcript{query}",
        headers={"Authorization": f"Bearer {server.api_key}"},
        timeout=60,
    )
    return response.status, json.loads(response.data)


def test_the_pages_of_a_big_session_are_bounded_and_together_the_whole_run() -> None:
    with LMIFServer(clock=VirtualClock(), seed=7) as server:
        _session(server, 300)
        whole = server.transcript()
        total = page_items(whole)
        assert total > 5 * MAX_LIMIT  # several pages' worth
        joined: dict[str, list[Any]] = {name: [] for name in LISTS}
        offset = 0
        pages = 0
        while offset < total:
            status, answer = _get(server, f"?limit={MAX_LIMIT}&offset={offset}")
            assert status == 200, answer
            assert answer["meta"] == {"total": total, "limit": MAX_LIMIT, "offset": offset}
            page = answer["data"]
            held = page_items(page)
            assert 0 < held <= MAX_LIMIT
            assert {k: page[k] for k in ("format", "version", "seed")} == {
                k: whole[k] for k in ("format", "version", "seed")
            }
            for name in LISTS:
                joined[name].extend(page[name])
            offset += held
            pages += 1
        assert pages == -(-total // MAX_LIMIT)
        assert joined == {name: whole[name] for name in LISTS}
        # Without a window: the first 20 items, as every list of the API.
        status, first = _get(server, "")
        assert status == 200
        assert page_items(first["data"]) == DEFAULT_LIMIT
        assert first["meta"] == {"total": total, "limit": DEFAULT_LIMIT, "offset": 0}
        # Past the end: an empty page that still says the total.
        status, past = _get(server, f"?offset={total}")
        assert status == 200
        assert page_items(past["data"]) == 0
        assert past["meta"]["total"] == total


@pytest.mark.parametrize("query", ["?limit=0", f"?limit={MAX_LIMIT + 1}", "?offset=-1", "?limit=x"])
def test_a_bad_window_is_a_validation_error_as_on_every_list(query: str) -> None:
    with LMIFServer(clock=VirtualClock()) as server:
        status, answer = _get(server, query)
    assert status == 400
    assert answer["error"]["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in answer["error"]["details"]} <= {"limit", "offset"}


def test_the_transcript_command_follows_every_page(tmp_path: Path) -> None:
    with LMIFServer(clock=VirtualClock(), seed=3) as server:
        _session(server, 120)
        expected = dumps(server.transcript())
        args = build_parser().parse_args(
            ["transcript", "--server", server.url, "--api-key", server.api_key]
        )
        out, err = io.StringIO(), io.StringIO()
        assert transcript_command.run(args, out, err) == 0, err.getvalue()
        assert out.getvalue() == expected
        saved = tmp_path / "run.json"
        args = build_parser().parse_args(
            ["transcript", "-o", str(saved), "--server", server.url, "--api-key", server.api_key]
        )
        assert transcript_command.run(args, io.StringIO(), err) == 0, err.getvalue()
        assert saved.read_text("utf-8") == expected
        assert load(saved)["deliveries"] == server.transcript()["deliveries"]


def test_one_page_that_is_not_the_whole_run_is_refused_not_replayed_in_part() -> None:
    with LMIFServer(clock=VirtualClock()) as server:
        _session(server, 30)
        status, answer = _get(server, "?limit=10")
        assert status == 200
        with pytest.raises(
            TranscriptError, match=r"one page of a transcript .*transcript --server"
        ):
            load(answer)
        # The same page's data saved without its meta (jq .data): its deliveries name events
        # the file does not hold, and that too is refused rather than replayed in part.
        total = answer["meta"]["total"]
        status, later = _get(server, f"?limit=10&offset={total - 10}")
        assert later["data"]["deliveries"]
        with pytest.raises(TranscriptError, match=r"part of a transcript, not all of it"):
            load(json.dumps(later["data"]))
        status, everything = _get(server, f"?limit={MAX_LIMIT}")
        assert page_items(everything["data"]) == everything["meta"]["total"]
        assert load(everything)["deliveries"] == server.transcript()["deliveries"]
        assert (
            load(json.dumps(everything["data"]))["deliveries"] == everything["data"]["deliveries"]
        )


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_store_windows_are_slices_of_the_whole_lists(kind: str, tmp_path: Path) -> None:
    from lmif_mock.fake import FakeLMIF

    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    fake = FakeLMIF(store=store, seed=1)
    fake.webhooks.create(_ok, events=["*"])
    for _ in range(25):
        fake.emit("box.created")
    events, deliveries = store.list_events(), store.list_deliveries()
    assert store.count_events() == len(events) == 25
    assert store.count_deliveries() == len(deliveries) == 25
    assert store.event_ids() == [e.id for e in events]
    assert store.event_ids("box.deleted") == []
    assert store.delivery_ids() == [d.id for d in deliveries]
    webhook_id = deliveries[0].webhook_id
    for status in ("succeeded", "failed"):
        assert store.delivery_ids(webhook_id=webhook_id, status=status) == [
            d.id for d in store.list_deliveries(webhook_id=webhook_id, status=status)
        ]
    assert store.delivery_ids(event_id=events[3].id) == [deliveries[3].id]
    for start, stop in [(0, 10), (10, 20), (20, 30), (24, 25), (30, 40), (5, 5), (7, 3)]:
        assert [e.id for e in store.events_between(start, stop)] == [
            e.id for e in events[start:stop]
        ]
        assert store.deliveries_between(start, stop) == deliveries[start:stop]


class CountingStore(MemoryStore):
    """Counts how many events and deliveries the API reads: a page must read only its own."""

    def __init__(self) -> None:
        super().__init__()
        self.events_read = 0
        self.deliveries_read = 0

    def get_event(self, event_id: str) -> Any:
        self.events_read += 1
        return super().get_event(event_id)

    def list_events(self, event_type: str | None = None) -> Any:
        found = super().list_events(event_type)
        self.events_read += len(found)
        return found

    def events_between(self, start: int, stop: int) -> Any:
        found = super().events_between(start, stop)
        self.events_read += len(found)
        return found

    def get_delivery(self, delivery_id: str) -> Any:
        self.deliveries_read += 1
        return super().get_delivery(delivery_id)

    def list_deliveries(self, *args: Any, **kwargs: Any) -> Any:
        found = super().list_deliveries(*args, **kwargs)
        self.deliveries_read += len(found)
        return found

    def deliveries_between(self, start: int, stop: int) -> Any:
        found = super().deliveries_between(start, stop)
        self.deliveries_read += len(found)
        return found


@pytest.mark.parametrize(
    "path",
    ["/_mock/transcript?limit=10&offset=400", "/v1/lmif/events?limit=10&offset=300",
     "/v1/lmif/events?type=box.created&limit=10", "/_mock/deliveries?limit=10&offset=300",
     "/_mock/deliveries?status=succeeded&limit=10", "/v1/lmif/webhooks/WH/deliveries?limit=10"],
)  # fmt: skip
def test_a_page_reads_only_its_own_items_however_long_the_session(path: str) -> None:
    """Reading (or decoding) the whole session for every page made 20 parallel pages of a
    20,000-event session stall the fake's health check for seconds."""
    store = CountingStore()
    with LMIFServer(clock=VirtualClock(), store=store) as server:
        server.webhooks.create(_ok, events=["*"])
        for number in range(400):
            server.emit("box.created" if number % 2 else "box.deleted")
        store.events_read = store.deliveries_read = 0
        webhook_id = server.webhooks.list()[0].id
        response = _POOL.request(
            "GET", server.url + path.replace("WH", webhook_id), headers={"Authorization": f"Bearer {server.api_key}"},
            timeout=60,
        )  # fmt: skip
        assert response.status == 200, response.data[:300]
        assert len(json.loads(response.data)["data"]) > 0
        assert store.events_read <= 10
        assert store.deliveries_read <= 10


def test_the_transcript_command_starts_over_when_the_session_changes_while_it_reads() -> None:
    """Pages read while events are emitted would not fit together: the command reads again,
    and says so (exit 1) if the session never holds still."""
    with LMIFServer(clock=VirtualClock()) as server:
        _session(server, 60)
        real_get_page = ControlClient.get_page
        emitted: list[int] = []
        allowed = [0]  # emits the patched reader may still make

        def page_then_emit(self: Any, path: str, query: Any, *, read_timeout: float) -> Any:
            answer = real_get_page(self, path, query, read_timeout=read_timeout)
            if len(emitted) < allowed[0]:
                server.emit("box.created")  # the session moves between two pages
                emitted.append(1)
            return answer

        args = build_parser().parse_args(
            ["transcript", "--server", server.url, "--api-key", server.api_key]
        )
        for budget, code in ((1, 0), (10**6, 1)):
            emitted.clear()
            allowed[0] = budget
            out, err = io.StringIO(), io.StringIO()
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(ControlClient, "get_page", page_then_emit)
                assert transcript_command.run(args, out, err) == code, err.getvalue()
            if code == 0:  # changed once, read again whole
                assert out.getvalue() == dumps(server.transcript())
            else:
                assert "kept changing" in err.getvalue()
                assert out.getvalue() == ""
