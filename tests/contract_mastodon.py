"""Contract row: Mastodon statuses.

``validate`` counts the way the server's ``StatusLengthValidator`` does
(content warning plus text, in grapheme clusters, a URL it recognises as 23)
and looks for live mentions with a port of ``Account::MENTION_RE`` — written
from Mastodon's source, not from the target's own measure.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import regex
from contracts import SECRET, Contract
from werkzeug import Response

from syndicate.targets.base import Message

MAX_CHARACTERS = 500
URL_CHARACTERS = 23
ALT_LIMIT = 1500
VISIBILITIES = {"public", "unlisted", "private", "direct"}
API_FIELDS = {"status", "visibility", "language", "spoiler_text", "sensitive"}

# Ruby's [[:word:]]: letters, marks, decimal digits, connector punctuation.
_WORD = r"\p{L}\p{M}\p{Nd}\p{Pc}"
_MENTION = regex.compile(
    rf"(?<![=/{_WORD}])@([a-z0-9_]+(?:[a-z0-9_.-]+[a-z0-9_]+)?)(?:@[{_WORD}.-]+[{_WORD}]+)?",
    regex.IGNORECASE,
)
# twitter-text takes a URL only with a known top-level domain; a few common
# ones stand in for its list (".example", ".invalid" are not on it).
_TLDS = "com|org|net|social|io|dev|app|blog|de|fr|uk|nl|eu|info"
_URL = regex.compile(
    rf"(?<![\p{{L}}\p{{N}}@$#])https?://(?:[\p{{L}}\p{{N}}-]+\.)+(?:{_TLDS})(?![\p{{L}}\p{{N}}-])"
    r"(?::\d+)?(?:/[\p{L}\p{N}\-._~:/?#\[\]@!$&'()*+,;=%]*)?",
    regex.IGNORECASE,
)
_TRAILING = ".,;:!?'\")]"


def countable(text: str) -> int:
    """The server's count: every recognised URL is 23, the rest graphemes."""

    def placeholder(match: regex.Match[str]) -> str:
        url = match.group()
        core = url.rstrip(_TRAILING)
        return "x" * URL_CHARACTERS + url[len(core) :]

    return len(regex.findall(r"\X", _URL.sub(placeholder, text)))


def live_mentions(text: str) -> list[str]:
    return [match.group() for match in _MENTION.finditer(text)]


def _validate(message: Message) -> list[str]:
    body = message.body
    problems = []
    missing = API_FIELDS - set(body)
    if missing:
        problems.append(f"missing fields {sorted(missing)}")
        return problems
    status, spoiler = body["status"], body["spoiler_text"]
    if not isinstance(status, str) or not status.strip():
        problems.append("status is blank (Validation failed: Text can't be blank)")
        return problems
    length = len(regex.findall(r"\X", spoiler)) + countable(status)
    if length > MAX_CHARACTERS:
        problems.append(f"{length} characters, over {MAX_CHARACTERS}")
    if live_mentions(status):
        problems.append(f"live mentions {live_mentions(status)}")
    if body["visibility"] not in VISIBILITIES:
        problems.append(f"visibility {body['visibility']!r}")
    if not regex.fullmatch(r"[a-z]{2}", body["language"]):
        problems.append(f"language {body['language']!r} is not ISO 639-1")
    if not isinstance(body["sensitive"], bool):
        problems.append("sensitive is not a boolean")
    media = body.get("media", [])
    if len(media) > 4:
        problems.append(f"{len(media)} media, at most 4")
    for item in media:
        if not regex.match(r"https?://[^/\s]+/", item["url"]):
            problems.append(f"image URL {item['url']!r} is not absolute")
        if len(item["description"]) > ALT_LIMIT:
            problems.append(f"description of {len(item['description'])} characters")
    if message.headers.get("Idempotency-Key") != message.key:
        problems.append("Idempotency-Key is not the delivery key")
    return problems


STATUS = {
    "id": "113456789012345678",
    "created_at": "2026-11-25T12:00:00.000Z",
    "visibility": "public",
    "language": "en",
    "uri": "https://mastodon.example/users/blog/statuses/113456789012345678",
    "url": "https://mastodon.example/@blog/113456789012345678",
    "content": "<p>Title</p>",
    "media_attachments": [],
}


def _ok() -> Response:
    return Response(json.dumps(STATUS), content_type="application/json")


def _error(status: int, echo: str) -> Response:
    messages = {
        401: "The access token is invalid",
        404: "Record not found",
        422: "Validation failed: Text character limit of 500 exceeded",
        429: "Too many requests",
    }
    headers = {}
    if status == 429:
        # rack-attack's answer: no Retry-After, the window's end as ISO 8601.
        reset = datetime.now(UTC) + timedelta(seconds=7)
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        }
    text = f"{messages.get(status, 'Something went wrong')} ({echo})"
    return Response(
        json.dumps({"error": text}),
        status=status,
        headers=headers,
        content_type="application/json",
    )


CONTRACT = Contract(
    type="mastodon",
    options=lambda server: {"instance": server.url_for("/"), "token": SECRET},
    validate=_validate,
    texts=lambda message: [message.body["status"]],
    main_path="/api/v1/statuses",
    ok=_ok,
    error=_error,
    retry_after=7.0,
)
