"""Sending what is due: targets in parallel, each target's oldest post first.

Each delivery is claimed (committed as ``sending`` with a lease), rendered,
sent, and its outcome committed before the next one is claimed, so a stop or
a crash leaves at most one delivery per target in doubt.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import DeliveryError, PermanentError, PostError, TransientError
from .feeds import Entry, render_entry
from .logs import event
from .outbox import Clock, RetryPolicy, State, look_up
from .posts import Post
from .redact import redact
from .state import Delivery, Store
from .targets.base import Lookup, Receipt, Target

MISSING_POST_WAIT = timedelta(minutes=15)


@dataclass
class DispatchReport:
    sent: list[Delivery] = field(default_factory=list)
    retried: list[Delivery] = field(default_factory=list)
    dead: list[Delivery] = field(default_factory=list)
    held: list[Delivery] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.retried or self.dead or self.held)


class Dispatcher:
    """Sends due deliveries: targets in parallel, each target's oldest first."""

    def __init__(
        self,
        store: Store,
        targets: Sequence[Target],
        posts: dict[str, Post],
        *,
        policy: RetryPolicy,
        lease: timedelta,
        concurrency: int,
        clock: Clock,
        owner: str,
        stop: threading.Event | None = None,
        rng: random.Random | None = None,
        not_due: dict[str, Post] | None = None,
    ) -> None:
        self.store = store
        self.targets = list(targets)
        self.posts = posts
        # Posts found but not due now (a draft again, moved to the future).
        self.not_due = not_due or {}
        self.policy = policy
        self.lease = lease
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self.owner = owner
        self.stop = stop or threading.Event()
        self.rng = rng or random.Random()
        self.report = DispatchReport()
        self._entries: dict[str, Entry | PostError] = {}
        self._lock = threading.Lock()

    def run(self) -> DispatchReport:
        if not self.targets:
            return self.report
        workers = min(self.concurrency, len(self.targets))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deliver") as pool:
            for future in [pool.submit(self.drain, target) for target in self.targets]:
                future.result()
        return self.report

    def drain(self, target: Target) -> None:
        """Send everything due for one target, oldest post first."""
        skip: list[int] = []
        while not self.stop.is_set():
            now = self.clock()
            delivery = self.store.claim_next(
                target.name, now, self.owner, now + self.lease, skip=skip
            )
            if delivery is None:
                return
            post = self.posts.get(delivery.post_id)
            if post is None:
                skip.append(delivery.id)
                self._release_missing(delivery, now)
                continue
            self.deliver(target, delivery, post)

    def _release_missing(self, delivery: Delivery, now: datetime) -> None:
        # Not sendable now, through no fault of the target: wait without
        # spending an attempt, and say why in status.
        post = self.not_due.get(delivery.post_id)
        if post is None:
            why = "the post is not in the posts folder now (unreadable or removed)"
            until = now + MISSING_POST_WAIT
        elif post.hidden:
            why, until = f"the post is not due any more ({post.hidden})", now + MISSING_POST_WAIT
        else:
            why, until = "the post's date was moved to the future", max(post.date, now)
        self.store.finish(
            delivery,
            self.owner,
            state=str(State.RETRY),
            next_attempt_at=until,
            last_error=why,
            updated_at=now,
        )

    def _entry(self, post: Post, target: Target) -> Entry:
        with self._lock:
            cached = self._entries.get(post.id)
        if cached is None:
            try:
                cached = render_entry(post, target.site)
            except PostError as exc:
                cached = exc
            with self._lock:
                self._entries[post.id] = cached
        if isinstance(cached, PostError):
            raise TransientError(f"{post.source}: {cached}")
        return cached

    def deliver(self, target: Target, delivery: Delivery, post: Post) -> None:
        """Render and send one claimed delivery, then commit the outcome."""
        fields = {"post": post.id, "target": target.name, "attempt": delivery.attempts + 1}
        try:
            message = target.render(self._entry(post, target), delivery.key)
        except DeliveryError as exc:
            self._failed(target, delivery, exc, fields)
            return
        except Exception as exc:  # a bug in a target's render: never retried in a loop
            self._failed(target, delivery, PermanentError(f"render failed: {_brief(exc)}"), fields)
            return
        try:
            receipt = target.send(message)
        except TransientError as exc:
            if exc.ambiguous and not target.retries_ambiguous():
                # Before holding it for a person, ask the service.
                found = look_up(target, message)
                if isinstance(found, Receipt):
                    self._sent(delivery, receipt=found, fields={**fields, "found": True})
                    return
                if found is Lookup.NOT_FOUND:
                    exc = TransientError(str(exc), retry_after=exc.retry_after)
            self._failed(target, delivery, exc, fields)
            return
        except DeliveryError as exc:
            self._failed(target, delivery, exc, fields)
            return
        except Exception as exc:  # it may have been sent before the failure
            error = TransientError(f"send failed: {_brief(exc)}", ambiguous=True)
            self._failed(target, delivery, error, fields)
            return
        self._sent(delivery, receipt, fields)

    def _sent(self, delivery: Delivery, receipt: Receipt, fields: dict[str, Any]) -> None:
        now = self.clock()
        recorded = self.store.finish(
            delivery,
            self.owner,
            state=str(State.SENT),
            attempts=delivery.attempts + 1,
            sent_at=now,
            updated_at=now,
            remote_id=receipt.remote_id,
            remote_url=receipt.remote_url,
            last_error=None,
            reason=None,
        )
        if not recorded:
            # Our lease ran out mid-send and the row was parked as ambiguous:
            # it did arrive, so record that (else a retry would send it twice).
            self.store.settle_sent(
                delivery.id,
                attempts=delivery.attempts + 1,
                sent_at=now,
                updated_at=now,
                remote_id=receipt.remote_id,
                remote_url=receipt.remote_url,
                last_error=None,
            )
            self._lease_lost(fields)
        with self._lock:
            self.report.sent.append(delivery)
        event("delivery_sent", remote=receipt.remote_url or receipt.remote_id, **fields)

    def _lease_lost(self, fields: dict[str, Any]) -> None:
        # The lease ran out mid-send and another worker took the row over; it
        # will send again with the same key. A lease shorter than a send is a
        # configuration problem worth shouting about.
        event(
            "lease_lost",
            level=logging.WARNING,
            error="the delivery's lease ran out while sending; raise delivery.lease",
            **fields,
        )

    def _failed(
        self, target: Target, delivery: Delivery, error: DeliveryError, fields: dict[str, Any]
    ) -> None:
        now = self.clock()
        attempts = delivery.attempts + 1
        message = redact(str(error))
        values: dict[str, Any] = {"attempts": attempts, "last_error": message, "updated_at": now}
        if isinstance(error, TransientError) and error.ambiguous and not target.retries_ambiguous():
            reason = f"ambiguous: {message}; check whether it arrived, then `syndicate retry`"
            values.update(state=str(State.HELD), reason=reason, next_attempt_at=None)
            bucket, name = self.report.held, "delivery_held"
        elif isinstance(error, TransientError) and not self.policy.exhausted(attempts):
            wait = self.policy.delay(attempts, error.retry_after, self.rng)
            values.update(state=str(State.RETRY), next_attempt_at=now + wait)
            fields = {**fields, "wait": f"{wait.total_seconds():.0f}s"}
            bucket, name = self.report.retried, "retry_scheduled"
        else:
            if isinstance(error, TransientError):
                message = f"gave up after {attempts} attempts: {message}"
            values.update(state=str(State.DEAD), reason=message, next_attempt_at=None)
            bucket, name = self.report.dead, "delivery_dead"
        if not self.store.finish(delivery, self.owner, **values):
            self._lease_lost(fields)
        with self._lock:
            bucket.append(delivery)
        level = logging.ERROR if name == "delivery_dead" else logging.WARNING
        event(name, level=level, error=message, **fields)


def _brief(exc: Exception) -> str:
    return redact(f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:300])
