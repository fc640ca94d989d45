"""Discord, through a channel webhook ("Execute Webhook").

What this module relies on, in our own words (Discord's developer docs on
webhooks, messages and rate limits, the discord-api-docs repository, and the
embed limits as client libraries encode them):

* ``POST /api/v10/webhooks/{id}/{token}``; the URL holds the token and is the
  credential. With ``?wait=true`` the answer is the created message (with its
  ``id``); without it, a message Discord drops returns no error, so we always
  wait.
* The URL Discord hands out has no API version (``/api/webhooks/…``), which
  selects a deprecated version whose rate-limit answers count milliseconds
  (discord/discord-api-docs#2360, #4722). We send to ``/api/v10/`` instead,
  where ``retry_after`` is in seconds; the id, token and any other query
  parameter (a ``thread_id``) are kept.
* An embed has ``title`` (≤256), ``description`` (≤4096), ``url``,
  ``timestamp`` (ISO 8601), ``author.name`` (≤256), ``footer.text`` (≤2048)
  and ``image.url`` (http/https); at most 10 embeds, and their text together
  (title, description, field names and values, footer, author) ≤6000.
  ``content`` would be ≤2000; we send none, the embed carries the post.
* ``allowed_mentions: {"parse": []}`` means nothing in the message pings
  anyone, whatever the text says; we always send it. Embeds never ping either.
* Titles and descriptions are Markdown; post text is escaped with backslashes
  (Discord drops a backslash before any punctuation), so ``**x**``,
  ``[label](url)``, ``<@id>`` or a leading ``#`` in a post stay text.
* 429 comes with JSON ``retry_after`` (seconds, a float), a ``Retry-After``
  header and ``X-RateLimit-*``; we pass both hints to ``http.check`` (the
  header wins, it is rounded up). 404 (``Unknown Webhook``, code 10015) means
  the webhook was deleted: dead, never retried.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from .. import textfit
from ..dates import isoformat
from ..feeds import Entry
from ..redact import register
from ..tables import Table
from .base import Message, Receipt
from .chat import COMMON_FIELDS, ChatTarget, fit_template, fit_title, measure

API_VERSION = "v10"
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
AUTHOR_LIMIT = 256
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
IMAGE_URL_LIMIT = 2048  # a generous cap: longer image URLs are left out

_WEBHOOK_PATH = re.compile(r"(?P<prefix>.*?)/api(?:/v\d+)?/webhooks/(?P<id>\d+)/(?P<token>[^/]+)/?")
# Markdown characters anywhere in a line, then block markers at its start.
_INLINE = re.compile(r"([\\*_~`|\[\]<>#])")
_LIST_START = re.compile(r"^(\s*)([-+])", re.MULTILINE)
_NUMBER_START = re.compile(r"^(\s*)(\d+)\.", re.MULTILINE)


def escape(text: str) -> str:
    """Post text made inert in Discord Markdown."""
    text = _INLINE.sub(r"\\\1", text)
    text = _LIST_START.sub(r"\1\\\2", text)
    return _NUMBER_START.sub(r"\1\2\\.", text)


def execute_url(table: Table, url: str) -> str:
    """The webhook URL on API v10 with ``wait=true``; a ConfigError that never
    quotes the URL when it is not a Discord webhook URL."""
    parts = urlsplit(url)
    found = _WEBHOOK_PATH.fullmatch(parts.path)
    if not found:
        raise table.error("url", "expected a Discord webhook URL, …/api/webhooks/<id>/<token>")
    # The token alone is a credential too; the rewritten URL is not the one
    # the config registered, so both are registered for redaction here.
    register(found["token"])
    path = f"{found['prefix']}/api/{API_VERSION}/webhooks/{found['id']}/{found['token']}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    endpoint = urlunsplit(
        (parts.scheme, parts.netloc, path, urlencode([*query, ("wait", "true")]), "")
    )
    register(endpoint)
    return endpoint


class DiscordTarget(ChatTarget):
    type = "discord"
    fields: ClassVar[dict[str, str]] = {
        "url": 'the webhook URL (it is the credential): "${DISCORD_WEBHOOK_URL}"',
        **COMMON_FIELDS,
    }
    limits: ClassVar[tuple[str, ...]] = (
        "embed title (the post's title): 256 characters",
        "embed description (the template's text): 4096 characters",
        "author name 256, footer (the site's title) 2048",
        "all embed text together: 6000 characters",
    )
    gone_hint = "the webhook was deleted (Unknown Webhook): create a new one and update url"

    def configure_chat(self, table: Table) -> None:
        self.endpoint = execute_url(table, self.url)

    def render(self, entry: Entry, key: str) -> Message:
        post = entry.post
        title = fit_title(post.title, escape, TITLE_LIMIT)
        embed: dict[str, Any] = {"url": post.url, "timestamp": isoformat(post.date)}
        if title:
            embed["title"] = title
        author = textfit.shorten(post.author.name, AUTHOR_LIMIT, measure)
        if author:
            embed["author"] = {"name": author}
        footer = textfit.shorten(self.site.title, FOOTER_LIMIT, measure)
        if footer:
            embed["footer"] = {"text": footer}
        # The description gets what the other texts leave of the total.
        used = measure(title) + measure(author) + measure(footer)
        budget = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used)
        description = fit_template(self.template, entry, self, escape, budget)
        if description:
            embed["description"] = description
        image = self.image_url(entry, IMAGE_URL_LIMIT)
        if image:
            embed["image"] = {"url": image}
        body = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        return Message(target=self.name, key=key, body=body)

    def send(self, message: Message) -> Receipt:
        response = self.post_json(self.endpoint, message.body)
        hint = _retry_after(response) if response.status_code == 429 else None
        self.check(response, retry_after=hint)
        return Receipt(remote_id=_message_id(response))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _retry_after(response: requests.Response) -> float | None:
    value = _json(response).get("retry_after")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _message_id(response: requests.Response) -> str | None:
    value = _json(response).get("id")
    return value if isinstance(value, str) and value else None
