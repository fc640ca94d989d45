"""The Discord target against a loopback server that answers like Execute Webhook.

The fake API checks what Discord checks (the versioned path with the token,
``wait=true``, JSON, embed limits and totals, mentions off) with the contract
row's validator, written from Discord's documentation, and answers with
Discord's own shapes: the created message, ``Invalid Form Body``, ``Unknown
Webhook``, and the rate-limit body with ``retry_after``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from contract_discord import unescaped_markup, validate
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.base import Message, Receipt
from syndicate.targets.discord import DiscordTarget
from syndicate.targets.registry import make_target

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "discord.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
HOOK_ID = "223344556677889900"
TOKEN = "dIsCoRdToKeN-0123456789_abcdefABCDEF"
CONFIG_PATH = f"/api/webhooks/{HOOK_ID}/{TOKEN}"
SEND_PATH = f"/api/v10/webhooks/{HOOK_ID}/{TOKEN}"
HOSTILE_TITLE = "**Big** [news](http://evil.example) <@123> @everyone"


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                HOSTILE_TITLE,
                "2026-04-10 09:30:00 +0200",
                "Hello @here, see ~~this~~ and `code`.\n\nMore below.",
                image="/assets/cover.jpg",
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


MakeDiscord = Callable[..., DiscordTarget]


@pytest.fixture
def make_discord(site: Config) -> Iterator[MakeDiscord]:
    made: list[DiscordTarget] = []

    def make(url: str = "https://discord.com" + CONFIG_PATH, **options: Any) -> DiscordTarget:
        config = TargetConfig(
            name="community", type="discord", options={"url": url, **options}, source=site.path
        )
        target = make_target(config, site.site)
        assert isinstance(target, DiscordTarget)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def discord_api(message_id: str = "1311111111111111111") -> Callable[[Request], Response]:
    """Execute Webhook as Discord answers it."""

    def answer(status: int, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def handle(request: Request) -> Response:
        if request.path != SEND_PATH:
            return answer(404, {"message": "Unknown Webhook", "code": 10015})
        if request.args.get("wait") != "true" or request.mimetype != "application/json":
            return answer(400, {"message": "Cannot send an empty message", "code": 50006})
        body = json.loads(request.get_data())
        if validate(Message(target="t", key="k", body=body)):
            return answer(400, {"message": "Invalid Form Body", "code": 50035, "errors": {}})
        created = {"id": message_id, "channel_id": "42", "webhook_id": HOOK_ID, "type": 0}
        return answer(200, {**created, "content": "", "embeds": body["embeds"]})

    return handle


def embed(message: Message) -> dict[str, Any]:
    embeds = message.body["embeds"]
    assert len(embeds) == 1
    result: dict[str, Any] = embeds[0]
    return result


# --- render ------------------------------------------------------------------


def test_render_is_one_embed_with_mentions_off(make_discord: MakeDiscord, entry: Entry) -> None:
    target = make_discord()
    message = target.render(entry, KEY)
    assert set(message.body) == {"embeds", "allowed_mentions"}
    assert message.body["allowed_mentions"] == {"parse": []}
    assert message.headers == {}
    assert embed(message) == {
        "title": r"\*\*Big\*\* \[news\](http://evil.example) \<@123\> @everyone",
        "url": "https://blog.example.com/2026/04/10/launch.html",
        "timestamp": "2026-04-10T09:30:00+02:00",
        "author": {"name": "Ada"},
        "footer": {"text": "Test Blog"},
        "description": r"Hello @here, see ~~this~~ and code.".replace("~", "\\~"),
        "image": {"url": "https://blog.example.com/assets/cover.jpg"},
    }
    assert validate(message) == []
    assert target.render(entry, KEY) == message


def test_the_validator_catches_unescaped_markdown(make_discord: MakeDiscord, entry: Entry) -> None:
    message = make_discord().render(entry, KEY)
    raw = {**message.body, "embeds": [{**embed(message), "title": HOSTILE_TITLE}]}
    assert any(p.startswith("title: unescaped") for p in validate(Message("t", KEY, raw)))
    assert unescaped_markup(r"a \\*b") == ["*"]  # an escaped backslash escapes nothing
    mentions_on = {**message.body, "allowed_mentions": {"parse": ["everyone"]}}
    assert "allowed_mentions must be {'parse': []}" in validate(Message("t", KEY, mentions_on))


def test_leading_block_markers_are_escaped(make_discord: MakeDiscord, entry: Entry) -> None:
    odd = replace(entry, post=replace(entry.post, title="# Heading"), summary="- item 1. two")
    got = embed(make_discord(template="{{ post.summary }}\n{{ post.title }}").render(odd, KEY))
    assert got["title"] == r"\# Heading"
    assert got["description"] == "\\- item 1. two\n\\# Heading"


def test_embed_limits_and_the_6000_total(tmp_path: Path, make_discord: MakeDiscord) -> None:
    site = make_site(
        tmp_path / "big",
        {"2026-01-01-a.md": post("T" * 400, "2026-01-01", "word " * 2000)},
        site={"title": "Site " * 600, "author": {"name": "A" * 300}},
    )
    target = make_target(
        TargetConfig(name="d", type="discord", options={"url": "https://d.example" + CONFIG_PATH}),
        site.site,
    )
    found = render_entry(scan(site.site).posts[0], site.site)
    got = embed(target.render(found, KEY))
    sizes = {
        "title": len(got["title"]),
        "author": len(got["author"]["name"]),
        "footer": len(got["footer"]["text"]),
        "description": len(got["description"]),
    }
    assert sizes["title"] <= 256 and got["title"].endswith("…")
    assert sizes["author"] <= 256 and sizes["footer"] <= 2048
    assert sum(sizes.values()) <= 6000
    assert 3000 < sizes["description"] < 4096  # the total, not 4096, was the limit
    assert got["description"].endswith("word…")


def test_image_only_when_wanted_and_http(make_discord: MakeDiscord, entry: Entry) -> None:
    assert "image" not in embed(make_discord(image=False).render(entry, KEY))
    ftp = replace(entry, post=replace(entry.post, image="ftp://blog.example.com/c.jpg"))
    assert "image" not in embed(make_discord().render(ftp, KEY))


def test_template_override_and_its_errors(make_discord: MakeDiscord, entry: Entry) -> None:
    target = make_discord(template="{{ post.summary }} · {{ site.title }}")
    assert embed(target.render(entry, KEY))["description"].endswith(" · Test Blog")
    with pytest.raises(ConfigError) as caught:
        make_discord(template="{% if post.title %}\nno end")
    assert "targets[0].template: line 2:" in str(caught.value)


def test_an_empty_description_is_left_out(make_discord: MakeDiscord, entry: Entry) -> None:
    assert "description" not in embed(
        make_discord(template="").render(replace(entry, summary=""), KEY)
    )


# --- the URL ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "endpoint"),
    [
        (CONFIG_PATH, f"{SEND_PATH}?wait=true"),
        (f"/api/v6/webhooks/{HOOK_ID}/{TOKEN}/", f"{SEND_PATH}?wait=true"),
        (f"{CONFIG_PATH}?thread_id=77&wait=false", f"{SEND_PATH}?thread_id=77&wait=true"),
    ],
    ids=["as-copied", "old-version", "thread"],
)
def test_the_url_is_sent_to_api_v10_with_wait(
    make_discord: MakeDiscord, given: str, endpoint: str
) -> None:
    assert make_discord("https://discord.com" + given).endpoint == "https://discord.com" + endpoint


@pytest.mark.parametrize(
    "url",
    ["https://discord.com/api/webhooks/123", "https://discord.com/channels/1/2", "ftp://x/y"],
)
def test_a_url_that_is_no_discord_webhook_is_refused_unquoted(
    make_discord: MakeDiscord, url: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_discord(url)
    assert "targets[0].url: expected" in str(caught.value) and url not in str(caught.value)


# --- send --------------------------------------------------------------------


def test_send_waits_for_the_message_and_keeps_its_id(
    httpserver: HTTPServer, make_discord: MakeDiscord, entry: Entry
) -> None:
    httpserver.expect_oneshot_request(SEND_PATH, method="POST").respond_with_handler(discord_api())
    target = make_discord(httpserver.url_for(CONFIG_PATH))
    message = target.render(entry, KEY)
    assert target.send(message) == Receipt(remote_id="1311111111111111111")
    httpserver.check_assertions()
    request, response = httpserver.log[0]
    assert response.status_code == 200
    assert request.args["wait"] == "true"
    assert json.loads(request.get_data()) == message.body


@pytest.mark.parametrize(
    ("headers", "body_hint", "expected"),
    [({}, 2.5, 2.5), ({"Retry-After": "4"}, 3.2, 4.0), ({}, None, None)],
    ids=["body-only", "header-wins", "none"],
)
def test_rate_limits_carry_discords_hint(
    httpserver: HTTPServer,
    make_discord: MakeDiscord,
    entry: Entry,
    headers: dict[str, str],
    body_hint: float | None,
    expected: float | None,
) -> None:
    body: dict[str, Any] = {"message": "You are being rate limited.", "global": False}
    if body_hint is not None:
        body["retry_after"] = body_hint
    httpserver.expect_request(SEND_PATH).respond_with_json(body, status=429, headers=headers)
    target = make_discord(httpserver.url_for(CONFIG_PATH))
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    assert caught.value.retry_after == expected
    assert not caught.value.ambiguous


@pytest.mark.parametrize(
    ("status", "body", "kind", "says"),
    [
        (404, {"message": "Unknown Webhook", "code": 10015}, PermanentError, "was deleted"),
        (401, {"message": "401: Unauthorized", "code": 0}, PermanentError, "renew it"),
        (400, {"message": "Invalid Form Body", "code": 50035}, PermanentError, "Invalid Form"),
        (502, {"message": "Bad Gateway", "code": 0}, TransientError, "HTTP 502"),
    ],
)
def test_answers(
    httpserver: HTTPServer,
    make_discord: MakeDiscord,
    entry: Entry,
    status: int,
    body: dict[str, Any],
    kind: type[Exception],
    says: str,
) -> None:
    httpserver.expect_request(SEND_PATH).respond_with_json(body, status=status)
    target = make_discord(httpserver.url_for(CONFIG_PATH))
    with pytest.raises(kind) as caught:
        target.send(target.render(entry, KEY))
    assert says in str(caught.value)
    assert str(caught.value).startswith(f"HTTP {status}")


def test_the_token_never_shows_even_from_the_rewritten_url(
    make_discord: MakeDiscord, entry: Entry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="syndicate")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
        port = closed.getsockname()[1]
        target = make_discord(f"http://127.0.0.1:{port}{CONFIG_PATH}")
        message = target.render(entry, KEY)
        with pytest.raises(TransientError) as caught:
            target.send(message)
    assert "connection failed" in str(caught.value)
    assert TOKEN not in str(caught.value) and TOKEN not in caplog.text
    assert TOKEN not in json.dumps(message.body)


def test_not_idempotent_and_held_by_default(make_discord: MakeDiscord) -> None:
    assert not DiscordTarget.idempotent
    assert not make_discord().retries_ambiguous()
    assert set(DiscordTarget.fields) == {
        "url",
        "template",
        "template_file",
        "image",
        "connect_timeout",
        "read_timeout",
    }


# --- the sample post, by eye -----------------------------------------------------


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    sample = next(
        p
        for p in scan(config.site).posts
        if p.source.endswith("ai-scribes-and-the-future-of-precision-medicine.md")
    )
    options = {"url": "https://discord.com" + CONFIG_PATH}
    target = make_target(
        TargetConfig(name="discord", type="discord", options=options, source=config.path),
        config.site,
    )
    message = target.render(render_entry(sample, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, "utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert validate(message) == []
