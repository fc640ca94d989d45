"""Find the posts in the posts folder and read what the feeds need of them.

A post is identified by its absolute permalink unless its front matter gives
``id`` or ``guid`` (what jekyll-feed does). Bodies are not read here: the scan
reads front matter only; ``body()`` and ``summary()`` read the rest on demand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .config import Author, SiteConfig
from .dates import isoformat, parse_date
from .errors import PostError
from .frontmatter_io import read_body, read_head
from .permalinks import jekyll_id, post_path, style_template
from .text import first_paragraph, markdown_to_text, xml_safe

_DATED_NAME = re.compile(r"^(\d{2,4}-\d{1,2}-\d{1,2})-(.*)$")
# Jekyll skips these names; editors leave the last two behind.
_IGNORED_NAME = re.compile(r"^[._#]|~$")
_TEXT_EXTENSIONS = ("txt", "html", "htm")


@dataclass(frozen=True)
class Post:
    path: Path
    source: str  # shown to people: the path relative to the site root
    id: str
    url: str
    title: str
    date: datetime  # aware, in the post's own offset
    updated: datetime
    slug: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    hidden: str | None  # why the post is never due ("draft: true"), or None
    image: str | None  # absolute URL
    author: Author
    summary_field: str | None  # excerpt/description/summary from front matter
    excerpt_separator: str
    is_markdown: bool
    body_offset: int
    body_line: int
    metadata: Mapping[str, Any]


@dataclass(frozen=True)
class BadFile:
    """A file that looks like a post but cannot be read."""

    source: str
    message: str
    line: int | None = None

    def __post_init__(self) -> None:
        # An error is one line, even when it quotes a value with a line break.
        object.__setattr__(self, "message", " ".join(self.message.split()))

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Scan:
    posts: tuple[Post, ...]  # newest first
    errors: tuple[BadFile, ...]


def is_due(post: Post, now: datetime) -> bool:
    return post.hidden is None and post.date <= now


def status(post: Post, now: datetime) -> str:
    """``due``, ``scheduled``, ``draft`` or ``unpublished``."""
    if post.hidden:
        return "unpublished" if post.hidden.startswith("published") else "draft"
    return "due" if post.date <= now else "scheduled"


def due_posts(posts: tuple[Post, ...] | list[Post], now: datetime) -> list[Post]:
    return [post for post in posts if is_due(post, now)]


def next_scheduled(posts: tuple[Post, ...] | list[Post], now: datetime) -> Post | None:
    """The post that falls due next, if any is scheduled."""
    upcoming = [post for post in posts if post.hidden is None and post.date > now]
    return min(upcoming, key=lambda post: post.date, default=None)


def body(post: Post) -> str:
    """The post's Markdown (or HTML) source below the front matter."""
    try:
        return read_body(post.path, post.body_offset)
    except OSError as exc:
        raise PostError(f"cannot read the file ({exc.strerror})") from None


def summary(post: Post, text: str | None = None) -> str:
    """Front-matter excerpt/description/summary, else the first paragraph,
    as plain text (Markdown and HTML removed, entities decoded)."""
    if post.summary_field is not None:
        return markdown_to_text(post.summary_field)
    source = body(post) if text is None else text
    return markdown_to_text(first_paragraph(source, post.excerpt_separator))


# --- front matter fields -----------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ValueError(f"expected text, got {_kind(value)}")


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in (
        "true",
        "yes",
        "on",
        "false",
        "no",
        "off",
    ):
        return value.strip().lower() in ("true", "yes", "on")
    raise ValueError(f"expected true or false, got {_kind(value)}")


def _words(value: object, *, split: bool) -> list[str]:
    """A list, or (Jekyll's rule for the plural keys) a space-separated string."""
    if value is None:
        return []
    if isinstance(value, str):
        return value.split() if split else [value]
    if isinstance(value, list):
        items = []
        for item in value:
            if item is None:
                continue
            if isinstance(item, list | dict):
                raise ValueError(f"expected a list of names, got {_kind(item)} inside it")
            items.append(_text(item))
        return items
    if isinstance(value, int | float):
        return [_text(value)]
    raise ValueError(f"expected a list or a space-separated string, got {_kind(value)}")


