"""listmonk (self-hosted): one campaign per post, left as a draft or started.

Facts relied on, in our own words (checked in knadh/listmonk: the API docs
``docs/docs/content/apis/apis.md`` and ``campaigns.md``, the handlers in
``cmd/campaigns.go``, ``internal/core/campaigns.go`` and ``core.go``, the SQL
``query-campaigns``, ``models/campaigns.go``; issues #651, #1631, #2106,
#2122):

* ``POST /api/campaigns`` (``name``, ``subject``, ``lists`` as list ids,
  ``type`` "regular", ``content_type`` html/markdown/richtext/plain, ``body``,
  ``altbody``, ``tags``, optional ``from_email`` and ``template_id``) always
  creates a *draft* and answers ``{"data": <campaign>}``. The body is compiled
  while validating, so a broken template is a 400 before anything exists.
* ``PUT /api/campaigns/{id}/status {"status": "running"}`` starts it. Only a
  draft or a paused campaign can start; a running or finished one cannot be
  started again. So a campaign goes out at most once, and the only way to
  send twice is to create two: the campaign is what we look for.
* Statuses: draft, scheduled, running, paused, cancelled, finished.
* Search: ``GET /api/campaigns`` filters by tag with the repeatable query
  parameter ``tag`` (the server reads ``tag``; the docs' table says
  ``tags``), an exact match, since v3.0 (#1631, December 2023). Older
  servers ignore the parameter and list every campaign, so every result's
  ``tags`` are checked here and an unfiltered answer stops the delivery
  rather than guessing. Tags are stored with whitespace turned into "-".
* Auth: BasicAuth ``user:token`` works on every version: the admin
  username and password before v4, an API user (Admin → Users) and its token
  from v4 on, kept for backwards compatibility (#2106, #2122); the
  ``Authorization: token user:token`` header exists only from v4. Refused
  credentials answer 403 ``{"message": "invalid API credentials"}``; errors
  are ``{"message": ...}`` with a 4xx/5xx status, validation errors 400.
* Subject and body are Go templates (text/template for the subject when it
  holds ``{{ }}``, html/template for the body), and ``https://x@TrackLink``
  is rewritten into a tracking call before compiling. Text from a post must
  not run there, so ``{{`` and ``@TrackLink`` in it get a zero-width space.
* Lengths: name up to 2000 bytes (200 on old servers), subject up to 5000;
  we keep both within 200 bytes.

Idempotency: none in the API. Each delivery gets a tag derived from its key
(``syndicate-`` + 16 hex digits; the key is per post *and* target, so two
targets on one server never take each other's campaign), and ``send`` looks
for it before creating: a draft found is started (mode "send") or kept
(mode "draft"), anything further along is recorded as sent. ``idempotent``
stays False all the same: the tag can be removed by a person, so an
ambiguous outcome goes through ``find_sent``, which can say UNKNOWN.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from .. import textfit
from ..emails import EMAIL_FIELDS, load_email_templates, render_email
from ..errors import PermanentError
from ..feeds import Entry
from ..logs import event
from ..tables import Table
from . import http
from .base import Lookup, Message, Receipt, Target

MODES = ("draft", "send")
CONTENT_TYPE = "html"
NAME_BYTES = 200
SUBJECT_BYTES = 200
TAG_PREFIX = "syndicate-"
PER_PAGE = 50
#: Statuses past the draft: the campaign exists and is not ours to touch.
SETTLED = frozenset({"scheduled", "running", "paused", "cancelled", "finished"})
_GO_TEMPLATE = re.compile(r"\{(?=\{)")
_TRACK_LINK = re.compile(r"@(?=TrackLink)", re.IGNORECASE)
_ZWSP = "\u200b"


def delivery_tag(key: str) -> str:
    """The campaign tag for a delivery key: short, lowercase, no spaces."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return TAG_PREFIX + digest[:16]


def defuse(text: str) -> str:
    """``text`` that listmonk's Go templates print as is."""
    return _TRACK_LINK.sub("@" + _ZWSP, _GO_TEMPLATE.sub("{" + _ZWSP, text))


