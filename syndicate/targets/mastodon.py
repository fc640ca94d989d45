"""Mastodon: one status per post (title, summary, link), its image as media.

Facts relied on, in our own words (checked in mastodon/documentation:
``methods/statuses.md``, ``methods/media.md``, ``api/rate-limits.md``; and in
the server's source, mastodon/mastodon):

* ``POST /api/v1/statuses``, ``Authorization: Bearer <token>`` (scope
  ``write:statuses``), form fields ``status``, ``media_ids[]``, ``visibility``,
  ``language`` (ISO 639-1), ``spoiler_text``, ``sensitive``; 200 with the
  Status, whose ``id`` and ``url`` are the receipt.
* ``Idempotency-Key`` header: ``PostStatusService`` keeps it per account for
  one hour and answers a repeat with the first status, checking it before the
  media, so a retry re-sending media ids is harmless. Past that hour a retry
  could post twice, so the first attempt's time is kept in the state store and
  a later retry first looks for the post's link among the account's latest
  statuses.
* Length (``StatusLengthValidator``): ``spoiler_text`` plus the text in
  grapheme clusters, a URL the twitter-text extractor recognises counting 23
  (``characters_reserved_per_url``), against ``max_characters`` (500 by
  default; both in ``GET /api/v2/instance``, config keys here since render is
  pure). Our count is never lower: code points (never fewer than graphemes in
  any Unicode version), the post's own link at ``url_weight``, any other
  ``http(s)://`` run at full length plus ``url_weight`` per protocol in it
  (the extractor may take it, skip it, or cut it short).
* Mentions (``Account::MENTION_RE``): ``@`` not after ``=``, ``/`` or a word
  character, then ``[a-z0-9_]`` (case-insensitive); an ``@`` right after
  another ``@`` starts one too. ``textfit.defuse_mentions`` covers both.
  ``#tags`` stay hashtags; they notify nobody.
* Media: ``POST /api/v2/media`` (multipart ``file``, ``description`` of at most
  1500 characters, scope ``write:media``) answers 200 when processed (images,
  since 4.0) or 202 with ``url`` null; ``GET /api/v1/media/:id`` says 206 until
  done. A status naming unprocessed media is refused (422), so we poll a little
  and otherwise post without it. Images must be under ``MAX_IMAGE_SIZE`` (16 MB
  now, 10 MB on older servers). Unattached media are deleted after about a
  day, hence ``MEDIA_REUSE``. Without media the server makes a preview card
  from the link's OpenGraph tags.
* Limits: 300 requests per 5 minutes, 30 uploads per 30 minutes. rack-attack's
  429 has ``X-RateLimit-Reset`` (ISO 8601, no ``Retry-After``): the seconds
  until then are the hint. 422 is a validation error: permanent.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from .. import templating, textfit
from ..errors import PermanentError
from ..feeds import Entry
from ..images import load_image, shrink
from ..logs import event
from ..redact import redact
from ..tables import Table
from . import http
from .base import Message, Receipt, Target

VISIBILITIES = ("public", "unlisted", "private", "direct")
ALT_LIMIT = 1500
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif", "image/heic"}
)
IDEMPOTENCY_WINDOW = 55 * 60.0  # the server's hour, less a margin for clock skew
MEDIA_REUSE = 6 * 3600.0
POLL_DELAYS = (1.0, 2.0, 3.0, 4.0)  # seconds between checks on a processing upload
_LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*")
# Case-insensitive like the server's own pattern: "\u212a" (Kelvin) folds to "k".
_LINKISH = re.compile(r"https?://\S+", re.IGNORECASE)
_PROTOCOL = re.compile(r"https?://", re.IGNORECASE)
_PLAIN_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def defuse(text: str) -> str:
    """No ``@user`` or ``@user@host`` in ``text`` notifies anyone."""
    return textfit.defuse_mentions(text)


def status_length(weight: int, links: tuple[str, ...]) -> textfit.Measure:
    """A count never below the server's: see the module docstring."""
    trusted = sorted((link for link in links if link), key=len, reverse=True)

    def run(span: str) -> int:
        for link in trusted:
            if span.startswith(link):
                rest = span[len(link) :]
                return weight + len(rest) + weight * len(_PROTOCOL.findall(rest))
        return len(span) + weight * len(_PROTOCOL.findall(span))

    def measure(text: str) -> int:
        spans = [match.group() for match in _LINKISH.finditer(text)]
        return len(_LINKISH.sub("", text)) + sum(run(span) for span in spans)

    return measure


