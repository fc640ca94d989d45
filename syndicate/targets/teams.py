"""Microsoft Teams, through a Workflows ("When a Teams webhook request is
received") webhook.

What this module relies on, in our own words (Microsoft Learn pages on Teams
webhooks and the Adaptive Cards schema explorer, the AdaptiveCards issue
tracker, and tools that post to Workflows URLs):

* Office 365 connector webhooks are being retired; a Workflows URL takes a
  ``message`` whose ``attachments`` hold one Adaptive Card
  (``contentType: application/vnd.microsoft.card.adaptive``). We send a card
  of schema 1.4: a bold ``TextBlock`` with the title, a ``TextBlock`` with the
  template's text, an ``Image`` (``url``, ``altText``) and an
  ``Action.OpenUrl`` button to the post.
* A message may be about 28 KB; bigger ones fail (413). We fit the whole
  payload, as UTF-8 JSON, into 27,000 bytes, leaving room for what the flow
  wraps around it. More than about four requests a second are throttled
  with 429 and ``Retry-After``.
* The URL carries its signature (``sig=``) and is the credential. The answer
  is ``202 Accepted`` with no id: the flow runs afterwards, so a card the flow
  fails to post is not reported back to us (the flow's run history shows it).
* A ``TextBlock`` renders a Markdown subset (bold, italic, lists, links) and
  needs a blank line for a line break. Post text is escaped with CommonMark
  backslashes so ``**x**`` or ``[label](url)`` stays text (Teams mobile
  clients once showed the backslashes, fixed since: microsoft/AdaptiveCards
  #5590, microsoft/Teams-AdaptiveCards-Mobile#58). Nobody can be mentioned
  from text: a Teams mention needs an ``<at>`` tag *and* an entity, which we
  never send.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any, ClassVar

from .. import templating, textfit
from ..errors import PermanentError
from ..feeds import Entry
from ..tables import Table
from .base import Message, Receipt
from .chat import COMMON_FIELDS, ChatTarget, encode, image_alt

BUDGET_BYTES = 27_000
# The card schema sets no length for these; our own caps keep a pathological
# value (a data: URI, a novel as alt text) from eating the 28 KB.
ALT_LIMIT = 1000
IMAGE_URL_LIMIT = 2048
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"

_INLINE = re.compile(r"([\\*_\[\]`])")
_BLOCK_START = re.compile(r"^(\s*)([-+>#])", re.MULTILINE)
_NUMBER_START = re.compile(r"^(\s*)(\d+)\.", re.MULTILINE)


def escape(text: str) -> str:
    """Post text made inert in an Adaptive Card TextBlock's Markdown."""
    text = _INLINE.sub(r"\\\1", text)
    text = _BLOCK_START.sub(r"\1\\\2", text)
    return _NUMBER_START.sub(r"\1\2\\.", text)


def paragraphs(text: str) -> str:
    """A TextBlock joins single line breaks; a template's line breaks are
    meant, so each becomes a paragraph break."""
    return re.sub(r"\n+", "\n\n", text)


class TeamsTarget(ChatTarget):
    type = "teams"
    fields: ClassVar[dict[str, str]] = {
        "url": 'the Workflows webhook URL (it is the credential): "${TEAMS_WEBHOOK_URL}"',
        "button": 'the label of the button that opens the post (default "Read the post")',
        **COMMON_FIELDS,
    }
    limits: ClassVar[tuple[str, ...]] = (
        "the whole message: 28 KB (fitted into 27,000 bytes of UTF-8 JSON)",
    )
    gone_hint = "the workflow was deleted or its URL changed: copy the new URL into url"

    def configure_chat(self, table: Table) -> None:
        self.button = table.text("button", "Read the post", nonempty=True)

    def render(self, entry: Entry, key: str) -> Message:
        image = self.image_url(entry, IMAGE_URL_LIMIT)
        alt = image_alt(entry, ALT_LIMIT) if image else ""
        escaped = templating.view(entry, escape)

        def payload(title: str, summary: str) -> str:
            # The whole message as sent: what the size limit counts.
            view = replace(escaped, title=escape(title), summary=escape(summary))
            text = paragraphs(templating.render(self.template, view, self.site))
            card = self._card(escape(title), text, entry.post.url, image, alt)
            return encode(card).decode("utf-8")

        fitted = textfit.fit(
            payload, entry.post.title, entry.summary, BUDGET_BYTES, textfit.utf8_bytes
        )
        size = textfit.utf8_bytes(fitted)
        if size > BUDGET_BYTES:
            raise PermanentError(
                f"the teams template's text makes a {size}-byte message even without the"
                f" summary and title; the limit is {BUDGET_BYTES}: shorten the template"
            )
        return Message(target=self.name, key=key, body=json.loads(fitted))

    def _card(self, title: str, text: str, url: str, image: str | None, alt: str) -> dict[str, Any]:
        body: list[dict[str, Any]] = []
        if title:
            body.append(
                {
                    "type": "TextBlock",
                    "text": title,
                    "size": "Large",
                    "weight": "Bolder",
                    "wrap": True,
                }
            )
        if text:
            body.append({"type": "TextBlock", "text": text, "wrap": True})
        if image:
            body.append({"type": "Image", "url": image, "altText": alt, "size": "Stretch"})
        card = {
            "$schema": CARD_SCHEMA,
            "type": "AdaptiveCard",
            "version": CARD_VERSION,
            "body": body,
            "actions": [{"type": "Action.OpenUrl", "title": self.button, "url": url}],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}],
        }

    def send(self, message: Message) -> Receipt:
        response = self.post_json(self.url, message.body)
        self.check(response)
        return Receipt()  # 202 Accepted: the flow posts the card later, no id
