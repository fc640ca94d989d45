"""Bluesky: one post per announcement, with a clickable link and a link card.

What this module relies on, in our own words (checked against the lexicons in
bluesky-social/atproto, docs.bsky.app and the threads named here):

* Login: ``com.atproto.server.createSession`` with ``identifier`` (the handle)
  and ``password`` (an app password) gives ``accessJwt``, ``refreshJwt``,
  ``handle`` and ``did``. Bluesky allows only 30 logins per 5 minutes and 300
  a day per account (docs.bsky.app "Rate Limits"; bsky-docs #183 reports 100
  a day at the entryway), so the session is made once, kept in the state store
  (``self.state``, key ``bluesky:<target name>:session``) and renewed with
  ``com.atproto.server.refreshSession`` when a call answers 400
  ``ExpiredToken`` or 401; only when refreshing fails is a new login made.
  What is stored are the derived, expiring tokens, never the app password, and
  they are registered for redaction like any secret. Refreshing revokes the
  old refresh token, so a worker whose refresh fails first tries the one
  another worker may have stored since (``atproto.py`` has the details).
* A post is a record in ``app.bsky.feed.post``: ``text`` (at most 300
  graphemes and 3000 UTF-8 bytes; lexicon ``maxLength`` counts bytes, as the
  reference validator does), ``createdAt`` (an RFC 3339 time with a zone; we
  send the post's date in UTC with ``Z`` so ``render`` stays pure), ``langs``
  (up to three BCP-47 tags: the site's language), ``facets`` and ``embed``.
* The record is written with ``com.atproto.repo.putRecord`` under a record key
  derived from the delivery key (a TID: post keys must be TIDs). Writing the
  same key again replaces the record instead of adding a post, so a retry after
  an ambiguous outcome is safe and the target is idempotent. ``createRecord``
  would be wrong here: on an existing key the reference PDS answers 500
  (bluesky-social/atproto #3718), which reads as "try again".
* A URL in the text is a link only with a link facet over its UTF-8 byte range.
  Mentions are facets too: we never write mention facets, so ``@handle`` in a
  post notifies nobody; ``defuse_mentions`` (on by default) also puts a
  zero-width space after such an ``@`` so clients or bridges that detect
  handles in plain text do not link them either.
* The card is ``app.bsky.embed.external`` with ``uri``, ``title`` (at most 300
  graphemes / 3000 bytes), ``description`` (1000 / 10000) and an optional
  ``thumb``: a blob from ``com.atproto.repo.uploadBlob`` (raw bytes with their
  Content-Type; images only, at most 1,000,000 bytes). ``render`` writes the
  card without the thumb and names the image in ``card_image``; ``send`` loads
  it, shrinks it when it is too big, uploads it and adds the thumb. Any trouble
  with the image (unreadable, SVG, too big even shrunk, upload refused) drops
  the thumb, never the post.
* Answers: ``putRecord`` returns ``uri`` (``at://<did>/app.bsky.feed.post/
  <rkey>``) and ``cid``. Errors are JSON ``{"error", "message"}``. A 429 comes
  with ``RateLimit-Reset`` in Unix seconds and no ``Retry-After``; the wait is
  passed on as the retry hint.

The receipt keeps the ``at://`` URI and ``https://bsky.app/profile/<did>/post/
<rkey>``; the DID, not the handle, because a handle can change and the link
should not break when it does.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from dataclasses import replace
from datetime import UTC
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from .. import images, templating, textfit
from ..errors import PermanentError, TransientError
from ..feeds import Entry
from ..logs import event
from ..tables import Table
from . import atproto, http
from .atproto import Session
from .base import Message, Receipt, Target

DEFAULT_SERVICE = "https://bsky.social"
COLLECTION = "app.bsky.feed.post"
CARD_IMAGE = "card_image"  # the body key naming the thumbnail to upload in send
MAX_BLOB = 1_000_000
# What Bluesky's image service shows in a card; SVG is image/* but is not shown.
RASTER = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")


def limit(max_graphemes: int, max_bytes: int) -> textfit.Measure:
    """One measure for a field with both lexicon limits, in graphemes: a text
    measures at most ``max_graphemes`` exactly when it is within both."""

    def measure(text: str) -> int:
        by_bytes = -(-textfit.utf8_bytes(text) * max_graphemes // max_bytes)
        return max(textfit.graphemes(text), by_bytes)

    return measure


TEXT_LIMIT, TEXT = 300, limit(300, 3000)
TITLE_LIMIT, TITLE = 300, limit(300, 3000)
DESCRIPTION_LIMIT, DESCRIPTION = 1000, limit(1000, 10000)


def created_at(entry: Entry) -> str:
    """The post's date as Bluesky writes times: UTC, milliseconds, ``Z``."""
    when = entry.post.date.astimezone(UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{when.microsecond // 1000:03d}Z"


class BlueskyTarget(Target):
    type = "bluesky"
    idempotent = True
    fields: ClassVar[dict[str, str]] = {
        "handle": "the account to post as, e.g. alice.bsky.social (or its DID)",
        "app_password": 'an app password (Settings > Privacy and security); usually "${ENV}"',
        "service": f"the account's server (PDS), default {DEFAULT_SERVICE}",
        "template": "the post text as a Jinja2 template (default: title, summary, link)",
        "template_file": "the template from a file, relative to the site root",
        "defuse_mentions": "keep @handles in post text from linking anyone (default true)",
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for an answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        "text: 300 graphemes and 3000 UTF-8 bytes; the summary, then the title, is shortened",
        "link card: title 300 graphemes, description 1000, thumbnail 1,000,000 bytes",
        "langs: the site's language, when it is a BCP-47 tag",
    )

    def configure(self, table: Table) -> None:
        self.service = table.text("service", DEFAULT_SERVICE, nonempty=True).strip().rstrip("/")
        parts = urlsplit(self.service)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise table.error("service", "expected an http:// or https:// URL with a host")
        self.handle = table.text("handle", nonempty=True).strip().removeprefix("@")
        if not self.handle or any(char.isspace() for char in self.handle):
            raise table.error("handle", "expected a handle like alice.bsky.social, without spaces")
        self.password = table.secret("app_password")
        self.template = templating.load_template(table, self.type, self.root)
        self.defuse = table.flag("defuse_mentions", True)
        self.timeout = (
            table.number("connect_timeout", 5.0, minimum=0.1),
            table.number("read_timeout", 30.0, minimum=0.1),
        )
        language = self.site.language.replace("_", "-")
        self.langs = [language] if _LANGUAGE.fullmatch(language) else []
        self.state_key = f"bluesky:{self.name}:session"
        self._current: Session | None = None
        self._http: requests.Session | None = None
        self._lock = threading.Lock()

    # --- render: pure ----------------------------------------------------------

    def render(self, entry: Entry, key: str) -> Message:
        post = entry.post
        escape = textfit.defuse_mentions if self.defuse else _unchanged
        shown = templating.view(entry, escape)

        def text_for(title: str, summary: str) -> str:
            fitted = replace(shown, title=escape(title), summary=escape(summary))
            return templating.render(self.template, fitted, self.site)

        text = textfit.fit(text_for, post.title, entry.summary, TEXT_LIMIT, TEXT)
        if TEXT(text) > TEXT_LIMIT:
            raise PermanentError(
                f"the template's own text and the link measure {TEXT(text)} graphemes (or the "
                f"byte equivalent) without title and summary; a Bluesky post holds {TEXT_LIMIT}"
            )
        record: dict[str, Any] = {"$type": COLLECTION, "text": text, "createdAt": created_at(entry)}
        if self.langs:
            record["langs"] = list(self.langs)
        facets = atproto.link_facets(text, post.url)
        if facets:
            record["facets"] = facets
        record["embed"] = {
            "$type": "app.bsky.embed.external",
            "external": {
                "uri": post.url,
                "title": textfit.shorten(post.title, TITLE_LIMIT, TITLE),
                "description": textfit.shorten(entry.summary, DESCRIPTION_LIMIT, DESCRIPTION),
            },
        }
        body: dict[str, Any] = {
            "collection": COLLECTION,
            "rkey": atproto.record_key(key),
            "record": record,
        }
        if post.image:
            body[CARD_IMAGE] = post.image
        return Message(target=self.name, key=key, body=body)

    # --- send ------------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        body = copy.deepcopy(message.body)
        image_url = body.pop(CARD_IMAGE, None)
        with self._lock:
            session = self._session()  # a refused login fails here, before any upload
            external = body["record"].get("embed", {}).get("external")
            if isinstance(image_url, str) and isinstance(external, dict):
                thumb = self._thumb(image_url)
                if thumb is not None:
                    external["thumb"] = thumb
            response = self._authorized("com.atproto.repo.putRecord", json=body, repo=True)
            self._check(response)
            session = self._current or session
        return _receipt(response, session.did, body["rkey"])

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _thumb(self, url: str) -> dict[str, Any] | None:
        """The card's thumbnail blob; on any trouble a warning and no thumbnail."""
        found = self._upload(url)
        if isinstance(found, str):
            event("card_thumb_skipped", level=logging.WARNING, target=self.name, reason=found)
            return None
        return found

    def _upload(self, url: str) -> dict[str, Any] | str:
        """The uploaded blob, or why there is none."""
        image = images.load_image(self.site, url)
        if image is None:
            return f"{url}: the image could not be loaded"
        if image.content_type not in RASTER:
            return f"{url}: {image.content_type} is not a picture Bluesky shows"
        small = images.shrink(image, MAX_BLOB)
        if small is None:
            return f"{url}: over {MAX_BLOB:,} bytes and could not be shrunk"
        # A transient failure (429, 5xx, a timeout) propagates: the record is
        # written with putRecord, so the whole send is safely retried later
        # instead of going out without its picture for good.
        response = self._authorized(
            "com.atproto.repo.uploadBlob",
            data=small.data,
            headers={"Content-Type": small.content_type},
        )
        if response.status_code in http.TRANSIENT_STATUS or response.status_code >= 500:
            self._check(response)
        blob = _json(response).get("blob") if 200 <= response.status_code < 300 else None
        if not isinstance(blob, dict):
            return f"uploadBlob: {http.describe(response)}"
        return blob

    # --- XRPC and the session --------------------------------------------------

    def _authorized(self, nsid: str, *, repo: bool = False, **kw: Any) -> requests.Response:
        """A call with the access token; a stale token is refreshed and the call
        made once more. ``repo`` puts the session's DID in the JSON body."""
        session = self._session()
        response = self._post(nsid, session, repo=repo, **kw)
        if atproto.stale_token(response):
            response = self._post(nsid, self._refresh(session), repo=repo, **kw)
        return response

    def _post(self, nsid: str, session: Session, *, repo: bool, **kw: Any) -> requests.Response:
        headers = {**kw.pop("headers", {}), "Authorization": f"Bearer {session.access}"}
        if repo:
            kw["json"] = {"repo": session.did, **kw["json"]}
        return self._call(nsid, headers=headers, **kw)

    def _call(self, nsid: str, **kw: Any) -> requests.Response:
        if self._http is None:
            self._http = http.new_session()
        url = f"{self.service}/xrpc/{nsid}"
        return http.request(self._http, "POST", url, timeout=self.timeout, **kw)

    def _check(self, response: requests.Response) -> None:
        if atproto.stale_token(response):
            raise PermanentError(
                f"{http.describe(response)}; Bluesky refused a fresh session: "
                "renew the app password"
            )
        http.check(response, retry_after=atproto.reset_hint(response))

    def _session(self) -> Session:
        if self._current is None:
            self._current = self._stored() or self._login()
        return self._current

    def _stored(self) -> Session | None:
        state = getattr(self, "state", None)
        raw = state.get_value(self.state_key) if state is not None else None
        return Session.load(raw, self.service, self.handle)

    def _keep(self, session: Session) -> Session:
        self._current = session
        state = getattr(self, "state", None)
        if state is not None:
            state.set_value(self.state_key, session.dump())
        return session

    def _login(self) -> Session:
        payload = {"identifier": self.handle, "password": self.password}
        response = self._call("com.atproto.server.createSession", json=payload)
        session = Session.from_answer(response, self.service, self.handle)
        if 200 <= response.status_code < 300 and session is not None:
            event("bluesky_login", target=self.name)
            return self._keep(session)
        if atproto.error_name(response) == "AuthFactorTokenRequired":
            raise PermanentError(
                f"{http.describe(response)}; the account wants an emailed sign-in code: "
                "renew the credential as an app password, which needs none"
            )
        if response.status_code == 401:
            raise PermanentError(
                f"{http.describe(response)}; Bluesky refused the login: check the handle "
                "and renew the app password"
            )
        http.check(response, retry_after=atproto.reset_hint(response))
        raise TransientError(f"createSession answered without a session: {http.describe(response)}")

    def _refresh(self, stale: Session) -> Session:
        """A new session from the refresh token; a new login only if that fails."""
        tried = {stale.refresh}
        candidates = [stale]
        while candidates:
            old = candidates.pop()
            response = self._call(
                "com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {old.refresh}"},
            )
            session = Session.from_answer(response, self.service, self.handle)
            if 200 <= response.status_code < 300 and session is not None:
                event("bluesky_session_refreshed", target=self.name)
                return self._keep(session)
            if response.status_code not in (400, 401, 403):
                http.check(response, retry_after=atproto.reset_hint(response))
                raise TransientError(f"refreshSession: {http.describe(response)}")
            # Refreshing revokes the old token: another worker may have just
            # refreshed and stored the new one, which is worth a try.
            stored = self._stored()
            if stored is not None and stored.refresh not in tried:
                tried.add(stored.refresh)
                candidates.append(stored)
        return self._login()


def _unchanged(text: str) -> str:
    return text


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _receipt(response: requests.Response, did: str, rkey: str) -> Receipt:
    uri = _json(response).get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        uri = f"at://{did}/{COLLECTION}/{rkey}"
    return Receipt(remote_id=uri, remote_url=f"https://bsky.app/profile/{did}/post/{rkey}")
