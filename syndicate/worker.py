"""One tick, and the service that runs ticks on a schedule.

A tick: scan → build the feeds if their content changed → enqueue newly due
posts → resolve deliveries a dead worker left → send what is due. ``run_once``
is a tick for cron; ``run_service`` runs ticks with APScheduler, also waking
exactly when the next scheduled post falls due, until SIGTERM or SIGINT.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import random
import signal
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import __version__
from .config import Config
from .dispatch import Dispatcher, DispatchReport
from .feeds import BuildResult, build, main_feed_paths
from .holdback import Held, alert_posts, alerts_target, enqueue_alerts, hold_back, log_held
from .logs import event
from .outbox import Clock, RetryPolicy, enqueue, recover
from .posts import BadFile, Post, due_posts, next_scheduled, scan
from .state import Store, open_store
from .targets.base import Target
from .targets.registry import make_targets


@dataclass
class TickReport:
    posts: int = 0
    due: int = 0
    errors: list[BadFile] = field(default_factory=list)
    feeds: BuildResult | None = None
    enqueued: int = 0
    dispatch: DispatchReport = field(default_factory=DispatchReport)
    next_due: datetime | None = None
    held: list[Held] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors) or self.dispatch.failed


def utc_now() -> datetime:
    return datetime.now(UTC)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def feed_fingerprint(config: Config, due: Sequence[Post]) -> str:
    """What the feeds depend on: the due posts' files, the settings, the code."""
    digest = hashlib.sha256(f"{__version__}\n{config.site!r}\n{config.feeds!r}\n".encode())
    for post in due:
        try:
            stat = post.path.stat()
            stamp = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        digest.update(f"{post.id}\x00{post.source}\x00{stamp}\n".encode())
    return digest.hexdigest()


def build_feeds_if_changed(
    config: Config, store: Store, due: Sequence[Post], now: datetime
) -> BuildResult | None:
    """Build only when the content changed, and (PostgreSQL) only on the
    worker holding the feed lock. None when nothing was built."""
    with store.feed_lock() as mine:
        if not mine:
            return None
        fingerprint = feed_fingerprint(config, due)
        present = all(path.is_file() for path in main_feed_paths(config))
        if fingerprint == store.feed_fingerprint() and present:
            return None
        result = build(config, due)
        if not result.errors:
            store.set_feed_fingerprint(fingerprint, now)
        for path in result.written:
            event("feed_written", path=str(path))
        return result


def tick(
    config: Config,
    store: Store,
    targets: Sequence[Target],
    *,
    clock: Clock = utc_now,
    exclusive: bool,
    stop: threading.Event | None = None,
    rng: random.Random | None = None,
) -> TickReport:
    """One pass; ``exclusive`` when this process holds the only lock (SQLite)."""
    now = clock()
    report = TickReport()
    found = scan(config.site)
    report.posts = len(found.posts)
    report.errors = list(found.errors)
    for error in found.errors:
        event("post_unreadable", source=error.source, line=error.line, error=error.message)
    due, report.held, _ = hold_back(config, found.posts, due_posts(found.posts, now), now)
    log_held(report.held)
    report.due = len(due)
    try:
        report.feeds = build_feeds_if_changed(config, store, due, now)
    except OSError as exc:
        # Feeds that cannot be written must not stop the announcements.
        where = exc.filename or str(config.feeds.output_dir)
        report.errors.append(BadFile(str(where), f"cannot write the feed ({exc.strerror})"))
        event("feed_failed", path=str(where), error=exc.strerror)
    if report.feeds:
        report.errors += report.feeds.errors
    record_posts(store, due, now)
    alerts = alerts_target(config, targets)
    announcing = [target for target in targets if target is not alerts]
    report.enqueued = enqueue(store, due, announcing, now)
    extra: list[Post] = []
    if alerts is not None:
        extra = alert_posts(report.held)
        enqueue_alerts(store, alerts, extra, now)
    posts_by_id = {post.id: post for post in found.posts}
    recover(store, {t.name: t for t in targets}, now, exclusive=exclusive, posts=posts_by_id)
    due_ids = {post.id for post in due}
    dispatcher = Dispatcher(
        store,
        targets,
        {post.id: post for post in [*due, *extra]},
        not_due={post.id: post for post in found.posts if post.id not in due_ids},
        policy=RetryPolicy.from_config(config.delivery),
        lease=config.delivery.lease,
        concurrency=config.delivery.concurrency,
        clock=clock,
        owner=worker_id(),
        stop=stop,
        rng=rng,
    )
    report.dispatch = dispatcher.run()
    upcoming = next_scheduled(found.posts, now)
    report.next_due = upcoming.date if upcoming else None
    return report


