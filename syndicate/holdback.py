"""Holding broken posts back: the preflight verdict applied to a tick.

A due post with an error finding is quarantined: it goes in no feed and no
delivery is enqueued for it. When the file is fixed, the next tick finds no
error and the post is due like any other (the baseline does not apply: its
target has been seen before). With ``preflight.alerts`` set, the owner is told
once per content version of the file, on that target.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .config import Config
from .errors import ConfigError
from .logs import event
from .outbox import State, plan_deliveries
from .posts import Post
from .preflight import Finding, blocking, check_all
from .state import Store
from .targets.base import Target


@dataclass(frozen=True)
class Held:
    post: Post
    reasons: tuple[Finding, ...]


def hold_back(
    config: Config, posts: Sequence[Post], due: Sequence[Post], now: datetime
) -> tuple[list[Post], list[Held], dict[str, list[Finding]]]:
    """(the due posts that may go out, the ones held back, every finding)."""
    findings = check_all(
        [post for post in posts if post.hidden is None], config.site, config.preflight, now=now
    )
    held = []
    for post in due:
        errors = blocking(findings.get(post.id, []))
        if errors:
            held.append(Held(post, tuple(errors)))
    held_ids = {item.post.id for item in held}
    return [post for post in due if post.id not in held_ids], held, findings


def alerts_target(config: Config, targets: Sequence[Target]) -> Target | None:
    name = config.preflight.alerts
    if name is None:
        return None
    for target in targets:
        if target.name == name:
            return target
    raise ConfigError(f'{config.path}: preflight.alerts: no enabled target named "{name}"')


def alert_posts(held: Sequence[Held]) -> list[Post]:
    """One alert per held post and content version of its file: a stand-in
    post whose title and summary say what is wrong and where."""
    alerts = []
    for item in held:
        try:
            version = hashlib.sha256(item.post.path.read_bytes()).hexdigest()[:16]
        except OSError:
            continue
        reasons = "; ".join(
            f"line {f.line}: {f.message}" if f.line else f.message for f in item.reasons
        )
        alerts.append(
            dataclasses.replace(
                item.post,
                id=f"{item.post.id}#held-back#{version}",
                title=f"Held back: {item.post.title}",
                summary_field=f"{item.post.source} was not published: {reasons}",
            )
        )
    return alerts


def enqueue_alerts(store: Store, target: Target, alerts: Sequence[Post], now: datetime) -> None:
    existing = store.delivered_post_ids(target.name)
    rows = plan_deliveries(alerts, target, first_sight=False, existing=existing, now=now)
    # An alert goes to its target whatever the target's filters say.
    store.insert_deliveries(
        [
            {**row, "state": str(State.PENDING), "reason": None, "next_attempt_at": now}
            for row in rows
        ]
    )
    for row in rows:
        event("alert_enqueued", post=row["post_id"], target=target.name)


def log_held(held: Sequence[Held]) -> None:
    for item in held:
        event(
            "post_held_back",
            source=item.post.source,
            reasons="; ".join(str(finding) for finding in item.reasons),
        )
