"""The Mastodon target against a loopback server that answers like Mastodon.

``FakeMastodon`` checks each request the way the server does (bearer token,
form fields, the length rule, media that must be processed, the
Idempotency-Key it remembers) and answers in Mastodon's shapes. Lengths and
live mentions are judged by ``contract_mastodon`` (written from Mastodon's
source), not by the target's own measure.
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from contract_mastodon import countable, live_mentions
from helpers import make_site, post
from PIL import Image as Pillow
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config, parse_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.base import Message, Receipt
from syndicate.targets.mastodon import (
    IDEMPOTENCY_WINDOW,
    POLL_DELAYS,
    MastodonTarget,
    idempotency_key,
    reset_hint,
)
from syndicate.targets.registry import make_target

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "mastodon.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
TOKEN = "mastodon-token-5a4b3c2d1e"
NOW = 1_780_000_000.0


def png(size: int = 8, noise: bool = False) -> bytes:
    picture = (
        Pillow.frombytes("RGB", (size, size), os.urandom(size * size * 3))
        if noise
        else Pillow.new("RGB", (size, size), (200, 40, 40))
    )
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()


def as_json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(value), status=status, headers=headers, content_type="application/json"
    )


class FakeMastodon:
    """Statuses, media and account endpoints with Mastodon's rules."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.max_characters = 500
        self.image_limit = 16 * 1024 * 1024
        self.polls_until_ready: int | None = 0  # 0: processed at once; None: never
        self.statuses: list[dict[str, Any]] = []
        self.by_key: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.status_answers: list[Response] = []  # canned answers, used first
        self.upload_answer: Response | None = None
        self.posts: list[dict[str, Any]] = []  # every statuses request, as received
        self.polls = 0
        server.expect_request("/api/v1/statuses", method="POST").respond_with_handler(self.post)
        server.expect_request("/api/v2/media", method="POST").respond_with_handler(self.upload)
        server.expect_request(
            re.compile(r"^/api/v1/media/\w+$"), method="GET"
        ).respond_with_handler(self.poll)

    def refused(self, request: Request) -> Response | None:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return as_json({"error": "The access token is invalid"}, 401)
        return None

    def post(self, request: Request) -> Response:
        form = request.form
        self.posts.append(
            {
                "key": request.headers.get("Idempotency-Key"),
                "form": {name: form.getlist(name) for name in form},
                "content_type": request.mimetype,
            }
        )
        if (answer := self.refused(request)) is not None:
            return answer
        if self.status_answers:
            return self.status_answers.pop(0)
        key = request.headers.get("Idempotency-Key", "")
        if key in self.by_key:
            return as_json(self.by_key[key])
        text, media_ids = form.get("status", ""), form.getlist("media_ids[]")
        if not text.strip() and not media_ids:
            return as_json({"error": "Validation failed: Text can't be blank"}, 422)
        if form.get("visibility") not in ("public", "unlisted", "private", "direct"):
            return as_json({"error": "Validation failed: Visibility is invalid"}, 422)
        if countable(form.get("spoiler_text", "")) + countable(text) > self.max_characters:
            limit = self.max_characters
            return as_json({"error": f"Validation failed: Text character limit of {limit}"}, 422)
        if any(not self.media.get(m, {}).get("ready") for m in media_ids):
            return as_json({"error": "Cannot attach files that have not finished processing"}, 422)
        number = str(113_000_000_000_000_000 + len(self.statuses))
        status = {
            "id": number,
            "url": self.server.url_for(f"/@blog/{number}"),
            "content": f"<p>{html.escape(text)}</p>",
            "visibility": form["visibility"],
            "language": form.get("language"),
            "spoiler_text": form.get("spoiler_text", ""),
            "sensitive": form.get("sensitive") == "true",
            "media_attachments": [self.media[m] for m in media_ids],
        }
        self.statuses.append(status)
        if key:
            self.by_key[key] = status
        return as_json(status)

    def upload(self, request: Request) -> Response:
        if (answer := self.refused(request)) is not None:
            return answer
        if self.upload_answer is not None:
            return self.upload_answer
        file = request.files.get("file")
        if file is None or not (file.mimetype or "").startswith("image/"):
            return as_json({"error": "Validation failed: File content type is invalid"}, 422)
        data = file.read()
        if len(data) >= self.image_limit:
            return as_json({"error": "Validation failed: File file size must be less"}, 422)
        description = request.form.get("description", "")
        if len(description) > 1500:
            return as_json({"error": "Validation failed: Description is too long"}, 422)
        media_id = str(900 + len(self.media))
        ready = self.polls_until_ready == 0
        self.media[media_id] = {
            "id": media_id,
            "type": "image",
            "url": self.server.url_for(f"/files/{media_id}.png") if ready else None,
            "description": description,
            "ready": ready,
            "mimetype": file.mimetype,
            "size": len(data),
            "filename": file.filename,
        }
        return as_json(self.media[media_id], 200 if ready else 202)

    def poll(self, request: Request) -> Response:
        if (answer := self.refused(request)) is not None:
            return answer
        media = self.media.get(request.path.rsplit("/", 1)[1])
        if media is None:
            return as_json({"error": "Record not found"}, 404)
        self.polls += 1
        if self.polls_until_ready is None or self.polls < self.polls_until_ready:
            return Response("", status=206)
        media.update(ready=True, url=self.server.url_for("/files/x.png"))
        return as_json(media)


