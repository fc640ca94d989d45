"""Contract row: Bluesky (AT Protocol), checked the way the PDS would.

``validate`` is written from the lexicons (``app.bsky.feed.post``,
``app.bsky.richtext.facet``, ``app.bsky.embed.external``) and the TID spec,
with its own grapheme and byte counting and Bluesky's own rule for where a
mention can start; it uses nothing from the target's module.
"""

from __future__ import annotations

import email.utils
import json
import re
import time
from datetime import datetime
from typing import Any

import regex
from contracts import SECRET, Contract
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.targets.base import Message

HANDLE = "contract.bsky.social"
DID = "did:plc:contract4syndicate"
POST = "app.bsky.feed.post"
TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
# Where the Bluesky app's rich-text detection starts a mention: at the start,
# after whitespace or "(", an "@" and a handle character.
LIVE_MENTION = re.compile(r"(?:^|(?<=[\s(]))@[a-zA-Z0-9]")
# XRPC's own error names per status (xrpc ResponseType); 422 is not an XRPC
# status, so a proxy's 422 gets the generic name.
ERROR_NAMES = {
    400: "InvalidRequest",
    401: "AuthenticationRequired",
    403: "Forbidden",
    404: "XRPCNotSupported",
    413: "PayloadTooLarge",
    429: "RateLimitExceeded",
    500: "InternalServerError",
    502: "UpstreamFailure",
    503: "NotEnoughResources",
    504: "UpstreamTimeout",
}


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def within(text: Any, name: str, max_graphemes: int, max_bytes: int) -> list[str]:
    """A lexicon string's limits: ``maxGraphemes`` and ``maxLength`` (bytes)."""
    if not isinstance(text, str):
        return [f"{name} is not a string"]
    problems = []
    if graphemes(text) > max_graphemes:
        problems.append(f"{name}: {graphemes(text)} graphemes > {max_graphemes}")
    if len(text.encode("utf-8")) > max_bytes:
        problems.append(f"{name}: {len(text.encode('utf-8'))} bytes > {max_bytes}")
    return problems


def check_facets(text: str, facets: Any) -> list[str]:
    if not isinstance(facets, list):
        return ["facets is not a list"]
    data = text.encode("utf-8")
    problems = []
    for facet in facets:
        index, features = facet.get("index", {}), facet.get("features", [])
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data)):
            problems.append(f"facet range {start}..{end} outside {len(data)} bytes")
            continue
        for feature in features:
            if feature.get("$type") != "app.bsky.richtext.facet#link":
                problems.append(f"unexpected facet feature {feature.get('$type')}")
            elif data[start:end] != str(feature.get("uri", "")).encode("utf-8"):
                problems.append(f"facet {start}..{end} covers {data[start:end]!r}, not the link")
    return problems


def check_record(record: Any) -> list[str]:
    """What the PDS checks in a post record (the lexicon), thumb included."""
    if not isinstance(record, dict) or record.get("$type") != POST:
        return ["record is not an app.bsky.feed.post"]
    text = record.get("text")
    problems = within(text, "text", 300, 3000)
    if not isinstance(text, str):
        return problems
    created = record.get("createdAt", "")
    if not DATETIME.fullmatch(created):
        problems.append(f"createdAt {created!r} is not an atproto datetime")
    else:
        datetime.fromisoformat(created.replace("Z", "+00:00"))
    langs = record.get("langs", [])
    if len(langs) > 3 or not all(LANGUAGE.fullmatch(tag) for tag in langs):
        problems.append(f"langs {langs!r}")
    problems += check_facets(text, record.get("facets", []))
    embed = record.get("embed")
    if embed is not None:
        external = embed.get("external", {})
        if embed.get("$type") != "app.bsky.embed.external" or not isinstance(external, dict):
            problems.append(f"embed {embed!r}")
        else:
            problems += within(external.get("title"), "card title", 300, 3000)
            problems += within(external.get("description"), "card description", 1000, 10000)
            if not str(external.get("uri", "")).startswith(("http://", "https://")):
                problems.append("card uri is not a URL")
    return problems


def validate(message: Message) -> list[str]:
    body = message.body
    problems = []
    if set(body) - {"collection", "rkey", "record", "card_image"}:
        problems.append(f"body keys {sorted(body)}")
    if body.get("collection") != POST:
        problems.append(f"collection {body.get('collection')!r}")
    if not TID.fullmatch(str(body.get("rkey"))) or str(body.get("rkey"))[0] not in "234567ab":
        problems.append(f"rkey {body.get('rkey')!r} is not a TID with its top bit 0")
    if message.headers:
        problems.append("headers are sent in send(), never shown")
    record = body.get("record")
    problems += check_record(record)
    if isinstance(record, dict):
        if LIVE_MENTION.search(str(record.get("text"))):
            problems.append("an @handle in the text would be read as a mention")
        if "thumb" in record.get("embed", {}).get("external", {}):
            problems.append("render must not carry a thumb (it is uploaded in send)")
    json.dumps(body)
    return problems


def texts(message: Message) -> list[str]:
    record = message.body["record"]
    return [record["text"], record["embed"]["external"]["uri"]]


def session(request: Request) -> Response:
    payload = request.get_json(silent=True) or {}
    if payload.get("identifier") != HANDLE or payload.get("password") != SECRET:
        return error(401, "Invalid identifier or password")
    return _session_answer("1")


def _session_answer(generation: str) -> Response:
    return _json(
        {
            "did": DID,
            "handle": HANDLE,
            "accessJwt": f"access-token-{generation}-contract",
            "refreshJwt": f"refresh-token-{generation}-contract",
            "active": True,
        }
    )


def setup(server: HTTPServer) -> None:
    server.expect_request(
        "/xrpc/com.atproto.server.createSession", method="POST"
    ).respond_with_handler(session)
    server.expect_request(
        "/xrpc/com.atproto.server.refreshSession",
        method="POST",
        headers={"Authorization": "Bearer refresh-token-1-contract"},
    ).respond_with_response(_session_answer("2"))


def ok() -> Response:
    return _json(
        {
            "uri": f"at://{DID}/{POST}/3jzfcijpj2z2a",
            "cid": "bafyreie5737gdxlw5i64vzichcalba3z2v5n6icifvx5xytvske7mr3hpm",
            "commit": {
                "cid": "bafyreihs2v5wyzcg5ffcamoquyu2dlaujdllwekboxu4r5zlu3tiyxisti",
                "rev": "3lu3k7vikye2m",
            },
            "validationStatus": "valid",
        }
    )


def error(status: int, echo: str) -> Response:
    name = ERROR_NAMES.get(status, "InvalidRequest")
    headers: dict[str, str] = {}
    if status == 429:
        # The PDS's limiter headers: the window's end in Unix seconds, with
        # the answer's Date from the same clock (no Retry-After).
        now = int(time.time())
        headers = {
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(now + 7),
            "RateLimit-Policy": "3000;w=300",
            "Date": email.utils.formatdate(now, usegmt=True),
        }
        return _json({"error": name, "message": f"Rate Limit Exceeded {echo}"}, 429, headers)
    return _json({"error": name, "message": f"{name} for {echo}"}, status, headers)


def _json(
    payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(payload), status=status, headers=headers or {}, content_type="application/json"
    )


CONTRACT = Contract(
    type="bluesky",
    options=lambda server: {
        "service": server.url_for("/").rstrip("/"),
        "handle": HANDLE,
        "app_password": SECRET,
    },
    validate=validate,
    texts=texts,
    main_path="/xrpc/com.atproto.repo.putRecord",
    ok=ok,
    error=error,
    setup=setup,
    retry_after=7.0,
)
