"""Slack, through an incoming webhook.

What this module relies on, in our own words (checked against Slack's
reference pages on docs.slack.dev / api.slack.com and Slack's SDK issues):

* A message is a JSON ``POST`` to the webhook's URL; the URL carries the
  credential and fixes the channel, name and icon.
* Blocks: a ``header`` takes ``plain_text`` of at most 150 characters; a
  ``section`` takes ``mrkdwn`` text of at most 3000; an ``image`` block takes
  an ``image_url`` (at most 3000) and a required ``alt_text`` (at most 2000).
  With blocks, the top-level ``text`` is what notifications show.
* In ``mrkdwn``, ``&``, ``<`` and ``>`` are control characters and must be
  sent as ``&amp;``, ``&lt;``, ``&gt;`` when meant as text; otherwise
  ``<!channel>``, ``<@U123>`` or ``<http://x|y>`` inside a post would be live.
  Only those three are escaped (entity-encoding more shows the entities).
  As a second guard, ``@word`` in post text gets a zero-width space after the
  ``@`` (``textfit.defuse_mentions``), so no ``@channel`` ever notifies.
* ``unfurl_links``/``unfurl_media`` are accepted in webhook payloads; we turn
  them off because the image block already shows the picture.
* Success is HTTP 200 with the body ``ok`` and no message id. Errors are plain
  strings: 400 ``invalid_payload``/``invalid_blocks``, 403
  ``action_prohibited``, 404 ``channel_not_found``/``no_service`` (webhook
  removed), 410 ``channel_is_archived``, 500 ``rollup_error`` (Slack's
  changelog "Improving error conditions for Incoming Webhooks", 2016-05-17).
  Posting is limited to about one message per second; over it Slack answers
  429 with ``Retry-After``.
* When Slack cannot download an image block's ``image_url`` it rejects the
  whole message (``invalid_blocks``, "downloading image failed"; e.g.
  slackapi/python-slack-sdk#1782, slackapi/java-slack-sdk#1396). Nothing was
  posted then, so we send the message once more without the image: a broken
  image never costs the announcement.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from .. import textfit
from ..feeds import Entry
from ..redact import register
from ..tables import Table
from .base import Message, Receipt
from .chat import (
    COMMON_FIELDS,
    ChatTarget,
    fit_template,
    fit_title,
    image_alt,
    measure,
)

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
ALT_LIMIT = 2000
IMAGE_URL_LIMIT = 3000
TOKEN_MIN_LENGTH = 16  # Slack's are 24; shorter segments are words, not secrets
_LINK_BREAKERS = re.compile(r"[<>|\s]")


def escape(text: str) -> str:
    """Post text made inert in mrkdwn: mentions defused, then ``&<>`` escaped."""
    return textfit.slack_escape(textfit.defuse_mentions(text))


def link_url(url: str) -> str:
    """``url`` safe inside ``<url>`` or ``<url|label>``: the characters that
    would end or split the link are percent-encoded (a permalink rarely has
    any; one that did would lose its tail otherwise)."""
    # "&" inside <...> is still mrkdwn: it must be an entity like anywhere else.
    return _LINK_BREAKERS.sub(lambda m: quote(m.group(), safe=""), url).replace("&", "&amp;")


class SlackTarget(ChatTarget):
    type = "slack"
    fields: ClassVar[dict[str, str]] = {
        "url": 'the incoming webhook URL (it is the credential): "${SLACK_WEBHOOK_URL}"',
        **COMMON_FIELDS,
    }
    limits: ClassVar[tuple[str, ...]] = (
        "header block (the title): 150 characters of plain text",
        "section block (the template's text): 3000 characters of mrkdwn, escaped",
        "image block: image_url up to 3000 characters, alt_text up to 2000",
    )
    gone_hint = "the webhook was removed or its channel deleted: create a new one and update url"

    def configure_chat(self, table: Table) -> None:
        # The URL's last segment (…/services/T…/B…/<token>) is the secret part;
        # the whole URL and its path are registered for redaction already, but
        # an answer or a library error may quote the token alone.
        token = urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1]
        if len(token) >= TOKEN_MIN_LENGTH:
            register(token)

    def render(self, entry: Entry, key: str) -> Message:
        url = link_url(entry.post.url)
        blocks: list[dict[str, Any]] = []
        title = textfit.shorten(entry.post.title, HEADER_LIMIT, measure)
        if title:
            blocks.append(
                {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}
            )
        section = fit_template(self.template, entry, self, escape, SECTION_LIMIT, url=url)
        if section:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section}})
        image = self.image_url(entry, IMAGE_URL_LIMIT)
        if image:
            blocks.append(
                {"type": "image", "image_url": image, "alt_text": image_alt(entry, ALT_LIMIT)}
            )
        # What a notification shows: the title and the link, never cut.
        fallback = f"{fit_title(entry.post.title, escape, HEADER_LIMIT)} <{url}>".strip()
        body = {
            "text": fallback,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        return Message(target=self.name, key=key, body=body)

    def send(self, message: Message) -> Receipt:
        response = self.post_json(self.url, message.body)
        if response.status_code == 400 and _image_refused(response.text):
            without = _without_images(message.body)
            if without != message.body:
                response = self.post_json(self.url, without)
        self.check(response)
        return Receipt()  # Slack's webhooks answer "ok" and no id


def _image_refused(answer: str) -> bool:
    return "invalid_blocks" in answer or "image" in answer.lower()


def _without_images(body: dict[str, Any]) -> dict[str, Any]:
    blocks = [block for block in body.get("blocks", []) if block.get("type") != "image"]
    return {**body, "blocks": blocks}
