"""Contract row: Mailchimp campaigns (search, create, content; draft mode).

``validate`` checks a rendered campaign the way Mailchimp would take it: a
regular campaign with a list, the settings a send needs, our caps on subject
and title (Mailchimp documents none we could find), the delivery's marker in
the title, and no post text that Mailchimp would read as a merge tag
(``*|...|*``, also URL-encoded in links).
"""

from __future__ import annotations

import json
import re
import unicodedata

from contracts import SECRET, Contract
from pytest_httpserver import HTTPServer
from werkzeug import Response

from syndicate.targets.base import Message

SUBJECT_CHARS = 150
TITLE_CHARS = 100
MARKER = re.compile(r"\[syndicate-[0-9a-f]{16}\]")
CAMPAIGN_ID = "c0ffee1234"
THROTTLED_WAIT = 30.0  # Mailchimp's 429 carries no hint; the target's own wait


def _merge_tags(label: str, text: str) -> list[str]:
    if "*|" in text or "*%7c" in text.lower():
        return [f"{label} has a merge tag opener Mailchimp would fill in"]
    return []


def _validate(message: Message) -> list[str]:
    body = message.body
    problems: list[str] = []
    if body.get("type") != "regular":
        problems.append(f"type: {body.get('type')!r}")
    recipients = body.get("recipients")
    if not isinstance(recipients, dict) or not recipients.get("list_id"):
        problems.append("recipients.list_id is required")
    settings = body.get("settings")
    if not isinstance(settings, dict):
        return [*problems, "settings missing"]
    subject, title = settings.get("subject_line"), settings.get("title")
    if not isinstance(subject, str) or not 1 <= len(subject) <= SUBJECT_CHARS:
        problems.append(f"subject_line must be 1..{SUBJECT_CHARS} characters: {subject!r}")
    elif any(unicodedata.category(ch) == "Cc" for ch in subject):
        problems.append("subject_line has a control character")
    else:
        problems += _merge_tags("subject_line", subject)
    if not isinstance(title, str) or not 1 <= len(title) <= TITLE_CHARS:
        problems.append(f"title must be 1..{TITLE_CHARS} characters: {title!r}")
    elif not MARKER.search(title):
        problems.append(f"title lacks the delivery's marker: {title!r}")
    if not settings.get("from_name") or "@" not in str(settings.get("reply_to", "")):
        problems.append("from_name and reply_to are needed to send")
    if not message.html:
        problems.append("no HTML content")
    else:
        problems += _merge_tags("html", message.html)
    problems += _merge_tags("plain_text", str(body.get("plain_text", "")))
    try:
        json.dumps(body)
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON: {exc}")
    return problems


def campaign(status: str = "save") -> dict[str, object]:
    """A campaign as Mailchimp answers it (trimmed to what matters)."""
    return {
        "id": CAMPAIGN_ID,
        "web_id": 123456,
        "type": "regular",
        "status": status,
        "archive_url": "http://eepurl.com/abc123",
        "recipients": {"list_id": "a1b2c3d4e5"},
        "settings": {"title": "Title [syndicate-0000000000000000]", "subject_line": "Title"},
    }


def problem(status: int, title: str, detail: str) -> Response:
    document = {
        "type": "https://mailchimp.com/developer/marketing/docs/errors/",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": "3b4dcb40-0b6b-4820-bfaa-41267b3826ea",
    }
    return Response(json.dumps(document), status=status, content_type="application/problem+json")


def _setup(server: HTTPServer) -> None:
    server.expect_request("/3.0/campaigns", method="GET").respond_with_json(
        {"campaigns": [], "total_items": 0}
    )
    server.expect_request(f"/3.0/campaigns/{CAMPAIGN_ID}/content", method="PUT").respond_with_json(
        {"html": "<p>x</p>", "plain_text": "x"}
    )


def _error(status: int, echo: str) -> Response:
    titles = {401: "API Key Invalid", 404: "Resource Not Found", 429: "Too Many Requests"}
    return problem(status, titles.get(status, "Invalid Resource"), f"refused: {echo}")


CONTRACT = Contract(
    type="mailchimp",
    options=lambda server: {
        "api_key": SECRET,
        "api_url": server.url_for("/3.0"),
        "list_id": "a1b2c3d4e5",
    },
    validate=_validate,
    texts=lambda message: [message.html or "", str(message.body.get("plain_text", ""))],
    main_path="/3.0/campaigns",
    ok=lambda: Response(json.dumps(campaign()), content_type="application/json"),
    error=_error,
    setup=_setup,
    retry_after=THROTTLED_WAIT,
)
