"""The retry policy: the provider's schedule by default, validated, immutable, serialisable."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from lmif_mock.retry import RetryPolicy, RetryPolicyError


def test_default_is_the_providers_schedule() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 7
    assert [policy.delay_before(n) for n in range(1, 8)] == [
        timedelta(0),
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=8),
        timedelta(hours=24),
    ]
    assert policy.delay_before(8) is None
    assert policy.delay_before(0) is None
    assert policy.timeout == timedelta(seconds=30)
    assert policy.total_delay == timedelta(hours=34, minutes=36)


def test_custom_policies_take_seconds_or_timedeltas() -> None:
    policy = RetryPolicy(delays=[0, 1.5, timedelta(minutes=1)], timeout=2)
    assert policy.delays == (timedelta(0), timedelta(seconds=1.5), timedelta(minutes=1))
    assert policy.timeout == timedelta(seconds=2)
    assert RetryPolicy.no_retries().max_attempts == 1


def test_policies_are_immutable_values() -> None:
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.timeout = timedelta(1)  # type: ignore[misc]
    assert policy == RetryPolicy()
    assert hash(policy) == hash(RetryPolicy())


@pytest.mark.parametrize(
    ("delays", "timeout", "message"),
    [
        ([], 30, "at least one"),
        ([0, -1], 30, "negative"),
        ([0], 0, "positive"),
        (["x"], 30, "duration"),
    ],
)
def test_invalid_policies_are_refused(delays: list[object], timeout: float, message: str) -> None:
    with pytest.raises(RetryPolicyError, match=message):
        RetryPolicy(delays=delays, timeout=timeout)  # type: ignore[arg-type]


def test_round_trip_through_json_form() -> None:
    policy = RetryPolicy(delays=[0, 10, 20], timeout=3)
    assert RetryPolicy.from_seconds(policy.to_seconds()) == policy
    with pytest.raises(RetryPolicyError):
        RetryPolicy.from_seconds({"delays": "soon"})
    with pytest.raises(RetryPolicyError):
        RetryPolicy.from_seconds({"timeout": True})
