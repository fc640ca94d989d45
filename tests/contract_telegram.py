"""Contract row: Telegram Bot API (sendMessage / sendPhoto in HTML mode).

``parse_html`` reads a message the way Telegram's HTML mode does, written from
the Bot API's formatting rules, not from the target's code: only the listed
tags, balanced; ``<``, ``>`` and ``&`` outside markup only as entities; only
four named entities plus numeric ones. The limits are counted in UTF-16 code
units of the visible text, the stricter of the two readings of "characters".
"""

from __future__ import annotations

import json
import re
from typing import Any

from contracts import SECRET, Contract
from pytest_httpserver import HTTPServer
from werkzeug import Response

from syndicate.targets.base import Message

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CHAT = "@syndicate_test"
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_TAG = re.compile(r"<(/?)([a-z][a-z0-9-]*)((?:\s[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
# A live mention: "@" not glued to a word (or another "@"), then a username.
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]")
MESSAGE_KEYS = {"chat_id", "text", "parse_mode", "link_preview_options", "disable_notification"}
PHOTO_KEYS = {"chat_id", "photo", "caption", "parse_mode", "disable_notification"}


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(markup: str) -> tuple[str, list[str]]:
    """The visible text of ``markup`` and the reasons Telegram would refuse it."""
    problems: list[str] = []
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(markup):
        char = markup[i]
        if char == "<":
            tag = _TAG.match(markup, i)
            if tag is None:
                problems.append(f"unescaped < at {i}")
                i += 1
                continue
            closing, name, attrs = tag.groups()
            if name not in ALLOWED_TAGS:
                problems.append(f"unsupported tag <{name}>")
            elif closing:
                if not stack or stack.pop() != name:
                    problems.append(f"unbalanced </{name}>")
            else:
                if name == "a" and not re.fullmatch(r'\s+href="[^"]*"', attrs):
                    problems.append(f"<a> without a plain href: {attrs!r}")
                stack.append(name)
            i = tag.end()
        elif char == "&":
            entity = _ENTITY.match(markup, i)
            if entity is None:
                problems.append(f"unescaped & at {i}")
                i += 1
                continue
            name = entity.group(1)
            if name.startswith("#x"):
                out.append(chr(int(name[2:], 16)))
            elif name.startswith("#"):
                out.append(chr(int(name[1:])))
            else:
                out.append(NAMED[name])
            i = entity.end()
        elif char == ">":
            problems.append(f"unescaped > at {i}")
            i += 1
        else:
            out.append(char)
            i += 1
    problems += [f"<{name}> never closed" for name in stack]
    return "".join(out), problems


def _http_url(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"https?://[^\s]+$", value) is not None


def _check_text(markup: Any, limit: int, what: str) -> list[str]:
    if not isinstance(markup, str):
        return [f"{what} is not a string"]
    text, problems = parse_html(markup)
    problems = [f"{what}: {problem}" for problem in problems]
    if not text.strip():
        problems.append(f"{what} is empty")
    if utf16(text) > limit:
        problems.append(f"{what} is {utf16(text)} UTF-16 units (limit {limit})")
    if _MENTION.search(text):
        problems.append(f"{what} has a live @mention")
    try:
        markup.encode("utf-8")
    except UnicodeEncodeError:
        problems.append(f"{what} is not valid UTF-8")
    return problems


def _check_call(call: Any) -> list[str]:
    if not isinstance(call, dict) or set(call) - {"method", "params", "fallback"}:
        return [f"not a method call: {call!r:.80}"]
    method, params = call.get("method"), call.get("params")
    if not isinstance(params, dict):
        return ["params missing"]
    problems = []
    if params.get("chat_id") != CHAT:
        problems.append(f"chat_id {params.get('chat_id')!r}")
    if params.get("parse_mode") != "HTML":
        problems.append("parse_mode is not HTML")
    if method == "sendMessage":
        if set(params) - MESSAGE_KEYS or "fallback" in call:
            problems.append(f"sendMessage keys {sorted(params)}")
        problems += _check_text(params.get("text"), TEXT_LIMIT, "text")
        preview = params.get("link_preview_options")
        if not isinstance(preview, dict) or not _http_url(preview.get("url")):
            problems.append(f"link_preview_options {preview!r}")
        elif preview.get("prefer_large_media") is not True:
            problems.append("the link preview is not large")
    elif method == "sendPhoto":
        if set(params) - PHOTO_KEYS:
            problems.append(f"sendPhoto keys {sorted(params)}")
        if not _http_url(params.get("photo")):
            problems.append(f"photo {params.get('photo')!r}")
        problems += _check_text(params.get("caption"), CAPTION_LIMIT, "caption")
        fallback = call.get("fallback")
        if not isinstance(fallback, dict) or fallback.get("method") != "sendMessage":
            problems.append("sendPhoto without a sendMessage fallback")
        else:
            problems += [f"fallback: {problem}" for problem in _check_call(fallback)]
    else:
        problems.append(f"method {method!r}")
    return problems


def validate(message: Message) -> list[str]:
    problems = _check_call(message.body)
    try:
        json.dumps(message.body, ensure_ascii=False).encode("utf-8")
    except (TypeError, UnicodeEncodeError) as exc:
        problems.append(f"not JSON: {exc}")
    return problems


def texts(message: Message) -> list[str]:
    """What readers see: the caption and/or the message text, markup parsed."""
    body = message.body
    calls = [body] + ([body["fallback"]] if "fallback" in body else [])
    found = []
    for call in calls:
        params = call["params"]
        found.append(parse_html(params.get("text") or params.get("caption") or "")[0])
    return found


def ok(message_id: int = 42, chat: dict[str, Any] | None = None) -> Response:
    """sendMessage's success answer: the Message that was posted."""
    result = {
        "message_id": message_id,
        "sender_chat": {"id": -1001234567890, "title": "Syndicate", "type": "channel"},
        "chat": chat
        or {
            "id": -1001234567890,
            "title": "Syndicate",
            "username": CHAT.removeprefix("@"),
            "type": "channel",
        },
        "date": 1780000000,
        "text": "Title",
    }
    return Response(json.dumps({"ok": True, "result": result}), content_type="application/json")


DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot is not a member of the channel chat",
    404: "Not Found",
    429: "Too Many Requests: retry after 7",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def error(status: int, echo: str, **parameters: Any) -> Response:
    """An error as the Bot API sends it; a 429 carries parameters.retry_after."""
    payload: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": f"{DESCRIPTIONS.get(status, 'Error')} ({echo})",
    }
    if status == 429:
        parameters.setdefault("retry_after", 7)
    if parameters:
        payload["parameters"] = parameters
    return Response(json.dumps(payload), status=status, content_type="application/json")


def options(server: HTTPServer) -> dict[str, Any]:
    return {"token": SECRET, "chat_id": CHAT, "api_url": server.url_for("")}


CONTRACT = Contract(
    type="telegram",
    options=options,
    validate=validate,
    texts=texts,
    main_path=f"/bot{SECRET}/sendMessage",
    ok=ok,
    error=error,
    retry_after=7.0,
)
