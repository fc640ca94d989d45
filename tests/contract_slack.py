"""Contract row: Slack incoming webhooks.

``validate`` checks a message the way Slack would take it: block kinds and
their length limits (counted in UTF-16 units, the strictest reading of
"characters"), and mrkdwn that can neither ping nor link: every ``&`` starts
one of the three entities and every ``<…>`` is a plain web link.
"""

from __future__ import annotations

import json
import re
from typing import Any

from contracts import SECRET, Contract
from werkzeug import Response

from syndicate.targets.base import Message

WEBHOOK_PATH = f"/services/T0000000/B0000000/{SECRET}"
ERRORS = {
    400: "invalid_payload",
    401: "invalid_token",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "rollup_error",
}
_LIVE_MENTION = re.compile(r"(?<![\w@])@(?:channel|here|everyone)\b")


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def mrkdwn_problems(text: str, where: str) -> list[str]:
    problems = []
    for match in re.finditer(r"&", text):
        if not re.match(r"&(?:amp|lt|gt);", text[match.start() :]):
            problems.append(f"{where}: bare & at {match.start()}")
    for inner in re.findall(r"<([^>]*)>", text):
        if not re.fullmatch(r"https?://[^\s|<>]+", inner):
            problems.append(f"{where}: live control sequence <{inner[:40]}>")
    if text.count("<") != text.count(">"):
        problems.append(f"{where}: unbalanced < or >")
    if _LIVE_MENTION.search(text):
        problems.append(f"{where}: a plain-text mass mention")
    return problems


def validate(message: Message) -> list[str]:
    body: dict[str, Any] = message.body
    problems: list[str] = []
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(body.get("text"), str) or not body["text"].strip():
        problems.append("no fallback text")
    else:
        problems += mrkdwn_problems(body["text"], "text")
    blocks = body.get("blocks", [])
    if not isinstance(blocks, list) or len(blocks) > 50:
        return [*problems, "blocks must be a list of at most 50"]
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            text = block["text"]
            if text.get("type") != "plain_text" or not 1 <= units(text["text"]) <= 150:
                problems.append(f"header text: {units(text['text'])} units")
        elif kind == "section":
            text = block["text"]
            if text.get("type") != "mrkdwn" or not 1 <= units(text["text"]) <= 3000:
                problems.append(f"section text: {units(text['text'])} units")
            problems += mrkdwn_problems(text["text"], "section")
        elif kind == "image":
            url, alt = block.get("image_url", ""), block.get("alt_text", "")
            if not re.match(r"https?://", url) or len(url) > 3000:
                problems.append(f"image_url {url[:60]}")
            if not 1 <= units(alt) <= 2000:
                problems.append(f"alt_text: {units(alt)} units")
        else:
            problems.append(f"unexpected block {kind}")
    return problems


def texts(message: Message) -> list[str]:
    sections = [b["text"]["text"] for b in message.body["blocks"] if b["type"] == "section"]
    return [message.body["text"], *sections]


def error(status: int, echo: str) -> Response:
    headers = {"Retry-After": "7"} if status == 429 else {}
    code = ERRORS.get(status, "invalid_payload")
    # Slack answers a bare string; the echo checks it is redacted if quoted.
    return Response(f"{code} {echo}", status=status, headers=headers, content_type="text/html")


CONTRACT = Contract(
    type="slack",
    options=lambda server: {"url": server.url_for(WEBHOOK_PATH)},
    validate=validate,
    texts=texts,
    main_path=WEBHOOK_PATH,
    ok=lambda: Response("ok", content_type="text/html"),
    error=error,
)
