"""The Telegram target against a loopback Bot API on 127.0.0.1.

``BotApi`` checks each request as Telegram would (the token in the path, the
method, JSON or multipart, ``chat_id``, HTML mode parsed by the contract's own
``parse_html``, the text and caption limits) and answers in the Bot API's
shape, so a request the real API would refuse fails here too.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_telegram import CHAT, error, ok, parse_html, texts, utf16, validate
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config, parse_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.base import Message, Receipt
from syndicate.targets.registry import make_target
from syndicate.targets.telegram import TelegramTarget

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "telegram.json"
TOKEN = "123456789:AAHfake-token_for_tests_0123456789ab"
KEY = "syn_0123456789abcdef0123456789abcdef"
IMAGE = b"\x89PNG\r\n\x1a\n" + b"cover-bytes" * 10
SUMMARY = "We launched the thing & it works. Thanks @alice, 1 < 2 > 0."


class BotApi:
    """A Bot API that validates like Telegram and answers like it."""

    def __init__(self, server: HTTPServer) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, bytes]]] = []
        self.queued: dict[str, list[Response]] = {}
        self.chat: dict[str, Any] | None = None
        server.expect_request(re.compile(r"/bot.*"), method="POST").respond_with_handler(self)

    def answer(self, method: str, *responses: Response) -> None:
        self.queued.setdefault(method, []).extend(responses)

    def __call__(self, request: Request) -> Response:
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", request.path)
        if match is None or match[1] != TOKEN:
            return error(401, "no such bot")
        method = match[2]
        files: dict[str, bytes] = {}
        if request.mimetype == "application/json":
            params = json.loads(request.get_data())
        elif request.mimetype == "multipart/form-data":
            params = dict(request.form)
            files = {name: part.read() for name, part in request.files.items()}
        else:
            return error(400, f"unexpected content type {request.mimetype}")
        self.calls.append((method, params, files))
        if self.queued.get(method):
            return self.queued[method].pop(0)
        problem = self.problem(method, params, files)
        if problem:
            return error(404 if problem == "Not Found" else 400, problem)
        return ok(100 + len(self.calls), self.chat)

    @staticmethod
    def problem(method: str, params: dict[str, Any], files: dict[str, bytes]) -> str | None:
        if method not in ("sendMessage", "sendPhoto"):
            return "Not Found"
        if str(params.get("chat_id")) != CHAT:
            return "Bad Request: chat not found"
        if params.get("parse_mode") != "HTML":
            return "expected HTML mode in these tests"
        name, limit = ("text", 4096) if method == "sendMessage" else ("caption", 1024)
        text, problems = parse_html(params.get(name) or "")
        if problems:
            return f"Bad Request: can't parse entities: {problems[0]}"
        if utf16(text) > limit:
            return f"Bad Request: message {'caption ' if name == 'caption' else ''}is too long"
        if method == "sendMessage" and not text.strip():
            return "Bad Request: message text is empty"
        if method == "sendPhoto" and not (files.get("photo") or params.get("photo")):
            return "Bad Request: there is no photo in the request"
        return None


@pytest.fixture
def site(tmp_path: Path) -> Config:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "cover.png").write_bytes(IMAGE)
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch <b>day</b> & more ✓",
                "2026-04-10 09:30:00 +0200",
                SUMMARY + "\n\nMore below.",
                categories="[News]",
                image="/assets/cover.png",
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


def variant(entry: Entry, summary: str | None = None, **post_fields: Any) -> Entry:
    """The entry with another summary or other post fields."""
    changed = dataclasses.replace(entry.post, **post_fields)
    return dataclasses.replace(
        entry, post=changed, summary=entry.summary if summary is None else summary
    )


MakeBot = Callable[..., TelegramTarget]


@pytest.fixture
def make_bot(site: Config) -> Iterator[MakeBot]:
    made: list[TelegramTarget] = []

    def make(api_url: str = "https://api.telegram.org", **options: Any) -> TelegramTarget:
        options = {"token": TOKEN, "chat_id": CHAT, "api_url": api_url, **options}
        config = TargetConfig(name="tg", type="telegram", options=options, source=site.path)
        target = make_target(config, site.site)
        assert isinstance(target, TelegramTarget)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


@pytest.fixture
def api(httpserver: HTTPServer) -> BotApi:
    return BotApi(httpserver)


def visible(message: Message, name: str = "text") -> str:
    return parse_html(message.body["params"][name])[0]


# --- render ------------------------------------------------------------------


def test_a_post_with_an_image_is_a_photo_with_the_text_as_caption(
    make_bot: MakeBot, entry: Entry
) -> None:
    message = make_bot().render(entry, KEY)
    url = entry.post.url
    caption = (
        "<b>Launch &lt;b&gt;day&lt;/b&gt; &amp; more ✓</b>\n\n"
        "We launched the thing &amp; it works. Thanks @\u200balice, 1 &lt; 2 &gt; 0.\n\n"
        f"{url}"
    )
    assert message.body == {
        "method": "sendPhoto",
        "params": {
            "chat_id": CHAT,
            "photo": "https://blog.example.com/assets/cover.png",
            "caption": caption,
            "parse_mode": "HTML",
            "disable_notification": False,
        },
        "fallback": {
            "method": "sendMessage",
            "params": {
                "chat_id": CHAT,
                "text": caption,
                "parse_mode": "HTML",
                "link_preview_options": {"url": url, "prefer_large_media": True},
                "disable_notification": False,
            },
        },
    }
    assert message.headers == {} and message.key == KEY and message.target == "tg"
    assert validate(message) == []
    assert visible(message, "caption").startswith("Launch <b>day</b> & more ✓\n")
    assert make_bot().render(entry, KEY) == message


def test_no_image_means_a_message_with_a_large_preview_of_the_post(
    make_bot: MakeBot, entry: Entry
) -> None:
    message = make_bot().render(variant(entry, image=None), KEY)
    assert message.body["method"] == "sendMessage" and "fallback" not in message.body
    params = message.body["params"]
    assert params["link_preview_options"] == {"url": entry.post.url, "prefer_large_media": True}
    assert visible(message).endswith("\n\n" + entry.post.url)
    assert validate(message) == []


@pytest.mark.parametrize(
    ("options", "image", "method"),
    [
        ({"photo": "never"}, "https://blog.example.com/assets/cover.png", "sendMessage"),
        ({}, "https://blog.example.com/assets/diagram.svg", "sendMessage"),
        ({}, "https://cdn.example.com/i/12345?size=large", "sendPhoto"),
    ],
    ids=["never", "svg", "no-suffix"],
)
def test_when_the_image_is_a_photo(
    make_bot: MakeBot, entry: Entry, options: dict[str, str], image: str, method: str
) -> None:
    message = make_bot(**options).render(variant(entry, image=image), KEY)
    assert message.body["method"] == method


def test_a_text_too_long_for_a_caption_becomes_a_message(make_bot: MakeBot, entry: Entry) -> None:
    summary = "A sentence about the launch that goes on. " * 40  # ~1700 characters
    message = make_bot().render(variant(entry, summary), KEY)
    assert message.body["method"] == "sendMessage"
    text = visible(message)
    assert "…" not in text  # the whole summary fits 4096
    assert " ".join(summary.split()) in text
    assert validate(message) == []


def test_photo_always_shortens_the_caption_and_keeps_the_link(
    make_bot: MakeBot, entry: Entry
) -> None:
    summary = "A sentence about the launch that goes on. " * 40
    message = make_bot(photo="always").render(variant(entry, summary), KEY)
    assert message.body["method"] == "sendPhoto"
    caption = visible(message, "caption")
    assert 1000 < utf16(caption) <= 1024
    assert caption.endswith("…\n\n" + entry.post.url)
    # The fallback message keeps the whole summary: it has 4096 to spend.
    fallback = parse_html(message.body["fallback"]["params"]["text"])[0]
    assert "…" not in fallback
    assert validate(message) == []


def test_a_long_summary_is_cut_at_a_word_within_4096(make_bot: MakeBot, entry: Entry) -> None:
    summary = "Words and more words, " * 400  # ~8800 characters
    message = make_bot().render(variant(entry, summary, image=None), KEY)
    text = visible(message)
    assert utf16(text) <= 4096 and utf16(text) > 4000
    assert re.search(r"\w…\n\n" + re.escape(entry.post.url) + "$", text)
    assert validate(message) == []


def test_length_is_counted_in_utf16_units(make_bot: MakeBot, entry: Entry) -> None:
    # 600 emoji are 600 code points but 1200 UTF-16 units: too long for a
    # caption when units are counted, as Telegram's limits are here.
    summary = "😀" * 600
    message = make_bot().render(variant(entry, summary), KEY)
    assert message.body["method"] == "sendMessage"
    long_one = make_bot().render(variant(entry, "😀 " * 3000, image=None), KEY)
    text = visible(long_one)
    assert utf16(text) <= 4096 < 2 * len(text)
    assert validate(message) == [] and validate(long_one) == []


def test_shortening_never_leaves_half_an_entity(make_bot: MakeBot, entry: Entry) -> None:
    summary = "AT&T <tag> " * 800
    for options in ({}, {"photo": "always"}):
        message = make_bot(**options).render(variant(entry, summary), KEY)
        assert validate(message) == []
        for params in (message.body["params"], message.body.get("fallback", {}).get("params")):
            if params:
                markup = params.get("caption") or params["text"]
                assert not re.search(r"&(?!amp;|lt;|gt;|quot;|#)", markup)


def test_mentions_are_defused_unless_switched_off(make_bot: MakeBot, entry: Entry) -> None:
    summary = "Thanks @alice and @bob_the_builder, mail ada@example.com"
    defused = visible(make_bot().render(variant(entry, summary, image=None), KEY))
    assert "@\u200balice" in defused and "@\u200bbob_the_builder" in defused
    assert "ada@example.com" in defused
    live = make_bot(defuse_mentions=False).render(variant(entry, summary, image=None), KEY)
    assert "Thanks @alice and @bob_the_builder" in visible(live)


def test_a_link_with_markup_characters_stays_whole(make_bot: MakeBot, entry: Entry) -> None:
    url = 'https://blog.example.com/fish&chips/"quoted"?a=1&b=<2>'
    target = make_bot(template='<a href="{{ post.url }}">{{ post.title }}</a>\n{{ post.url }}')
    message = target.render(variant(entry, url=url, image=None), KEY)
    markup = message.body["params"]["text"]
    assert markup.startswith('<a href="https://blog.example.com/fish&amp;chips/&quot;quoted')
    assert texts(message) == [f"Launch <b>day</b> & more ✓\n{url}"]
    assert message.body["params"]["link_preview_options"]["url"] == url


def test_template_override_inline_and_from_a_file(
    make_bot: MakeBot, entry: Entry, tmp_path: Path
) -> None:
    template = "<i>{{ post.title }}</i> ({{ post.categories | join(', ') }}) {{ post.url }}"
    (tmp_path / "tg.j2").write_text(template, encoding="utf-8")
    expected = f"<i>Launch &lt;b&gt;day&lt;/b&gt; &amp; more ✓</i> (News) {entry.post.url}"
    for options in ({"template": template}, {"template_file": "tg.j2"}):
        message = make_bot(**options).render(variant(entry, image=None), KEY)
        assert message.body["params"]["text"] == expected


def test_the_site_title_is_escaped_for_html(site: Config, entry: Entry) -> None:
    odd = dataclasses.replace(site.site, title="R&D <lab>")
    config = TargetConfig(
        name="tg",
        type="telegram",
        options={"token": TOKEN, "chat_id": CHAT, "template": "{{ site.title }} {{ post.url }}"},
        source=site.path,
    )
    message = make_target(config, odd).render(variant(entry, image=None), KEY)
    assert message.body["params"]["text"].startswith("R&amp;D &lt;lab&gt; https://")


def test_a_template_longer_than_the_limit_is_a_permanent_render_error(
    make_bot: MakeBot, entry: Entry
) -> None:
    target = make_bot(template="x" * 4100 + " {{ post.url }}")
    with pytest.raises(PermanentError) as caught:
        target.render(entry, KEY)
    assert "shorten the template" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"template": "<b>{{ post.title }}\n{% if %}"}, "targets[0].template: line 2"),
        ({"template": "<b>{{ post.title }}"}, "targets[0].template: not valid Telegram HTML"),
        ({"template": "<h1>{{ post.title }}</h1>"}, "<h1> is not a tag Telegram supports"),
        ({"template": "{{ post.title }} & more"}, 'a bare "&"'),
        ({"template": "{{ post.nope }}"}, "targets[0].template: "),
        ({"template_file": "missing.j2"}, "targets[0].template_file: cannot read"),
    ],
    ids=["syntax", "unclosed", "unknown-tag", "bare-amp", "undefined", "missing-file"],
)
def test_template_errors_are_config_errors(
    make_bot: MakeBot, options: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_bot(**options)
    assert expected in str(caught.value)


def test_render_matches_golden() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    found = scan(config.site)
    post_ = next(p for p in found.posts if "ai-scribes" in p.source)
    target_config = TargetConfig(
        name="telegram",
        type="telegram",
        options={"token": TOKEN, "chat_id": "@clinical_notes"},
        source=config.path,
    )
    target = make_target(target_config, config.site)
    message = target.render(render_entry(post_, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, encoding="utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert message.body["method"] == "sendPhoto"
    assert TOKEN not in produced


# --- send --------------------------------------------------------------------


def test_send_message_posts_json_and_returns_the_message_link(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    target = make_bot(httpserver.url_for("/"))
    message = target.render(variant(entry, image=None), KEY)
    receipt = target.send(message)
    assert receipt == Receipt(remote_id="101", remote_url="https://t.me/syndicate_test/101")
    [(method, params, files)] = api.calls
    assert (method, params, files) == ("sendMessage", message.body["params"], {})
    request, _ = httpserver.log[0]
    assert request.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["Content-Type"] == "application/json"
    assert TOKEN not in repr(message)


@pytest.mark.parametrize(
    ("chat_id", "chat", "url"),
    [
        (-1001234567890, {"id": -1001234567890, "type": "channel", "username": "pub"}, "pub"),
        ("-1001234567890", {"id": -1001234567890, "type": "supergroup"}, None),
        (987654321, {"id": 987654321, "type": "private", "username": "someone"}, None),
    ],
    ids=["numeric-public-channel", "private-group", "private-chat"],
)
def test_the_message_link_comes_from_the_chat(
    httpserver: HTTPServer,
    make_bot: MakeBot,
    entry: Entry,
    chat_id: int | str,
    chat: dict[str, Any],
    url: str | None,
) -> None:
    httpserver.expect_oneshot_request(f"/bot{TOKEN}/sendMessage").respond_with_response(
        ok(77, chat)
    )
    target = make_bot(httpserver.url_for("/"), chat_id=chat_id)
    message = target.render(variant(entry, image=None), KEY)
    assert message.body["params"]["chat_id"] == int(chat_id)
    receipt = target.send(message)
    assert receipt.remote_id == "77"
    assert receipt.remote_url == (f"https://t.me/{url}/77" if url else None)


def test_send_photo_by_url(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    target = make_bot(httpserver.url_for("/"), silent=True)
    message = target.render(entry, KEY)
    assert target.send(message) == Receipt("101", "https://t.me/syndicate_test/101")
    [(method, params, _)] = api.calls
    assert method == "sendPhoto"
    assert params["photo"] == "https://blog.example.com/assets/cover.png"
    assert params["disable_notification"] is True


def test_an_image_telegram_cannot_fetch_is_uploaded(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    api.answer("sendPhoto", error(400, "Bad Request: wrong file identifier/HTTP URL specified"))
    target = make_bot(httpserver.url_for("/"))
    message = target.render(entry, KEY)
    receipt = target.send(message)
    assert receipt.remote_id == "102"
    (_, first, _), (method, form, files) = api.calls
    assert method == "sendPhoto" and first["photo"].startswith("https://")
    assert files == {"photo": IMAGE}  # read from the site's source folder
    assert form == {
        "chat_id": CHAT,
        "caption": message.body["params"]["caption"],
        "parse_mode": "HTML",
        "disable_notification": "false",
    }


def test_an_image_refused_twice_leaves_the_text_message(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    refused = "Bad Request: IMAGE_PROCESS_FAILED"
    api.answer("sendPhoto", error(400, refused), error(400, refused))
    target = make_bot(httpserver.url_for("/"))
    message = target.render(entry, KEY)
    receipt = target.send(message)
    assert [call[0] for call in api.calls] == ["sendPhoto", "sendPhoto", "sendMessage"]
    assert api.calls[2][1] == message.body["fallback"]["params"]
    assert receipt.remote_id == "103"


def test_an_unloadable_image_goes_straight_to_the_text_message(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    api.answer("sendPhoto", error(400, "Bad Request: failed to get HTTP URL content"))
    target = make_bot(httpserver.url_for("/"))
    missing = variant(entry, image="https://blog.example.com/assets/missing.png")
    target.send(target.render(missing, KEY))
    assert [call[0] for call in api.calls] == ["sendPhoto", "sendMessage"]


def test_a_bad_caption_is_permanent_without_a_fallback(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    api.answer("sendPhoto", error(400, "Bad Request: can't parse entities: unclosed tag"))
    target = make_bot(httpserver.url_for("/"))
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(entry, KEY))
    assert "can't parse entities" in str(caught.value)
    assert len(api.calls) == 1


@pytest.mark.parametrize(
    ("response", "hint"),
    [
        (error(429, "flood", retry_after=13), 13.0),
        (error(429, "flood", retry_after=2.5), 2.5),
        (error(429, "no hint", retry_after="soon"), None),
    ],
    ids=["seconds", "fraction", "unusable"],
)
def test_429_honours_parameters_retry_after(
    httpserver: HTTPServer,
    api: BotApi,
    make_bot: MakeBot,
    entry: Entry,
    response: Response,
    hint: float | None,
) -> None:
    api.answer("sendMessage", response)
    target = make_bot(httpserver.url_for("/"))
    with pytest.raises(TransientError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert caught.value.retry_after == hint
    assert not caught.value.ambiguous
    assert str(caught.value).startswith("HTTP 429")


def test_a_retry_after_header_wins_over_the_body(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    response = error(429, "flood", retry_after=13)
    response.headers["Retry-After"] = "30"
    api.answer("sendMessage", response)
    target = make_bot(httpserver.url_for("/"))
    with pytest.raises(TransientError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("response", "says", "not_says"),
    [
        (error(401, "Unauthorized"), "renew it", None),
        (
            error(403, "Forbidden: bot was kicked from the channel chat"),
            "add it to the chat",
            "renew",
        ),
        (error(404, "Not Found"), "check the token and api_url", None),
        (error(400, "Bad Request: message is too long"), "message is too long", None),
        (
            error(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1009876543210),
            "set chat_id = -1009876543210",
            None,
        ),
    ],
    ids=["401", "403", "404", "too-long", "migrated"],
)
def test_permanent_answers(
    httpserver: HTTPServer,
    api: BotApi,
    make_bot: MakeBot,
    entry: Entry,
    response: Response,
    says: str,
    not_says: str | None,
) -> None:
    api.answer("sendMessage", response)
    target = make_bot(httpserver.url_for("/"))
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert says in str(caught.value)
    assert not_says is None or not_says not in str(caught.value)
    assert len(api.calls) == 1


def test_a_5xx_is_transient(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    api.answer("sendMessage", error(502, "Bad Gateway"))
    target = make_bot(httpserver.url_for("/"))
    with pytest.raises(TransientError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert not caught.value.ambiguous and caught.value.retry_after is None


def test_a_2xx_that_is_not_a_bot_api_answer_is_ambiguous(
    httpserver: HTTPServer, api: BotApi, make_bot: MakeBot, entry: Entry
) -> None:
    api.answer("sendMessage", Response("<html>captive portal</html>", status=200))
    target = make_bot(httpserver.url_for("/"))
    with pytest.raises(TransientError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert caught.value.ambiguous
    assert "may have been posted" in str(caught.value)


@pytest.fixture
def stalled() -> Iterator[HTTPServer]:
    """A Bot API that takes the request and answers only at teardown."""
    release = threading.Event()
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)

    def stall(request: Request) -> Response:
        release.wait(timeout=30)
        return ok()

    server.expect_request(re.compile(".*")).respond_with_handler(stall)
    server.start()
    yield server
    release.set()
    server.stop()


def test_no_answer_in_time_is_ambiguous_and_held_by_default(
    stalled: HTTPServer, make_bot: MakeBot, entry: Entry
) -> None:
    target = make_bot(stalled.url_for("/"), read_timeout=0.3)
    with pytest.raises(TransientError) as caught:
        target.send(target.render(variant(entry, image=None), KEY))
    assert caught.value.ambiguous
    assert not target.idempotent and not target.retries_ambiguous()
    assert make_bot(on_ambiguous="retry").retries_ambiguous()


# --- secrets -----------------------------------------------------------------


def test_the_token_never_reaches_errors_or_logs(
    httpserver: HTTPServer,
    api: BotApi,
    make_bot: MakeBot,
    entry: Entry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="syndicate")
    caplog.set_level(logging.WARNING, logger="werkzeug")
    path = f"/bot{TOKEN}/sendPhoto"
    api.answer("sendPhoto", error(400, f"Bad Request: wrong file identifier/HTTP URL {path}"))
    api.answer("sendMessage", error(401, f"Unauthorized: token {TOKEN} at {path}"))
    target = make_bot(httpserver.url_for("/"), photo="always")
    missing = variant(entry, image="https://blog.example.com/assets/missing.png")
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(missing, KEY))
    assert "renew it" in str(caught.value)
    assert "Telegram did not take the image URL" in caplog.text
    for leaked in (TOKEN, TOKEN.split(":")[1]):
        assert leaked not in str(caught.value)
        assert leaked not in caplog.text


def test_the_token_is_not_in_connection_errors(make_bot: MakeBot, entry: Entry) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
        port = closed.getsockname()[1]
        target = make_bot(f"http://127.0.0.1:{port}")
        with pytest.raises(TransientError) as caught:
            target.send(target.render(variant(entry, image=None), KEY))
    assert not caught.value.ambiguous
    assert "connection failed" in str(caught.value)
    assert "/***/sendMessage" in str(caught.value)
    assert TOKEN not in str(caught.value)


# --- config ------------------------------------------------------------------


def test_through_parse_config_and_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_TOKEN", TOKEN)
    raw = {
        "name": "channel",
        "type": "telegram",
        "token": "${TELEGRAM_TOKEN}",
        "chat_id": -1001234567890,
        "photo": "never",
        "silent": True,
        "read_timeout": 12,
    }
    config = parse_config(
        {"site": {"title": "T", "url": "https://blog.example.com"}, "targets": [raw]},
        tmp_path / "config" / "syndicate.toml",
    )
    target = make_target(config.targets[0], config.site)
    assert isinstance(target, TelegramTarget)
    assert (target.token, target.chat_id, target.photo, target.silent) == (
        TOKEN,
        -1001234567890,
        "never",
        True,
    )
    assert (target.api_url, target.connect_timeout, target.read_timeout) == (
        "https://api.telegram.org",
        5.0,
        12.0,
    )
    assert target.on_ambiguous == "hold" and target.defuse
    assert set(TelegramTarget.fields) == {
        "token",
        "chat_id",
        "photo",
        "silent",
        "defuse_mentions",
        "api_url",
        "connect_timeout",
        "read_timeout",
    }
    assert len(TelegramTarget.limits) == 3


def test_api_url_loses_its_trailing_slash(make_bot: MakeBot) -> None:
    assert make_bot("https://tg.example.com/proxy/").api_url == "https://tg.example.com/proxy"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"token": None}, "targets[0].token: is required"),
        ({"token": "abc/def:ghijkl"}, "targets[0].token: expected a bot token"),
        ({"token": "12:ab"}, "targets[0].token: expected a bot token"),
        ({"chat_id": None}, 'targets[0].chat_id: is required ("@channelname"'),
        ({"chat_id": "mychannel"}, 'targets[0].chat_id: expected "@channelname"'),
        ({"chat_id": 1.5}, "targets[0].chat_id: expected a string"),
        ({"chat_id": True}, "targets[0].chat_id: expected a string"),
        ({"api_url": "ftp://tg.example.com"}, "targets[0].api_url: expected an http"),
        ({"api_url": "https://tg.example.com/?x=1"}, "targets[0].api_url: expected a URL without"),
        ({"photo": "sometimes"}, 'targets[0].photo: expected one of "auto"'),
        ({"silent": "yes"}, "targets[0].silent: expected true or false"),
        ({"chat": "@x"}, 'targets[0].chat: unknown key (did you mean "chat_id"?)'),
    ],
    ids=[
        "no-token",
        "token-slash",
        "token-short",
        "no-chat",
        "chat-no-at",
        "chat-float",
        "chat-bool",
        "api-ftp",
        "api-query",
        "photo-mode",
        "silent-text",
        "typo",
    ],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    merged = {"token": TOKEN, "chat_id": CHAT, **options}
    merged = {key: value for key, value in merged.items() if value is not None}
    config = TargetConfig(name="tg", type="telegram", options=merged, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    message = str(caught.value)
    assert message.startswith(f"{site.path}: ") and expected in message
    if options.get("token"):
        assert options["token"] not in message


@pytest.mark.parametrize(
    ("chat_id", "kept"), [("@my_channel", "@my_channel"), ("-100123", -100123)]
)
def test_chat_id_forms(make_bot: MakeBot, chat_id: str, kept: str | int) -> None:
    assert make_bot(chat_id=chat_id).chat_id == kept


# --- the contract's validator ------------------------------------------------


@pytest.mark.parametrize(
    ("markup", "problem"),
    [
        ("a < b", "unescaped <"),
        ("a > b", "unescaped >"),
        ("AT&T", "unescaped &"),
        ("&nbsp;", "unescaped &"),
        ("<b>bold", "<b> never closed"),
        ("<b><i>x</b></i>", "unbalanced </b>"),
        ("<h1>x</h1>", "unsupported tag <h1>"),
        ("x" * 4097, "4097 UTF-16 units"),
        ("😀" * 2049, "4098 UTF-16 units"),
        ("hi @alice", "live @mention"),
        ("   ", "text is empty"),
    ],
)
def test_the_contract_validator_catches_what_telegram_refuses(
    make_bot: MakeBot, entry: Entry, markup: str, problem: str
) -> None:
    message = make_bot().render(variant(entry, image=None), KEY)
    params = {**message.body["params"], "text": markup}
    broken = dataclasses.replace(message, body={**message.body, "params": params})
    assert any(problem in found for found in validate(broken))
    assert validate(message) == []
