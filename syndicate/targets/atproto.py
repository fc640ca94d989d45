"""AT Protocol pieces the Bluesky target needs, kept apart from its config and flow.

* Record keys: a TID is a 64-bit number written as 13 characters of the
  "base32-sortable" alphabet ``234567abcdefghijklmnopqrstuvwxyz``, most
  significant digit first, never padded. Its top bit is always 0 (so the first
  character is one of ``234567ab``), then 53 bits of microseconds since the
  Unix epoch, then a 10-bit "clock identifier". ``record_key`` fills those 63
  bits from a SHA-256 of the delivery key instead of the clock: the result is a
  valid TID, the same on every retry, so a repeated ``putRecord`` lands on the
  same record. Its time part is not a real time; the spec says a TID's time
  is informational and must not be trusted, and posts are ordered by their
  ``createdAt``, not by their key.
* Link facets: a facet marks a slice of the post text by UTF-8 byte offsets
  (start inclusive, end exclusive), not by characters; a ``#link`` feature
  makes that slice a link to ``uri``. Without one, a URL in a post is plain
  text.
* Sessions: ``createSession`` answers with ``accessJwt`` (short-lived: its
  ``exp`` claim is two hours out, per MarshalX/atproto #12), ``refreshJwt``,
  ``handle`` and ``did``. ``refreshSession`` takes the refresh token as the
  bearer token, has no body, and answers with a new pair; the old refresh
  token is revoked by it, so the new pair must be kept at once.
* Errors are JSON ``{"error": "<Name>", "message": "..."}``; an expired or
  revoked token is a 400 with ``ExpiredToken``, a missing or wrong one a 401.
* Rate limits: every answer carries ``RateLimit-Limit``, ``-Remaining``,
  ``-Policy`` and ``RateLimit-Reset``, the end of the window in whole Unix
  seconds; a 429 has no ``Retry-After``. ``reset_hint`` turns the reset time
  into seconds to wait, measured against the answer's own ``Date`` so that a
  skewed local clock does not matter.

Sources: atproto.com/specs/tid and /specs/record-key; the lexicons
``app.bsky.richtext.facet``, ``com.atproto.server.createSession`` and
``refreshSession`` in bluesky-social/atproto; its xrpc-server
``rate-limiter.ts`` (``setStatusHeaders``); MarshalX/atproto #12, #158 and
#514 (token lifetimes; revoked refresh tokens as 400 ``ExpiredToken``, with
the rate-limit headers).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from typing import Any

import requests

from ..redact import register

ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
TID_LENGTH = 13
LINK = "app.bsky.richtext.facet#link"
#: Error names that mean "this token is stale, refresh it" rather than "wrong".
STALE_TOKEN = frozenset({"ExpiredToken", "InvalidToken"})


def encode_tid(value: int) -> str:
    """``value`` (0 <= value < 2**63) as a 13-character TID."""
    if not 0 <= value < 1 << 63:
        raise ValueError("a TID holds 63 bits")
    digits = []
    for _ in range(TID_LENGTH):
        digits.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(digits))


def record_key(key: str) -> str:
    """The post's record key for a delivery key: a TID from its digest."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
    return encode_tid(int.from_bytes(digest[:8], "big") >> 1)


def link_facets(text: str, url: str) -> list[dict[str, Any]]:
    """A link facet for every place ``url`` appears whole in ``text``."""
    facets: list[dict[str, Any]] = []
    size = len(url.encode("utf-8"))
    at = text.find(url) if url else -1
    while at >= 0:
        start = len(text[:at].encode("utf-8"))
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": start + size},
                "features": [{"$type": LINK, "uri": url}],
            }
        )
        at = text.find(url, at + len(url))
    return facets


def error_name(response: requests.Response) -> str | None:
    """The XRPC ``error`` name of a failed answer, if it has one."""
    try:
        payload = response.json()
    except ValueError:
        return None
    name = payload.get("error") if isinstance(payload, dict) else None
    return name if isinstance(name, str) else None


def stale_token(response: requests.Response) -> bool:
    """Whether the access token was refused in a way a refresh can fix."""
    if response.status_code == 401:
        return True
    return response.status_code == 400 and error_name(response) in STALE_TOKEN


def reset_hint(response: requests.Response) -> float | None:
    """Seconds until a 429's rate-limit window resets, or None."""
    if response.status_code != 429:
        return None
    raw = response.headers.get("RateLimit-Reset", "").strip()
    if not raw.isdigit():
        return None
    now = _server_time(response)
    return max(0.0, float(int(raw)) - (time.time() if now is None else now))


def _server_time(response: requests.Response) -> float | None:
    values: list[str] = []
    raw_headers = getattr(response.raw, "headers", None)
    if raw_headers is not None and hasattr(raw_headers, "getlist"):
        values = list(raw_headers.getlist("Date"))
    elif "Date" in response.headers:
        values = [response.headers["Date"]]
    # Date is a single field; should a proxy add a second one, the last is
    # the one sent with the answer's own headers.
    for value in reversed(values):
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            continue
    return None


@dataclass(frozen=True)
class Session:
    """A login: derived, expiring tokens (never the app password)."""

    did: str
    handle: str
    access: str
    refresh: str
    service: str  # whose tokens these are: a changed config starts over
    identifier: str

    @classmethod
    def from_answer(
        cls, response: requests.Response, service: str, identifier: str
    ) -> Session | None:
        """The session in a createSession/refreshSession answer, or None."""
        try:
            payload = response.json()
        except ValueError:
            return None
        if not isinstance(payload, dict):
            return None
        fields = [payload.get(name) for name in ("did", "handle", "accessJwt", "refreshJwt")]
        if not all(isinstance(value, str) and value for value in fields):
            return None
        did, handle, access, refresh = (str(value) for value in fields)
        return cls(did, handle, access, refresh, service, identifier).registered()

    @classmethod
    def load(cls, raw: str | None, service: str, identifier: str) -> Session | None:
        """A stored session, if it is readable and for this account."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
            session = cls(**data)
        except (ValueError, TypeError):
            return None
        if not all(isinstance(value, str) and value for value in asdict(session).values()):
            return None
        if (session.service, session.identifier) != (service, identifier):
            return None
        return session.registered()

    def dump(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def registered(self) -> Session:
        # Tokens are credentials too: never shown in a log line or an error.
        register(self.access)
        register(self.refresh)
        return self
