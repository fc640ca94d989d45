"""Atom 1.0, RSS 2.0 and JSON Feed 1.1 files of the due posts.

Each feed holds the newest ``feeds.limit`` due posts; only their bodies are
read and rendered. A feed's bytes depend on the posts alone (its ``updated``
is the newest entry's, not the build time), so an unchanged site rewrites
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote

from . import __version__
from .atomic import write_if_changed
from .config import Author, Config, SiteConfig
from .dates import isoformat
from .errors import PostError
from .permalinks import slugify
from .posts import BadFile, Post, body, summary
from .text import absolutize, render_markdown, xml_safe

GENERATOR = "syndicate"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IMAGE_TYPES = {
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".jpeg": "image/jpeg",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}


@dataclass(frozen=True)
class Entry:
    """A post rendered for the feeds."""

    post: Post
    html: str  # full content, every URL absolute
    summary: str  # plain text
    image_type: str | None
    image_length: int


@dataclass(frozen=True)
class Feed:
    """One set of feed files: the site's, or one category's."""

    title: str
    folder: str  # relative to the output folder, "" for the site's own
    entries: tuple[Entry, ...]


@dataclass
class BuildResult:
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    errors: list[BadFile] = field(default_factory=list)


def image_type(url: str) -> str | None:
    return IMAGE_TYPES.get(PurePosixPath(url.split("?", 1)[0]).suffix.lower())


def local_image(site: SiteConfig, url: str) -> Path | None:
    """The file under ``site.source_dir`` that a site image URL points at."""
    base = site.absolute("/")
    if not url.startswith(base):
        return None
    # The URL is percent-encoded ("my%20photo.png"); the file name is not.
    relative = unquote(url[len(base) :].split("?", 1)[0].split("#", 1)[0])
    candidate = (site.source_dir / relative).resolve()
    if site.source_dir.resolve() not in candidate.parents:
        return None
    return candidate if candidate.is_file() else None


def render_entry(post: Post, site: SiteConfig) -> Entry:
    """Read and render one post's body; raises PostError."""
    text = body(post)
    html = render_markdown(text) if post.is_markdown else text
    length = 0
    if post.image:
        local = local_image(site, post.image)
        length = local.stat().st_size if local else 0
    return Entry(
        post=post,
        html=xml_safe(absolutize(html, post.url)),
        summary=summary(post, text),
        image_type=image_type(post.image) if post.image else None,
        image_length=length,
    )


class _Renderer:
    """Renders each post at most once per build and remembers failures."""

    def __init__(self, site: SiteConfig) -> None:
        self.site = site
        self.done: dict[str, Entry | None] = {}
        self.errors: list[BadFile] = []

    def newest(self, posts: Iterable[Post], limit: int) -> tuple[Entry, ...]:
        entries: list[Entry] = []
        for post in posts:
            if len(entries) == limit:
                break
            if post.id not in self.done:
                try:
                    self.done[post.id] = render_entry(post, self.site)
                except PostError as exc:
                    self.done[post.id] = None
                    self.errors.append(BadFile(post.source, str(exc), exc.line))
            entry = self.done[post.id]
            if entry is not None:
                entries.append(entry)
        return tuple(entries)


def plan_feeds(config: Config, due: Sequence[Post]) -> tuple[list[Feed], list[BadFile]]:
    """The feeds to write for ``due`` (newest first), and posts that failed."""
    renderer = _Renderer(config.site)
    limit = config.feeds.limit
    feeds = [Feed(config.site.title, "", renderer.newest(due, limit))]
    if config.feeds.categories:
        groups: dict[str, tuple[str, list[Post]]] = {}
        for post in due:
            for category in post.categories:
                slug = slugify(category) or "uncategorised"
                groups.setdefault(slug, (category, []))[1].append(post)
        for slug, (name, members) in sorted(groups.items()):
            folder = f"{config.feeds.categories_dir}/{slug}"
            title = f"{config.site.title}: {name}"
            feeds.append(Feed(title, folder, renderer.newest(members, limit)))
    return feeds, renderer.errors


def feed_file(config: Config, feed: Feed, kind: str) -> PurePosixPath:
    """Where a feed of ``kind`` goes, relative to the output folder."""
    configured = PurePosixPath(
        {"atom": config.feeds.atom_path, "rss": config.feeds.rss_path}.get(
            kind, config.feeds.json_path
        )
    )
    return PurePosixPath(feed.folder, configured.name) if feed.folder else configured


def main_feed_paths(config: Config) -> list[Path]:
    """The site-wide feed files the config asks for."""
    site_feed = Feed(config.site.title, "", ())
    return [config.feeds.output_dir / feed_file(config, site_feed, k) for k in config.feeds.formats]


def _updated(feed: Feed) -> datetime:
    return max((entry.post.updated for entry in feed.entries), default=_EPOCH)


