"""The outbox: one delivery per post × target, and the rules that move it.

::

    pending ──claim──> sending ──2xx──────────────> sent
       ^                  │──transient──> retry ──(due)──> sending …
       │                  │──permanent / attempts used up──> dead
       │                  └──ambiguous, not idempotent──> held
    (new post)         skipped: baseline or filtered, never sent
    dead, held ──`syndicate retry`──> retry

Every transition is committed before the next network call. A ``sending`` row
whose worker died is an ambiguous outcome: idempotent targets retry it with
the same key, the others are held for a person (or retried, when the target
says ``on_ambiguous = "retry"``).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .config import DeliveryConfig
from .feeds import render_entry
from .logs import event
from .posts import Post
from .redact import redact
from .state import Delivery, Store
from .targets.base import Lookup, Message, Receipt, Target

Clock = Callable[[], datetime]


class State(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    RETRY = "retry"
    DEAD = "dead"
    SKIPPED = "skipped"
    HELD = "held"


def delivery_key(post_id: str, target: str) -> str:
    """The stable idempotency key of (post, target): the same on every retry,
    every worker and every restart."""
    digest = hashlib.sha256(f"{post_id}\x00{target}".encode()).hexdigest()
    return f"syn_{digest[:32]}"


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: pure, so it is tested with tables."""

    base: timedelta
    factor: float
    cap: timedelta
    jitter: float
    max_attempts: int
    retry_after_cap: timedelta

    @classmethod
    def from_config(cls, config: DeliveryConfig) -> RetryPolicy:
        return cls(
            base=config.backoff_base,
            factor=config.backoff_factor,
            cap=config.backoff_cap,
            jitter=config.jitter,
            max_attempts=config.max_attempts,
            retry_after_cap=config.retry_after_cap,
        )

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failure, before jitter."""
        seconds = self.base.total_seconds() * self.factor ** max(0, attempts - 1)
        return timedelta(seconds=min(seconds, self.cap.total_seconds()))

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
        """The service's hint when it gave one (capped), else backoff ± jitter."""
        if retry_after is not None:
            return min(timedelta(seconds=max(0.0, retry_after)), self.retry_after_cap)
        spread = 1 + rng.uniform(-self.jitter, self.jitter)
        return timedelta(seconds=self.backoff(attempts).total_seconds() * spread)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts


# --- enqueue -----------------------------------------------------------------


def plan_deliveries(
    due: Sequence[Post],
    target: Target,
    *,
    first_sight: bool,
    existing: set[str],
    now: datetime,
) -> list[dict[str, Any]]:
    """New rows for ``target``: pending, or skipped (filtered or baseline)."""
    rows = []
    for post in due:
        if post.id in existing:
            continue
        state, reason = State.PENDING, None
        if not target.filters.accepts(post.categories, post.tags):
            state, reason = State.SKIPPED, "filtered: not in the target's categories or tags"
        elif first_sight and post.date < now - target.backfill:
            state, reason = State.SKIPPED, "baseline: published before the target was added"
        rows.append(
            {
                "post_id": post.id,
                "target": target.name,
                "key": delivery_key(post.id, target.name),
                "state": str(state),
                "reason": reason,
                "attempts": 0,
                "post_date": post.date,
                "next_attempt_at": now if state == State.PENDING else None,
                "created_at": now,
                "updated_at": now,
            }
        )
    return rows


def enqueue(store: Store, due: Sequence[Post], targets: Iterable[Target], now: datetime) -> int:
    """Record a delivery for every due post × target; returns how many are pending."""
    known = store.known_targets()
    pending = 0
    for target in targets:
        first_sight = target.name not in known
        rows = plan_deliveries(
            due,
            target,
            first_sight=first_sight,
            existing=set() if first_sight else store.delivered_post_ids(target.name),
            now=now,
        )
        if (
            first_sight
            and store.insert_deliveries(rows, first_sight_of=target.name, now=now) is None
        ):
            # Another worker took the baseline first: ours is only what is new.
            rows = plan_deliveries(
                due,
                target,
                first_sight=False,
                existing=store.delivered_post_ids(target.name),
                now=now,
            )
            store.insert_deliveries(rows)
        elif not first_sight:
            store.insert_deliveries(rows)
        for row in rows:
            fields = {"post": row["post_id"], "target": target.name}
            if row["state"] == State.PENDING:
                pending += 1
                event("delivery_enqueued", **fields)
            else:
                event("delivery_skipped", reason=row["reason"], **fields)
    return pending


