"""Crash safety with real processes: a worker killed with SIGKILL at each step
of a delivery, then ordinary ticks, against a real signed-webhook receiver.

The outbox contract (design.md): every transition is committed before the
next network call; a ``sending`` row whose worker died is ambiguous, retried
with the same key by idempotent targets (the receiver drops the duplicate by
``webhook-id``) and held for a person by the others. Nothing is lost.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import (
    Receiver,
    run_crashing_worker,
    verify,
    webhook,
    write_site,
)

from syndicate.config import load_config
from syndicate.outbox import delivery_key
from syndicate.posts import scan
from syndicate.state import Delivery, open_store
from syndicate.targets.webhook import WebhookTarget
from syndicate.worker import run_once, tick_lock

POSTS = 5
KILLED = -signal.SIGKILL
SYNDICATE = Path(sys.executable).parent / "syndicate"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def deliveries(config_path: Path) -> list[Delivery]:
    config = load_config(config_path)
    store = open_store(config.state.url, config.root)
    try:
        return store.list_deliveries()
    finally:
        store.close()


def expected_keys(config_path: Path, target: str) -> dict[str, str]:
    """webhook-id -> post id, for every post on disk."""
    config = load_config(config_path)
    ids = [p.id for p in scan(config.site).posts]
    assert len(ids) == POSTS
    return {delivery_key(post_id, target): post_id for post_id in ids}


def tick_until_idle(config_path: Path, limit: int = 5) -> int:
    """Ordinary ticks until nothing is pending, retrying or sending."""
    for ticks in range(1, limit + 1):
        report = run_once(load_config(config_path))
        assert report is not None, "the dead worker's tick lock was not released"
        busy = [d for d in deliveries(config_path) if d.state in ("pending", "retry", "sending")]
        if not busy:
            return ticks
    raise AssertionError(f"still busy after {limit} ticks: {busy}")


def crash(config_path: Path, point: str, *extra: str) -> Delivery:
    """Run a worker that kills itself at ``point``; the row it left claimed."""
    result = run_crashing_worker(config_path, point, *extra)
    assert result.returncode == KILLED, (result.returncode, result.stderr)
    left = [d for d in deliveries(config_path) if d.state == "sending"]
    assert len(left) == 1, left
    return left[0]


def test_receiver_verifies_the_spec_vector() -> None:
    # The reference vector published with Standard Webhooks.
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,bm9ldHZhbGlk v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    body = b'{"test": 2432232314}'
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify(secret, {**headers, "webhook-timestamp": "1614265331"}, body)
    assert not verify(secret, headers, body, now=1614265330 + 3600)


@pytest.mark.parametrize("point", ["claimed", "sent-unrecorded", "committing-sent"])
def test_killed_worker_loses_nothing(tmp_path: Path, receiver: Receiver, point: str) -> None:
    config_path = write_site(tmp_path, POSTS, [webhook("hook", receiver.url + "/in")])
    keys = expected_keys(config_path, "hook")

    claimed = crash(config_path, point)
    before = receiver.counts()
    if point == "claimed":
        # Killed after the claim was committed, before any request left.
        assert before == {}
    else:
        # Killed after the receiver answered, before "sent" was committed.
        assert before == {claimed.key: 1}

    tick_until_idle(config_path)

    rows = deliveries(config_path)
    assert sorted(d.key for d in rows) == sorted(keys)
    assert {d.state for d in rows} == {"sent"}
    assert receiver.invalid() == []
    unique = receiver.unique()
    assert set(unique) == set(keys)  # each post once after dedupe, none lost
    assert {key: r.payload()["data"]["id"] for key, r in unique.items()} == keys
    raw = receiver.counts()
    if point == "claimed":
        assert raw == dict.fromkeys(keys, 1)  # nothing had left: exactly once, raw
    else:
        # The ambiguous one was sent again, with the same webhook-id.
        assert raw == {**dict.fromkeys(keys, 1), claimed.key: 2}


@pytest.mark.parametrize(
    ("on_ambiguous", "state", "times"),
    [("hold", "held", 1), ("retry", "sent", 2)],
)
def test_killed_worker_with_a_target_without_idempotency(
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
    on_ambiguous: str,
    state: str,
    times: int,
) -> None:
    # Only idempotent types are registered, so the webhook poses as one that
    # takes no key (in the killed worker and in this process alike).
    monkeypatch.setattr(WebhookTarget, "idempotent", False)
    target = webhook("hook", receiver.url + "/in", on_ambiguous=on_ambiguous)
    config_path = write_site(tmp_path, POSTS, [target])
    keys = expected_keys(config_path, "hook")

    claimed = crash(config_path, "sent-unrecorded", "not-idempotent")
    assert receiver.counts() == {claimed.key: 1}

    tick_until_idle(config_path)

    rows = {d.key: d for d in deliveries(config_path)}
    assert set(rows) == set(keys)
    assert rows[claimed.key].state == state
    assert {d.state for key, d in rows.items() if key != claimed.key} == {"sent"}
    if state == "held":
        assert "ambiguous" in (rows[claimed.key].reason or "")
    assert receiver.counts() == {**dict.fromkeys(keys, 1), claimed.key: times}
    assert receiver.invalid() == []


def test_killed_while_enqueueing_a_new_target_keeps_the_baseline(
    tmp_path: Path, receiver: Receiver
) -> None:
    # backfill 0d: every post already due when the target is first seen is
    # baseline, never sent ("adding a target never floods it").
    target = webhook("hook", receiver.url + "/in", backfill="0d")
    config_path = write_site(tmp_path, POSTS, [target])

    result = run_crashing_worker(config_path, "enqueueing")
    assert result.returncode == KILLED, (result.returncode, result.stderr)

    tick_until_idle(config_path)

    assert receiver.counts() == {}
    rows = deliveries(config_path)
    assert len(rows) == POSTS
    assert {d.state for d in rows} == {"skipped"}


def test_overlapping_tick_is_skipped(tmp_path: Path, receiver: Receiver) -> None:
    config_path = write_site(tmp_path, POSTS, [webhook("hook", receiver.url + "/in")])
    config = load_config(config_path)
    store = open_store(config.state.url, config.root)
    try:
        with tick_lock(store) as held:
            assert held
            result = subprocess.run(
                [str(SYNDICATE), "run", "--once", "--config", str(config_path)],
                capture_output=True,
                text=True,
                timeout=60,
            )
    finally:
        store.close()
    assert result.returncode == 0, result.stderr
    assert "another tick is running" in result.stdout
    assert receiver.received == []
    assert deliveries(config_path) == []

    # Released: the next tick does the work.
    report = run_once(load_config(config_path))
    assert report is not None
    assert len(report.dispatch.sent) == POSTS
    assert receiver.counts() == dict.fromkeys(expected_keys(config_path, "hook"), 1)