class Memory:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def set_value(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeMastodon:
    return FakeMastodon(httpserver)


@pytest.fixture
def site(tmp_path: Path, httpserver: HTTPServer) -> Config:
    httpserver.expect_request("/cover.png").respond_with_data(png(), content_type="image/png")
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch day",
                "2026-04-10 09:30:00 +0200",
                "We launched the new site today.\n\nMore below.",
                tags="[python, web]",
                image=httpserver.url_for("/cover.png"),
                image_alt='"A red square, our new logo"',
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


def with_text(entry: Entry, title: str, summary: str, **post: Any) -> Entry:
    return replace(entry, post=replace(entry.post, title=title, **post), summary=summary)


MakeToot = Callable[..., MastodonTarget]


@pytest.fixture
def make_toot(site: Config, httpserver: HTTPServer) -> Iterator[MakeToot]:
    made: list[MastodonTarget] = []

    def make(**options: Any) -> MastodonTarget:
        options = {"instance": httpserver.url_for("/"), "token": TOKEN, **options}
        config = TargetConfig(name="toot", type="mastodon", options=options, source=site.path)
        target = make_target(config, site.site)
        assert isinstance(target, MastodonTarget)
        target.attach(Memory())
        target.clock = lambda: NOW
        target.sleeps = []  # type: ignore[attr-defined]
        target.sleep = target.sleeps.append  # type: ignore[attr-defined]
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def send(target: MastodonTarget, entry: Entry, key: str = KEY) -> tuple[Message, Receipt]:
    message = target.render(entry, key)
    return message, target.send(message)


# --- render ------------------------------------------------------------------


def test_render_is_title_summary_link_with_the_image(make_toot: MakeToot, entry: Entry) -> None:
    target = make_toot()

    def no_clock() -> float:
        raise AssertionError("render must not read the clock")

    target.clock = no_clock
    message = target.render(entry, KEY)
    assert message.body == {
        "status": f"Launch day\n\nWe launched the new site today.\n\n{entry.post.url}",
        "visibility": "public",
        "language": "en",
        "spoiler_text": "",
        "sensitive": False,
        "media": [{"url": entry.post.image, "description": "A red square, our new logo"}],
        "link": entry.post.url,
    }
    assert message.headers == {"Idempotency-Key": KEY}
    assert TOKEN not in repr(message)
    assert target.render(entry, KEY) == message


def test_a_long_summary_is_cut_at_a_word_and_the_link_kept(
    make_toot: MakeToot, entry: Entry
) -> None:
    words = " ".join(f"word{n}" for n in range(400))
    status = make_toot().render(with_text(entry, "Title", words), KEY).body["status"]
    assert countable(status) <= 500
    assert status.endswith(f"…\n\n{entry.post.url}")
    body = status.split("\n\n")[1]
    assert re.fullmatch(r"(word\d+ )*word\d+…", body)  # whole words only
    assert countable(status) > 480  # and not wastefully short


def test_a_long_link_counts_as_23(make_toot: MakeToot, entry: Entry) -> None:
    url = "https://blog.example.com/" + "very-long-slug-" * 12 + ".html"
    long_link = with_text(entry, "Title", "word " * 300, url=url)
    status = make_toot().render(long_link, KEY).body["status"]
    assert status.endswith(url)
    assert len(status) > 500 + len(url) - 23 - 10  # more text than 500 raw characters
    assert countable(status) <= 500


def test_a_content_warning_counts_against_the_limit(make_toot: MakeToot, entry: Entry) -> None:
    long = with_text(entry, "Title", "word " * 300)
    warning = "Spoilers for the season finale"
    plain = make_toot().render(long, KEY).body
    warned = make_toot(spoiler_text=warning, sensitive=True).render(long, KEY).body
    assert (warned["spoiler_text"], warned["sensitive"]) == (warning, True)
    assert countable(warning) + countable(warned["status"]) <= 500
    assert len(plain["status"]) - len(warned["status"]) >= len(warning) - 5


def test_other_urls_in_the_text_are_counted_at_full_length(
    make_toot: MakeToot, entry: Entry
) -> None:
    # Mastodon may not take "https://x.invalid/..." as a URL (unknown TLD); then
    # it counts every character of it, so we must too.
    odd = "https://x.invalid/" + "a" * 60
    status = make_toot().render(with_text(entry, "Title", f"{odd} " * 12), KEY).body["status"]
    assert len(re.sub(r"https://blog\S+", "x" * 23, status)) <= 500


@pytest.mark.parametrize(("limit", "low"), [(1000, 900), (120, 60)])
def test_max_characters_follows_the_instance(
    make_toot: MakeToot, entry: Entry, limit: int, low: int
) -> None:
    status = make_toot(max_characters=limit).render(with_text(entry, "T", "word " * 500), KEY)
    assert low < countable(status.body["status"]) <= limit


def test_mentions_in_post_text_notify_nobody(make_toot: MakeToot, entry: Entry) -> None:
    hostile = with_text(
        entry,
        "Thanks @alice@mastodon.example and @@bob",
        "Ping @carol, ＠dave and @\u212aelvin; mail ada@example.com #python",
        tags=("@everyone",),
    )
    status = make_toot(template="{{ post.title }} {{ post.summary }} {{ post.tags | join(' ') }}")
    text = status.render(hostile, KEY).body["status"]
    assert live_mentions(text) == []
    assert "@\u200balice@mastodon.example" in text and "@@\u200bbob" in text
    assert "#python" in text and "ada@example.com" in text  # hashtags and mail stay
    loud = make_toot(defuse_mentions=False).render(hostile, KEY).body["status"]
    assert "@alice@mastodon.example" in live_mentions(loud)


def test_the_link_is_never_defused(make_toot: MakeToot, entry: Entry) -> None:
    url = "https://blog.example.com/@ada/2026/launch.html"
    status = make_toot().render(with_text(entry, "@x", "", url=url), KEY).body["status"]
    assert status.endswith(url)


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"image_alt": "The logo"}, "The logo"),
        ({"image": {"path": "/a.png", "alt": "From the mapping"}}, "From the mapping"),
        ({"image_alt": "   "}, "Launch day"),
        ({"image_alt": 42}, "Launch day"),
        ({}, "Launch day"),
    ],
    ids=["image_alt", "image-mapping", "blank", "not-text", "none"],
)
def test_alt_text(
    make_toot: MakeToot, entry: Entry, metadata: dict[str, Any], expected: str
) -> None:
    tagged = replace(entry, post=replace(entry.post, metadata=metadata))
    assert make_toot().render(tagged, KEY).body["media"][0]["description"] == expected


