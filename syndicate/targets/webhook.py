"""A generic signed webhook, following Standard Webhooks v1 (standardwebhooks.com).

What this module takes from that specification, in our own words:

* Three headers carry the metadata. ``webhook-id`` names the message and stays
  the same however often it is sent again, so receivers use it to drop
  duplicates: here it is the delivery key, which makes the target idempotent.
  ``webhook-timestamp`` is the time of this attempt in whole seconds since the
  Unix epoch; receivers may refuse a stale one against replays, so it is read
  from ``self.clock`` in ``send``, never in ``render``. ``webhook-signature``
  is a list, separated by spaces, of ``<version>,<signature>`` items, so a
  sender can sign with an old and a new key during a rotation; we send one
  item, ``v1,<base64>``.
* A ``v1`` signature is HMAC-SHA256, in base64, over the id, a dot, the
  timestamp, a dot and then the body bytes exactly as sent: receivers must
  check the raw body, not a re-serialised one. Since dots separate the parts,
  the spec warns against ids containing one; a key with a dot (or a space, or
  anything outside visible ASCII) is sent as ``msg_`` plus a digest of the key,
  just as stable across retries.
* A symmetric signing secret is written ``whsec_`` followed by the base64 of
  the key, 24 to 64 random bytes (192 to 512 bits); the HMAC key is the
  decoded bytes, not the text. A malformed secret is a config error, reported
  before anything is sent.
* The payload is a JSON object with ``type`` (the event, ``post.published``),
  ``timestamp`` (when the event happened, ISO 8601: here the post's date, which
  keeps ``render`` pure) and ``data`` (the post).
* Any 2xx is success; a redirect is not followed and counts as a failure; 410
  means stop sending to this endpoint; 429 and 5xx mean try later, honouring
  ``Retry-After``; a timeout of 15 to 30 s is recommended (we wait 15 s for the
  answer by default). The status rules themselves live in ``http.py``.

The URL, the secret and every header value are read with ``Table.secret``:
they may come from ``${ENV}`` and are registered for redaction (for a URL,
``redact.register`` also registers its path and query values, because HTTP
libraries quote the path without the host in their errors).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from typing import ClassVar
from urllib.parse import urlsplit

import requests

from ..feeds import Entry
from ..redact import register
from ..tables import Table
from . import http
from .base import Message, Receipt, Target
from .file import post_data

SECRET_PREFIX = "whsec_"
KEY_BYTES = (24, 64)
# Headers we set ourselves: overriding them would break the body or signature.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "transfer-encoding",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name
# Visible ASCII without spaces or dots: the spec warns that an id with a "."
# could make two different (id, timestamp) pairs sign the same content.
_PLAIN_ID = re.compile(r"[\x21-\x2d\x2f-\x7e]{1,255}")


def webhook_id(key: str) -> str:
    """``webhook-id`` for a delivery key: the key itself when it is a plain
    header value without dots, else a stable digest of it (the same on every
    retry, so receivers still see one id per delivery)."""
    if _PLAIN_ID.fullmatch(key):
        return key
    return "msg_" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def encode(body: dict[str, object]) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are sent and signed."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class WebhookTarget(Target):
    type = "webhook"
    idempotent = True
    fields: ClassVar[dict[str, str]] = {
        "url": "http(s) endpoint to POST to; may use ${ENV} for a token",
        "secret": 'signing secret, "whsec_" + base64 of 24-64 bytes; usually "${ENV}"',
        "headers": "extra request headers, name = value; values may use ${ENV}",
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for the answer once sent (default 15)",
        "event": 'the payload\'s "type" (default "post.published")',
    }

    def configure(self, table: Table) -> None:
        self.url = table.secret("url")
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise table.error("url", "expected an http:// or https:// URL with a host")
        if any(char.isspace() for char in self.url):
            raise table.error("url", "expected a URL without spaces or line breaks")
        secret = table.secret("secret", required=False)
        self.key = _signing_key(table, secret) if secret else None
        self.headers = _extra_headers(table.table("headers"))
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 15.0, minimum=0.1)
        self.event = table.text("event", "post.published", nonempty=True)
        self.clock: Callable[[], float] = time.time
        self._session: requests.Session | None = None

    def render(self, entry: Entry, key: str) -> Message:
        data = post_data(entry)
        body = {"type": self.event, "timestamp": data["date"], "data": data}
        headers = {"content-type": "application/json", "webhook-id": webhook_id(key)}
        return Message(target=self.name, key=key, body=body, headers=headers)

    def send(self, message: Message) -> Receipt:
        body = encode(message.body)
        msg_id = webhook_id(message.key)
        timestamp = int(self.clock())
        headers = {
            **self.headers,
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
        }
        if self.key is not None:
            headers["webhook-signature"] = sign(self.key, msg_id, timestamp, body)
        if self._session is None:
            self._session = http.new_session()
        response = http.request(
            self._session,
            "POST",
            self.url,
            timeout=(self.connect_timeout, self.read_timeout),
            data=body,
            headers=headers,
        )
        http.check(response)
        return Receipt(remote_id=_remote_id(response))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _signing_key(table: Table, secret: str) -> bytes:
    expected = f'expected "{SECRET_PREFIX}" followed by the base64 of 24 to 64 random bytes'
    if not secret.startswith(SECRET_PREFIX):
        raise table.error("secret", expected)
    encoded = secret[len(SECRET_PREFIX) :]
    register(encoded)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:
        raise table.error("secret", f'{expected}; the part after "whsec_" is not base64') from None
    low, high = KEY_BYTES
    if not low <= len(key) <= high:
        raise table.error("secret", f"{expected}; this one decodes to {len(key)} bytes")
    return key


def _extra_headers(table: Table) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in list(table.data):
        if not _TOKEN.fullmatch(name):
            raise table.error(name, "expected a header name (letters, digits, -)")
        if name.lower() in RESERVED_HEADERS:
            raise table.error(name, "is set by the webhook target itself")
        value = table.secret(name)
        # Never quote the value: it may be a credential from the environment.
        if any(char in value for char in "\r\n\0"):
            raise table.error(name, "expected a value on one line")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            raise table.error(name, "expected a value in ASCII or Latin-1") from None
        headers[name] = value
    table.finish()
    return headers


def _remote_id(response: requests.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    value = payload.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value)
