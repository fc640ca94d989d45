"""Contract row: listmonk campaigns (search by tag, then create a draft).

``validate`` checks a rendered campaign the way listmonk's handlers would
(cmd/campaigns.go ``validateCampaignFields``), with the lengths of the oldest
servers we support, and that no post text would run as a Go template: the
subject and body are compiled by listmonk, and ``url@TrackLink`` is rewritten
into a template call before compiling.
"""

from __future__ import annotations

import json
import re
import unicodedata

from contracts import SECRET, Contract
from pytest_httpserver import HTTPServer
from werkzeug import Response

from syndicate.targets.base import Message

CONTENT_TYPES = {"richtext", "html", "markdown", "plain"}
NAME_BYTES = 200  # stdInputMaxLen before listmonk v2 (2000 since)
SUBJECT_BYTES = 200  # likewise; newer servers take 5000
TAG = re.compile(r"syndicate-[0-9a-f]{16}")
CAMPAIGN_ID = 7


def _template_text(label: str, text: str) -> list[str]:
    problems = []
    if "{{" in text:
        problems.append(f"{label} has '{{{{', which listmonk compiles as a template")
    if "@TrackLink" in text:
        problems.append(f"{label} has '@TrackLink', which listmonk rewrites")
    return problems


def _validate(message: Message) -> list[str]:
    body = message.body
    problems: list[str] = []
    name, subject = body.get("name"), body.get("subject")
    if not isinstance(name, str) or not 1 <= len(name.encode()) <= NAME_BYTES:
        problems.append(f"name must be 1..{NAME_BYTES} bytes: {name!r}")
    if not isinstance(subject, str) or not 1 <= len(subject.encode()) <= SUBJECT_BYTES:
        problems.append(f"subject must be 1..{SUBJECT_BYTES} bytes: {subject!r}")
    elif any(unicodedata.category(ch) == "Cc" for ch in subject):
        problems.append("subject has a control character (not allowed in a mail header)")
    else:
        problems += _template_text("subject", subject)
    lists = body.get("lists")
    if not isinstance(lists, list) or not lists or not all(isinstance(i, int) for i in lists):
        problems.append(f"lists must be list ids: {lists!r}")
    if body.get("type") != "regular" or body.get("content_type") not in CONTENT_TYPES:
        problems.append(f"type/content_type: {body.get('type')!r} {body.get('content_type')!r}")
    tags = body.get("tags")
    if not isinstance(tags, list) or not any(isinstance(t, str) and TAG.fullmatch(t) for t in tags):
        problems.append(f"tags must carry the delivery's tag: {tags!r}")
    elif any(len(t) > 100 or any(ch.isspace() for ch in t) for t in tags):
        problems.append(f"tags are VARCHAR(100) and listmonk turns spaces into '-': {tags!r}")
    if not message.html:
        problems.append("no HTML body")
    else:
        problems += _template_text("body", message.html)
    problems += _template_text("altbody", str(body.get("altbody", "")))
    try:
        json.dumps(body)
    except (TypeError, ValueError) as exc:
        problems.append(f"not JSON: {exc}")
    return problems


def campaign(status: str = "draft") -> dict[str, object]:
    """A campaign as listmonk answers it (trimmed to what matters)."""
    return {
        "id": CAMPAIGN_ID,
        "uuid": "90c889cc-3728-4064-bbcb-5c1c446633b3",
        "type": "regular",
        "name": "Title [syndicate-0000000000000000]",
        "subject": "Title",
        "status": status,
        "content_type": "html",
        "tags": ["syndicate-0000000000000000"],
        "lists": [{"id": 1, "name": "Default list"}],
    }


def _setup(server: HTTPServer) -> None:
    empty = {"data": {"results": [], "query": "", "total": 0, "per_page": 0, "page": 0}}
    server.expect_request("/api/campaigns", method="GET").respond_with_json(empty)


def _error(status: int, echo: str) -> Response:
    headers = {"Retry-After": "7"} if status == 429 else {}
    body = json.dumps({"message": f"request refused: {echo}"})
    return Response(body, status=status, headers=headers, content_type="application/json")


CONTRACT = Contract(
    type="listmonk",
    options=lambda server: {
        "url": server.url_for("/").rstrip("/"),
        "api_user": "syndicate",
        "token": SECRET,
        "lists": [1],
    },
    validate=_validate,
    texts=lambda message: [message.html or "", str(message.body.get("altbody", ""))],
    main_path="/api/campaigns",
    ok=lambda: Response(json.dumps({"data": campaign()}), content_type="application/json"),
    error=_error,
    setup=_setup,
)
