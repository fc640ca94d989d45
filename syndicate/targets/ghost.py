"""Ghost: the post published on a Ghost site, whose newsletter emails it once.

Facts relied on, in our own words (checked in Ghost's documentation,
docs.ghost.org admin-api: token authentication, posts overview, creating a
post, sending a post; and in its source, TryGhost/Ghost:
``services/auth/api-key/admin.js``, ``api/endpoints/posts.js``,
``data/schema/schema.js``, ``models/post.js``, the admin posts input
serializer):

* An Admin API key is ``<id>:<secret>``, the secret in hex. Each request
  carries ``Authorization: Ghost <JWT>``: HS256 over the hex-decoded secret,
  header ``kid`` = the id, claims ``iat``, ``exp`` and ``aud`` = ``/admin/``.
  Ghost checks the audience against the API path and refuses a token older
  than five minutes, so one is made per request (``exp`` = ``iat`` + 300).
* ``POST /ghost/api/admin/posts/?source=html`` with ``{"posts": [{...}]}``
  creates a post from HTML (converted to Lexical, lossy for odd markup);
  ``title`` is required. Limits from the schema: title 255 characters,
  custom_excerpt 300, feature_image_alt 191, slug and tag names 191 (a tag
  name may not start with a comma), canonical_url 2000. Tags by name.
* Emailing: only the *edit* endpoint takes ``newsletter`` (a newsletter slug)
  and ``email_segment`` (an NQL member filter; ``all`` by default); the add
  endpoint ignores them. A post is emailed when it is published with an
  active newsletter, and only on that transition. So we create a draft, then
  ``PUT /ghost/api/admin/posts/{id}/?newsletter=<slug>&email_segment=<filter>``
  with ``status: published`` and the draft's ``updated_at``. Ghost refuses a
  stale ``updated_at`` with 409 (someone else saved), which also stops two
  racing publishes of one draft.
* Lookups: ``GET /ghost/api/admin/posts/slug/{slug}/`` (404 when absent) and
  ``GET /ghost/api/admin/posts/?filter=...``. Admin browsing returns every
  status only when the filter names none (else published only by default), so
  ours names ``status:[draft,published,scheduled,sent]`` explicitly.
* Errors are ``{"errors": [{"message", "type", ...}]}``: 401 for a bad token,
  404 not found, 409 update collision, 422 validation; 429 with Retry-After
  from a proxy in front.

At most once: every send looks for the post first (by slug, checked against
the canonical URL we set, then by canonical URL), creates it only when absent
and publishes only a draft. A crash between create and publish leaves a draft
that the next attempt publishes. The look-up is not atomic with the create (a
POST still in flight is invisible), so the target is not ``idempotent``; an
ambiguous outcome is settled by ``find_sent``, and held when Ghost cannot be
asked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from .. import textfit
from ..errors import TransientError
from ..feeds import Entry
from ..redact import register
from ..tables import Table
from . import http
from .base import Lookup, Message, Receipt, Target

MODES = ("draft", "publish", "send")
CONTENT = ("full", "summary")
TOKEN_LIFETIME = 300  # Ghost's maximum: five minutes
AUDIENCE = "/admin/"
TITLE_LIMIT = 255
EXCERPT_LIMIT = 300
NAME_LIMIT = 191  # tag names, image alt text
SLUG_LIMIT = 150  # under Ghost's 191, leaving room for its "-2" on a clash
DONE = frozenset({"published", "sent", "scheduled"})
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """A compact JWS with HS256 (RFC 7515/7519), JSON as given, no spaces."""
    parts = [
        b64url(json.dumps(part, separators=(",", ":")).encode("utf-8")) for part in (header, claims)
    ]
    signing_input = ".".join(parts).encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return ".".join([*parts, b64url(signature)])


def admin_token(key_id: str, secret: bytes, now: int) -> str:
    """The token for one Admin API request made at ``now`` (Unix seconds)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": key_id}
    claims = {"iat": now, "exp": now + TOKEN_LIFETIME, "aud": AUDIENCE}
    return sign_jwt(header, claims, secret)


