"""Contract row: Ghost (Admin API posts, emailed through a newsletter).

``validate`` checks a rendered post against Ghost's own schema limits
(TryGhost/Ghost ``data/schema/schema.js``): title at most 255 characters,
custom_excerpt 300, feature_image_alt 191, tag names 191 and not starting
with a comma, canonical_url 2000; and that the HTML Ghost gets has no tags
but the ones we write around the summary (post text stays text).
"""

from __future__ import annotations

import json
import re
from typing import Any

from contract_buttondown import html_tags
from contracts import SECRET, Contract
from pytest_httpserver import HTTPServer
from werkzeug import Response

from syndicate.targets.base import Message

# A made-up key: SECRET as the id (the battery looks for it), a hex secret.
ADMIN_KEY = f"{SECRET}:{'5c' * 32}"
POST_ID = "6650b2f1c0ffee0001a1b2c3"
POSTS = "/ghost/api/admin/posts/"
SUMMARY_TAGS = {"p", "a", "em"}


def ghost_post(status: str, **fields: Any) -> dict[str, Any]:
    """A post object as the Admin API returns it (the fields we read and a few more)."""
    return {
        "id": POST_ID,
        "uuid": "3f0b7f8e-1a2b-4c3d-9e8f-0a1b2c3d4e5f",
        "title": "Title",
        "slug": "a-post",
        "status": status,
        "visibility": "public",
        "created_at": "2026-11-25T10:00:00.000Z",
        "updated_at": "2026-11-25T10:00:00.000Z",
        "published_at": None if status == "draft" else "2026-11-25T10:00:01.000Z",
        "canonical_url": None,
        "url": f"https://example.ghost.io/p/{POST_ID}/",
        **fields,
    }


def ghost_error(status: int, kind: str, message: str) -> Response:
    payload = {"errors": [{"message": message, "context": None, "type": kind, "code": None}]}
    headers = {"Retry-After": "7"} if status == 429 else {}
    return Response(
        json.dumps(payload), status=status, headers=headers, mimetype="application/json"
    )


KINDS = {
    401: "UnauthorizedError",
    404: "NotFoundError",
    422: "ValidationError",
    429: "TooManyRequestsError",
}


def validate(message: Message) -> list[str]:
    body, problems = message.body, []
    title = body.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > 255:
        problems.append("title missing or over 255 characters")
    if len(str(body.get("custom_excerpt", ""))) > 300:
        problems.append("custom_excerpt over 300 characters")
    slug = str(body.get("slug", ""))
    if len(slug) > 191 or not re.fullmatch(r"[a-z0-9-]*", slug):
        problems.append(f"slug {slug!r}")
    tags = body.get("tags")
    if not isinstance(tags, list) or not all(
        isinstance(t, str) and 0 < len(t) <= 191 and not t.startswith(",") for t in tags
    ):
        problems.append(f"tags {tags!r}")
    url = body.get("canonical_url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")) or len(url) > 2000:
        problems.append("canonical_url")
    if "feature_image" in body and len(str(body.get("feature_image_alt", ""))) > 191:
        problems.append("feature_image_alt over 191 characters")
    if (body.get("mode") == "send") != bool(body.get("newsletter")):
        problems.append("a newsletter exactly when the mode is send")
    markup = message.html or ""
    stray = html_tags(markup) - SUMMARY_TAGS
    if not markup.strip() or stray:
        problems.append(f"HTML empty or with post text as markup: {sorted(stray)}")
    return problems


def _setup(server: HTTPServer) -> None:
    # No post yet (by any slug, by canonical URL); publishing the draft works.
    server.expect_request(re.compile(rf"{re.escape(POSTS)}slug/[^/]+/")).respond_with_response(
        ghost_error(404, "NotFoundError", "Post not found.")
    )
    server.expect_request(POSTS, method="GET").respond_with_json(
        {"posts": [], "meta": {"pagination": {"page": 1, "limit": 5, "pages": 1, "total": 0}}}
    )
    server.expect_request(f"{POSTS}{POST_ID}/", method="PUT").respond_with_json(
        {"posts": [ghost_post("published")]}
    )


CONTRACT = Contract(
    type="ghost",
    options=lambda server: {
        "url": server.url_for("/").rstrip("/"),
        "admin_api_key": ADMIN_KEY,
        "mode": "send",
        "newsletter": "weekly",
        "content": "summary",
    },
    validate=validate,
    texts=lambda message: [str(message.body.get("canonical_url")), message.html or ""],
    main_path=POSTS,
    ok=lambda: Response(
        json.dumps({"posts": [ghost_post("draft")]}), status=201, mimetype="application/json"
    ),
    error=lambda status, echo: ghost_error(
        status, KINDS.get(status, "InternalServerError"), f"Request failed: {echo}"
    ),
    setup=_setup,
)
