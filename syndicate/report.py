"""What ``syndicate status`` shows, as data and as text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .config import Config
from .dates import isoformat
from .posts import scan
from .state import open_store


def _when(moment: datetime | None) -> str | None:
    return isoformat(moment) if moment else None


def status_report(config: Config, now: datetime) -> dict[str, Any]:
    found = scan(config.site)
    sources = {post.id: post.source for post in found.posts}
    configured = {target.name for target in config.targets}
    store = open_store(config.state.url, config.root)
    try:
        rows = store.list_deliveries()
    finally:
        store.close()
    deliveries = [
        {
            "post": row.post_id,
            "source": sources.get(row.post_id),
            "target": row.target,
            "configured": row.target in configured,
            "state": row.state,
            "reason": row.reason,
            "attempts": row.attempts,
            "next_attempt": _when(row.next_attempt_at) if row.state == "retry" else None,
            "last_error": row.last_error if row.state != "sent" else None,
            "remote_id": row.remote_id,
            "remote_url": row.remote_url,
            "sent_at": _when(row.sent_at),
        }
        for row in rows
    ]
    upcoming = sorted(
        (p for p in found.posts if p.hidden is None and p.date > now), key=lambda p: p.date
    )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return {
        "now": isoformat(now),
        "counts": counts,
        "deliveries": deliveries,
        "next_scheduled": (
            {
                "source": upcoming[0].source,
                "title": upcoming[0].title,
                "due": _when(upcoming[0].date),
            }
            if upcoming
            else None
        ),
        "unreadable": [
            {"source": e.source, "line": e.line, "message": e.message} for e in found.errors
        ],
    }


def status_text(report: dict[str, Any]) -> str:
    lines: list[str] = []
    by_post: dict[str, list[dict[str, Any]]] = {}
    for row in report["deliveries"]:
        by_post.setdefault(row["post"], []).append(row)
    for post_id, rows in by_post.items():
        lines.append(rows[0]["source"] or f"{post_id} (no longer in the posts folder)")
        for row in rows:
            detail = row["remote_url"] or row["remote_id"] or ""
            if row["state"] == "retry":
                detail = f"next try {row['next_attempt']}: {row['last_error']}"
            elif row["state"] in ("dead", "held", "skipped"):
                detail = row["reason"] or row["last_error"] or ""
            if not row["configured"]:
                detail = f"(target no longer configured) {detail}".strip()
            head = f"    {row['target']:<16} {row['state']:<8} attempts {row['attempts']:<3}"
            lines.append(f"{head} {detail}".rstrip())
    counts = ", ".join(f"{n} {state}" for state, n in sorted(report["counts"].items()))
    lines.append(f"deliveries: {counts or 'none yet'}")
    upcoming = report["next_scheduled"]
    if upcoming:
        lines.append(f"next scheduled post: {upcoming['due']}  {upcoming['source']}")
    if report["unreadable"]:
        lines.append(f"{len(report['unreadable'])} files cannot be read:")
        for error in report["unreadable"]:
            where = f"{error['source']}:{error['line']}" if error["line"] else error["source"]
            lines.append(f"    {where}: {error['message']}")
    return "\n".join(lines)
