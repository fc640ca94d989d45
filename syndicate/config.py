"""Load and validate ``config/syndicate.toml`` into typed, frozen settings.

Every key is checked here, once: a wrong value or an unknown key becomes a
ConfigError naming the file, the dotted key and what was expected, so a typo
never silently does nothing.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .permalinks import absolute_url, check_template
from .tables import Table, show

DEFAULT_CONFIG = Path("config/syndicate.toml")
FEED_FORMATS = ("atom", "rss", "json")


@dataclass(frozen=True)
class Author:
    name: str
    email: str = ""
    url: str = ""


@dataclass(frozen=True)
class SiteConfig:
    title: str
    url: str
    baseurl: str
    description: str
    author: Author
    timezone: ZoneInfo
    language: str
    posts_dir: Path
    source_dir: Path
    permalink: str
    excerpt_separator: str
    markdown_ext: tuple[str, ...]

    def absolute(self, path: str) -> str:
        """``path`` made absolute against the site, as Jekyll's filter does."""
        return absolute_url(self.url, self.baseurl, path)

    @property
    def home(self) -> str:
        return self.absolute("/")


@dataclass(frozen=True)
class FeedsConfig:
    output_dir: Path
    limit: int
    formats: tuple[str, ...]
    categories: bool
    atom_path: str
    rss_path: str
    json_path: str
    categories_dir: str


@dataclass(frozen=True)
class StateConfig:
    url: str


@dataclass(frozen=True)
class ScheduleConfig:
    interval: timedelta | None
    cron: str | None


@dataclass(frozen=True)
class DeliveryConfig:
    """How the outbox retries: exponential backoff with jitter, capped."""

    backoff_base: timedelta
    backoff_factor: float
    backoff_cap: timedelta
    jitter: float  # 0.2: each wait is drawn from ±20 % of the backoff
    max_attempts: int
    retry_after_cap: timedelta  # a service's Retry-After is honoured up to this
    lease: timedelta  # how long a "sending" claim holds before it is ambiguous
    concurrency: int  # targets sent to at once


# Every preflight check by name (preflight.py implements them; the config
# validates overrides against this list, so a typo is an error).
PREFLIGHT_CHECKS = (
    "writer-chatter",
    "unclosed-fence",
    "placeholder",
    "unbalanced-ending",
    "title-missing",
    "title-too-long",
    "date-far-future",
    "date-too-old",
    "duplicate-title",
    "duplicate-permalink",
    "image-missing",
    "image-type",
    "body-too-short",
)
SEVERITIES = ("error", "warning", "off")


@dataclass(frozen=True)
class PreflightConfig:
    """Which checks hold a post back (error), only report (warning) or are off."""

    severities: dict[str, str]  # overrides by check name
    title_max_length: int
    future_limit: timedelta
    min_words: int
    liquid: bool  # the site renders Liquid, so {{ ... }} is not a placeholder
    alerts: str | None  # a target told once when a post is held back


@dataclass(frozen=True)
class TargetConfig:
    """One ``[[targets]]`` table; the target type validates ``options``."""

    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    index: int = 0
    source: Path = DEFAULT_CONFIG

    def table(self) -> Table:
        """The target's keys (without name and type), for its type to read."""
        return Table(self.options, f"targets[{self.index}].", self.source)


@dataclass(frozen=True)
class Config:
    path: Path
    root: Path
    site: SiteConfig
    feeds: FeedsConfig
    state: StateConfig
    schedule: ScheduleConfig
    delivery: DeliveryConfig
    preflight: PreflightConfig
    targets: tuple[TargetConfig, ...]


def _relative_path(table: Table, key: str, default: str, root: Path) -> Path:
    value = Path(table.text(key, default, nonempty=True))
    return value if value.is_absolute() else root / value


def _site(table: Table, root: Path) -> SiteConfig:
    url = table.text("url", nonempty=True).strip()
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
        raise table.error("url", f"expected an absolute http(s) URL, got {show(url)}")
    baseurl = table.text("baseurl", "").strip()
    if re.search(r"\s|[?#]", baseurl):
        raise table.error("baseurl", f'expected a path like "/blog", got {show(baseurl)}')
    zone_name = table.text("timezone", "UTC", nonempty=True)
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise table.error(
            "timezone", f'expected an IANA time zone like "Europe/Berlin", got {show(zone_name)}'
        ) from None
    title = table.text("title", nonempty=True)
    author = _author(table, title)
    permalink = table.text("permalink", "date", nonempty=True)
    problem = check_template(permalink)
    if problem:
        raise table.error("permalink", problem)
    extensions = table.str_list("markdown_ext", ("markdown", "mkdown", "mkdn", "mkd", "md"))
    return SiteConfig(
        title=title,
        url=url,
        baseurl=baseurl,
        description=table.text("description", ""),
        author=author,
        timezone=zone,
        language=table.text("language", "en", nonempty=True),
        posts_dir=_relative_path(table, "posts_dir", "posts", root),
        source_dir=_relative_path(table, "source_dir", ".", root),
        permalink=permalink,
        excerpt_separator=table.text("excerpt_separator", "\n\n", nonempty=True),
        markdown_ext=tuple(e.lower().lstrip(".") for e in extensions),
    )


def _author(site: Table, title: str) -> Author:
    value = site.data.get("author")
    if isinstance(value, str) or value is None:
        site.used.add("author")
        return Author(name=value or title)
    table = site.table("author")
    author = Author(
        name=table.text("name", nonempty=True),
        email=table.text("email", ""),
        url=table.text("url", ""),
    )
    table.finish()
    return author


