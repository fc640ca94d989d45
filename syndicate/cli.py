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
from .dates import parse_date
from .errors import ConfigError, StateError, SyndicateError
from .redact import redact

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
        except (ConfigError, StateError) as exc:
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(2)
        except SyndicateError as exc:
            click.echo(f"error: {redact(str(exc))}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syndicate")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="SYNDICATE_LOG_FORMAT",
    show_default=True,
    help="How events are logged to stderr: one line each, as text or JSON.",
)
def cli(log_format: str) -> None:
    """Feeds and announcements for a folder of Markdown posts.

    syndicate reads Jekyll-style posts (YAML, TOML or JSON front matter),
    writes Atom, RSS and JSON feeds of the posts that are due, and announces
    each due post once on every configured channel.

    \b
    Start with:
      syndicate posts      what was found, what is due and why
      syndicate build      write the feed files
      syndicate run --once one tick: feeds, then announce what is due
      syndicate status     what was sent where, what failed and why

    Exit status: 0 all went well, 1 a post could not be read or a
    delivery failed, 2 a usage or config error.
    """
    from .logs import configure

    configure(log_format)


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
    from .holdback import hold_back
    from .posts import due_posts, scan

    config = _load(config_path)
    now = _now(now_text)
    found = scan(config.site)
    due, held, _ = hold_back(config, found.posts, due_posts(found.posts, now), now)
    result = build_feeds(config, due)
    for path in result.written:
        click.echo(f"wrote {_shown(path, config)}")
    feeds = len(result.written) + len(result.unchanged)
    click.echo(
        f"{len(due)} due of {len(found.posts)} posts; "
        f"{feeds} feed files, {len(result.written)} changed"
    )
    for item in held:
        click.echo(f"held back: {item.post.source}")
        for finding in item.reasons:
            click.echo(f"    {finding}")
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
    from .report import posts_report, posts_text

    report = posts_report(_load(config_path), _now(now_text))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else posts_text(report))


@cli.command()
@_config_option
@click.option("--once", is_flag=True, help="Run one tick and exit (for cron).")
@_reported
def run(config_path: str | None, once: bool) -> None:
    """Run the worker: feeds, then announce each due post once per target.

    Without --once it is a service: a tick every schedule.interval (or on
    schedule.cron), and also exactly when the next scheduled post falls due.
    SIGTERM or SIGINT let the delivery in flight finish, then it exits 0.

    With --once it runs one tick, for cron: exit 0 when all went well, 1 when
    a delivery failed or a post could not be read. If another tick holds the
    state, it says so and exits 0.

    \b
    Examples:
      syndicate run                       the service (systemd, a container)
      syndicate run --once                one tick
      */5 * * * * cd /srv/blog && syndicate run --once     a crontab line
    """
    from .worker import run_once, run_service

    config = _load(config_path)
    if not once:
        run_service(config)
        return
    report = run_once(config)
    if report is None:
        click.echo("another tick is running on this state; nothing done")
        return
    dispatch = report.dispatch
    feeds = len(report.feeds.written) if report.feeds else 0
    click.echo(
        f"{report.due} due of {report.posts} posts"
        + (f" ({len(report.held)} held back)" if report.held else "")
        + f"; {feeds} feed files changed; "
        f"{report.enqueued} enqueued; {len(dispatch.sent)} sent, {len(dispatch.retried)} to retry, "
        f"{len(dispatch.dead)} dead, {len(dispatch.held)} held"
    )
    for item in report.held:
        click.echo(f"held back: {item.post.source} (fix it and it goes out on the next tick)")
        for finding in item.reasons:
            click.echo(f"    {finding}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.failed:
        sys.exit(1)


@cli.command()
@_config_option
@click.argument("post_ref", metavar="POST")
@click.option("--target", "names", multiple=True, help="Only this target (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print what each target would send; send nothing.")
@click.option("--force", is_flag=True, help="Send again even if it was sent before.")
@_reported
def publish(
    config_path: str | None, post_ref: str, names: tuple[str, ...], dry_run: bool, force: bool
) -> None:
    """Send one post now, ignoring its date, the schedule and the baseline.

    POST is a file path (or a path inside the posts folder), a post id or its
    link. A post already sent (or held) to a target is not sent there again
    unless --force is given.

    \b
    Examples:
      syndicate publish posts/2026-04-10-ai-scribes.md --dry-run
      syndicate publish posts/2026-04-10-ai-scribes.md --target team-hook
    """
    from .publish import dry_run as render_only
    from .publish import find_post, pick_targets
    from .publish import publish as send_now
    from .targets.registry import make_targets
    from .worker import tick_lock, utc_now

    config = _load(config_path)
    post = find_post(config, post_ref)
    targets = pick_targets(make_targets(config), names)
    if dry_run:
        for outcome in render_only(post, targets):
            click.echo(json.dumps(outcome.message, ensure_ascii=False, indent=2))
        return
    from .state import open_store

    store = open_store(config.state.url, config.root)
    for target in targets:
        target.attach(store)
    try:
        with tick_lock(store) as held:
            if not held:
                raise SyndicateError("a tick is running on this state; try again in a moment")
            outcomes = send_now(config, store, post, targets, force=force, clock=utc_now)
    finally:
        for target in targets:
            target.close()
        store.close()
    for outcome in outcomes:
        click.echo(
            f"{outcome.target}: {outcome.state}"
            + (f" ({outcome.detail})" if outcome.detail else "")
        )
    if any(outcome.state != "sent" for outcome in outcomes):
        sys.exit(1)


@cli.command()
@_config_option
@_now_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@_reported
def status(config_path: str | None, now_text: str | None, as_json: bool) -> None:
    """Show every delivery: post × target, state, attempts, error, link.

    Also the next scheduled post and the files that cannot be read. Needs no
    secrets: it reads the state database and the posts folder only.

    \b
    Examples:
      syndicate status
      syndicate status --json | jq '.deliveries[] | select(.state == "dead")'
    """
    from .report import status_report, status_text

    config = _load(config_path)
    report = status_report(config, _now(now_text))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else status_text(report))


