"""Telegram: a bot posts each announcement to a channel, group or chat.

What this module relies on from the Bot API documentation (core.telegram.org/
bots/api, read through the docs corpus and client libraries that copy it), in
our own words:

* Every call is an HTTPS request to ``<api>/bot<token>/<method>``; the answer
  is JSON with a boolean ``ok``, the ``result`` on success, and on failure a
  ``description``, an ``error_code`` (the HTTP status) and sometimes
  ``parameters``: ``retry_after`` (seconds to wait after a 429 flood limit) or
  ``migrate_to_chat_id`` (the group became a supergroup with a new id). The
  token sits in the URL path, so besides the token itself ``bot<token>`` is
  registered for redaction, and the token may only hold URL-safe characters,
  so no HTTP library ever shows it percent-encoded.
* ``sendMessage`` takes ``text``, at most 4096 characters once the markup is
  parsed; ``sendPhoto`` takes ``photo`` (an HTTP URL Telegram downloads itself,
  up to 5 MB, or a multipart upload up to 10 MB) and a ``caption`` of at most
  1024. So a post with an image goes out as a photo with the text as its
  caption when the text fits 1024, else as a message with a large link preview
  (``link_preview_options``: ``url`` is the post, ``prefer_large_media``, which
  Telegram only honours when ``url`` is given).
* In ``parse_mode: HTML`` only a few tags exist, every ``<``, ``>`` and ``&``
  that is not markup must be an entity, and only ``&lt;`` ``&gt;`` ``&amp;``
  ``&quot;`` and numeric entities are understood; anything else is a 400 and
  nothing is sent. Post text is escaped before it reaches the template, and the
  template's own markup is checked on a sample when the config is loaded.
* Length units: entity offsets are UTF-16 code units (core.telegram.org/api/
  entities). Whether the 4096/1024 limits count UTF-16 units or code points is
  disputed (clients that fixed overlong sends by counting UTF-16:
  NousResearch/hermes-agent #8698, yaad-index/darbaan #259; a live probe that
  found code points: FerroxLabs/wayland #934). A text within N UTF-16 units is
  within N code points too, so we count UTF-16 units of the visible text.
* Telegram sometimes cannot fetch a photo URL (400 "wrong file identifier/HTTP
  URL specified": python-telegram-bot #2917, teloxide #538, where Telegram's
  support advised uploading the file instead). A 400 means nothing was sent, so
  we then upload the image ourselves, and failing that send the text message:
  a bad image never kills the announcement.
* A message in a public channel or supergroup has the address
  ``https://t.me/<username>/<message_id>``: that is the receipt's URL.

There is no idempotency key in the Bot API, so ``idempotent`` is False and an
ambiguous send (no answer after the request left) is held for a person by
default: a person can look at the chat, while a blind retry might post twice.
``on_ambiguous = "retry"`` prefers a possible duplicate to waiting.
"""

from __future__ import annotations

import html
import json
import logging
import re
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any, ClassVar
from urllib.parse import urlsplit

import jinja2
import requests

from .. import templating, textfit
from ..errors import PermanentError, TransientError
from ..feeds import Entry
from ..images import load_image, shrink
from ..redact import register
from ..tables import Table, show
from . import http
from .base import Message, Receipt, Target

LOG = logging.getLogger(__name__)
API_URL = "https://api.telegram.org"
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
UPLOAD_LIMIT = 10 * 1024 * 1024
PHOTO_MODES = ("auto", "always", "never")
# URL-safe only: the token goes into the path as it is (see the docstring).
_TOKEN = re.compile(r"[A-Za-z0-9:_-]{6,}")
_USERNAME = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}")
_NUMERIC = re.compile(r"-?\d{1,20}")
_TAG = re.compile(r"<[^<>]*>")
# The markup Telegram's HTML mode understands, piece by piece.
_PIECE = re.compile(
    r"<(?P<close>/?)(?P<name>[A-Za-z][\w-]*)(?P<attrs>[^<>]*)>"
    r"|&(?:lt|gt|amp|quot|#\d{1,7}|#x[0-9A-Fa-f]{1,6});"
    r"|(?P<bare>[<>&])"
)
_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre"}
    | {"tg-spoiler", "span", "blockquote", "tg-emoji"}
)
# What Telegram says when it could not use a photo (as opposed to the text).
_PHOTO_ERROR = re.compile(r"photo|file|http url|web ?page|image|dimension", re.IGNORECASE)
# Formats Telegram does not show as photos: straight to the text message.
_NOT_PHOTOS = frozenset({".svg", ".svgz", ".pdf"})


def visible(markup: str) -> str:
    """The text a reader sees (what Telegram's limits count): tags dropped,
    entities decoded. Post values never contain tags: they are escaped."""
    return html.unescape(_TAG.sub("", markup))