def idempotency_key(key: str) -> str:
    """The delivery key as a header value: itself, or a stable digest of it."""
    if _PLAIN_KEY.fullmatch(key):
        return key
    return "syn_" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def alt_text(entry: Entry) -> str:
    """``image_alt`` from the front matter (or ``image.alt``), else the title."""
    meta = entry.post.metadata
    image = meta.get("image")
    for value in (meta.get("image_alt"), image.get("alt") if isinstance(image, dict) else None):
        if isinstance(value, str) and value.strip():
            return textfit.shorten(value, ALT_LIMIT)
    return textfit.shorten(entry.post.title, ALT_LIMIT)


class _NoMedia(Exception):
    """Why the image is left out; the status goes without it."""


class MastodonTarget(Target):
    type = "mastodon"
    idempotent = True
    fields: ClassVar[dict[str, str]] = {
        "instance": "the server's address, e.g. https://mastodon.social",
        "token": "access token (scopes write:statuses, write:media); use ${ENV}",
        "visibility": 'public, unlisted, private or direct (default "public")',
        "language": "ISO 639-1 code of the posts (default: site.language)",
        "spoiler_text": "content warning shown before the text (default none)",
        "sensitive": "mark the status and its media sensitive (default false)",
        "max_characters": "the instance's configuration.statuses.max_characters (500)",
        "url_weight": "the instance's characters_reserved_per_url (23)",
        "upload_image": "attach the post's image as media with alt text (default true)",
        "image_size_limit": "the instance's media_attachments.image_size_limit (16 MiB)",
        "defuse_mentions": "keep @user and @user@host in post text from notifying (true)",
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for an answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        "status: max_characters (500) with spoiler_text, each URL counting url_weight (23)",
        "image: under image_size_limit (16 MiB), else shrunk, else left out",
        f"image description: {ALT_LIMIT} characters",
    )

    def configure(self, table: Table) -> None:
        self.instance = table.text("instance", nonempty=True).rstrip("/")
        parts = urlsplit(self.instance)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise table.error("instance", "expected the server's https:// address")
        self.token = table.secret("token")
        if any(char.isspace() for char in self.token):
            raise table.error("token", "expected a token without spaces or line breaks")
        self.visibility = table.choice("visibility", VISIBILITIES, "public")
        language = table.text("language", self.site.language)
        found = _LANGUAGE.fullmatch(language)
        if not found:
            raise table.error("language", f'expected an ISO 639-1 code like "en", got "{language}"')
        self.language = found.group(1).lower()  # "en-GB" -> "en": the API takes the language
        self.spoiler_text = table.text("spoiler_text", "").strip()
        self.sensitive = table.flag("sensitive", False)
        self.max_characters = table.positive_int("max_characters", 500)
        self.url_weight = table.positive_int("url_weight", 23)
        self.upload_image = table.flag("upload_image", True)
        self.image_size_limit = table.positive_int("image_size_limit", IMAGE_SIZE_LIMIT)
        self.escape: Callable[[str], str] = defuse if table.flag("defuse_mentions", True) else str
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 30.0, minimum=0.1)
        self.template = templating.load_template(table, self.type, self.root)
        self._check_room(table)
        self.clock: Callable[[], float] = time.time
        self.sleep: Callable[[float], None] = time.sleep
        self._session: requests.Session | None = None

    def _check_room(self, table: Table) -> None:
        # With an empty title and summary the rest must fit, or no post ever could.
        empty = replace(templating.SAMPLE, title="", summary="")
        text = templating.render(self.template, empty, self.site)
        used = self._measure(empty.url)(text) + len(self.spoiler_text)
        if used > self.max_characters:
            keys = [k for k in ("template_file", "template") if table.data.get(k)]
            why = f"the status needs {used} characters without title and summary"
            raise table.error(keys[0] if keys else "max_characters", f"{why}, over the limit")

    def _measure(self, link: str) -> textfit.Measure:
        return status_length(self.url_weight, (link, self.site.home))

    # --- render --------------------------------------------------------------

    def render(self, entry: Entry, key: str) -> Message:
        post = entry.post
        escaped = templating.view(entry, self.escape)
        budget = self.max_characters - len(self.spoiler_text)
        measure = self._measure(post.url)

        def draw(title: str, summary: str) -> str:
            view = replace(escaped, title=self.escape(title), summary=self.escape(summary))
            return templating.render(self.template, view, self.site)

        text = textfit.fit(draw, post.title, entry.summary, budget, measure)
        if measure(text) > budget or not text.strip():
            raise PermanentError(
                f"the template leaves no room for this post within {budget} characters"
            )
        body: dict[str, Any] = {
            "status": text,
            "visibility": self.visibility,
            "language": self.language,
            "spoiler_text": self.spoiler_text,
            "sensitive": self.sensitive,
            # Not API fields: what send uploads, and the link it looks for.
            "media": [],
            "link": post.url,
        }
        if self.upload_image and post.image:
            body["media"] = [{"url": post.image, "description": alt_text(entry)}]
        headers = {"Idempotency-Key": idempotency_key(key)}
        return Message(target=self.name, key=key, body=body, headers=headers)

    # --- send ----------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        memo = self._memo(message.key)
        now = self.clock()
        if "first" not in memo:
            self._remember(message.key, memo, first=now)
        elif now - float(memo["first"]) > IDEMPOTENCY_WINDOW:
            found = self._find_posted(str(message.body.get("link") or ""))
            if found is not None:
                return found
        media_ids = self._media(message, memo)
        response = self._post_status(message, media_ids)
        if response.status_code == 422 and media_ids:
            # Refused with media (still processing, a type this server does not
            # take): the announcement matters more than the picture. A 422 made
            # nothing, so the same idempotency key is still free.
            self._skipped_media(f"status refused with the image: {http.describe(response)}")
            response = self._post_status(message, [])
        _check(response, self.clock())
        return _receipt(_object(response))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        if self._session is None:
            self._session = http.new_session()
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return http.request(
            self._session,
            method,
            self.instance + path,
            timeout=(self.connect_timeout, self.read_timeout),
            headers=headers,
            **kw,
        )

    def _post_status(self, message: Message, media_ids: list[str]) -> requests.Response:
        body = message.body
        form = [
            ("status", body["status"]),
            ("visibility", body["visibility"]),
            ("language", body["language"]),
            ("spoiler_text", body["spoiler_text"]),
            ("sensitive", "true" if body["sensitive"] else "false"),
            *(("media_ids[]", media_id) for media_id in media_ids),
        ]
        headers = {"Idempotency-Key": idempotency_key(message.key)}
        return self._call("POST", "/api/v1/statuses", data=form, headers=headers)

    # --- media ---------------------------------------------------------------

    def _media(self, message: Message, memo: dict[str, Any]) -> list[str]:
        items = message.body.get("media") or []
        if not items:
            return []
        url, description = str(items[0]["url"]), str(items[0]["description"])
        fresh = self.clock() - float(memo.get("media_at", 0)) < MEDIA_REUSE
        if fresh and memo.get("media_url") == url and "media" in memo:
            return [str(memo["media"])]
        try:
            media_id = self._upload(url, description)
        except (_NoMedia, PermanentError) as exc:
            self._skipped_media(str(exc))
            return []
        # A TransientError (429, 5xx) propagates: the status is idempotent, so
        # the whole send is retried later rather than losing the image.
        self._remember(message.key, memo, media=media_id, media_url=url, media_at=self.clock())
        return [media_id]

    def _upload(self, url: str, description: str) -> str:
        image = load_image(self.site, url, timeout=self.read_timeout)
        if image is None:
            raise _NoMedia(f"could not load the image {url}")
        if image.content_type not in IMAGE_TYPES:
            raise _NoMedia(f"Mastodon does not take {image.content_type} images")
        small = shrink(image, self.image_size_limit - 1)  # the server wants it smaller
        if small is None:
            raise _NoMedia(f"the image is over {self.image_size_limit} bytes and would not shrink")
        response = self._call(
            "POST",
            "/api/v2/media",
            files={"file": (small.filename, small.data, small.content_type)},
            data={"description": description},
        )
        _check(response, self.clock())
        media = _object(response)
        media_id = _id(media.get("id"))
        if media_id is None:
            raise _NoMedia("the upload's answer had no media id")
        if response.status_code == 202 or media.get("url") is None:
            self._wait_processed(media_id)
        return media_id

    def _wait_processed(self, media_id: str) -> None:
        for delay in POLL_DELAYS:
            self.sleep(delay)
            response = self._call("GET", f"/api/v1/media/{quote(media_id, safe='')}")
            if response.status_code == 206:
                continue
            _check(response, self.clock())
            if _object(response).get("url"):
                return
        raise _NoMedia(f"the image was still processing after {sum(POLL_DELAYS):g}s")

    def _skipped_media(self, why: str) -> None:
        event("media_skipped", level=logging.WARNING, target=self.name, error=redact(why))

    # --- after the idempotency window ----------------------------------------

    def _find_posted(self, link: str) -> Receipt | None:
        """The status an earlier attempt made, when the key may be forgotten."""
        if not link:
            return None
        try:
            response = self._call("GET", "/api/v1/accounts/verify_credentials")
            _check(response, self.clock())
            account = quote(_id(_object(response).get("id")) or "-", safe="")
            response = self._call(
                "GET",
                f"/api/v1/accounts/{account}/statuses",
                params={"limit": 40, "exclude_replies": "true", "exclude_reblogs": "true"},
            )
            _check(response, self.clock())
        except PermanentError as exc:
            # Without read scopes we cannot look, and the server has forgotten
            # the key: posting again could post twice. A person decides.
            raise PermanentError(
                f"cannot check whether an earlier attempt was posted ({exc}); look at the "
                "account, then `syndicate publish POST --target NAME --force` if it is not "
                "there; give the token read:accounts and read:statuses to check automatically"
            ) from None
        statuses = _json(response)
        for status in statuses if isinstance(statuses, list) else []:
            if isinstance(status, dict) and link in html.unescape(str(status.get("content"))):
                return _receipt(status)
        return None

    # --- state ---------------------------------------------------------------

    def _memo(self, key: str) -> dict[str, Any]:
        store = getattr(self, "state", None)
        raw = store.get_value(f"mastodon:{key}") if store is not None else None
        try:
            value = json.loads(raw or "{}")
        except ValueError:
            value = None
        return value if isinstance(value, dict) else {}

    def _remember(self, key: str, memo: dict[str, Any], **values: Any) -> None:
        memo.update(values)
        store = getattr(self, "state", None)
        if store is not None:
            store.set_value(f"mastodon:{key}", json.dumps(memo, sort_keys=True))


def reset_hint(value: str | None, now: float) -> float | None:
    """Whole seconds until ``X-RateLimit-Reset`` (an ISO 8601 time), if usable."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return float(max(0, math.ceil(when.timestamp() - now)))


def _check(response: requests.Response, now: float) -> None:
    hint = None
    if response.status_code == 429:
        hint = reset_hint(response.headers.get("X-RateLimit-Reset"), now)
    http.check(response, retry_after=hint)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _object(response: requests.Response) -> dict[str, Any]:
    value = _json(response)
    return value if isinstance(value, dict) else {}


def _id(value: Any) -> str | None:
    """An id as Mastodon sends it (a string; a number from look-alikes)."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def _receipt(status: dict[str, Any]) -> Receipt:
    url = status.get("url")
    return Receipt(_id(status.get("id")), url if isinstance(url, str) and url else None)
