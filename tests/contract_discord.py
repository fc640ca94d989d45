"""Contract row: Discord webhooks.

``validate`` checks a message the way Discord would: embed count and field
limits, the 6000 total over all embed text, http(s) URLs, mentions switched
off, and Markdown in post text that stays text (no unescaped markup).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from contracts import SECRET, Contract
from werkzeug import Response

from syndicate.targets.base import Message

WEBHOOK_ID = "112233445566778899"
CONFIG_PATH = f"/api/webhooks/{WEBHOOK_ID}/{SECRET}"
SEND_PATH = f"/api/v10/webhooks/{WEBHOOK_ID}/{SECRET}"
MESSAGE_ID = "1300000000000000001"
MARKUP = set("\\*_~`|[]<>#")
ERRORS = {
    401: (0, "401: Unauthorized"),
    404: (10015, "Unknown Webhook"),
    422: (50035, "Invalid Form Body"),
    500: (0, "500: Internal Server Error"),
    503: (0, "upstream connect error"),
}


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def unescaped_markup(text: str) -> list[str]:
    """Markdown characters not preceded by Discord's escaping backslash."""
    found, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in MARKUP:
            found.append(char)
        index += 1
    return found


def validate(message: Message) -> list[str]:
    body: dict[str, Any] = message.body
    problems: list[str] = []
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as exc:
        return [f"not JSON: {exc}"]
    if body.get("allowed_mentions") != {"parse": []}:
        problems.append("allowed_mentions must be {'parse': []}")
    if units(body.get("content", "")) > 2000:
        problems.append("content over 2000")
    embeds = body.get("embeds", [])
    if not body.get("content") and not embeds:
        problems.append("neither content nor embeds")
    if len(embeds) > 10:
        problems.append("more than 10 embeds")
    total = 0
    for embed in embeds:
        parts = {
            "title": (embed.get("title", ""), 256),
            "description": (embed.get("description", ""), 4096),
            "author.name": (embed.get("author", {}).get("name", ""), 256),
            "footer.text": (embed.get("footer", {}).get("text", ""), 2048),
        }
        for name, (text, limit) in parts.items():
            total += units(text)
            if units(text) > limit:
                problems.append(f"{name}: {units(text)} > {limit}")
        for name in ("title", "description"):
            if unescaped_markup(embed.get(name, "")):
                problems.append(f"{name}: unescaped {unescaped_markup(embed[name])[:5]}")
        for name, url in (("url", embed.get("url")), ("image", embed.get("image", {}).get("url"))):
            if url is not None and not re.match(r"https?://\S+$", url):
                problems.append(f"{name} not http(s)")
        if "timestamp" in embed:
            datetime.fromisoformat(embed["timestamp"])
    if total > 6000:
        problems.append(f"embed text {total} > 6000")
    return problems


def ok() -> Response:
    created = {
        "id": MESSAGE_ID,
        "type": 0,
        "channel_id": "990000000000000001",
        "webhook_id": WEBHOOK_ID,
        "content": "",
        "embeds": [{"type": "rich", "title": "Title"}],
        "timestamp": "2026-11-25T09:00:00.000000+00:00",
    }
    return Response(json.dumps(created), content_type="application/json")


def error(status: int, echo: str) -> Response:
    if status == 429:
        body: dict[str, Any] = {
            "message": "You are being rate limited.",
            "retry_after": 6.2,
            "global": False,
        }
        headers = {"Retry-After": "7", "X-RateLimit-Scope": "shared"}
    else:
        code, text = ERRORS.get(status, (0, f"{status}"))
        body, headers = {"message": f"{text} {echo}", "code": code}, {}
    return Response(
        json.dumps(body), status=status, headers=headers, content_type="application/json"
    )


CONTRACT = Contract(
    type="discord",
    options=lambda server: {"url": server.url_for(CONFIG_PATH)},
    validate=validate,
    texts=lambda message: [embed["url"] for embed in message.body["embeds"]],
    main_path=SEND_PATH,
    ok=ok,
    error=error,
)