def markup_problem(markup: str) -> str | None:
    """Why Telegram's HTML mode would refuse ``markup``, or None."""
    open_tags: list[str] = []
    for piece in _PIECE.finditer(markup):
        name = (piece.group("name") or "").lower()
        if piece.group("bare"):
            return f'a bare "{piece.group("bare")}": write it as an entity (&lt; &gt; &amp;)'
        if not name:
            continue
        if name not in _TAGS:
            return f"<{name}> is not a tag Telegram supports"
        if not piece.group("close"):
            open_tags.append(name)
        elif not open_tags or open_tags.pop() != name:
            return f"</{name}> closes a tag that is not open"
    return f"<{open_tags[-1]}> is never closed" if open_tags else None


class PhotoRefused(PermanentError):
    """Telegram could not use the photo; the text itself was not the problem."""


class TelegramTarget(Target):
    type = "telegram"
    idempotent = False
    fields: ClassVar[dict[str, str]] = {
        "token": 'the bot token from @BotFather, usually "${TELEGRAM_TOKEN}"',
        "chat_id": '"@channelname" or the numeric id of the chat to post to',
        "photo": '"auto" (photo when the text fits its caption), "always" or "never"',
        "silent": "post without a notification sound (default false)",
        "defuse_mentions": "keep @names in post text from notifying anyone (default true)",
        "api_url": f"the Bot API server (default {API_URL})",
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for the answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        "message text: 4096 UTF-16 code units of visible text (after HTML parsing)",
        "photo caption: 1024 UTF-16 code units of visible text",
        "photo upload: 10 MB (larger images are re-encoded or skipped)",
    )

    def configure(self, table: Table) -> None:
        self.token = table.secret("token")
        if not _TOKEN.fullmatch(self.token):
            # Never quote the value: it is a credential.
            raise table.error(
                "token", "expected a bot token as @BotFather gives it (letters, digits, : _ -)"
            )
        register(f"bot{self.token}")
        self.chat_id = _chat_id(table)
        self.api_url = _api_url(table)
        self.photo = table.choice("photo", PHOTO_MODES, "auto")
        self.silent = table.flag("silent", False)
        self.defuse = table.flag("defuse_mentions", True)
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 30.0, minimum=0.1)
        self.template: jinja2.Template = templating.load_template(table, self.type, self.root)
        # The site's title is the site owner's text, but it still needs escaping.
        self._site = replace(self.site, title=html.escape(self.site.title, quote=False))
        sample = templating.render(self.template, templating.SAMPLE, self._site)
        problem = markup_problem(sample)
        if problem:
            key = "template_file" if table.data.get("template_file") else "template"
            raise table.error(key, f"not valid Telegram HTML: {problem}")
        self._session: requests.Session | None = None

    # --- render ------------------------------------------------------------------

    def _escape(self, text: str) -> str:
        return textfit.telegram_escape(textfit.defuse_mentions(text) if self.defuse else text)

    def render(self, entry: Entry, key: str) -> Message:
        post = entry.post
        # URLs are escaped with quotes too: templates may put them in href="...".
        base = replace(
            templating.view(entry, self._escape),
            url=html.escape(post.url),
            image=html.escape(post.image) if post.image else None,
        )
        markups: dict[str, str] = {}

        def shown(title: str, summary: str) -> str:
            # Fitting works on what the reader sees (raw text, counted as
            # Telegram counts); escaping happens here, after any shortening.
            view = replace(base, title=self._escape(title), summary=self._escape(summary))
            markup = templating.render(self.template, view, self._site)
            text = visible(markup)
            markups[text] = markup
            return text

        def fitted(limit: int) -> str | None:
            text = textfit.fit(shown, post.title, entry.summary, limit, textfit.utf16_units)
            return markups[text] if textfit.utf16_units(text) <= limit else None

        text = fitted(TEXT_LIMIT)
        if text is None:
            raise PermanentError(
                f"the template's own text and the link are longer than Telegram's "
                f"{TEXT_LIMIT} characters; shorten the template"
            )
        common = {
            "chat_id": self.chat_id,
            "parse_mode": "HTML",
            "disable_notification": self.silent,
        }
        message = {
            "method": "sendMessage",
            "params": {
                **common,
                "text": text,
                "link_preview_options": {"url": post.url, "prefer_large_media": True},
            },
        }
        caption = None
        if self._shows_photo(post.image):
            whole = shown(post.title, entry.summary)
            if self.photo == "always" or textfit.utf16_units(whole) <= CAPTION_LIMIT:
                caption = fitted(CAPTION_LIMIT)
        if caption is None or not post.image:
            return Message(target=self.name, key=key, body=message)
        photo = {**common, "photo": post.image, "caption": caption}
        body = {"method": "sendPhoto", "params": photo, "fallback": message}
        return Message(target=self.name, key=key, body=body)

    def _shows_photo(self, image: str | None) -> bool:
        if not image or self.photo == "never" or not image.lower().startswith(("https:", "http:")):
            return False
        return PurePosixPath(urlsplit(image).path).suffix.lower() not in _NOT_PHOTOS

    # --- send --------------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        body = message.body
        try:
            return self._call(body["method"], json_body=body["params"])
        except PhotoRefused as refused:
            LOG.warning(
                "%s: Telegram did not take the image URL (%s); uploading it", self.name, refused
            )
        receipt = self._upload(body["params"])
        if receipt is not None:
            return receipt
        fallback = body["fallback"]
        return self._call(fallback["method"], json_body=fallback["params"])

    def _upload(self, params: dict[str, Any]) -> Receipt | None:
        """sendPhoto with the image bytes; None when there is no usable image."""
        image = load_image(self.site, params["photo"])
        image = shrink(image, UPLOAD_LIMIT) if image is not None else None
        if image is None:
            LOG.warning("%s: the image could not be loaded; sending the text alone", self.name)
            return None
        form = {name: _form_value(value) for name, value in params.items() if name != "photo"}
        try:
            return self._call(
                "sendPhoto",
                form=form,
                files={"photo": (image.filename, image.data, image.content_type)},
            )
        except PhotoRefused as refused:
            LOG.warning(
                "%s: Telegram refused the image (%s); sending the text alone", self.name, refused
            )
            return None

    def _call(
        self,
        method: str,
        *,
        json_body: dict[str, Any] | None = None,
        form: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> Receipt:
        if self._session is None:
            self._session = http.new_session()
        response = http.request(
            self._session,
            "POST",
            f"{self.api_url}/bot{self.token}/{method}",
            timeout=(self.connect_timeout, self.read_timeout),
            json=json_body,
            data=form,
            files=files,
        )
        return self._outcome(method, response)

    def _outcome(self, method: str, response: requests.Response) -> Receipt:
        payload = _json_object(response)
        parameters = payload.get("parameters")
        parameters = parameters if isinstance(parameters, dict) else {}
        status = response.status_code
        description = str(payload.get("description", ""))
        if status == 400 and method == "sendPhoto" and _PHOTO_ERROR.search(description):
            raise PhotoRefused(http.describe(response))
        migrated = parameters.get("migrate_to_chat_id")
        if status == 400 and isinstance(migrated, int):
            raise PermanentError(
                f"{http.describe(response)}; the group is now a supergroup: "
                f"set chat_id = {migrated}"
            )
        if status == 403:
            # Telegram's 403 is about the chat (kicked, not a member, blocked),
            # not the token: renewing the token would not help.
            raise PermanentError(
                f"{http.describe(response)}; the bot may not post to {self.chat_id}: add it "
                f"to the chat (to a channel as an administrator allowed to post)"
            )
        if status == 404:
            raise PermanentError(f"{http.describe(response)}; check the token and api_url")
        http.check(response, retry_after=_seconds(parameters.get("retry_after")))
        if payload.get("ok") is not True:
            raise TransientError(
                f'HTTP {status} without a Bot API answer (no "ok": true); it may have '
                f"been posted: check the chat and api_url",
                ambiguous=True,
            )
        result = payload.get("result")
        return self._receipt(result if isinstance(result, dict) else {})

    def _receipt(self, result: dict[str, Any]) -> Receipt:
        message_id = result.get("message_id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            return Receipt()
        chat = result.get("chat")
        chat = chat if isinstance(chat, dict) else {}
        username = chat.get("username") if chat.get("type") in ("channel", "supergroup") else None
        if not isinstance(username, str) and isinstance(self.chat_id, str):
            username = self.chat_id.removeprefix("@")
        url = f"https://t.me/{username}/{message_id}" if isinstance(username, str) else None
        return Receipt(remote_id=str(message_id), remote_url=url)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _chat_id(table: Table) -> str | int:
    value = table.data.get("chat_id")
    if isinstance(value, int) and not isinstance(value, bool):
        table.used.add("chat_id")  # Table has no integer getter; TOML gives ints as is
        return value
    if value is None:
        raise table.error("chat_id", 'is required ("@channelname" or a numeric chat id)')
    text = table.text("chat_id").strip()
    if _NUMERIC.fullmatch(text):
        return int(text)
    if _USERNAME.fullmatch(text):
        return text
    raise table.error("chat_id", f'expected "@channelname" or a numeric chat id, got {show(text)}')


def _api_url(table: Table) -> str:
    url = table.text("api_url", API_URL, nonempty=True).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise table.error("api_url", "expected an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise table.error("api_url", "expected a URL without ?query or #fragment")
    return url


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _form_value(value: object) -> str:
    """A sendPhoto parameter as a multipart form field."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
