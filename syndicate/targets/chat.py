"""What the chat-webhook targets (Slack, Discord, Teams) have in common.

All three take a JSON ``POST`` to a URL that is itself the credential: whoever
holds it can post to the channel. So the URL is read with ``Table.secret``
(``${ENV}`` allowed, registered for redaction) and never shown in an error.

None of the three accepts an idempotency key, so the types are not idempotent.
An ambiguous outcome (the request left, no answer came) is *held* by default
rather than retried: syndicate's promise is one announcement per post and
channel, and duplicates are what users of other feed-to-chat tools complain
about most. A held delivery shows in ``syndicate status`` and goes out with
``syndicate retry``; a channel that prefers a rare duplicate to waiting for a
person sets ``on_ambiguous = "retry"``.

Lengths are counted in UTF-16 code units: never fewer than Unicode code points
or graphemes, so a text that fits by this count fits however the service
counts "characters" (Slack and Discord document them as characters without
saying which; JavaScript clients count UTF-16).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jinja2
import requests

from .. import templating, textfit
from ..errors import PermanentError
from ..feeds import Entry
from ..tables import Table
from . import http
from .base import Target

measure: textfit.Measure = textfit.utf16_units

COMMON_FIELDS: dict[str, str] = {
    "template": "message template (Jinja2) instead of the default; see below",
    "template_file": "the template from a file, relative to the site root",
    "image": "show the post's image (default true)",
    "connect_timeout": "seconds to wait for a connection (default 5)",
    "read_timeout": "seconds to wait for the answer once sent (default 15)",
}


class ChatTarget(Target):
    """A webhook URL, a template, timeouts and one HTTP session."""

    idempotent = False
    default_on_ambiguous = "hold"
    #: What a 404 means for this service, said to the person reading the error.
    gone_hint: ClassVar[str] = "the webhook no longer exists: create a new one and update url"

    def configure(self, table: Table) -> None:
        self.url = webhook_url(table)
        self.template = templating.load_template(table, self.type, self.root)
        self.show_image = table.flag("image", True)
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 15.0, minimum=0.1)
        self._session: requests.Session | None = None
        self.configure_chat(table)

    def configure_chat(self, table: Table) -> None:
        """Keys of one chat type, read after the common ones."""

    def post_json(self, url: str, body: dict[str, Any]) -> requests.Response:
        if self._session is None:
            self._session = http.new_session()
        return http.request(
            self._session,
            "POST",
            url,
            timeout=(self.connect_timeout, self.read_timeout),
            data=encode(body),
            headers={"Content-Type": "application/json"},
        )

    def check(self, response: requests.Response, *, retry_after: float | None = None) -> None:
        """``http.check``, with a 404 explained: for a webhook URL it means the
        webhook (or its channel) was deleted, which no retry can mend."""
        if response.status_code == 404:
            raise PermanentError(f"{http.describe(response)}; {self.gone_hint}")
        http.check(response, retry_after=retry_after)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def image_url(self, entry: Entry, max_length: int) -> str | None:
        """The post's image when shown and usable by URL (absolute http(s))."""
        image = entry.post.image
        if not self.show_image or not image or len(image) > max_length:
            return None
        return image if urlsplit(image).scheme.lower() in ("http", "https") else None


def webhook_url(table: Table, key: str = "url") -> str:
    """An http(s) URL with a host, from the environment or the config; the
    value is never quoted in an error, because it is the credential."""
    url = table.secret(key)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise table.error(key, "expected the webhook's http:// or https:// URL")
    if any(char.isspace() for char in url):
        raise table.error(key, "expected a URL without spaces or line breaks")
    return url


def encode(body: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: the bytes sent, and what size limits count."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def fit_template(
    template: jinja2.Template,
    entry: Entry,
    target: Target,
    escape: Callable[[str], str],
    limit: int,
    *,
    url: str | None = None,
    count: textfit.Measure = measure,
) -> str:
    """The template's text for ``entry`` within ``limit``.

    Title and summary are shortened as raw text and escaped afterwards, so a
    cut never leaves half an entity or escape; the link is never cut. A
    template whose fixed text alone is over the limit cannot be fitted: that
    delivery is dead with a message saying so, rather than a mangled link.
    """
    escaped = templating.view(entry, escape)
    if url is not None:
        escaped = replace(escaped, url=url)

    def render(title: str, summary: str) -> str:
        view = replace(escaped, title=escape(title), summary=escape(summary))
        return templating.render(template, view, target.site)

    text = textfit.fit(render, entry.post.title, entry.summary, limit, count)
    if count(text) > limit:
        raise PermanentError(
            f"the {target.type} template's text is {count(text)} long even without the"
            f" summary and title; the limit is {limit}: shorten the template"
        )
    return text


def fit_title(title: str, escape: Callable[[str], str], limit: int) -> str:
    """``title`` escaped, shortened first so the escaped text fits ``limit``."""
    return textfit.fit(lambda t, _s: escape(t), title, "", limit, measure)


def image_alt(entry: Entry, limit: int) -> str:
    """Alt text: the post's ``image_alt`` front matter, else its title."""
    alt = entry.post.metadata.get("image_alt")
    text = alt if isinstance(alt, str) and alt.strip() else entry.post.title
    return textfit.shorten(text, limit, measure) or "image"