def _feeds(table: Table, root: Path) -> FeedsConfig:
    formats = table.str_list("formats", FEED_FORMATS)
    for name in formats:
        if name not in FEED_FORMATS:
            raise table.error(
                "formats", f'expected a list of "atom", "rss", "json", got {show(name)}'
            )
    paths = {}
    for key, default in (
        ("atom_path", "feed.xml"),
        ("rss_path", "rss.xml"),
        ("json_path", "feed.json"),
        ("categories_dir", "categories"),
    ):
        value = table.text(key, default, nonempty=True)
        if value.startswith("/") or ".." in Path(value).parts:
            raise table.error(key, f"expected a path inside feeds.output_dir, got {show(value)}")
        paths[key] = value
    return FeedsConfig(
        output_dir=_relative_path(table, "output_dir", "public", root),
        limit=table.positive_int("limit", 20),
        formats=tuple(dict.fromkeys(formats)),
        categories=table.flag("categories", True),
        **paths,
    )


def _schedule(table: Table) -> ScheduleConfig:
    interval_value = table.data.get("interval")
    cron = table.text("cron", "") or None
    if interval_value is not None and cron:
        raise table.error("cron", "set either schedule.interval or schedule.cron, not both")
    interval = table.duration("interval", "5m")
    if cron is None:
        if interval.total_seconds() < 1:
            raise table.error("interval", "expected at least 1s")
    elif len(cron.split()) != 5:
        raise table.error("cron", f'expected five fields like "*/5 * * * *", got {show(cron)}')
    return ScheduleConfig(interval=None if cron else interval, cron=cron)


def _delivery(table: Table) -> DeliveryConfig:
    jitter = table.number("jitter", 0.2)
    if jitter > 1:
        raise table.error("jitter", f"expected a fraction from 0 to 1, got {jitter:g}")
    factor = table.number("backoff_factor", 2.0, minimum=1.0)
    return DeliveryConfig(
        backoff_base=table.duration("backoff_base", "30s"),
        backoff_factor=factor,
        backoff_cap=table.duration("backoff_cap", "6h"),
        jitter=jitter,
        max_attempts=table.positive_int("max_attempts", 10),
        retry_after_cap=table.duration("retry_after_cap", "1h"),
        lease=table.duration("lease", "5m"),
        concurrency=table.positive_int("concurrency", 4),
    )


def _preflight(table: Table) -> PreflightConfig:
    checks = table.table("checks")
    severities = {}
    for name in list(checks.data):
        if name not in PREFLIGHT_CHECKS:
            raise checks.error(
                name, f"unknown check (expected one of {', '.join(PREFLIGHT_CHECKS)})"
            )
        severities[name] = checks.choice(name, SEVERITIES, "error")
    checks.finish()
    alerts = table.text("alerts", "") or None
    return PreflightConfig(
        severities=severities,
        title_max_length=table.positive_int("title_max_length", 120),
        future_limit=table.duration("future_limit", "365d"),
        min_words=table.positive_int("min_words", 30),
        liquid=table.flag("liquid", False),
        alerts=alerts,
    )


def _targets(raw: Any, source: Path) -> tuple[TargetConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{source}: targets: expected [[targets]] tables, got {show(raw)}")
    targets: list[TargetConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise ConfigError(f"{source}: targets[{index}]: expected a table, got {show(item)}")
        table = Table(item, f"targets[{index}].", source)
        name = table.text("name", nonempty=True)
        if name in seen:
            raise table.error("name", f'"{name}" is used by another target; names must be unique')
        seen.add(name)
        kind = table.text("type", nonempty=True)
        options = {k: v for k, v in item.items() if k not in ("name", "type")}
        targets.append(
            TargetConfig(name=name, type=kind, options=options, index=index, source=source)
        )
    return tuple(targets)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$SYNDICATE_CONFIG``, else ``config/syndicate.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SYNDICATE_CONFIG")
    return Path(env) if env else DEFAULT_CONFIG


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    source = config_path(path)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file (use --config PATH)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    return parse_config(raw, source)


def parse_config(raw: dict[str, Any], source: Path) -> Config:
    # Relative paths are relative to the site root: the config folder's parent.
    root = source.resolve().parent.parent
    top = Table(raw, "", source)
    site_table = top.table("site")
    site = _site(site_table, root)
    site_table.finish()
    feeds_table = top.table("feeds")
    feeds = _feeds(feeds_table, root)
    feeds_table.finish()
    state_table = top.table("state")
    # A PostgreSQL URL may carry a password: ${PGPASSWORD}, and redacted.
    state = StateConfig(url=state_table.secret("url", default="sqlite:///state/syndicate.db"))
    state_table.finish()
    schedule_table = top.table("schedule")
    schedule = _schedule(schedule_table)
    schedule_table.finish()
    delivery_table = top.table("delivery")
    delivery = _delivery(delivery_table)
    delivery_table.finish()
    preflight_table = top.table("preflight")
    preflight = _preflight(preflight_table)
    preflight_table.finish()
    top.used.add("targets")
    targets = _targets(raw.get("targets"), source)
    top.finish()
    return Config(
        path=source,
        root=root,
        site=site,
        feeds=feeds,
        state=state,
        schedule=schedule,
        delivery=delivery,
        preflight=preflight,
        targets=targets,
    )
