"""Message templates: Jinja2, sandboxed, no autoescaping.

Each target type ships a default template (``templates/<type>.j2``); a target
may override it with ``template = "..."`` or ``template_file = "path"``. The
escaping for the platform's markup is the target's job, done on the values
before they reach the template. Templates are compiled and tried on a sample
post when the config is loaded, so a mistake is a config error naming the
target and the line, never a failed send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from .config import Author, SiteConfig
from .feeds import Entry
from .tables import Table

_ENVIRONMENT = SandboxedEnvironment(
    autoescape=False,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=False,
)


@dataclass(frozen=True)
class PostView:
    """What a template sees as ``post``; text already escaped by the target."""

    title: str
    url: str
    summary: str
    image: str | None
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    date: datetime
    author: str


def default_template(kind: str) -> str:
    return (resources.files("syndicate") / "templates" / f"{kind}.j2").read_text("utf-8")


def load_template(table: Table, kind: str, root: Path) -> jinja2.Template:
    """The target's template from ``template``/``template_file``, else the
    default; compiled and tried now, so errors surface at config load."""
    source = table.text("template", "")
    path = table.text("template_file", "")
    key = "template"
    if source and path:
        raise table.error("template_file", "set either template or template_file, not both")
    if path:
        key = "template_file"
        file = Path(path) if Path(path).is_absolute() else root / path
        try:
            source = file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise table.error(key, f"cannot read {file} ({exc})") from None
    if not source:
        source = default_template(kind)
    try:
        template = _ENVIRONMENT.from_string(source)
        template.render(**_context(SAMPLE, SAMPLE_SITE))
    except jinja2.TemplateSyntaxError as exc:
        raise table.error(key, f"line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise table.error(key, f"{exc.message or exc}") from None
    return template


def view(entry: Entry, escape: Any = None) -> PostView:
    """The post as a template sees it, each text value passed through ``escape``."""
    post = entry.post
    clean = escape or (lambda text: text)
    return PostView(
        title=clean(post.title),
        url=post.url,
        summary=clean(entry.summary),
        image=post.image,
        categories=tuple(clean(c) for c in post.categories),
        tags=tuple(clean(t) for t in post.tags),
        date=post.date,
        author=clean(post.author.name),
    )


def _context(post: PostView, site: dict[str, str]) -> dict[str, Any]:
    return {"post": post, "site": site}


def render(template: jinja2.Template, post: PostView, site: SiteConfig) -> str:
    text = template.render(**_context(post, {"title": site.title, "url": site.home}))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


SAMPLE = PostView(
    title="A sample title",
    url="https://blog.example.com/2026/01/01/sample.html",
    summary="A sample summary.",
    image="https://blog.example.com/assets/sample.png",
    categories=("news",),
    tags=("sample",),
    date=datetime(2026, 1, 1, tzinfo=UTC),
    author=Author(name="Ada").name,
)
SAMPLE_SITE = {"title": "Blog", "url": "https://blog.example.com/"}