def test_a_long_alt_text_is_cut_to_1500(make_toot: MakeToot, entry: Entry) -> None:
    tagged = replace(entry, post=replace(entry.post, metadata={"image_alt": "pixel " * 400}))
    alt = make_toot().render(tagged, KEY).body["media"][0]["description"]
    assert len(alt) <= 1500 and alt.endswith("…")


def test_no_image_or_upload_off_means_no_media(make_toot: MakeToot, entry: Entry) -> None:
    assert make_toot(upload_image=False).render(entry, KEY).body["media"] == []
    bare = replace(entry, post=replace(entry.post, image=None))
    assert make_toot().render(bare, KEY).body["media"] == []


def test_a_template_override(make_toot: MakeToot, entry: Entry) -> None:
    target = make_toot(template="📝 {{ post.title }} {% for t in post.tags %}#{{ t }} {% endfor %}")
    assert target.render(entry, KEY).body["status"] == "📝 Launch day #python #web"


def test_a_template_syntax_error_names_the_key_and_line(make_toot: MakeToot) -> None:
    with pytest.raises(ConfigError) as caught:
        make_toot(template="{{ post.title }}\n{% if post.summary %}")
    assert "targets[0].template: line 2" in str(caught.value)


def test_a_template_without_room_is_a_config_error(make_toot: MakeToot) -> None:
    with pytest.raises(ConfigError) as caught:
        make_toot(template="{{ post.url }} " + "x" * 600)
    assert "targets[0].template: the status needs" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        make_toot(max_characters=30, spoiler_text="a content warning")
    assert "targets[0].max_characters: " in str(caught.value)


