"""The email a newsletter target sends: subject, HTML and plain text.

The HTML is a single-column, table-based layout with inline styles, because
that is what common mail clients render alike; images are given a width so
clients that ignore CSS still scale them. It carries the post's summary or its
full content (``content = "summary" | "full"``), the image and a "Read on the
site" link. Every link in the content is already absolute (the feed renderer
makes them so). The subject is a template too (default: the post title).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from .config import SiteConfig
from .feeds import Entry
from .tables import Table
from .text import html_to_text, xml_safe

CONTENT = ("summary", "full")
# The keys load_email_templates reads, for the ``fields`` of targets using it.
EMAIL_FIELDS = {
    "subject": "subject template (Jinja2; default: the post title)",
    "content": '"summary" (default) or "full": what the email carries',
    "html_template": "file with a Jinja2 HTML email template (default: built in)",
    "text_template": "file with a Jinja2 plain text template (default: built in)",
}
_HTML = SandboxedEnvironment(autoescape=True, undefined=jinja2.StrictUndefined)
_TEXT = SandboxedEnvironment(
    autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=False
)


@dataclass(frozen=True)
class Email:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class EmailTemplates:
    subject: jinja2.Template
    html: jinja2.Template
    text: jinja2.Template
    content: str


def _builtin(name: str) -> str:
    return (resources.files("syndicate") / "templates" / name).read_text("utf-8")


def _compile(
    env: SandboxedEnvironment, table: Table, key: str, source: str, context: dict[str, Any]
) -> jinja2.Template:
    try:
        template = env.from_string(source)
        template.render(**context)
    except jinja2.TemplateSyntaxError as exc:
        raise table.error(key, f"line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise table.error(key, str(exc.message or exc)) from None
    return template


def _source(table: Table, key: str, root: Path, default: str) -> str:
    path = table.text(key, "")
    if not path:
        return _builtin(default)
    file = Path(path) if Path(path).is_absolute() else root / path
    try:
        return file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise table.error(key, f"cannot read {file} ({exc})") from None


def load_email_templates(table: Table, root: Path) -> EmailTemplates:
    """Read ``subject``, ``content``, ``html_template``, ``text_template``;
    every template is compiled and tried on a sample post now."""
    content = table.choice("content", CONTENT, "summary")
    sample = _context(SAMPLE_POST, SAMPLE_SITE, content)
    subject = table.text("subject", "{{ post.title }}")
    html = _source(table, "html_template", root, "email.html.j2")
    text = _source(table, "text_template", root, "email.txt.j2")
    return EmailTemplates(
        subject=_compile(_TEXT, table, "subject", subject, sample),
        html=_compile(_HTML, table, "html_template", html, sample),
        text=_compile(_TEXT, table, "text_template", text, sample),
        content=content,
    )


def _context(post: dict[str, Any], site: dict[str, Any], content: str) -> dict[str, Any]:
    return {"post": post, "site": site, "content": content}


def _post(entry: Entry) -> dict[str, Any]:
    post = entry.post
    alt = post.metadata.get("image_alt")
    return {
        "title": post.title,
        "url": post.url,
        "summary": entry.summary,
        "image": post.image,
        "image_alt": alt if isinstance(alt, str) and alt.strip() else post.title,
        # The rendered post; trusted as HTML (it is the author's own content).
        "html": Markup(entry.html),
        "text": html_to_text_paragraphs(entry.html),
        "categories": list(post.categories),
        "tags": list(post.tags),
        "date": post.date,
        "author": post.author.name,
    }


def render_email(templates: EmailTemplates, entry: Entry, site: SiteConfig) -> Email:
    context = _context(
        _post(entry),
        {"title": site.title, "url": site.home, "language": site.language},
        templates.content,
    )
    # A header cannot carry control characters (or a line break: injection).
    subject = " ".join(xml_safe(templates.subject.render(**context)).split())
    return Email(
        subject=subject or entry.post.title,
        html=templates.html.render(**context),
        text=templates.text.render(**context).strip() + "\n",
    )


def html_to_text_paragraphs(html: str) -> str:
    """Plain text of the full post, one blank line between blocks."""
    blocks = [html_to_text(part) for part in html.replace("</p>", "</p>\n\n").split("\n\n")]
    return "\n\n".join(block for block in blocks if block)


SAMPLE_POST: dict[str, Any] = {
    "title": "A sample title",
    "url": "https://blog.example.com/2026/01/01/sample.html",
    "summary": "A sample summary.",
    "image": "https://blog.example.com/assets/sample.png",
    "image_alt": "A sample image",
    "html": Markup("<p>A sample post.</p>"),
    "text": "A sample post.",
    "categories": ["news"],
    "tags": ["sample"],
    "date": None,
    "author": "Ada",
}
SAMPLE_SITE = {"title": "Blog", "url": "https://blog.example.com/", "language": "en"}