@cli.command()
@_config_option
@click.option("--target", "target", default=None, help="Only deliveries to this target.")
@click.option("--post", "post_ref", default=None, help="Only this post (path, id or link).")
@_reported
def retry(config_path: str | None, target: str | None, post_ref: str | None) -> None:
    """Send dead and held deliveries again on the next tick.

    Held deliveries are ones that may have arrived (the worker stopped while
    sending): check the destination first.

    \b
    Examples:
      syndicate retry --target team-hook
      syndicate retry --post posts/2026-04-10-ai-scribes.md
    """
    from .outbox import revive
    from .publish import find_post
    from .state import open_store
    from .worker import utc_now

    config = _load(config_path)
    post_id = find_post(config, post_ref).id if post_ref else None
    store = open_store(config.state.url, config.root)
    try:
        revived = revive(store, utc_now(), target=target, post_id=post_id)
    finally:
        store.close()
    click.echo(f"{len(revived)} deliveries will be retried on the next tick")


@cli.command()
@_config_option
@_now_option
@click.argument("paths", nargs=-1, type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "output",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
    help="github prints workflow annotations (::error file=...,line=...::).",
)
@_reported
def check(
    config_path: str | None, now_text: str | None, paths: tuple[str, ...], output: str
) -> None:
    """Run the preflight checks on the posts (or on PATHS); exit 1 on an error.

    Errors hold a post back from feeds and announcements; warnings only
    report. Use it in a blog's CI or as a pre-commit hook
    (.pre-commit-hooks.yaml ships with syndicate).

    \b
    Examples:
      syndicate check
      syndicate check posts/2026-04-10-new-post.md
      syndicate check --format github        in a GitHub Actions step
    """
    from .report import check_report, check_text

    report = check_report(_load(config_path), _now(now_text), paths)
    if output == "json":
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        text = check_text(report, github=output == "github")
        if text:
            click.echo(text)
    if report["errors"]:
        sys.exit(1)


@cli.command("targets")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def targets_command(as_json: bool) -> None:
    """List the target types: their config keys, limits and idempotency.

    \b
    Example:
      syndicate targets
    """
    from .report import targets_report, targets_text

    report = targets_report()
    click.echo(
        json.dumps(report, ensure_ascii=False, indent=2) if as_json else targets_text(report)
    )


def main() -> None:
    cli(prog_name="syndicate")