@pytest.mark.parametrize(("given", "sent"), [(None, "en"), ("pt-BR", "pt"), ("DE", "de")])
def test_language(make_toot: MakeToot, entry: Entry, given: str | None, sent: str) -> None:
    options = {} if given is None else {"language": given}
    assert make_toot(**options).render(entry, KEY).body["language"] == sent


def test_a_key_unfit_for_a_header_becomes_a_stable_digest() -> None:
    for key in ("with space", "ключ", "x" * 300):
        value = idempotency_key(key)
        assert value.startswith("syn_") and value.isascii() and len(value) == 36
        assert idempotency_key(key) == value != idempotency_key(key + "!")
    assert idempotency_key(KEY) == KEY


# --- send ----------------------------------------------------------------------


def test_send_uploads_the_image_then_posts_the_status(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry
) -> None:
    message, receipt = send(make_toot(visibility="unlisted"), entry)
    assert len(fake.statuses) == 1
    status = fake.statuses[0]
    assert receipt == Receipt(remote_id=status["id"], remote_url=status["url"])
    assert [m["description"] for m in status["media_attachments"]] == ["A red square, our new logo"]
    assert status["media_attachments"][0]["mimetype"] == "image/png"
    request = fake.posts[0]
    assert request["key"] == KEY and request["content_type"] == "application/x-www-form-urlencoded"
    assert request["form"] == {
        "status": [message.body["status"]],
        "visibility": ["unlisted"],
        "language": ["en"],
        "spoiler_text": [""],
        "sensitive": ["false"],
        "media_ids[]": ["900"],
    }


def test_a_big_image_is_shrunk_under_the_limit(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry, httpserver: HTTPServer
) -> None:
    big = png(400, noise=True)
    assert len(big) > 300_000
    httpserver.expect_request("/big.png").respond_with_data(big, content_type="image/png")
    fake.image_limit = 200_000
    large = replace(entry, post=replace(entry.post, image=httpserver.url_for("/big.png")))
    send(make_toot(image_size_limit=200_000), large)
    (media,) = fake.statuses[0]["media_attachments"]
    assert media["mimetype"] == "image/jpeg" and media["size"] < 200_000
    assert media["filename"] == "big.jpg"