def ghost_slug(text: str) -> str:
    """A plain ASCII slug Ghost keeps as it is (it would slugify others)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:SLUG_LIMIT].rstrip("-")


class GhostTarget(Target):
    type = "ghost"
    idempotent = False
    never_resend = True
    fields: ClassVar[dict[str, str]] = {
        "url": "the Ghost site's admin address, e.g. https://example.ghost.io",
        "admin_api_key": "Admin API key (id:secret) of a custom integration; use ${ENV}",
        "mode": '"draft" (default: a person publishes), "publish" (no email) or "send"',
        "newsletter": 'with mode = "send": the newsletter\'s slug (required)',
        "email_segment": 'with mode = "send": members filter, e.g. "status:-free" (all)',
        "content": '"full" (default) or "summary": what of the post Ghost gets',
        "extra_tags": 'tags added to the post\'s own, e.g. ["#syndicated"] (none)',
        "api_version": 'Accept-Version header (default "v5.0")',
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for an answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        f"title: {TITLE_LIMIT} characters, shortened at a word boundary",
        f"custom_excerpt (the summary): {EXCERPT_LIMIT} characters",
        f"tag names and image alt text: {NAME_LIMIT} characters",
    )

    def configure(self, table: Table) -> None:
        url = table.text("url", nonempty=True).strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise table.error("url", "expected the site's https:// address")
        if re.search(r"/ghost(/|$)", parts.path):
            raise table.error("url", "expected the site's address, without /ghost/api/admin")
        self.api = url + "/ghost/api/admin"
        self.key_id, self.secret = _admin_key(table)
        self.mode = table.choice("mode", MODES, "draft")
        self.newsletter = table.text("newsletter", "").strip()
        segment = table.text("email_segment", "")
        self.email_segment = segment.strip() or "all"
        if self.mode == "send" and not self.newsletter:
            raise table.error("newsletter", 'is required with mode = "send" (a newsletter slug)')
        for key in ("newsletter", "email_segment"):
            if table.data.get(key) and self.mode != "send":
                raise table.error(key, 'is only used with mode = "send"')
        if any(char.isspace() for char in self.newsletter):
            raise table.error("newsletter", "expected a slug, without spaces")
        self.content = table.choice("content", CONTENT, "full")
        self.extra_tags = table.str_list("extra_tags", ())
        self.api_version = table.text("api_version", "v5.0").strip()
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 30.0, minimum=0.1)
        self.clock: Callable[[], float] = time.time
        self._session: requests.Session | None = None

    # --- render --------------------------------------------------------------

    def render(self, entry: Entry, key: str) -> Message:
        post = entry.post
        link = html.escape(post.url)
        if self.content == "full":
            site = html.escape(self.site.title)
            footer = f'<p><em>First published on <a href="{link}">{site}</a>.</em></p>'
            content = f"{entry.html}\n{footer}"
        else:
            summary = html.escape(entry.summary)
            content = f'<p>{summary}</p>\n<p><a href="{link}">Read on the site</a></p>'
        body: dict[str, Any] = {
            "title": textfit.shorten(post.title, TITLE_LIMIT) or "Untitled",
            "slug": ghost_slug(post.slug),
            "canonical_url": post.url,
            "custom_excerpt": textfit.shorten(entry.summary, EXCERPT_LIMIT),
            "tags": _tags([*post.categories, *post.tags, *self.extra_tags]),
            "mode": self.mode,
            # Not a post field: the HTML goes as Message.html (a file in --dry-run).
            "html_characters": len(content),
        }
        if post.image:
            alt = post.metadata.get("image_alt")
            alt = alt if isinstance(alt, str) and alt.strip() else post.title
            body["feature_image"] = post.image
            body["feature_image_alt"] = textfit.shorten(alt, NAME_LIMIT)
        if self.mode == "send":
            body["newsletter"] = self.newsletter
            body["email_segment"] = self.email_segment
        return Message(target=self.name, key=key, body=body, html=content)

    # --- send ----------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        found = self._lookup(message)
        post = found if found is not None else self._create(message)
        if self.mode == "draft" or post.get("status") in DONE:
            return _receipt(post)
        return _receipt(self._publish(post))

    def find_sent(self, message: Message) -> Receipt | Lookup:
        found = self._lookup(message)
        if found is None:
            return Lookup.NOT_FOUND
        if self.mode == "draft" or found.get("status") in DONE:
            return _receipt(found)
        # Our draft, not yet published: sending again publishes this very draft.
        return Lookup.NOT_FOUND

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _create(self, message: Message) -> dict[str, Any]:
        body = message.body
        fields = ("title", "slug", "canonical_url", "custom_excerpt", "tags")
        draft: dict[str, Any] = {name: body[name] for name in fields if body.get(name)}
        draft.update(html=message.html or "", status="draft")
        for name in ("feature_image", "feature_image_alt"):
            if body.get(name):
                draft[name] = body[name]
        response = self._call("POST", "/posts/", params={"source": "html"}, json={"posts": [draft]})
        http.check(response)
        post = _first_post(response)
        if not post.get("id"):
            # Made, but unusable: the next attempt finds the draft and goes on.
            raise TransientError("Ghost's answer to the new draft had no post id")
        return post

    def _publish(self, post: dict[str, Any]) -> dict[str, Any]:
        params = {}
        if self.mode == "send":
            params = {"newsletter": self.newsletter, "email_segment": self.email_segment}
        change = {"status": "published", "updated_at": post.get("updated_at")}
        path = f"/posts/{quote(str(post.get('id') or ''), safe='')}/"
        response = self._call("PUT", path, params=params, json={"posts": [change]})
        if response.status_code == 409:
            # Saved by someone else since we read it: the next attempt reads again.
            raise TransientError(f"{http.describe(response)}; the draft changed, trying again")
        http.check(response)
        return _first_post(response)

    def _lookup(self, message: Message) -> dict[str, Any] | None:
        """Our post on Ghost, whatever its status, or None."""
        url = str(message.body["canonical_url"])
        slug = str(message.body.get("slug") or "")
        if slug:
            response = self._call("GET", f"/posts/slug/{quote(slug, safe='')}/")
            if response.status_code != 404:
                http.check(response)
                post = _first_post(response)
                if post.get("canonical_url") == url:
                    return post
        quoted = url.replace("\\", "\\\\").replace("'", "\\'")
        query = f"canonical_url:'{quoted}'+status:[draft,published,scheduled,sent]"
        response = self._call("GET", "/posts/", params={"filter": query, "limit": 5})
        http.check(response)
        posts = _json(response).get("posts")
        for post in posts if isinstance(posts, list) else []:
            if isinstance(post, dict) and post.get("canonical_url") == url:
                return post
        return None

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        if self._session is None:
            self._session = http.new_session()
        token = admin_token(self.key_id, self.secret, int(self.clock()))
        headers = {"Authorization": f"Ghost {token}"}
        if self.api_version:
            headers["Accept-Version"] = self.api_version
        return http.request(
            self._session,
            method,
            self.api + path,
            timeout=(self.connect_timeout, self.read_timeout),
            headers=headers,
            **kw,
        )


def _admin_key(table: Table) -> tuple[str, bytes]:
    value = table.secret("admin_api_key")
    expected = "expected the Admin API key as <id>:<secret>, the secret in hex"
    key_id, colon, secret = value.strip().partition(":")
    if not colon or not key_id or ":" in secret or any(c.isspace() for c in key_id):
        raise table.error("admin_api_key", expected)
    if not _HEX.fullmatch(secret):
        raise table.error("admin_api_key", f"{expected}; the secret is not hex")
    # Table.secret registered the whole key; an error could quote one half.
    register(key_id)
    register(secret)
    return key_id, bytes.fromhex(secret)


def _tags(names: list[str]) -> list[str]:
    """Ghost tag names: trimmed, no leading comma, within the limit, once each."""
    seen: set[str] = set()
    tags = []
    for name in names:
        tag = textfit.shorten(re.sub(r"^[\s,]+", "", name), NAME_LIMIT)
        if tag and tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _first_post(response: requests.Response) -> dict[str, Any]:
    posts = _json(response).get("posts")
    post = posts[0] if isinstance(posts, list) and posts else None
    return post if isinstance(post, dict) else {}


def _receipt(post: dict[str, Any]) -> Receipt:
    post_id, url = post.get("id"), post.get("url")
    return Receipt(
        remote_id=str(post_id) if isinstance(post_id, str | int) and post_id != "" else None,
        remote_url=url if isinstance(url, str) else None,
    )
