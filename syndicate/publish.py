"""``syndicate publish``: send one post now, to every target or to some.

It ignores the schedule and the baseline, refuses to send a post a second time
unless forced, and with ``dry_run`` only renders what each target would send.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import Config
from .dispatch import Dispatcher
from .errors import ConfigError, PostError
from .feeds import render_entry
from .outbox import Clock, RetryPolicy, State, delivery_key, plan_deliveries, recover
from .posts import Post, scan
from .state import Delivery, Store
from .targets.base import Target
from .worker import worker_id


@dataclass(frozen=True)
class Outcome:
    target: str
    state: str  # sent, retry, dead, held, refused, dry-run
    detail: str
    message: dict[str, Any] | None = None


def find_post(config: Config, ref: str) -> Post:
    """A post by file path (absolute, or relative to here or to the posts
    folder), by id, or by link."""
    found = scan(config.site)
    candidates = {
        Path(ref).resolve(),
        (config.root / ref).resolve(),
        (config.site.posts_dir / ref).resolve(),
    }
    for post in found.posts:
        if ref in (post.id, post.url) or post.path.resolve() in candidates:
            return post
    for error in found.errors:
        if (config.site.posts_dir.parent / error.source).resolve() in candidates:
            raise ConfigError(f"{ref}: this file cannot be read: {error.message}")
    raise ConfigError(f"{ref}: no post with that path, id or link (see `syndicate posts`)")


def pick_targets(targets: list[Target], names: tuple[str, ...]) -> list[Target]:
    if not targets:
        raise ConfigError("no targets are configured: add a [[targets]] table to the config")
    if not names:
        return targets
    by_name = {target.name: target for target in targets}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ConfigError(
            f'--target: no target named "{unknown[0]}" (configured: {", ".join(by_name)})'
        )
    return [by_name[name] for name in names]


def dry_run(post: Post, targets: list[Target], preview_dir: Path | None = None) -> list[Outcome]:
    """Render each target's message; an email's HTML goes to a file to open
    in a browser (in ``preview_dir``, else a new temporary folder)."""
    entry = render_entry(post, targets[0].site)
    outcomes = []
    for target in targets:
        message = target.render(entry, delivery_key(post.id, target.name))
        shown: dict[str, Any] = {"target": target.name, "key": message.key, "body": message.body}
        if message.headers:
            shown["headers"] = message.headers
        if message.html is not None:
            preview_dir = preview_dir or Path(tempfile.mkdtemp(prefix="syndicate-preview-"))
            preview_dir.mkdir(parents=True, exist_ok=True)
            page = preview_dir / f"{target.name}-{post.slug}.html"
            page.write_text(message.html, "utf-8")
            shown["html_file"] = str(page)
        outcomes.append(Outcome(target.name, "dry-run", "nothing sent", shown))
    return outcomes


def publish(
    config: Config,
    store: Store,
    post: Post,
    targets: list[Target],
    *,
    force: bool,
    clock: Clock,
    rng: random.Random | None = None,
) -> list[Outcome]:
    """Send ``post`` to each target now and commit each outcome."""
    try:
        render_entry(post, config.site)
    except PostError as exc:
        raise ConfigError(f"{post.source}: {exc}") from None
    dispatcher = Dispatcher(
        store,
        targets,
        {post.id: post},
        policy=RetryPolicy.from_config(config.delivery),
        lease=config.delivery.lease,
        concurrency=1,
        clock=clock,
        owner=worker_id(),
        rng=rng,
    )
    # Holding the tick lock, we know a row left in "sending" is a dead
    # worker's: resolve it first, as a tick would.
    recover(
        store,
        {t.name: t for t in targets},
        clock(),
        exclusive=store.is_sqlite,
        posts={post.id: post},
    )
    outcomes = []
    for target in targets:
        now = clock()
        current = _row(store, post, target, now)
        if current.state in (State.SENT, State.HELD, State.SENDING) and not force:
            when = f" at {current.sent_at:%Y-%m-%d %H:%M} UTC" if current.sent_at else ""
            detail = (
                f"already {current.state}{when}; use --force to send it again"
                if current.state != State.SENDING
                else "a worker is sending it right now"
            )
            outcomes.append(Outcome(target.name, "refused", detail))
            continue
        key = current.key
        if current.state == State.SENT:
            # A forced repeat is a new message: receivers would drop the old key.
            key = delivery_key(post.id, f"{target.name}#{now.isoformat()}")
        claimed = _claim(store, current, key, dispatcher.owner, now, config.delivery.lease)
        if claimed is None:
            outcomes.append(Outcome(target.name, "refused", "a worker took it first; see status"))
            continue
        dispatcher.deliver(target, claimed, post)
        final = store.list_deliveries(target=target.name, post_id=post.id)[0]
        detail = final.remote_url or final.remote_id or final.last_error or ""
        outcomes.append(Outcome(target.name, final.state, detail))
    return outcomes


def _row(store: Store, post: Post, target: Target, now: datetime) -> Delivery:
    rows = store.list_deliveries(target=target.name, post_id=post.id)
    if rows:
        return rows[0]
    (row,) = plan_deliveries([post], target, first_sight=False, existing=set(), now=now)
    # Sent by hand: neither the baseline nor the target's filters apply.
    store.insert_deliveries(
        [{**row, "state": str(State.PENDING), "reason": None, "next_attempt_at": now}]
    )
    return store.list_deliveries(target=target.name, post_id=post.id)[0]


def _claim(
    store: Store, row: Delivery, key: str, owner: str, now: datetime, lease: Any
) -> Delivery | None:
    if not store.update(
        row.id,
        row.state,
        state=str(State.SENDING),
        key=key,
        lease_owner=owner,
        lease_until=now + lease,
        updated_at=now,
    ):
        return None
    return store.list_deliveries(target=row.target, post_id=row.post_id)[0]
