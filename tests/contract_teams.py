"""Contract row: Microsoft Teams Workflows webhooks.

``validate`` checks a message the way Teams would: the message/attachment
envelope around one Adaptive Card 1.4, the elements we use, http(s) URLs, the
28 KB size as compact UTF-8 JSON, and TextBlock Markdown from post text that
stays text.
"""

from __future__ import annotations

import json
import re
from typing import Any

from contracts import SECRET, Contract
from werkzeug import Response

from syndicate.targets.base import Message

WORKFLOW_PATH = "/workflows/0f1e2d3c4b5a/triggers/manual/paths/invoke"
MARKUP = set("\\*_[]`")


def unescaped_markup(text: str) -> list[str]:
    found, index = [], 0
    while index < len(text):
        if text[index] == "\\":
            index += 2
            continue
        if text[index] in MARKUP:
            found.append(text[index])
        index += 1
    return found


def validate(message: Message) -> list[str]:
    body: dict[str, Any] = message.body
    try:
        size = len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (TypeError, UnicodeEncodeError) as exc:
        return [f"not JSON: {exc}"]
    problems = [] if size <= 28_000 else [f"{size} bytes > 28 KB"]
    if body.get("type") != "message" or len(body.get("attachments", [])) != 1:
        return [*problems, "expected a message with one attachment"]
    attachment = body["attachments"][0]
    card = attachment.get("content", {})
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        problems.append("not an Adaptive Card attachment")
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
        problems.append("not an AdaptiveCard 1.4")
    for element in card.get("body", []):
        if element.get("type") == "TextBlock":
            text = element.get("text")
            if not isinstance(text, str) or not text.strip():
                problems.append("empty TextBlock")
            elif unescaped_markup(text) or re.search(r"(?m)^\s*(?:[-+>#]|\d+\.)\s", text):
                problems.append(f"TextBlock markup: {text[:60]!r}")
        elif element.get("type") == "Image":
            if not re.match(r"https?://\S+$", element.get("url", "")):
                problems.append("Image url not http(s)")
        else:
            problems.append(f"unexpected element {element.get('type')}")
    actions = card.get("actions", [])
    if not actions or any(
        a.get("type") != "Action.OpenUrl" or not re.match(r"https?://\S+$", a.get("url", ""))
        for a in actions
    ):
        problems.append("expected Action.OpenUrl actions with http(s) URLs")
    return problems


def error(status: int, echo: str) -> Response:
    # Power Automate answers with the Azure error envelope.
    codes = {429: "TooManyRequests", 404: "WorkflowNotFound", 401: "DirectApiAuthorizationRequired"}
    body = {"error": {"code": codes.get(status, "InvalidRequestContent"), "message": echo}}
    headers = {"Retry-After": "7"} if status == 429 else {}
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


CONTRACT = Contract(
    type="teams",
    options=lambda server: {
        "url": server.url_for(f"{WORKFLOW_PATH}?api-version=1&sp=%2Ftriggers%2Fmanual&sig={SECRET}")
    },
    validate=validate,
    texts=lambda message: [
        action["url"] for action in message.body["attachments"][0]["content"]["actions"]
    ],
    main_path=WORKFLOW_PATH,
    ok=lambda: Response("", status=202),
    error=error,
)