@pytest.mark.parametrize("problem", ["missing", "svg", "upload-422", "upload-401"])
def test_an_image_problem_never_fails_the_post(
    fake: FakeMastodon,
    make_toot: MakeToot,
    entry: Entry,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    problem: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="syndicate")
    image = entry.post.image
    if problem == "missing":
        image = httpserver.url_for("/nowhere.png")
    elif problem == "svg":
        httpserver.expect_request("/logo.svg").respond_with_data(
            "<svg/>", content_type="image/svg+xml"
        )
        image = httpserver.url_for("/logo.svg")
    else:
        status = int(problem.split("-")[1])
        fake.upload_answer = as_json({"error": f"nope {TOKEN}"}, status)
    _, receipt = send(make_toot(), replace(entry, post=replace(entry.post, image=image)))
    assert receipt.remote_id == fake.statuses[0]["id"]
    assert fake.statuses[0]["media_attachments"] == []
    assert fake.posts[0]["form"].get("media_ids[]") is None
    skipped = [r for r in caplog.records if r.getMessage() == "media_skipped"]
    assert len(skipped) == 1
    assert TOKEN not in json.dumps(skipped[0].fields)  # type: ignore[attr-defined]


def test_processing_media_is_polled_until_ready(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry
) -> None:
    fake.polls_until_ready = 3
    target = make_toot()
    send(target, entry)
    assert fake.polls == 3
    assert target.sleeps == list(POLL_DELAYS[:3])  # type: ignore[attr-defined]
    assert len(fake.statuses[0]["media_attachments"]) == 1


def test_media_still_processing_is_left_out(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry
) -> None:
    fake.polls_until_ready = None
    target = make_toot()
    send(target, entry)
    assert target.sleeps == list(POLL_DELAYS)  # type: ignore[attr-defined]
    assert fake.statuses[0]["media_attachments"] == []


def test_a_status_refused_with_media_goes_again_without(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry
) -> None:
    fake.status_answers.append(
        as_json({"error": "Cannot attach files that have not finished processing"}, 422)
    )
    _, receipt = send(make_toot(), entry)
    assert receipt.remote_id == fake.statuses[0]["id"]
    assert [p["form"].get("media_ids[]") for p in fake.posts] == [["900"], None]
    assert [p["key"] for p in fake.posts] == [KEY, KEY]


def test_a_retry_lands_on_the_same_status_and_reuses_the_upload(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry
) -> None:
    target = make_toot()
    fake.status_answers.append(as_json({"error": "Internal server error"}, 503))
    message = target.render(entry, KEY)
    with pytest.raises(TransientError):
        target.send(message)
    first = target.send(message)
    again = target.send(message)  # the answer was lost: same key, same status
    assert first == again and len(fake.statuses) == 1
    assert len(fake.media) == 1  # uploaded once, reused by the retries
    assert {p["key"] for p in fake.posts} == {KEY}


def test_an_old_upload_is_not_reused(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v1/accounts/verify_credentials").respond_with_json({"id": "7"})
    httpserver.expect_request("/api/v1/accounts/7/statuses").respond_with_json([])
    target = make_toot()
    fake.status_answers.append(as_json({"error": "Internal server error"}, 503))
    message = target.render(entry, KEY)
    with pytest.raises(TransientError):
        target.send(message)
    target.clock = lambda: NOW + 7 * 3600  # Mastodon drops unattached media after a day
    fake.status_answers.append(as_json({"error": "Internal server error"}, 503))
    with pytest.raises(TransientError):
        target.send(message)
    assert len(fake.media) == 2
    assert [p["form"]["media_ids[]"] for p in fake.posts] == [["900"], ["901"]]


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(NOW + seconds, UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({"X-RateLimit-Reset": iso(42.25)}, 43.0),
        ({"X-RateLimit-Reset": iso(-5)}, 0.0),
        ({"X-RateLimit-Reset": "soon"}, None),
        ({}, None),
        ({"X-RateLimit-Reset": iso(42), "Retry-After": "9"}, 9.0),
    ],
    ids=["reset", "past", "garbage", "none", "retry-after-wins"],
)
def test_429_is_retried_at_the_reset_time(
    fake: FakeMastodon,
    make_toot: MakeToot,
    entry: Entry,
    headers: dict[str, str],
    hint: float | None,
) -> None:
    fake.status_answers.append(as_json({"error": "Too many requests"}, 429, headers))
    with pytest.raises(TransientError) as caught:
        send(make_toot(upload_image=False), entry)
    assert caught.value.retry_after == hint
    assert not caught.value.ambiguous


