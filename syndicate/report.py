"""What ``posts``, ``status`` and ``targets`` show, as data and as text."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from .config import Config
from .dates import isoformat
from .errors import PostError
from .posts import BadFile, due_posts, next_scheduled, scan, status, summary
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
    from .holdback import hold_back

    _, held, _ = hold_back(config, found.posts, due_posts(found.posts, now), now)
    upcoming = next_scheduled(found.posts, now)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    return {
        "now": isoformat(now),
        "counts": counts,
        "deliveries": deliveries,
        "next_scheduled": (
            {"source": upcoming.source, "title": upcoming.title, "due": _when(upcoming.date)}
            if upcoming
            else None
        ),
        "held_back": [
            {"source": item.post.source, "reasons": [str(f) for f in item.reasons]} for item in held
        ],
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
    for item in report["held_back"]:
        lines.append(f"held back: {item['source']}")
        lines += [f"    {reason}" for reason in item["reasons"]]
    if report["unreadable"]:
        lines.append(f"{len(report['unreadable'])} files cannot be read:")
        for error in report["unreadable"]:
            where = f"{error['source']}:{error['line']}" if error["line"] else error["source"]
            lines.append(f"    {where}: {error['message']}")
    return "\n".join(lines)


def posts_report(config: Config, now: datetime) -> dict[str, Any]:
    from .holdback import hold_back

    found = scan(config.site)
    _, held, _ = hold_back(config, found.posts, due_posts(found.posts, now), now)
    held_back = {item.post.id: item for item in held}
    errors = list(found.errors)
    rows: list[dict[str, Any]] = []
    for post in found.posts:
        try:
            text: str | None = summary(post)
        except PostError as exc:
            text = None
            errors.append(BadFile(post.source, str(exc), exc.line))
        state = status(post, now)
        if post.id in held_back:
            state = "held back"
        why = {
            "held back": "; ".join(
                f"{f.check} (line {f.line})" if f.line else f.check
                for f in held_back[post.id].reasons
            )
            if post.id in held_back
            else "",
            "due": "dated now or earlier",
            "scheduled": f"due at {isoformat(post.date)}",
        }.get(state, post.hidden or "")
        rows.append(
            {
                "source": post.source,
                "id": post.id,
                "title": post.title,
                "date": isoformat(post.date),
                "updated": isoformat(post.updated),
                "status": state,
                "why": why,
                "url": post.url,
                "categories": list(post.categories),
                "tags": list(post.tags),
                "image": post.image,
                "summary": text,
            }
        )
    return {
        "now": isoformat(now),
        "posts": rows,
        "errors": [{"source": e.source, "line": e.line, "message": e.message} for e in errors],
    }


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def posts_text(report: dict[str, Any]) -> str:
    lines = []
    rows = report["posts"]
    for row in rows:
        lines.append(f"{row['date']}  {row['status']:<11}  {row['source']}")
        lines.append(f"    title:      {row['title']}")
        lines.append(f"    why:        {row['why']}")
        lines.append(f"    link:       {row['url']}")
        if row["categories"]:
            lines.append(f"    categories: {', '.join(row['categories'])}")
        if row["image"]:
            lines.append(f"    image:      {row['image']}")
        if row["summary"] is not None:
            lines.append(f"    summary:    {_clip(row['summary'], 160)}")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("due", "scheduled", "held back")}
    others = len(rows) - sum(counts.values())
    lines.append(
        f"{len(rows)} posts: {counts['due']} due, {counts['held back']} held back, "
        f"{counts['scheduled']} scheduled, {others} draft or unpublished"
    )
    if report["errors"]:
        lines.append(f"{len(report['errors'])} files could not be read:")
        for error in report["errors"]:
            where = f"{error['source']}:{error['line']}" if error["line"] else error["source"]
            lines.append(f"    {where}: {error['message']}")
    return "\n".join(lines)


def targets_report() -> list[dict[str, Any]]:
    from .targets.registry import TYPES, target_class

    described = []
    for kind in sorted(TYPES):
        cls = target_class(kind)
        described.append(
            {
                "type": kind,
                "summary": (sys.modules[cls.__module__].__doc__ or kind).strip().splitlines()[0],
                "idempotent": cls.idempotent,
                "on_ambiguous": "retry (same key)" if cls.idempotent else cls.default_on_ambiguous,
                "fields": cls.fields,
                "limits": list(cls.limits),
            }
        )
    return described


def targets_text(report: list[dict[str, Any]]) -> str:
    lines = []
    for item in report:
        lines.append(f"{item['type']}: {item['summary']}")
        idempotent = "yes" if item["idempotent"] else "no"
        lines.append(f"    idempotent: {idempotent}; ambiguous outcome: {item['on_ambiguous']}")
        lines += [f"    limit: {limit}" for limit in item["limits"]]
        lines += [f"    {key:<16} {text}" for key, text in item["fields"].items()]
    return "\n".join(lines)


def check_report(config: Config, now: datetime, paths: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every preflight finding, and every unreadable file, for ``syndicate check``."""
    from pathlib import Path

    from .preflight import check_all

    found = scan(config.site)
    wanted = {Path(p).resolve() for p in paths}
    posts = [p for p in found.posts if p.hidden is None]
    findings = check_all(posts, config.site, config.preflight, now=now)
    rows = [
        {
            "source": f.source,
            "line": f.line,
            "severity": f.severity,
            "check": f.check,
            "message": f.message,
        }
        for post in posts
        if not wanted or post.path.resolve() in wanted
        for f in findings.get(post.id, [])
    ]
    unreadable = [
        {
            "source": e.source,
            "line": e.line,
            "severity": "error",
            "check": "unreadable",
            "message": e.message,
        }
        for e in found.errors
        if not wanted or (config.site.posts_dir.parent / e.source).resolve() in wanted
    ]
    rows += unreadable
    return {
        "findings": rows,
        "errors": sum(row["severity"] == "error" for row in rows),
        "warnings": sum(row["severity"] == "warning" for row in rows),
    }


def check_text(report: dict[str, Any], *, github: bool = False) -> str:
    lines = []
    for row in report["findings"]:
        if github:
            kind = "error" if row["severity"] == "error" else "warning"
            line = f",line={row['line']}" if row["line"] else ""
            lines.append(
                f"::{kind} file={row['source']}{line},title={row['check']}::{row['message']}"
            )
        else:
            where = f"{row['source']}:{row['line']}" if row["line"] else row["source"]
            lines.append(f"{where}: {row['severity']}: {row['check']}: {row['message']}")
    if not github:
        lines.append(f"{report['errors']} errors, {report['warnings']} warnings")
    return "\n".join(lines)
