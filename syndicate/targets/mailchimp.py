"""Mailchimp (Marketing API 3.0): one regular campaign per post.

Facts relied on, in our own words (checked in Mailchimp's API reference as
generated into mailchimp/mailchimp-marketing-python-sdk ``campaigns/client.py``;
mailchimp.com/developer/marketing/docs/errors; Mailchimp's help on footers;
and issue threads about blocked requests, e.g. DynamoMTL/spree_chimpy#91):

* The API key ends in ``-<data centre>`` (``…-us21``); the API lives at
  ``https://<dc>.api.mailchimp.com/3.0``. Basic auth: any user name, the key
  as the password. ``api_url`` overrides the address (tests, proxies).
* ``POST /campaigns`` with ``type`` "regular", ``recipients.list_id`` and
  ``settings`` (``subject_line``, ``title``, ``from_name``, ``reply_to``)
  makes a campaign in status "save" (a draft) and answers it (``id``,
  ``web_id``, ``status``, ``archive_url``). ``PUT /campaigns/{id}/content``
  with ``html`` (and ``plain_text``) sets the email; ``GET`` reads it back.
  ``POST /campaigns/{id}/actions/send`` sends it (204, no body).
* A campaign is sent once; sending again means a new (replicated) campaign.
  So the campaign is the unit we look for. Statuses: save, paused, schedule,
  sending, sent (newer accounts also canceling, canceled, archived).
* ``GET /campaigns`` has no filter by title: only status, type, list, folder,
  send and create times, ``sort_field`` (create_time, send_time),
  ``sort_dir``, ``count`` (at most 1000), ``offset`` and ``fields`` to trim
  the answer. We page through the newest first and match the title.
* Errors are problem documents (``type``, ``title``, ``status``, ``detail``,
  ``instance``; ``application/problem+json``). No rate-limit headers at all:
  the limit is 10 simultaneous connections per user, answered with 429 and
  no ``Retry-After`` (we wait ``THROTTLED_WAIT``). A bare 403 without a
  problem document comes from the gateway in front of the API (Akamai), which
  blocks by IP reputation or load: not the credential, so it is transient
  (``BLOCKED_WAIT``). A 403 *with* a problem document is the API refusing the
  key: dead, "renew".
* Merge tags ``*|NAME|*`` are filled in subjects and content, so post text
  gets a zero-width space after ``*``; to be safe the URL-encoded form
  ``*%7C`` in links becomes ``%2A%7C`` (not verified that Mailchimp reads
  it). Without ``*|UNSUB|*`` in the content, Mailchimp appends its own
  footer with the unsubscribe link and address.
* Our own caps (Mailchimp documents none we could find): subject 150
  characters, title 100 characters.

Idempotency: none in the API. The title carries a marker derived from the
delivery key (``[syndicate-<16 hex>]``; per post and target), and ``send``
searches for it before creating. A draft found gets its content if it lacks
the post's link (a person's edits are never overwritten) and is sent in mode
"send"; anything further along is recorded as sent. ``idempotent`` stays
False: a person can rename the campaign, so an ambiguous outcome goes through
``find_sent``, which can say UNKNOWN.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import requests

from .. import textfit
from ..emails import EMAIL_FIELDS, load_email_templates, render_email
from ..errors import PermanentError, TransientError
from ..feeds import Entry
from ..logs import event
from ..tables import Table
from . import http
from .base import Lookup, Message, Receipt, Target
from .listmonk import MODES, defused_entry, one_line

SUBJECT_CHARS = 150
TITLE_CHARS = 100
PAGE = 1000
MAX_PAGES = 20
THROTTLED_WAIT = 30.0  # seconds after a 429, which carries no hint
BLOCKED_WAIT = 300.0  # seconds after the gateway's bare 403
#: Statuses of a campaign that went (or is going) out as planned.
OUT = frozenset({"schedule", "sending", "sent"})
FIELDS = (
    "total_items,campaigns.id,campaigns.web_id,campaigns.status,"
    "campaigns.settings.title,campaigns.archive_url"
)
_KEY = re.compile(r"[A-Za-z0-9]+-([a-z]+[0-9]+)")
_MERGE = re.compile(r"\*(?=\|)")
_MERGE_ENCODED = re.compile(r"\*(?=%7C)", re.IGNORECASE)


def marker(key: str) -> str:
    """The title marker for a delivery key."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"[syndicate-{digest[:16]}]"