def record_posts(store: Store, due: Sequence[Post], now: datetime) -> None:
    """Remember each post the first time it is seen due: when, and a hash of
    its file, so later work (quarantine, edits) can tell versions apart."""
    known = store.known_post_ids()
    rows = []
    for post in due:
        if post.id in known:
            continue
        try:
            data = post.path.read_bytes()
            stat = post.path.stat()
        except OSError:
            continue
        rows.append(
            {
                "id": post.id,
                "source": post.source,
                "size": stat.st_size,
                "mtime_ns": str(stat.st_mtime_ns),
                "content_hash": hashlib.sha256(data).hexdigest(),
                "first_seen": now,
                "due_at": post.date,
            }
        )
    store.add_posts(rows)


@contextlib.contextmanager
def tick_lock(store: Store) -> Iterator[bool]:
    """SQLite: one tick at a time per state file; False when another holds it.

    Holding it also proves no other worker is alive, which is what lets a tick
    resolve a dead worker's ``sending`` rows at once. PostgreSQL: always True;
    there workers share the outbox through row locks.
    """
    path = store.sqlite_path
    if path is None:
        yield True
        return
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def open_worker(config: Config) -> tuple[Store, list[Target]]:
    targets = make_targets(config)
    store = open_store(config.state.url, config.root)
    for target in targets:
        target.attach(store)
    return store, targets


def run_once(config: Config, *, clock: Clock = utc_now) -> TickReport | None:
    """One tick for cron; None when another tick holds the state's lock."""
    store, targets = open_worker(config)
    try:
        with tick_lock(store) as held:
            if not held:
                event("tick_skipped", reason="another tick holds the state lock")
                return None
            return tick(config, store, targets, clock=clock, exclusive=store.is_sqlite)
    finally:
        for target in targets:
            target.close()
        store.close()


def run_service(config: Config) -> None:
    """Run ticks on ``schedule.interval`` or ``schedule.cron`` until a signal."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.date import DateTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    store, targets = open_worker(config)
    stop = threading.Event()
    scheduler = BackgroundScheduler(timezone=UTC, job_defaults={"coalesce": True})

    # Held for a whole tick, scheduling included; stopping takes it too, so a
    # stop waits for the tick in flight and no new tick starts after it.
    running = threading.Lock()

    def one_tick() -> None:
        with running:
            if not stop.is_set():
                _tick_and_schedule()

    def _tick_and_schedule() -> None:
        with tick_lock(store) as held:
            if not held:
                event("tick_skipped", reason="another tick holds the state lock")
                return
            report = tick(config, store, targets, exclusive=store.is_sqlite, stop=stop)
        event(
            "tick_done",
            due=report.due,
            sent=len(report.dispatch.sent),
            failed=len(report.dispatch.dead)
            + len(report.dispatch.retried)
            + len(report.dispatch.held),
            next_due=report.next_due.isoformat() if report.next_due else None,
        )
        if report.next_due is not None and not stop.is_set():
            # Wake exactly when the next scheduled post falls due.
            scheduler.add_job(
                one_tick,
                DateTrigger(run_date=max(report.next_due, utc_now())),
                id="next-post",
                replace_existing=True,
                max_instances=1,
                # A date already past when the tick ends must still run, not be
                # dropped as "missed" (APScheduler's default grace is 1 s).
                misfire_grace_time=None,
            )

    if config.schedule.cron:
        trigger: Any = CronTrigger.from_crontab(config.schedule.cron, timezone=config.site.timezone)
    else:
        assert config.schedule.interval is not None
        trigger = IntervalTrigger(seconds=config.schedule.interval.total_seconds(), timezone=UTC)
    scheduler.add_job(one_tick, trigger, id="tick", max_instances=1, next_run_time=utc_now())

    def on_signal(signum: int, _frame: Any) -> None:
        event("stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler.start()
    event("service_started", schedule=config.schedule.cron or str(config.schedule.interval))
    try:
        stop.wait()
    finally:
        # The delivery in flight finishes and commits; nothing new is claimed.
        with running:
            scheduler.shutdown(wait=False)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for target in targets:
            target.close()
        store.close()
        event("service_stopped")
