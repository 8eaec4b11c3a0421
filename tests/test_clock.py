"""Clocks: the virtual one runs due work in order inside advance; the real ones wait, not poll."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from lmif_mock.clock import DEFAULT_START, ClockError, RealClock, VirtualClock
from lmif_mock.durations import to_timedelta


def test_virtual_clock_starts_at_a_fixed_instant_or_the_given_one() -> None:
    assert VirtualClock().now() == DEFAULT_START == datetime(2024, 1, 15, 10, tzinfo=timezone.utc)
    naive = datetime(2030, 1, 1)
    assert VirtualClock(naive).now() == datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_advance_accepts_every_duration_form() -> None:
    clock = VirtualClock()
    clock.advance(seconds=30)
    clock.advance(minutes=1, hours=1)
    clock.advance(days=1)
    clock.advance(timedelta(seconds=15))
    clock.advance(15)
    assert clock.now() - DEFAULT_START == timedelta(days=1, hours=1, minutes=2)


def test_callbacks_run_in_due_order_and_see_their_due_time() -> None:
    clock = VirtualClock()
    seen: list[tuple[str, datetime]] = []
    clock.call_later(300, lambda: seen.append(("c", clock.now())))
    clock.call_later(60, lambda: seen.append(("a", clock.now())))
    clock.call_later(60, lambda: seen.append(("b", clock.now())))  # same time: scheduling order
    clock.advance(minutes=2)
    assert seen == [
        ("a", DEFAULT_START + timedelta(minutes=1)),
        ("b", DEFAULT_START + timedelta(minutes=1)),
    ]
    clock.advance(hours=1)
    assert seen[-1] == ("c", DEFAULT_START + timedelta(minutes=5))
    assert clock.now() == DEFAULT_START + timedelta(hours=1, minutes=2)


def test_callbacks_scheduled_by_callbacks_run_within_the_same_advance() -> None:
    clock = VirtualClock()
    times: list[datetime] = []

    def tick() -> None:
        times.append(clock.now())
        if len(times) < 5:
            clock.call_later(10, tick)

    clock.call_later(10, tick)
    clock.advance(seconds=35)
    assert [t - DEFAULT_START for t in times] == [timedelta(seconds=s) for s in (10, 20, 30)]
    clock.advance(seconds=100)
    assert len(times) == 5


def test_cancelled_timers_do_not_run_and_pending_reports_the_rest() -> None:
    clock = VirtualClock()
    ran: list[int] = []
    first = clock.call_later(10, lambda: ran.append(1))
    clock.call_later(20, lambda: ran.append(2))
    first.cancel()
    assert clock.pending() == [DEFAULT_START + timedelta(seconds=20)]
    assert clock.next_due() == DEFAULT_START + timedelta(seconds=20)
    clock.advance(60)
    assert ran == [2]
    assert clock.next_due() is None


def test_run_all_stops_at_the_limit() -> None:
    clock = VirtualClock()
    ran: list[int] = []
    clock.call_later(timedelta(days=1), lambda: ran.append(1))
    clock.call_later(timedelta(days=500), lambda: ran.append(2))
    clock.run_all(limit=timedelta(days=30))
    assert ran == [1]
    assert clock.now() == DEFAULT_START + timedelta(days=1)


def test_clock_never_goes_backwards() -> None:
    clock = VirtualClock()
    with pytest.raises(ClockError):
        clock.advance(-1)
    with pytest.raises(ClockError):
        clock.move_to(DEFAULT_START - timedelta(seconds=1))
    clock.move_to(DEFAULT_START + timedelta(hours=3))
    assert clock.now() == DEFAULT_START + timedelta(hours=3)


def test_reset_goes_back_to_the_start_and_drops_work() -> None:
    clock = VirtualClock()
    ran: list[int] = []
    clock.call_later(10, lambda: ran.append(1))
    clock.advance(5)
    clock.reset()
    assert clock.now() == DEFAULT_START
    clock.advance(60)
    assert ran == []


def test_bad_durations_are_clear_errors() -> None:
    with pytest.raises(TypeError, match="duration"):
        to_timedelta("5")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_timedelta(True)


def test_real_clock_runs_callbacks_from_its_thread_scaled() -> None:
    clock = RealClock(scale=3600)  # an hour per second
    done = threading.Event()
    seen: list[datetime] = []
    scheduled_at = clock.now()

    def fire() -> None:
        seen.append(clock.now())
        done.set()

    clock.call_later(timedelta(minutes=2), fire)  # ~33 ms of real time
    assert done.wait(5)
    assert seen[0] - scheduled_at >= timedelta(minutes=2)
    clock.stop()


def test_real_clock_earlier_work_preempts_a_long_wait() -> None:
    clock = RealClock()
    order: list[str] = []
    done = threading.Event()
    clock.call_later(3600, lambda: order.append("late"))

    def early() -> None:
        order.append("early")
        done.set()

    clock.call_later(0.01, early)
    assert done.wait(5)
    assert order == ["early"]
    clock.stop()


def test_real_clock_rejects_a_non_positive_scale() -> None:
    with pytest.raises(ClockError):
        RealClock(scale=0)


def test_real_clock_advance_jumps_and_runs_what_fell_due() -> None:
    clock = RealClock()
    done = threading.Event()
    before = clock.now()
    clock.call_later(timedelta(hours=2), done.set)
    clock.advance(hours=2)
    assert done.wait(5)
    assert clock.now() - before >= timedelta(hours=2)
    with pytest.raises(ClockError):
        clock.advance(-1)
    clock.stop()


def test_running_off_the_calendar_is_a_clock_error_not_a_crash() -> None:
    clock = VirtualClock(datetime(9999, 12, 1, tzinfo=timezone.utc))
    with pytest.raises(ClockError, match="9999"):
        clock.advance(days=60)
    assert clock.now() == datetime(9999, 12, 1, tzinfo=timezone.utc)
    real = RealClock(start=datetime(9999, 12, 1, tzinfo=timezone.utc))
    with pytest.raises(ClockError):
        real.advance(days=60)


@pytest.mark.parametrize(
    "step",
    [
        {"days": float("inf")},
        {"seconds": float("nan")},
        {"days": 1e12},
        {"hours": -float("inf")},
    ],
)
def test_unusable_steps_are_clock_errors_and_move_nothing(step: dict[str, float]) -> None:
    clock = VirtualClock()
    with pytest.raises(ClockError):
        clock.advance(**step)
    assert clock.now() == DEFAULT_START


class _NotingLock:
    """The clock's advance lock, noting when ``thread`` comes to wait for it (by then it has
    asked for its advance), so a test can reset exactly while an advance is queued."""

    def __init__(self, lock: Any, thread: threading.Thread) -> None:
        self.lock, self.thread, self.queued = lock, thread, threading.Event()

    def __enter__(self) -> Any:
        if threading.current_thread() is self.thread:
            self.queued.set()
        return self.lock.__enter__()

    def __exit__(self, *exc: object) -> Any:
        return self.lock.__exit__(*exc)


def test_advances_asked_for_before_a_reset_move_the_fresh_clock_no_further() -> None:
    """An advance stuck in a callback (an attempt to a receiver that never answers) and another
    queued behind it, then a reset: neither moves the fresh clock, and neither runs what the new
    session scheduled (an outside tester saw the queued one move a reset clock by 5 hours)."""
    clock = VirtualClock()
    entered, release = threading.Event(), threading.Event()

    def hang() -> None:  # an attempt to a receiver that does not answer
        entered.set()
        release.wait(30)

    clock.call_later(60, hang)
    stuck = threading.Thread(target=clock.advance, kwargs={"minutes": 2})
    behind = threading.Thread(target=clock.advance, kwargs={"hours": 5})
    lock = _NotingLock(clock._advancing, behind)
    clock._advancing = lock  # type: ignore[assignment]
    stuck.start()
    assert entered.wait(30), "the first advance never reached its callback"
    behind.start()
    assert lock.queued.wait(30), "the second advance never queued"
    clock.reset()
    ran: list[str] = []
    clock.call_later(3600, lambda: ran.append("the new session's callback"))
    release.set()
    stuck.join(30)
    behind.join(30)
    assert not stuck.is_alive()
    assert not behind.is_alive()
    assert clock.now() == clock.start
    assert ran == []
    clock.advance(hours=1)  # an advance asked for after the reset works as ever
    assert ran == ["the new session's callback"]