def test_reset_hint_reads_mastodon_timestamps() -> None:
    assert (
        reset_hint("2026-06-01T12:00:10.500000Z", datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp())
        == 11.0
    )
    assert (
        reset_hint("2026-06-01T12:00:10", datetime(2026, 6, 1, 12, tzinfo=UTC).timestamp()) == 10.0
    )


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (401, PermanentError, "renew it"),
        (403, PermanentError, "renew it"),
        (422, PermanentError, "character limit"),
        (404, PermanentError, "Record not found"),
        (500, TransientError, "HTTP 500"),
        (503, TransientError, "HTTP 503"),
    ],
)
def test_status_answers_are_classified(
    fake: FakeMastodon,
    make_toot: MakeToot,
    entry: Entry,
    status: int,
    kind: type[Exception],
    says: str,
) -> None:
    errors = {422: "Validation failed: Text character limit of 500 exceeded"}
    error = errors.get(
        status, "Record not found" if status == 404 else "The access token is invalid"
    )
    fake.status_answers.append(as_json({"error": error}, status))
    with pytest.raises(kind) as caught:
        send(make_toot(upload_image=False), entry)
    assert says in str(caught.value)


def test_a_wrong_token_is_dead_and_never_shown(
    fake: FakeMastodon,
    make_toot: MakeToot,
    entry: Entry,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="syndicate")
    monkeypatch.setenv("TOOT_TOKEN", "wrong-token-77aa88bb")
    fake.status_answers.append(as_json({"error": "bad token wrong-token-77aa88bb"}, 401))
    with pytest.raises(PermanentError) as caught:
        send(make_toot(token="${TOOT_TOKEN}"), entry)
    assert "renew it" in str(caught.value)
    assert "wrong-token-77aa88bb" not in str(caught.value)
    assert "wrong-token-77aa88bb" not in caplog.text


def test_after_the_idempotency_window_a_posted_status_is_found(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry, httpserver: HTTPServer
) -> None:
    target = make_toot(upload_image=False)
    message = target.render(entry, KEY)
    first = target.send(message)  # its answer "lost"; the key expires later
    fake.by_key.clear()
    httpserver.expect_request(
        "/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json({"id": "7", "username": "blog"})
    httpserver.expect_request(
        "/api/v1/accounts/7/statuses",
        query_string={"limit": "40", "exclude_replies": "true", "exclude_reblogs": "true"},
    ).respond_with_json([{"id": "1", "content": "<p>other</p>"}, *fake.statuses])
    target.clock = lambda: NOW + IDEMPOTENCY_WINDOW + 60
    assert target.send(message) == first
    assert len(fake.statuses) == 1 and len(fake.posts) == 1


def test_after_the_window_without_read_scopes_it_stops_for_a_person(
    fake: FakeMastodon,
    make_toot: MakeToot,
    entry: Entry,
    httpserver: HTTPServer,
) -> None:
    # The server has forgotten the key and the token cannot look: posting
    # again could post twice, so the delivery goes dead with what to do.
    target = make_toot(upload_image=False)
    message = target.render(entry, KEY)
    fake.status_answers.append(as_json({"error": "Internal server error"}, 502))
    with pytest.raises(TransientError):
        target.send(message)
    httpserver.expect_request("/api/v1/accounts/verify_credentials").respond_with_json(
        {"error": "This action is outside the authorized scopes"}, status=403
    )
    target.clock = lambda: NOW + 2 * 3600
    with pytest.raises(PermanentError, match="cannot check whether an earlier attempt was posted"):
        target.send(message)
    assert fake.statuses == []


@pytest.mark.parametrize("status", [500, 429])
def test_a_transient_upload_failure_retries_the_whole_status(
    fake: FakeMastodon, make_toot: MakeToot, entry: Entry, status: int
) -> None:
    # Idempotent statuses make a later retry safe, and it keeps the picture.
    fake.upload_answer = as_json({"error": "busy"}, status)
    target = make_toot()
    with pytest.raises(TransientError):
        target.send(target.render(entry, KEY))
    assert fake.statuses == []


@pytest.fixture
def stalled() -> Iterator[HTTPServer]:
    """A server that takes the request and answers only at teardown."""
    release = threading.Event()
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)

    def stall(request: Request) -> Response:
        release.wait(timeout=30)
        return Response("{}", status=200)

    server.expect_request("/api/v1/statuses").respond_with_handler(stall)
    server.start()
    yield server
    release.set()
    server.stop()


