"""The ``syndicate`` command line: parse arguments, call the library, print."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click

from . import __version__
from .config import Config, load_config
from .dates import isoformat, parse_date
from .errors import ConfigError, PostError, SyndicateError

F = TypeVar("F", bound=Callable[..., Any])


def _config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        default=None,
        help="Config file. Default: $SYNDICATE_CONFIG, else config/syndicate.toml.",
    )(func)


def _now_option(func: F) -> F:
    return click.option(
        "--now",
        "now_text",
        metavar="TIME",
        default=None,
        help="Act as if it were TIME (e.g. 2026-12-01T09:00Z) to preview what will be due.",
    )(func)


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        return parse_date(text, UTC)
    except ValueError as exc:
        raise ConfigError(f"--now: {exc}") from None


def _reported(func: F) -> F:
    """Turn a SyndicateError into one line on stderr and the design's exit code."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except SyndicateError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syndicate")
def cli() -> None:
    """Feeds and announcements for a folder of Markdown posts.

    syndicate reads Jekyll-style posts (YAML, TOML or JSON front matter),
    writes Atom, RSS and JSON feeds of the posts that are due, and announces
    each due post once on every configured channel.

    \b
    Start with:
      syndicate posts      what was found, what is due and why
      syndicate build      write the feed files

    Exit status: 0 all went well, 1 a post could not be read,
    2 a usage or config error.
    """


def _load(config_path: str | None) -> Config:
    return load_config(config_path)


@cli.command()
@_config_option
@_now_option
@_reported
def build(config_path: str | None, now_text: str | None) -> None:
    """Write the Atom, RSS and JSON feeds of the due posts.

    Feeds go to feeds.output_dir: feed.xml (Atom), rss.xml and feed.json,
    and categories/<slug>/ for each category when feeds.categories is on.
    A file whose content did not change is left alone.

    \b
    Example:
      syndicate build --config config/syndicate.toml
    """
    from .feeds import build as build_feeds
    from .posts import due_posts, scan

    config = _load(config_path)
    now = _now(now_text)
    found = scan(config.site)
    due = due_posts(found.posts, now)
    result = build_feeds(config, due)
    for path in result.written:
        click.echo(f"wrote {_shown(path, config)}")
    feeds = len(result.written) + len(result.unchanged)
    click.echo(
        f"{len(due)} due of {len(found.posts)} posts; "
        f"{feeds} feed files, {len(result.written)} changed"
    )
    errors = [*found.errors, *result.errors]
    for error in errors:
        click.echo(f"error: {error}", err=True)
    if errors:
        sys.exit(1)


def _shown(path: Any, config: Config) -> str:
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)


@cli.command()
@_config_option
@_now_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@_reported
def posts(config_path: str | None, now_text: str | None, as_json: bool) -> None:
    """List the posts found: date, due or not and why, link, image, summary.

    Files that look like posts but cannot be read are listed at the end with
    the reason. Newest first.

    \b
    Examples:
      syndicate posts
      syndicate posts --now 2026-12-24T09:00Z   what will be due then
      syndicate posts --json | jq '.posts[] | select(.status == "due") | .url'
    """
    from .posts import BadFile, scan, status, summary

    config = _load(config_path)
    now = _now(now_text)
    found = scan(config.site)
    errors = list(found.errors)
    rows: list[dict[str, Any]] = []
    for post in found.posts:
        try:
            text: str | None = summary(post)
        except PostError as exc:
            text = None
            errors.append(BadFile(post.source, str(exc), exc.line))
        state = status(post, now)
        why = {
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
    if as_json:
        payload = {
            "now": isoformat(now),
            "posts": rows,
            "errors": [{"source": e.source, "line": e.line, "message": e.message} for e in errors],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['date']}  {row['status']:<11}  {row['source']}")
        click.echo(f"    title:      {row['title']}")
        click.echo(f"    why:        {row['why']}")
        click.echo(f"    link:       {row['url']}")
        if row["categories"]:
            click.echo(f"    categories: {', '.join(row['categories'])}")
        if row["image"]:
            click.echo(f"    image:      {row['image']}")
        if row["summary"] is not None:
            click.echo(f"    summary:    {_clip(row['summary'], 160)}")
    counts = {s: sum(r["status"] == s for r in rows) for s in ("due", "scheduled", "draft")}
    click.echo(
        f"{len(rows)} posts: {counts['due']} due, {counts['scheduled']} scheduled, "
        f"{len(rows) - counts['due'] - counts['scheduled']} draft or unpublished"
    )
    if errors:
        click.echo(f"{len(errors)} files could not be read:")
        for error in errors:
            click.echo(f"    {error}")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rsplit(" ", 1)[0] + "…"


def main() -> None:
    cli(prog_name="syndicate")