def _image(value: object) -> str | None:
    # jekyll-seo-tag reads ``image`` as a string or as a mapping with ``path``.
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        for key in ("path", "url", "src"):
            if isinstance(value.get(key), str) and value[key].strip():
                return str(value[key]).strip()
        raise ValueError('expected a string or a mapping with "path", got a mapping without it')
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0].strip()  # Hugo's ``images`` list
    raise ValueError(f"expected an image path or URL, got {_kind(value)}")


def _author(value: object, default: Author) -> Author:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return Author(name=value)
    if isinstance(value, list) and value and isinstance(value[0], str):
        return Author(name=value[0])
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return Author(
            name=value["name"],
            email=str(value.get("email") or ""),
            url=str(value.get("url") or value.get("uri") or ""),
        )
    raise ValueError(f'expected a name or a mapping with "name", got {_kind(value)}')


def _field(meta: Mapping[str, Any], key: str, parse: Callable[[Any], Any]) -> Any:
    try:
        return parse(meta[key])
    except ValueError as exc:
        raise PostError(f"{key}: {exc}") from None


def _first_key(meta: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((key for key in keys if meta.get(key) not in (None, "")), None)


# --- one file ------------------------------------------------------------------


def _path_categories(parts: tuple[str, ...], posts_dir: Path) -> list[str]:
    """Jekyll's rule: folders above a ``_posts`` folder are categories, folders
    inside it are not. A posts folder not named ``_posts`` stands for
    ``<subfolder>/_posts``, so its subfolders are categories."""
    if "_posts" in parts:
        return list(parts[: parts.index("_posts")])
    if posts_dir.name == "_posts":
        return []
    return list(parts)


def read_post(path: Path, site: SiteConfig) -> Post | None:
    """Read one file; None when it is not a post at all. Raises PostError."""
    name, dot, ext = path.name.rpartition(".")
    ext = ext.lower()
    if not dot or not name:
        return None
    is_markdown = ext in site.markdown_ext
    if not is_markdown and ext not in _TEXT_EXTENSIONS:
        return None
    head = read_head(path)
    dated = _DATED_NAME.match(name)
    if head.metadata is None and not (is_markdown and dated):
        return None  # a note or a README next to the posts, not a post
    meta: Mapping[str, Any] = head.metadata or {}
    zone = site.timezone

    slug = dated.group(2) if dated else name
    if meta.get("date") not in (None, ""):
        # The front matter's date wins; the file name's is not even checked.
        date = _field(meta, "date", lambda v: parse_date(v, zone))
    elif dated:
        try:
            date = parse_date(dated.group(1), zone)
        except ValueError:
            raise PostError(f"file name: {dated.group(1)} is not a real date") from None
    else:
        raise PostError("date: missing (expected a date field or a YYYY-MM-DD- file name prefix)")
    updated_key = _first_key(meta, ("last_modified_at", "updated", "lastmod", "modified"))
    updated = _field(meta, updated_key, lambda v: parse_date(v, zone)) if updated_key else date
    if meta.get("slug") not in (None, ""):
        slug = _field(meta, "slug", _text)
    elif not slug.strip("-. ") and meta.get("permalink") in (None, ""):
        raise PostError(
            "file name: nothing after the date (expected YYYY-MM-DD-slug, or a slug field)"
        )
    title = ""
    if meta.get("title") not in (None, ""):
        # Control characters in a title can never be shown or put in a feed.
        title = " ".join(xml_safe(_field(meta, "title", _text)).split())
    if not title:
        title = " ".join(word.capitalize() for word in slug.split("-"))

    relative = path.relative_to(site.posts_dir)
    categories = _path_categories(relative.parent.parts, site.posts_dir)
    categories += (
        _field(meta, "categories", lambda v: _words(v, split=True)) if "categories" in meta else []
    )
    categories += (
        _field(meta, "category", lambda v: _words(v, split=False)) if "category" in meta else []
    )
    tags = _field(meta, "tags", lambda v: _words(v, split=True)) if "tags" in meta else []
    tags += _field(meta, "tag", lambda v: _words(v, split=False)) if "tag" in meta else []

    hidden = None
    # An empty ``published:`` or ``draft:`` is unset, as in Jekyll and Hugo.
    if meta.get("published") is not None and not _field(meta, "published", _flag):
        hidden = "published: false"
    elif meta.get("draft") is not None and _field(meta, "draft", _flag):
        hidden = "draft: true"

    categories = list(dict.fromkeys(categories))
    try:
        local_date = date.astimezone(zone)
    except OverflowError:
        raise PostError(f"date: {isoformat(date)} is out of range") from None
    template = style_template(site.permalink)
    if meta.get("permalink") not in (None, ""):
        template = _field(meta, "permalink", _text)
    try:
        url_path = post_path(
            template,
            name=name,
            slug=slug,
            folders=relative.parent.parts,
            categories=categories,
            output_ext=".html" if is_markdown else f".{ext}",
            moment=local_date,
        )
    except KeyError as exc:
        raise PostError(f'permalink: unknown placeholder ":{exc.args[0]}"') from None
    url = site.absolute(url_path)

    id_key = _first_key(meta, ("id", "guid"))
    # An id that is only blanks or control characters is no id at all.
    given_id = xml_safe(_field(meta, id_key, _text)).strip() if id_key else ""
    post_id = given_id or site.absolute(jekyll_id(url_path, slug))
    image = _field(meta, "image", _image) if "image" in meta else None
    if image is None and "images" in meta:
        image = _field(meta, "images", _image)
    summary_key = _first_key(meta, ("excerpt", "description", "summary"))
    separator = site.excerpt_separator
    if meta.get("excerpt_separator") not in (None, ""):
        separator = _field(meta, "excerpt_separator", _text)

    return Post(
        path=path,
        source=_display(path, site),
        id=post_id,
        url=url,
        title=title,
        date=date,
        updated=max(updated, date),
        slug=slug,
        categories=tuple(categories),
        tags=tuple(dict.fromkeys(tags)),
        hidden=hidden,
        image=site.absolute(image) if image else None,
        author=_field(meta, "author", lambda v: _author(v, site.author))
        if "author" in meta
        else site.author,
        summary_field=_field(meta, summary_key, _text) if summary_key else None,
        excerpt_separator=separator,
        is_markdown=is_markdown,
        body_offset=head.body_offset,
        body_line=head.body_line,
        metadata=meta,
    )


def _display(path: Path, site: SiteConfig) -> str:
    try:
        return path.relative_to(site.posts_dir.parent).as_posix()
    except ValueError:
        return str(path)


# --- the folder ----------------------------------------------------------------


def _files(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):
        # Hidden folders, _drafts and other _underscore folders are not posts,
        # but a site's nested ``_posts`` folders are.
        dirs[:] = sorted(d for d in dirs if d == "_posts" or not _IGNORED_NAME.search(d))
        for name in sorted(files):
            if not _IGNORED_NAME.search(name):
                yield Path(root, name)


def scan(site: SiteConfig) -> Scan:
    """Every post under ``site.posts_dir``, newest first, and every bad file.

    One bad file never stops the others: it becomes one BadFile record.
    """
    posts: list[Post] = []
    errors: list[BadFile] = []
    if not site.posts_dir.is_dir():
        return Scan((), (BadFile(_display(site.posts_dir, site), "posts folder not found"),))
    seen: dict[str, Post] = {}
    for path in _files(site.posts_dir):
        try:
            post = read_post(path, site)
        except PostError as exc:
            errors.append(BadFile(_display(path, site), str(exc), exc.line))
            continue
        except OSError as exc:
            errors.append(BadFile(_display(path, site), f"cannot read the file ({exc.strerror})"))
            continue
        if post is None:
            continue
        other = seen.get(post.id)
        if other is not None:
            errors.append(
                BadFile(
                    post.source,
                    f"id {post.id} is also the id of {other.source}; "
                    "give one of them its own permalink, id or guid",
                )
            )
            continue
        seen[post.id] = post
        posts.append(post)
    posts.sort(key=lambda p: (p.date, p.source), reverse=True)
    return Scan(tuple(posts), tuple(errors))
