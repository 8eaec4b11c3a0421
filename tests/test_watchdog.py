"""In-process apps called from the main thread run right there, under the one watchdog.

What must still hold without a worker thread per delivery: a hung app (asleep, waiting on a
lock, spinning, even one that swallows the interruption) is given up on at its deadline and
recorded as a timeout; no thread is started per delivery or per test; other threads and nested
deliveries still get the worker-thread path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lmif_mock import FakeLMIF, RetryPolicy
from lmif_mock.watchdog import WATCHDOG, DeadlineExceeded, Watchdog

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], list[bytes]]
SHORT = RetryPolicy(delays=[0], timeout=0.3)


def _answering(before: Callable[[], object]) -> WSGIApp:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        before()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def _spin() -> None:
    while True:
        pass


def _swallow_then_sleep() -> None:
    """Catches the first interruption (everything, BaseException too) and hangs again."""
    with contextlib.suppress(BaseException):
        time.sleep(60)
    time.sleep(60)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    gate = threading.Event()
    yield gate
    gate.set()


HANGS: dict[str, Callable[[threading.Event], Callable[[], object]]] = {
    "sleep": lambda gate: lambda: time.sleep(60),
    "event-wait": lambda gate: lambda: gate.wait(),  # a lock acquire with no timeout
    "spin": lambda gate: _spin,
    "swallows-the-interruption": lambda gate: _swallow_then_sleep,
}


@pytest.mark.parametrize("hang", list(HANGS))
def test_a_hung_app_on_the_main_thread_is_given_up_at_the_deadline(
    hang: str, release: threading.Event
) -> None:
    assert threading.current_thread() is threading.main_thread()
    fake = FakeLMIF(seed=0, retry_policy=SHORT)
    fake.webhooks.create(_answering(HANGS[hang](release)), ["*"])
    started = time.monotonic()
    fake.emit("box.created")
    waited = time.monotonic() - started
    (delivery,) = fake.deliveries()
    (attempt,) = delivery.attempts
    assert (attempt.status_code, attempt.error) == (None, "timeout"), attempt.message
    assert attempt.duration >= 0.3
    assert waited < 30, f"the 0.3 s deadline let the caller wait {waited:.1f} s"
    assert delivery.status == "failed"
    # The fake goes on as before: the next delivery to a healthy app succeeds.
    fake.webhooks.create(_answering(lambda: None), ["box.deleted"])
    event = fake.emit("box.deleted")
    statuses = sorted(d.status for d in fake.deliveries(event_id=event.id))
    assert statuses == ["failed", "succeeded"]
    fake.close()


def test_main_thread_deliveries_start_no_thread_per_delivery_or_per_test() -> None:
    seen: list[str] = []
    app = _answering(lambda: seen.append(threading.current_thread().name))
    fake = FakeLMIF(seed=0)
    fake.webhooks.create(app, ["*"])
    fake.emit("box.created")  # the watchdog may start here, once per process
    before = {t.ident for t in threading.enumerate()}
    for _ in range(20):  # twenty "tests": reset, a new app, deliveries
        fake.reset()
        fake.webhooks.create(app, ["*"])
        for _ in range(5):
            fake.emit("box.created")
    assert {t.ident for t in threading.enumerate()} <= before
    assert set(seen) == {threading.main_thread().name}
    assert all(d.status == "succeeded" for d in fake.deliveries())
    fake.close()


def test_other_threads_still_hand_the_app_to_a_worker_that_is_abandoned(
    release: threading.Event,
) -> None:
    fake = FakeLMIF(seed=0, retry_policy=SHORT)
    ran_on: list[str] = []

    def hang() -> None:
        ran_on.append(threading.current_thread().name)
        release.wait(60)

    fake.webhooks.create(_answering(hang), ["*"])
    emitter = threading.Thread(target=fake.emit, args=("box.created",), name="emitter")
    emitter.start()
    emitter.join(30)
    assert not emitter.is_alive(), "the emitting thread was held by the hung app"
    assert fake.deliveries()[0].attempts[0].error == "timeout"
    assert ran_on
    assert ran_on[0] not in ("emitter", threading.main_thread().name)
    fake.close()


def test_a_nested_delivery_from_inside_an_app_is_watched_too(release: threading.Event) -> None:
    """An app that emits (a receiver calling back into the fake) nests a second delivery; the
    outer call holds the watchdog, so the inner one goes to a worker, and both deadlines hold."""
    inner = FakeLMIF(seed=1, retry_policy=SHORT)
    inner.webhooks.create(_answering(lambda: release.wait(60)), ["*"])
    outer = FakeLMIF(seed=0, retry_policy=RetryPolicy(delays=[0], timeout=20))
    outer.webhooks.create(_answering(lambda: inner.emit("box.created")), ["*"])
    outer.emit("box.created")
    assert inner.deliveries()[0].attempts[0].error == "timeout"
    assert outer.deliveries()[0].status == "succeeded"
    inner.close()
    outer.close()


def test_the_interruption_never_escapes_once_the_call_is_over() -> None:
    """A signal that arrives after the call ended (its deadline long disarmed) does nothing."""
    assert WATCHDOG.usable()
    assert WATCHDOG.call(lambda: 42, 5) == 42
    signum = WATCHDOG._signum
    assert signum is not None
    # Sent to this very thread, the signal is delivered before pthread_kill returns, and its
    # handler runs at the next bytecode: it must not raise.
    signal.pthread_kill(threading.main_thread().ident or 0, signum)
    assert sum(range(100)) == 4950
    with pytest.raises(TimeoutError):
        WATCHDOG.call(lambda: time.sleep(60), 0.2)
    assert not issubclass(DeadlineExceeded, Exception)  # an app's "except Exception" misses it


def test_a_signal_taken_by_someone_else_is_never_used() -> None:
    """Before installing, and after: once another handler holds the signal, the watchdog
    declines (callers then use a worker thread) rather than sending that handler a signal."""
    signum = int(signal.SIGRTMAX) - 5
    previous = signal.getsignal(signum)
    try:
        mine = Watchdog(signum)
        assert mine.usable()
        assert mine.call(lambda: "answered", 5) == "answered"
        signal.signal(signum, lambda *_: None)  # somebody else's handler
        assert not mine.usable()
        assert not Watchdog(signum).usable()  # taken before it could install
    finally:
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)


_FORKING = """
import os, sys, time
from lmif_mock import FakeLMIF, RetryPolicy

def answering(before):
    def app(environ, start_response):
        before()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    return app

fake = FakeLMIF(seed=0, retry_policy=RetryPolicy(delays=[0], timeout=0.3))
fake.webhooks.create(answering(lambda: None), ["*"])
fake.emit("box.created")  # the parent's watchdog thread runs from here on
hung = fake.webhooks.create(answering(lambda: time.sleep(60)), ["box.deleted"])
child = os.fork()
if child == 0:
    try:
        event = fake.emit("box.deleted")
        (delivery,) = fake.deliveries(event_id=event.id, webhook_id=hung.id)
        print("child:", delivery.attempts[0].error, flush=True)
    finally:
        os._exit(0)
os.waitpid(child, 0)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_gets_a_watchdog_of_its_own() -> None:
    """The watchdog thread does not survive a fork; the child's first watched call starts one
    (a fork hook says so, rather than a pid asked of the kernel on every call), and a lock the
    parent's watchdog thread held at the fork does not hang the child."""
    done = subprocess.run(
        [sys.executable, "-c", _FORKING], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "child: timeout", done.stderr