def defuse(text: str) -> str:
    """``text`` in which Mailchimp finds no merge tag."""
    return _MERGE_ENCODED.sub("%2A", _MERGE.sub("*\u200b", text))


class MailchimpTarget(Target):
    type = "mailchimp"
    never_resend = True
    fields: ClassVar[dict[str, str]] = {
        "api_key": 'API key ending in the data centre, e.g. "…-us21"; use ${ENV}',
        "list_id": "the audience (list) id to send to",
        "from_name": "sender name (default: site.title)",
        "reply_to": "reply-to address (default: site.author.email)",
        "mode": '"draft" (default: prepared, a person presses send) or "send"',
        "api_url": "API address (default https://<dc>.api.mailchimp.com/3.0)",
        **EMAIL_FIELDS,
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for an answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        f"subject: {SUBJECT_CHARS} characters, cut at a word with an ellipsis",
        f"title: {TITLE_CHARS} characters, the post title cut to leave room for the marker",
        "post text: *| merge tags defused so Mailchimp prints them",
    )

    def configure(self, table: Table) -> None:
        self.api_key = table.secret("api_key")
        found = _KEY.fullmatch(self.api_key)
        api_url = table.text("api_url", "").rstrip("/")
        if api_url:
            parts = urlsplit(api_url)
            if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
                raise table.error("api_url", "expected an http(s):// address")
            self.api_url = api_url
        elif found:
            self.api_url = f"https://{found.group(1)}.api.mailchimp.com/3.0"
        else:
            raise table.error(
                "api_key", 'expected a Mailchimp API key ending in its data centre, like "…-us21"'
            )
        self.list_id = table.text("list_id", nonempty=True).strip()
        if not re.fullmatch(r"[A-Za-z0-9]+", self.list_id):
            raise table.error("list_id", "expected the audience id (letters and digits)")
        self.from_name = one_line(table.text("from_name", self.site.title))
        if not self.from_name:
            raise table.error("from_name", "expected a sender name")
        self.reply_to = one_line(table.text("reply_to", self.site.author.email))
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.reply_to):
            why = "expected an email address"
            if "reply_to" not in table.data:
                why += " (the site has no author email to use instead)"
            raise table.error("reply_to", why)
        self.mode = table.choice("mode", MODES, "draft")
        self.templates = load_email_templates(table, self.root)
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 30.0, minimum=0.1)
        self._session: requests.Session | None = None

    # --- render --------------------------------------------------------------

    def render(self, entry: Entry, key: str) -> Message:
        email = render_email(self.templates, defused_entry(entry, defuse), self.site)
        mark = marker(key)
        subject = textfit.shorten(one_line(email.subject), SUBJECT_CHARS)
        title = textfit.shorten(one_line(entry.post.title), TITLE_CHARS - len(mark) - 1)
        body: dict[str, Any] = {
            "type": "regular",
            "recipients": {"list_id": self.list_id},
            "settings": {
                "subject_line": subject or mark,
                "title": f"{title} {mark}",
                "from_name": self.from_name,
                "reply_to": self.reply_to,
            },
            "plain_text": email.text,
            # Not API fields: what send does after creating, and what it is.
            "mode": self.mode,
            "link": entry.post.url,
            "html_bytes": len(email.html.encode("utf-8")),
        }
        return Message(target=self.name, key=key, body=body, html=email.html)

    # --- send ----------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        found = self._search(message)
        if found is None:
            found = self._create(message)
            self._put_content(found, message)
        elif found.get("status") == "save":
            if not self._has_content(found, message):
                self._put_content(found, message)
        else:
            status = found.get("status")
            if status not in OUT:  # canceled, paused, archived: a person's call, never ours
                event("campaign_left_alone", level=logging.WARNING, target=self.name, status=status)
            return _receipt(found)
        if message.body.get("mode") == "send":
            self._call("POST", f"/campaigns/{_quoted(found)}/actions/send")
        return _receipt(found)

    def find_sent(self, message: Message) -> Receipt | Lookup:
        """After an ambiguous outcome: the marked campaign, if any. A draft is
        NOT_FOUND in either mode: ``send`` completes that very draft (content,
        then the send in mode "send") and creates nothing."""
        found = self._search(message)
        if found is None or found.get("status") == "save":
            return Lookup.NOT_FOUND
        return _receipt(found)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _call(self, method: str, path: str, **kw: Any) -> requests.Response:
        if self._session is None:
            self._session = http.new_session()
        response = http.request(
            self._session,
            method,
            self.api_url + path,
            timeout=(self.connect_timeout, self.read_timeout),
            auth=("syndicate", self.api_key),
            **kw,
        )
        _check(response)
        return response

    def _object(self, response: requests.Response) -> dict[str, Any]:
        try:
            value = response.json()
        except ValueError:
            raise PermanentError(
                f"{http.describe(response)}: not JSON: is this Mailchimp?"
            ) from None
        if not isinstance(value, dict):
            raise PermanentError(f"{http.describe(response)}: not a JSON object")
        return value

    def _search(self, message: Message) -> dict[str, Any] | None:
        mark = marker(message.key)
        offset, total = 0, None
        for _ in range(MAX_PAGES):
            params = {
                "count": PAGE,
                "offset": offset,
                "sort_field": "create_time",
                "sort_dir": "DESC",
                "fields": FIELDS,
            }
            page = self._object(self._call("GET", "/campaigns", params=params))
            campaigns = page.get("campaigns")
            if not isinstance(campaigns, list):
                raise PermanentError("Mailchimp's campaign list had no campaigns field")
            for campaign in campaigns:
                settings = campaign.get("settings") if isinstance(campaign, dict) else None
                if isinstance(settings, dict) and mark in str(settings.get("title", "")):
                    return dict(campaign)
            total = page.get("total_items")
            offset += len(campaigns)
            if not campaigns or not isinstance(total, int) or offset >= total:
                return None
        raise PermanentError(
            f"more than {MAX_PAGES * PAGE} campaigns to look through for an earlier one "
            "for this post; nothing was created"
        )

    def _create(self, message: Message) -> dict[str, Any]:
        payload = {k: message.body[k] for k in ("type", "recipients", "settings")}
        campaign = self._object(self._call("POST", "/campaigns", json=payload))
        if not isinstance(campaign.get("id"), str) or not campaign["id"]:
            raise PermanentError("Mailchimp's answer to creating the campaign had no id")
        return campaign

    def _has_content(self, campaign: dict[str, Any], message: Message) -> bool:
        response = self._call("GET", f"/campaigns/{_quoted(campaign)}/content")
        current = self._object(response).get("html")
        link = str(message.body.get("link") or "")
        return bool(link) and isinstance(current, str) and link in html.unescape(current)

    def _put_content(self, campaign: dict[str, Any], message: Message) -> None:
        if message.html is None:
            raise PermanentError("the message has no HTML body to send")
        content = {"html": message.html, "plain_text": message.body.get("plain_text", "")}
        self._call("PUT", f"/campaigns/{_quoted(campaign)}/content", json=content)


def _check(response: requests.Response) -> None:
    status = response.status_code
    if status == 403 and not _is_problem(response):
        raise TransientError(
            "HTTP 403 without a Mailchimp problem document: the gateway in front of the API "
            "blocked the request (the sending IP's reputation, or load), not the API key",
            retry_after=BLOCKED_WAIT,
        )
    http.check(response, retry_after=THROTTLED_WAIT if status == 429 else None)


def _is_problem(response: requests.Response) -> bool:
    try:
        value = response.json()
    except ValueError:
        return False
    return isinstance(value, dict) and "title" in value and "status" in value


def _quoted(campaign: dict[str, Any]) -> str:
    return quote(str(campaign.get("id", "")), safe="")


def _receipt(campaign: dict[str, Any]) -> Receipt:
    url = campaign.get("archive_url")
    return Receipt(str(campaign.get("id")), url if isinstance(url, str) and url else None)