# --- ambiguous outcomes --------------------------------------------------------


def look_up(target: Target, message: Message | None) -> Receipt | Lookup:
    """Ask the target whether an ambiguous send arrived; any failure to ask
    means it cannot tell."""
    if message is None:
        return Lookup.UNKNOWN
    try:
        return target.find_sent(message)
    except Exception as exc:  # a lookup that fails must not lose the delivery
        event("lookup_failed", level=logging.WARNING, target=target.name, error=redact(str(exc)))
        return Lookup.UNKNOWN


def _message(target: Target, post: Post | None, key: str) -> Message | None:
    if post is None:
        return None
    try:
        return target.render(render_entry(post, target.site), key)
    except Exception:  # unreadable now: the lookup cannot be made
        return None


def recover(
    store: Store,
    targets: dict[str, Target],
    now: datetime,
    *,
    exclusive: bool,
    posts: dict[str, Post] | None = None,
) -> list[Delivery]:
    """Resolve rows left in ``sending`` by a worker that died.

    ``exclusive``: the caller holds the only lock on the state (SQLite), so
    every ``sending`` row is orphaned now, whatever its lease says. Targets
    that can search their service are asked whether it arrived.
    """
    resolved = []
    for delivery in store.stale_sending(now, all_of_them=exclusive):
        target = targets.get(delivery.target)
        fields: dict[str, Any] = {"post": delivery.post_id, "target": delivery.target}
        values: dict[str, Any] = {"attempts": delivery.attempts + 1}
        if target is not None and target.retries_ambiguous():
            found: Receipt | Lookup = Lookup.NOT_FOUND
            why = "ambiguous: the worker stopped while sending; retrying with the same key"
        else:
            post = (posts or {}).get(delivery.post_id)
            message = _message(target, post, delivery.key) if target else None
            found = look_up(target, message) if target else Lookup.UNKNOWN
            why = "ambiguous: the worker stopped while sending"
        if isinstance(found, Receipt):
            values.update(
                state=str(State.SENT),
                sent_at=now,
                remote_id=found.remote_id,
                remote_url=found.remote_url,
                reason=None,
                last_error=None,
                next_attempt_at=None,
            )
            event("delivery_sent", remote=found.remote_url or found.remote_id, found=True, **fields)
        elif found is Lookup.NOT_FOUND:
            values.update(state=str(State.RETRY), reason=None, last_error=why, next_attempt_at=now)
            event("retry_scheduled", wait="0s", error=why, **fields)
        else:
            reason = f"{why}, so it may have arrived; check, then run `syndicate retry`"
            values.update(
                state=str(State.HELD), reason=reason, last_error=why, next_attempt_at=None
            )
            event("delivery_held", level=logging.WARNING, reason=reason, **fields)
        if store.update(
            delivery.id,
            State.SENDING,
            same_lease=delivery,
            lease_until=None,
            lease_owner=None,
            updated_at=now,
            **values,
        ):
            resolved.append(delivery)
    return resolved


def revive(
    store: Store, now: datetime, *, target: str | None = None, post_id: str | None = None
) -> list[Delivery]:
    """``syndicate retry``: dead and held deliveries go back to the queue."""
    revived = []
    for delivery in store.list_deliveries(
        target=target, post_id=post_id, states=(State.DEAD, State.HELD)
    ):
        if store.update(
            delivery.id,
            delivery.state,
            state=str(State.RETRY),
            attempts=0,
            reason=None,
            next_attempt_at=now,
            updated_at=now,
        ):
            revived.append(delivery)
            event("delivery_revived", post=delivery.post_id, target=delivery.target)
    return revived
