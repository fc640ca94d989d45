"""Contract row: Buttondown (``POST /v1/emails``).

``validate`` checks a rendered email the way Buttondown would take it, from its
documentation (api-emails-create, the OpenAPI schema): an explicit status,
a one-line subject within 2000 characters, absolute URLs, string metadata,
the idempotency key within 200 characters, and an HTML body whose only tags
are the email layout's (post text stays text).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from contracts import SECRET, Contract
from werkzeug import Response

from syndicate.targets.base import Message

STATUSES = {"draft", "about_to_send", "scheduled"}
# The tags of the built-in email layout; anything else came from post text.
LAYOUT_TAGS = {"html", "head", "meta", "title", "body", "table", "tr", "td", "p", "h1", "a", "img"}
EMAIL: dict[str, Any] = {
    "id": "0c7b6c5e-9c55-4c4e-9f4a-3f1d1f0a8b21",
    "creation_date": "2026-11-25T10:00:00Z",
    "modification_date": "2026-11-25T10:00:00Z",
    "publish_date": None,
    "subject": "Title",
    "body": "<p>x</p>",
    "status": "about_to_send",
    "email_type": "public",
    "slug": "title",
    "source": "api",
    "canonical_url": "",
    "image": "",
    "description": "",
    "metadata": {},
    "absolute_url": "https://buttondown.com/example/archive/title/",
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)


def html_tags(markup: str) -> set[str]:
    parser = _Tags()
    parser.feed(markup)
    parser.close()
    return parser.tags


def _absolute(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and " " not in value


def validate(message: Message) -> list[str]:
    body, problems = message.body, []
    subject = body.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        problems.append("subject missing")
    elif len(subject) > 2000 or "\n" in subject or "\r" in subject:
        problems.append(f"subject of {len(subject)} characters or on several lines")
    if body.get("status") not in STATUSES:
        problems.append(f"status {body.get('status')!r}")
    if not _absolute(body.get("canonical_url")):
        problems.append("canonical_url not absolute")
    if "image" in body and not _absolute(body["image"]):
        problems.append("image not absolute")
    metadata = body.get("metadata")
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 100 for k, v in metadata.items()
    ):
        problems.append("metadata is not string to string")
    elif metadata.get("syndicate_key") != message.key:
        problems.append("metadata does not carry the delivery key")
    key = message.headers.get("X-Idempotency-Key", "")
    if not 0 < len(key) <= 200:
        problems.append("no usable X-Idempotency-Key")
    if any(name.lower() == "authorization" for name in message.headers):
        problems.append("a credential in the shown headers")
    live = message.headers.get("X-Buttondown-Live-Dangerously") == "true"
    if live != (body.get("status") != "draft"):
        problems.append("send confirmation header does not match the status")
    markup = message.html or ""
    if not markup.strip():
        problems.append("empty body")
    else:
        stray = html_tags(markup) - LAYOUT_TAGS
        if stray:
            problems.append(f"post text became markup: {sorted(stray)}")
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as exc:
        problems.append(f"not JSON: {exc}")
    return problems


def _error(status: int, echo: str) -> Response:
    # Buttondown's shapes: {"code", "detail"} for coded errors, DRF-style
    # {"detail"} for auth and throttling, a "detail" list for validation.
    headers = {"Retry-After": "7"} if status == 429 else {}
    if status == 429:
        payload: Any = {"detail": f"Request was throttled ({echo}). Expected in 7 seconds."}
    elif status == 422:
        payload = {"detail": [{"type": "string_too_long", "loc": ["body", "subject"], "msg": echo}]}
    elif status in (401, 403):
        payload = {"detail": f"Invalid token: {echo}"}
    else:
        payload = {"code": "error", "detail": f"Something failed: {echo}"}
    return Response(
        json.dumps(payload), status=status, headers=headers, mimetype="application/json"
    )


CONTRACT = Contract(
    type="buttondown",
    options=lambda server: {
        "api_key": SECRET,
        "api_url": server.url_for("/v1"),
        "mode": "send",
    },
    validate=validate,
    texts=lambda message: [str(message.body.get("canonical_url")), message.html or ""],
    main_path="/v1/emails",
    ok=lambda: Response(json.dumps(EMAIL), status=201, mimetype="application/json"),
    error=_error,
)