def defused_entry(entry: Entry, fix: Callable[[str], str] = defuse) -> Entry:
    """The entry with every text from the post passed through ``fix`` (the
    link and the image URL stay as they are): what the email templates see."""
    post = entry.post
    meta = dict(post.metadata)
    if isinstance(meta.get("image_alt"), str):
        meta["image_alt"] = fix(meta["image_alt"])
    post = replace(
        post,
        title=fix(post.title),
        categories=tuple(fix(c) for c in post.categories),
        tags=tuple(fix(t) for t in post.tags),
        author=replace(post.author, name=fix(post.author.name)),
        metadata=meta,
    )
    return replace(entry, post=post, html=fix(entry.html), summary=fix(entry.summary))


def one_line(text: str) -> str:
    """No control characters (a mail header cannot carry them), one space."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return " ".join(kept.split())


class ListmonkTarget(Target):
    type = "listmonk"
    never_resend = True
    fields: ClassVar[dict[str, str]] = {
        "url": "the listmonk address, e.g. https://lists.example.com",
        "api_user": "API user (listmonk v4+), or the admin username on older servers",
        "token": "its API token (or the admin password before v4); use ${ENV}",
        "lists": "list ids to send to, e.g. [3] (at least one)",
        "mode": '"draft" (default: prepared, a person presses send) or "send"',
        "template_id": "listmonk campaign template wrapping the email (default: the server's)",
        "from_email": 'From address, e.g. "Blog <news@example.com>" (default: the server\'s)',
        "tags": "extra campaign tags, besides the syndicate-<hash> one",
        **EMAIL_FIELDS,
        "connect_timeout": "seconds to wait for a connection (default 5)",
        "read_timeout": "seconds to wait for an answer once sent (default 30)",
    }
    limits: ClassVar[tuple[str, ...]] = (
        f"subject: {SUBJECT_BYTES} bytes of UTF-8, cut at a word with an ellipsis",
        f"campaign name: {NAME_BYTES} bytes, the post title cut to leave room for the tag",
        "post text: {{ and @TrackLink defused so listmonk's templates print them",
    )

    def configure(self, table: Table) -> None:
        self.url = table.text("url", nonempty=True).rstrip("/")
        parts = urlsplit(self.url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise table.error("url", "expected the listmonk address, http(s)://host")
        self.api_user = table.text("api_user", nonempty=True)
        if ":" in self.api_user or any(ch.isspace() for ch in self.api_user):
            raise table.error("api_user", "expected a user name without ':' or spaces")
        self.token = table.secret("token")
        if any(ch.isspace() for ch in self.token):
            raise table.error("token", "expected a token without spaces or line breaks")
        self.lists = _list_ids(table)
        self.mode = table.choice("mode", MODES, "draft")
        self.template_id = _optional_id(table, "template_id")
        self.from_email = one_line(table.text("from_email", ""))
        self.extra_tags = tuple(one_line(tag) for tag in table.str_list("tags", ()) if tag.strip())
        self.templates = load_email_templates(table, self.root)
        self.connect_timeout = table.number("connect_timeout", 5.0, minimum=0.1)
        self.read_timeout = table.number("read_timeout", 30.0, minimum=0.1)
        self._session: requests.Session | None = None

    # --- render --------------------------------------------------------------

    def render(self, entry: Entry, key: str) -> Message:
        email = render_email(self.templates, defused_entry(entry), self.site)
        tag = delivery_tag(key)
        subject = textfit.shorten(one_line(email.subject), SUBJECT_BYTES, textfit.utf8_bytes)
        room = NAME_BYTES - textfit.utf8_bytes(f" [{tag}]")
        # The name is not a template: the real title, for people browsing campaigns.
        title = textfit.shorten(one_line(entry.post.title), room, textfit.utf8_bytes)
        body: dict[str, Any] = {
            "name": f"{title} [{tag}]",
            "subject": subject or tag,
            "lists": list(self.lists),
            "type": "regular",
            "content_type": CONTENT_TYPE,
            "tags": [tag, *(t for t in self.extra_tags if t != tag)],
            "altbody": email.text,
            # Not API fields: what send does after creating, and what it is.
            "mode": self.mode,
            "link": entry.post.url,
            "html_bytes": len(email.html.encode("utf-8")),
        }
        if self.template_id is not None:
            body["template_id"] = self.template_id
        if self.from_email:
            body["from_email"] = self.from_email
        return Message(target=self.name, key=key, body=body, html=email.html)

    # --- send ----------------------------------------------------------------

    def send(self, message: Message) -> Receipt:
        found = self._search(message)
        if found is not None:
            return self._resume(found, message)
        campaign = self._create(message)
        if message.body.get("mode") == "send":
            self._start(campaign)
        return self._receipt(campaign)

    def find_sent(self, message: Message) -> Receipt | Lookup:
        """After an ambiguous outcome: the tagged campaign, if any. A draft
        that should have been started is NOT_FOUND: ``send`` starts that very
        draft and creates nothing."""
        found = self._search(message)
        if found is None:
            return Lookup.NOT_FOUND
        if found.get("status") == "draft" and message.body.get("mode") == "send":
            return Lookup.NOT_FOUND
        return self._receipt(found)

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
            self.url + path,
            timeout=(self.connect_timeout, self.read_timeout),
            auth=(self.api_user, self.token),
            **kw,
        )
        http.check(response)
        return response

    def _search(self, message: Message) -> dict[str, Any] | None:
        tag = delivery_tag(message.key)
        params = {"tag": tag, "per_page": PER_PAGE, "no_body": "true", "order_by": "created_at"}
        data = _data(self._call("GET", "/api/campaigns", params=params))
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise PermanentError("listmonk's campaign list had no results: is this listmonk?")
        campaigns = [c for c in results if isinstance(c, dict)]
        if any(tag not in (c.get("tags") or []) for c in campaigns):
            raise PermanentError(
                "listmonk ignored the tag filter (it needs v3.0 or newer), so an earlier "
                "campaign for this post cannot be ruled out; nothing was created"
            )
        if len(campaigns) > 1:
            event("duplicate_campaigns", level=logging.WARNING, target=self.name, tag=tag)
        # The one furthest along wins: a started campaign is the one that counts.
        campaigns.sort(key=lambda c: (c.get("status") == "draft", _int(c.get("id"))))
        return campaigns[0] if campaigns else None

    def _resume(self, campaign: dict[str, Any], message: Message) -> Receipt:
        status = str(campaign.get("status"))
        if status == "draft":
            if message.body.get("mode") == "send":
                self._start(campaign)
        elif status in ("paused", "cancelled") or status not in SETTLED:
            # A person stopped it (or a status we do not know): theirs, never ours.
            event("campaign_left_alone", level=logging.WARNING, target=self.name, status=status)
        return self._receipt(campaign)

    def _create(self, message: Message) -> dict[str, Any]:
        if message.html is None:
            raise PermanentError("the message has no HTML body to send")
        payload = {k: v for k, v in message.body.items() if k not in _NOT_API}
        payload["body"] = message.html
        campaign = _data(self._call("POST", "/api/campaigns", json=payload))
        if not isinstance(campaign, dict) or _int(campaign.get("id")) < 1:
            raise PermanentError("listmonk's answer to creating the campaign had no id")
        return campaign

    def _start(self, campaign: dict[str, Any]) -> None:
        path = f"/api/campaigns/{_int(campaign.get('id'))}/status"
        self._call("PUT", path, json={"status": "running"})

    def _receipt(self, campaign: dict[str, Any]) -> Receipt:
        number = _int(campaign.get("id"))
        return Receipt(str(number), f"{self.url}/admin/campaigns/{number}")


_NOT_API = frozenset({"mode", "link", "html_bytes"})


def _list_ids(table: Table) -> tuple[int, ...]:
    value = table.data.get("lists")
    table.used.add("lists")  # Table has no integer-list getter; TOML gives ints as is
    if value is None:
        raise table.error("lists", "is required (expected list ids, e.g. [3])")
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise table.error("lists", "expected a non-empty list of positive list ids, e.g. [3]")
    return tuple(dict.fromkeys(value))


def _optional_id(table: Table, key: str) -> int | None:
    value = table.data.get(key)
    table.used.add(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise table.error(key, "expected a positive id, e.g. 2")
    return value


def _data(response: requests.Response) -> Any:
    try:
        payload = response.json()
    except ValueError:
        raise PermanentError(f"{http.describe(response)}: not JSON: is this listmonk?") from None
    return payload.get("data") if isinstance(payload, dict) else None


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return 0