def _feedgen(config: Config, feed: Feed, kind: str) -> Any:
    from feedgen.feed import FeedGenerator

    site = config.site
    generator = FeedGenerator()
    generator.load_extension("media", atom=True, rss=True)
    if kind == "rss":
        generator.load_extension("dc", atom=False, rss=True)
    self_url = site.absolute(feed_file(config, feed, kind).as_posix())
    generator.id(self_url)
    generator.title(xml_safe(feed.title))
    generator.subtitle(xml_safe(site.description or site.title))
    author = {"name": xml_safe(site.author.name)}
    if site.author.email:
        author["email"] = site.author.email
    if site.author.url:
        author["uri"] = site.author.url
    generator.author(author)
    if kind == "atom":
        generator.link(href=site.home, rel="alternate", type="text/html")
        generator.link(href=self_url, rel="self", type="application/atom+xml")
    else:
        generator.link(href=self_url, rel="self", type="application/rss+xml")
        generator.link(href=site.home, rel="alternate")
    generator.language(site.language)
    generator.generator(GENERATOR, __version__)
    generator.updated(_updated(feed))
    for entry in feed.entries:
        _add_entry(generator, entry, kind)
    return generator


def _add_entry(generator: Any, entry: Entry, kind: str) -> None:
    post = entry.post
    item = generator.add_entry(order="append")
    item.id(post.id)
    item.title(xml_safe(post.title) or post.url)
    item.link(href=post.url, rel="alternate", type="text/html")
    item.published(post.date)
    item.updated(post.updated)
    author = {"name": xml_safe(post.author.name)}
    if post.author.email:
        author["email"] = post.author.email
    if post.author.url:
        author["uri"] = post.author.url
    if kind == "atom":
        item.author(author)
        item.summary(xml_safe(entry.summary))
    else:
        item.guid(post.id, permalink=post.id == post.url)
        # RSS readers treat description as HTML; escape so "<b>" stays text.
        item.description(escape(xml_safe(entry.summary), quote=False))
        if post.author.email:
            item.author(author)
        else:
            item.dc.dc_creator(xml_safe(post.author.name))
    # Escaped, never CDATA: a post quoting "]]>" would end a CDATA section.
    item.content(entry.html, type="html")
    for term in dict.fromkeys((*post.categories, *post.tags)):
        item.category(term=xml_safe(term))
    if post.image:
        media: dict[str, str] = {"url": post.image, "medium": "image"}
        if entry.image_type:
            media["type"] = entry.image_type
        # group=None: plain media:content/thumbnail, not wrapped in media:group.
        item.media.content(media, group=None)
        item.media.thumbnail({"url": post.image}, group=None)
        if kind == "rss" and entry.image_type:
            item.enclosure(post.image, str(entry.image_length), entry.image_type)


def atom_bytes(config: Config, feed: Feed) -> bytes:
    data: bytes = _feedgen(config, feed, "atom").atom_str(pretty=True)
    return data


def rss_bytes(config: Config, feed: Feed) -> bytes:
    data: bytes = _feedgen(config, feed, "rss").rss_str(pretty=True)
    return data


def json_bytes(config: Config, feed: Feed) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    site = config.site
    document: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": xml_safe(feed.title),
        "home_page_url": site.home,
        "feed_url": site.absolute(feed_file(config, feed, "json").as_posix()),
        "description": site.description or site.title,
        "authors": [_json_author(site.author)],
        "language": site.language,
        "items": [_json_item(entry) for entry in feed.entries],
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_author(author: Author) -> dict[str, str]:
    return {"name": author.name, **({"url": author.url} if author.url else {})}


def _json_item(entry: Entry) -> dict[str, Any]:
    post = entry.post
    item: dict[str, Any] = {
        "id": post.id,
        "url": post.url,
        "title": xml_safe(post.title),
        "content_html": entry.html,
        "summary": entry.summary,
        "date_published": isoformat(post.date),
        "date_modified": isoformat(post.updated),
        "authors": [
            {"name": post.author.name, **({"url": post.author.url} if post.author.url else {})}
        ],
    }
    if post.image:
        item["image"] = post.image
    terms = list(dict.fromkeys((*post.categories, *post.tags)))
    if terms:
        item["tags"] = terms
    return item


_WRITERS = {"atom": atom_bytes, "rss": rss_bytes, "json": json_bytes}


def build(config: Config, due: Sequence[Post]) -> BuildResult:
    """Write every configured feed file for ``due`` (newest first)."""
    feeds, errors = plan_feeds(config, due)
    result = BuildResult(errors=list(errors))
    for feed in feeds:
        for kind in config.feeds.formats:
            target = config.feeds.output_dir / feed_file(config, feed, kind)
            changed = write_if_changed(target, _WRITERS[kind](config, feed))
            (result.written if changed else result.unchanged).append(target)
    return result