def test_no_answer_is_ambiguous_and_safe_to_retry(
    stalled: HTTPServer, make_toot: MakeToot, entry: Entry
) -> None:
    target = make_toot(instance=stalled.url_for("/"), read_timeout=0.3, upload_image=False)
    with pytest.raises(TransientError) as caught:
        send(target, entry)
    assert caught.value.ambiguous
    assert target.retries_ambiguous()


# --- config ------------------------------------------------------------------


def test_through_parse_config_and_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    raw_target = {
        "name": "fedi",
        "type": "mastodon",
        "instance": "https://mastodon.example/",
        "token": "${MASTODON_TOKEN}",
        "visibility": "private",
        "max_characters": 1000,
    }
    config = parse_config(
        {
            "site": {"title": "T", "url": "https://blog.example.com", "language": "fr-CA"},
            "targets": [raw_target],
        },
        tmp_path / "config" / "syndicate.toml",
    )
    target = make_target(config.targets[0], config.site)
    assert isinstance(target, MastodonTarget)
    assert (target.instance, target.token, target.visibility) == (
        "https://mastodon.example",
        TOKEN,
        "private",
    )
    assert (target.language, target.max_characters, target.url_weight) == ("fr", 1000, 23)
    assert target.idempotent
    assert set(MastodonTarget.fields) == {
        "instance",
        "token",
        "visibility",
        "language",
        "spoiler_text",
        "sensitive",
        "max_characters",
        "url_weight",
        "upload_image",
        "image_size_limit",
        "defuse_mentions",
        "connect_timeout",
        "read_timeout",
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"token": TOKEN}, "targets[0].instance: is required"),
        ({"instance": "mastodon.example", "token": TOKEN}, "targets[0].instance: expected"),
        ({"instance": "https://m.example"}, "targets[0].token: is required"),
        ({"instance": "https://m.example", "token": "${NO_SUCH_TOKEN_VAR}"}, "NO_SUCH_TOKEN_VAR"),
        ({"instance": "https://m.example", "token": "a b"}, "targets[0].token: expected"),
        (
            {"instance": "https://m.example", "token": TOKEN, "visibility": "everyone"},
            "targets[0].visibility: expected one of",
        ),
        ({"instance": "https://m.example", "token": TOKEN, "language": "english!"}, "language"),
        ({"instance": "https://m.example", "token": TOKEN, "max_characters": 0}, "max_characters"),
        (
            {"instance": "https://m.example", "token": TOKEN, "url_weigth": 23},
            'did you mean "url_weight"',
        ),
        ({"instance": "https://m.example", "token": TOKEN, "sensitive": "yes"}, "sensitive"),
    ],
    ids=[
        "no-instance",
        "no-scheme",
        "no-token",
        "missing-env",
        "spaced-token",
        "visibility",
        "language",
        "zero-limit",
        "typo",
        "sensitive-text",
    ],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="toot", type="mastodon", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    assert str(caught.value).startswith(f"{site.path}: ")
    assert expected in str(caught.value)
    assert TOKEN not in str(caught.value)


# --- golden --------------------------------------------------------------------


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    found = scan(config.site)
    (sample,) = [
        p
        for p in found.posts
        if p.source.endswith("ai-scribes-and-the-future-of-precision-medicine.md")
    ]
    options = {"instance": "https://mastodon.example", "token": "golden-token-000"}
    target_config = TargetConfig(name="fedi", type="mastodon", options=options, source=config.path)
    target = make_target(target_config, config.site)
    body = target.render(render_entry(sample, config.site), KEY).body
    produced = json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, encoding="utf-8")
    assert produced == GOLDEN.read_text(encoding="utf-8")
    assert countable(body["status"]) <= 500 and live_mentions(body["status"]) == []
