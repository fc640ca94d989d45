"""The retry policy is a pure function of attempts, hints and a random source."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from syndicate.outbox import RetryPolicy, delivery_key

POLICY = RetryPolicy(
    base=timedelta(seconds=30),
    factor=2.0,
    cap=timedelta(hours=1),
    jitter=0.0,
    max_attempts=5,
    retry_after_cap=timedelta(minutes=10),
)


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (20, 3600)],
)
def test_backoff_grows_and_is_capped(attempts: int, seconds: float) -> None:
    assert POLICY.backoff(attempts) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("hint", "seconds"),
    [(7.0, 7), (0.0, 0), (-3.0, 0), (3600.0, 600)],
    ids=["honoured", "zero", "negative", "capped"],
)
def test_retry_after_hint_wins_and_is_capped(hint: float, seconds: float) -> None:
    assert POLICY.delay(3, hint, random.Random(1)) == timedelta(seconds=seconds)


def test_jitter_stays_within_its_band() -> None:
    policy = RetryPolicy(**{**POLICY.__dict__, "jitter": 0.2})
    rng = random.Random(42)
    waits = [policy.delay(2, None, rng).total_seconds() for _ in range(200)]
    assert min(waits) >= 48 and max(waits) <= 72
    assert len({round(w, 3) for w in waits}) > 100  # it really varies


@pytest.mark.parametrize(("attempts", "done"), [(1, False), (4, False), (5, True), (6, True)])
def test_attempts_run_out(attempts: int, done: bool) -> None:
    assert POLICY.exhausted(attempts) is done


def test_delivery_key_is_stable_and_distinct() -> None:
    key = delivery_key("https://blog.example.com/2026/01/01/a", "hook")
    assert key == delivery_key("https://blog.example.com/2026/01/01/a", "hook")
    assert key.startswith("syn_") and len(key) == 36
    assert key != delivery_key("https://blog.example.com/2026/01/01/a", "other")
    assert key != delivery_key("https://blog.example.com/2026/01/01/b", "hook")
