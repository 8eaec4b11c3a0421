"""Where an HTTP emit's time goes, stage by stage, beside the by-hand sender's three stages.

Run: ``python -m benchmarks.bench_stages`` (``--quick`` for a smoke run).

Each stage of the library's path is wrapped with a timer (each wrapper costs about half a
microsecond, so the wrapped total is a little above ``bench_goals``' figure); the by-hand
sender of ``bench_goals`` is timed around its JSON encoding, its HMAC and its ``http.client``
round trip. The two take turns round by round; each figure is the median of the rounds, in
microseconds per emit. "rest" is what no wrapped stage covers: the dispatcher, the attempt
and delivery records, locks, the glue between the stages. Waiting for the answer includes the
receiver's own work, the same for both senders.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import statistics
import time
from collections.abc import Callable, Generator
from typing import Any

import lmif_mock.answer_polling
import lmif_mock.attempt_sender
import lmif_mock.http_client
import lmif_mock.http_heads
from benchmarks.bench_goals import receiver_process
from lmif_mock import FakeLMIF
from lmif_mock.dispatcher import Dispatcher
from lmif_mock.fake import FakeLMIF as _Fake
from lmif_mock.store import MemoryStore

_spent: dict[str, float] = {}


def _timed(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a wrapper adding its wall time to ``_spent[label]``."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _spent[label] = _spent.get(label, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)


_STAGES = [
    (_Fake, "_build", "build the event (ids, generated data)"),
    (Dispatcher, "subscribers", "find the subscribed webhooks"),
    (Dispatcher, "check", "check, JSON-encode the event"),
    (Dispatcher, "_plan", "plan deliveries (webhook id spliced in)"),
    (MemoryStore, "add_event_with_deliveries", "store event and deliveries"),
    (lmif_mock.attempt_sender, "wire_request", "sign (HMAC-SHA256)"),
    (lmif_mock.http_heads.RequestHeads, "write", "write the request head"),
    (lmif_mock.http_client._DeadlineSocket, "sendall", "send (kernel)"),
    (lmif_mock.answer_polling.AnswerPolling, "wait_briefly", "wait for the answer: polling"),
    (lmif_mock.http_client, "read_answer", "wait for the answer (sleeping), read and parse it"),
    (lmif_mock.attempt_sender, "judge", "judge the attempt"),
    (Dispatcher, "_settle", "settle (record attempt, schedule)"),
]


def _by_hand(
    port: int, webhook_id: str, envelope: dict[str, Any]
) -> Generator[tuple[float, ...], None, None]:
    """The by-hand sender of ``bench_goals``, yielding its three stage times per event."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    secret = b"bench"
    number = 0
    try:
        while True:
            number += 1
            started = time.perf_counter()
            envelope["id"] = f"evt_{number:012d}"
            envelope["meta"]["webhookId"] = webhook_id
            body = json.dumps(envelope, separators=(",", ":")).encode()
            encoded = time.perf_counter()
            digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
            headers = {"Content-Type": "application/json", "X-LMIF-Signature": "sha256=" + digest}
            signed = time.perf_counter()
            connection.request("POST", "/hook", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            done = time.perf_counter()
            yield encoded - started, signed - encoded, done - signed
    finally:
        connection.close()


def stages(per_round: int, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    """Median microseconds per emit of each stage: the library's, and the by-hand sender's."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _STAGES]
    for owner, name, label in _STAGES:
        _timed(owner, name, label)
    try:
        return _measure(per_round, rounds)
    finally:  # the library as it was, for whatever runs next in this process
        for owner, name, original in originals:
            setattr(owner, name, original)


def _measure(per_round: int, rounds: int) -> tuple[dict[str, float], dict[str, float]]:
    ours: dict[str, list[float]] = {}
    hand: dict[str, list[float]] = {}
    hand_names = ("json.dumps", "HMAC-SHA256", "http.client round trip")
    with receiver_process() as port:
        fake = FakeLMIF(seed=0)
        webhook = fake.webhooks.create(f"http://127.0.0.1:{port}/hook", ["*"], "bench")
        fake.emit("violation.detected")
        sender = _by_hand(port, webhook.id, json.loads(fake.deliveries()[0].body))
        for _ in range(per_round):  # warm both up
            fake.emit("violation.detected")
            next(sender)
        for _ in range(rounds):
            sums = [0.0, 0.0, 0.0]
            started = time.perf_counter()
            for _ in range(per_round):
                for index, spent in enumerate(next(sender)):
                    sums[index] += spent
            hand.setdefault("total", []).append((time.perf_counter() - started) / per_round)
            for name, total in zip(hand_names, sums, strict=True):
                hand.setdefault(name, []).append(total / per_round)
            _spent.clear()
            started = time.perf_counter()
            for _ in range(per_round):
                fake.emit("violation.detected")
            whole = time.perf_counter() - started
            ours.setdefault("total (wrapped)", []).append(whole / per_round)
            for label, spent in _spent.items():
                ours.setdefault(label, []).append(spent / per_round)
            rest = whole - sum(_spent.values())
            ours.setdefault("rest: dispatcher, records, locks, glue", []).append(rest / per_round)
        sender.close()
        ok = all(d.status == "succeeded" for d in fake.deliveries())
        fake.close()
    assert ok, "an HTTP delivery failed during the benchmark"
    return (
        {name: statistics.median(values) * 1e6 for name, values in ours.items()},
        {name: statistics.median(values) * 1e6 for name, values in hand.items()},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    per_round, rounds = (100, 5) if args.quick else (300, 11)
    ours, hand = stages(per_round, rounds)
    print("HTTP emit, per stage (us per emit, median of rounds):")
    for name, value in sorted(ours.items(), key=lambda item: -item[1]):
        print(f"  ours {value:7.1f}  {name}")
    for name, value in sorted(hand.items(), key=lambda item: -item[1]):
        print(f"  hand {value:7.1f}  {name}")


if __name__ == "__main__":
    main()
