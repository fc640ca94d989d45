"""Buttondown: one email per post, created with an explicit status.

Facts relied on, in our own words (checked in Buttondown's documentation:
docs.buttondown.com pages api-emails-create, api-emails-introduction,
api-idempotency-keys, api-rate-limits, api-error-codes, api-filtering,
api-versioning; the OpenAPI schema in buttondown/docs ``public/openapi.json``
and ``lib/openapi/enums.json``; and Buttondown's blog post "Safer defaults for
the email creation API", 2026-03-07):

* ``POST /v1/emails`` with ``Authorization: Token <key>`` creates an email
  from ``subject``, ``body`` (HTML or Markdown; a leading
  ``<!-- buttondown-editor-mode: fancy -->`` says it is HTML instead of
  leaving it to detection), ``status``, ``publish_date``, ``canonical_url``,
  ``image`` and ``metadata`` (free key/value data). 201 with the Email, whose
  ``id`` and ``absolute_url`` (its archive page) are the receipt.
* ``status``: ``draft`` is seen only by the author; ``about_to_send`` is queued
  and goes out within minutes; ``scheduled`` goes out at ``publish_date``.
  Before API version 2026-04-01 a POST *without* a status sent at once; from
  that version it makes a draft, and ``about_to_send`` is refused (400
  ``sending_requires_confirmation``) until a request has carried
  ``X-Buttondown-Live-Dangerously: true`` once for that key. So we always set
  the status, pin ``X-API-Version``, and send the confirmation with every live
  send (harmless after the first) and never with a draft.
* Idempotency: ``X-Idempotency-Key`` (at most 200 characters), modelled on
  Stripe's: a repeat gets the first answer. How long keys are kept is not
  documented, so it is a second line of defence, not the guarantee. The
  announcement of the feature used the bare ``Idempotency-Key`` name; both are
  sent, with the same value.
* Error code ``email_duplicate`` (400) means an email with the same
  identifiers already exists, so nothing new was made: we look for ours and
  record it as sent, and otherwise stop with a reason (a person checks).
* ``GET /v1/emails`` lists emails newest first with ``ordering=-creation_date``,
  filtered by ``status``, ``source`` (``api``) and ``creation_date__start``,
  page by page (``page``; ``next`` is null on the last page). Metadata filters
  exist only for subscribers, so we page through the API-made emails created
  since the first attempt and match ``metadata.syndicate_key`` ourselves.
* Limits: 600 requests a minute; 429 with ``Retry-After``. 401 is a missing
  key, 403 one without permission; 422 is a schema validation failure. The
  subject takes 2000 characters (1000 before 2025); we keep it to 1000.

At most once: a retry first looks for the email an earlier attempt made
(``first`` attempt time kept in the state store), the create carries the
idempotency key, and Buttondown refuses duplicates. The lookup is not atomic
with the create (a POST still in flight is invisible to it), so the target is
not ``idempotent``: an ambiguous outcome is settled by ``find_sent`` and held
when that cannot tell.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from .. import textfit
from ..emails import load_email_templates, render_email
from ..errors import PermanentError, TransientError
from ..feeds import Entry
from ..tables import Table
from . import http
from .base import Lookup, Message, Receipt, Target

API_URL = "https://api.buttondown.com/v1"
API_VERSION = "2026-04-01"
MODES = {"draft": "draft", "send": "about_to_send", "schedule": "scheduled"}
SUBJECT_LIMIT = 1000
HTML_MARKER = "<!-- buttondown-editor-mode: fancy -->\n"
# Every status an email we made can have by the time we look (not "deleted").
FOUND_STATUSES = ("draft", "about_to_send", "scheduled", "in_flight", "sent", "paused", "errored")
MAX_PAGES = 20


class ButtondownTarget(Target):
    type = "buttondown"
    idempotent = False
    never_resend = True
    fields: ClassVar[dict[str, str]] = {
        "api_key": "Buttondown API key; use ${ENV}",
        "mode": '"draft" (default: a person presses send), "send" or "schedule"',
        "schedule_delay": 'with mode = "schedule": how long after handing it over it goes (1h)',
        "subject": "subject template (default: the post title)",
        "content": '"summary" (default) or "full": what of the post the email carries',
        "html_template": "file with an HTML email template (default: the built-in one)",
        "api_url": f"API address (default {API_URL})",
        "api_version": f'X-API-Version to pin (default "{API_VERSION}"; "" for the key\'s own)',
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for an answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        f"subject: {SUBJECT_LIMIT} characters on one line, shortened at a word boundary",
        "body: the HTML email from html_template; links absolute",
    )

    def configure(self, table: Table) -> None:
        self.api_key = table.secret("api_key")
        if any(char.isspace() for char in self.api_key):
            raise table.error("api_key", "expected a key without spaces or line breaks")
        self.mode = table.choice("mode", tuple(MODES), "draft")
        self.delay: timedelta = table.duration("schedule_delay", "1h")
        if "schedule_delay" in table.data and self.mode != "schedule":
            raise table.error("schedule_delay", 'is only used with mode = "schedule"')
        if self.delay < timedelta(minutes=1):
            raise table.error("schedule_delay", "expected at least 1m (the time must be ahead)")
        if table.data.get("text_template"):
            raise table.error("text_template", "Buttondown makes the plain-text part itself")
        self.templates = load_email_templates(table, self.root)
        self.api_url = table.text("api_url", API_URL, nonempty=True).rstrip("/")
        parts = urlsplit(self.api_url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise table.error("api_url", "expected an http:// or https:// URL with a host")
        self.api_version = table.text("api_version", API_VERSION).strip()
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 30.0, minimum=0.1)
        self.clock: Callable[[], float] = time.time
        self._session: requests.Session | None = None

    # --- render --------------------------------------------------------------

    def render(self, entry: Entry, key: str) -> Message:
        post = entry.post
        email = render_email(self.templates, entry, self.site)
        html = HTML_MARKER + email.html
        body: dict[str, Any] = {
            "subject": textfit.shorten(email.subject, SUBJECT_LIMIT),
            "status": MODES[self.mode],
            "canonical_url": post.url,
            "metadata": {"syndicate_key": key, "post_id": post.id},
            # Not sent as such: the HTML body is Message.html (a file in --dry-run).
            "body_characters": len(html),
        }
        if post.image:
            body["image"] = post.image
        if self.mode == "schedule":
            body["schedule_delay_seconds"] = int(self.delay.total_seconds())
        return Message(target=self.name, key=key, body=body, headers=self._headers(key), html=html)

    def _headers(self, key: str) -> dict[str, str]:
        headers = {"X-Idempotency-Key": key[:200], "Idempotency-Key": key[:200]}
        if self.api_version:
            headers["X-API-Version"] = self.api_version
        if self.mode != "draft":
            headers["X-Buttondown-Live-Dangerously"] = "true"
        return headers

    # --- send ----------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        memo = self._memo(message.key)
        if "first" in memo:
            # An earlier attempt may have made it: never a second email.
            found = self._search(message.key, memo.get("first"))
            if isinstance(found, Receipt):
                return found
            if found is Lookup.UNKNOWN:
                raise TransientError(
                    "an earlier attempt may have created this email and the search could not tell",
                    ambiguous=True,
                )
        else:
            self._remember(message.key, first=self.clock())
        response = self._call(
            "POST", "/emails", json=self._payload(message), headers=self._headers(message.key)
        )
        code = _error_code(response)
        if response.status_code == 400 and code == "email_duplicate":
            found = self._search(message.key, self._memo(message.key).get("first"))
            if isinstance(found, Receipt):
                return found
            raise PermanentError(
                "Buttondown refused this as a duplicate (email_duplicate) but no email carries "
                "this post's key; check the Buttondown archive, then `syndicate retry` if it "
                "should still go"
            )
        if response.status_code == 400 and code == "sending_requires_confirmation":
            raise PermanentError(
                f"{http.describe(response)}; Buttondown wants the one-time send confirmation"
            )
        http.check(response)
        return _receipt(_json(response)) or Receipt()

    def find_sent(self, message: Message) -> Receipt | Lookup:
        return self._search(message.key, self._memo(message.key).get("first"))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _payload(self, message: Message) -> dict[str, Any]:
        body = message.body
        payload: dict[str, Any] = {
            "subject": body["subject"],
            "body": message.html or "",
            "status": body["status"],
            "canonical_url": body["canonical_url"],
            "metadata": body["metadata"],
        }
        if body.get("image"):
            payload["image"] = body["image"]
        if body["status"] == "scheduled":
            when = datetime.fromtimestamp(self.clock(), UTC) + self.delay
            payload["publish_date"] = when.isoformat(timespec="seconds")
        return payload

    def _call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> requests.Response:
        if self._session is None:
            self._session = http.new_session()
        headers = {"Authorization": f"Token {self.api_key}", **(headers or {})}
        if self.api_version:
            headers["X-API-Version"] = self.api_version
        return http.request(
            self._session,
            method,
            self.api_url + path,
            timeout=(self.connect_timeout, self.read_timeout),
            headers=headers,
            **kw,
        )

    # --- looking for an earlier attempt's email -------------------------------

    def _search(self, key: str, first: Any) -> Receipt | Lookup:
        """Our email among the API-made ones since the first attempt: a
        Receipt, NOT_FOUND after the last page, UNKNOWN past MAX_PAGES."""
        params: dict[str, Any] = {
            "ordering": "-creation_date",
            "source": "api",
            "status": list(FOUND_STATUSES),
        }
        if isinstance(first, int | float):
            since = datetime.fromtimestamp(first, UTC) - timedelta(days=1)
            params["creation_date__start"] = since.date().isoformat()
        for page in range(1, MAX_PAGES + 1):
            response = self._call("GET", "/emails", params={**params, "page": page})
            http.check(response)
            listing = _json(response)
            results = listing.get("results")
            for email in results if isinstance(results, list) else []:
                metadata = email.get("metadata") if isinstance(email, dict) else None
                if isinstance(metadata, dict) and metadata.get("syndicate_key") == key:
                    return _receipt(email) or Receipt()
            if not listing.get("next"):
                return Lookup.NOT_FOUND
        return Lookup.UNKNOWN

    # --- state ---------------------------------------------------------------

    def _memo(self, key: str) -> dict[str, Any]:
        store = getattr(self, "state", None)
        raw = store.get_value(f"buttondown:{key}") if store is not None else None
        try:
            value = json.loads(raw or "{}")
        except ValueError:
            value = None
        return value if isinstance(value, dict) else {}

    def _remember(self, key: str, **values: Any) -> None:
        store = getattr(self, "state", None)
        if store is not None:
            memo = {**self._memo(key), **values}
            store.set_value(f"buttondown:{key}", json.dumps(memo, sort_keys=True))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _error_code(response: requests.Response) -> str | None:
    if response.status_code < 400:
        return None
    code = _json(response).get("code")
    return code if isinstance(code, str) else None


def _receipt(email: dict[str, Any]) -> Receipt | None:
    remote_id = email.get("id")
    if not isinstance(remote_id, str | int) or isinstance(remote_id, bool) or remote_id == "":
        return None
    url = email.get("absolute_url")
    return Receipt(remote_id=str(remote_id), remote_url=url if isinstance(url, str) else None)
