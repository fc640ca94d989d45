"""Small builders shared by the tests: a site folder with posts and a config."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from syndicate.config import Config, parse_config


def write_posts(folder: Path, posts: dict[str, str | bytes]) -> None:
    for name, content in posts.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def make_site(
    root: Path,
    posts: dict[str, str | bytes] | None = None,
    *,
    site: dict[str, Any] | None = None,
    feeds: dict[str, Any] | None = None,
    targets: list[dict[str, Any]] | None = None,
    delivery: dict[str, Any] | None = None,
) -> Config:
    """A site under ``root``: posts/ with ``posts``, feeds to public/."""
    write_posts(root / "posts", posts or {})
    raw: dict[str, Any] = {
        "site": {
            "title": "Test Blog",
            "url": "https://blog.example.com",
            "author": {"name": "Ada", "email": "ada@example.com"},
            "timezone": "UTC",
            **(site or {}),
        },
        "feeds": feeds or {},
        "delivery": delivery or {},
        "targets": targets or [],
    }
    (root / "config").mkdir(parents=True, exist_ok=True)
    return parse_config(raw, root / "config" / "syndicate.toml")


def post(title: str, date: str, body: str = "Body text.", **fields: Any) -> str:
    """Markdown with YAML front matter; values are written as given."""
    # JSON strings are YAML double-quoted strings, escapes included.
    lines = ["---", f"title: {json.dumps(title)}"]
    lines.append(f"date: {date}")
    lines += [f"{key}: {value}" for key, value in fields.items()]
    lines += ["---", "", body, ""]
    return "\n".join(lines)


class FakeClock:
    """An injected clock: ``clock()`` is now; ``advance`` moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now
