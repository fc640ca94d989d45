"""The Slack target against a loopback server that answers like an incoming webhook.

The fake webhook checks each request as Slack does (JSON body, block kinds and
limits, mrkdwn that cannot ping) with the contract row's own validator, which
is written from Slack's documentation, not from the module under test.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from contract_slack import validate
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate import __version__
from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.base import Message, Receipt
from syndicate.targets.registry import make_target
from syndicate.targets.slack import SlackTarget

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "slack.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
TOKEN = "xoxwebhooktoken0123456789"
PATH = f"/services/T0AAAAAAA/B0BBBBBBB/{TOKEN}"
ZWSP = "\u200b"


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch & <!channel> day",
                "2026-04-10 09:30:00 +0200",
                "We *launched* <@U123> & more @here.\n\nMore below.",
                image="/assets/cover.jpg",
                image_alt='"A rocket on the pad"',
            )
        },
    )


def entry_of(site: Config, index: int = 0) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[index], site.site)


@pytest.fixture
def entry(site: Config) -> Entry:
    return entry_of(site)


MakeSlack = Callable[..., SlackTarget]


@pytest.fixture
def make_slack(site: Config) -> Iterator[MakeSlack]:
    made: list[SlackTarget] = []

    def make(url: str = "https://hooks.slack.com" + PATH, **options: Any) -> SlackTarget:
        config = TargetConfig(
            name="team-slack", type="slack", options={"url": url, **options}, source=site.path
        )
        target = make_target(config, site.site)
        assert isinstance(target, SlackTarget)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def slack_webhook(broken_images: tuple[str, ...] = ()) -> Callable[[Request], Response]:
    """An incoming webhook: 200 "ok" for a valid message, Slack's error strings otherwise."""

    def handle(request: Request) -> Response:
        if request.method != "POST" or request.mimetype != "application/json":
            return Response("invalid_payload", status=400)
        try:
            body = json.loads(request.get_data())
        except ValueError:
            return Response("invalid_payload", status=400)
        problems = validate(Message(target="t", key="k", body=body))
        if problems:
            return Response("invalid_blocks", status=400)
        for block in body.get("blocks", []):
            if block["type"] == "image" and block["image_url"].startswith(broken_images):
                # What Slack says when it cannot fetch an image block's picture.
                return Response("invalid_blocks: downloading image failed", status=400)
        return Response("ok", content_type="text/html")

    return handle


def section(message: Message) -> str:
    texts = [b["text"]["text"] for b in message.body["blocks"] if b["type"] == "section"]
    assert len(texts) == 1
    return str(texts[0])


def kinds(message: Message) -> list[str]:
    return [block["type"] for block in message.body["blocks"]]


# --- render ------------------------------------------------------------------


def test_render_is_header_section_image(make_slack: MakeSlack, entry: Entry) -> None:
    target = make_slack()
    message = target.render(entry, KEY)
    assert (message.target, message.key, message.headers) == ("team-slack", KEY, {})
    assert kinds(message) == ["header", "section", "image"]
    header, _, image = message.body["blocks"]
    assert header["text"] == {
        "type": "plain_text",
        "text": "Launch & <!channel> day",
        "emoji": True,
    }
    assert image == {
        "type": "image",
        "image_url": "https://blog.example.com/assets/cover.jpg",
        "alt_text": "A rocket on the pad",
    }
    assert message.body["unfurl_links"] is False and message.body["unfurl_media"] is False
    assert section(message).endswith(f"\n\n<{entry.post.url}>")
    assert message.body["text"] == f"Launch &amp; &lt;!channel&gt; day <{entry.post.url}>"
    assert validate(message) == []
    assert target.render(entry, KEY) == message  # pure: the same post, the same message


def test_post_text_cannot_ping_or_link(make_slack: MakeSlack, entry: Entry) -> None:
    text = section(make_slack().render(entry, KEY))
    assert text.startswith(f"We launched &lt;@{ZWSP}U123&gt; &amp; more @{ZWSP}here.")
    assert "<@" not in text and "<!" not in text


def test_the_validator_catches_live_markup(make_slack: MakeSlack, entry: Entry) -> None:
    message = make_slack().render(entry, KEY)
    raw = json.loads(json.dumps(message.body).replace("&lt;!channel&gt;", "<!channel>"))
    assert any("live control sequence" in p for p in validate(Message("t", KEY, raw)))
    raw["text"] = "ping @channel now"
    assert "text: a plain-text mass mention" in validate(Message("t", KEY, raw))


def test_long_texts_are_cut_at_words_and_the_link_kept(site: Config, make_slack: MakeSlack) -> None:
    words = " ".join(f"word{i}" for i in range(1500))
    base = entry_of(site)
    long_entry = replace(base, post=replace(base.post, title="Title " * 40), summary=words)
    message = make_slack().render(long_entry, KEY)
    header = message.body["blocks"][0]["text"]["text"]
    assert len(header) <= 150 and header.endswith("Title…")
    text = section(message)
    assert len(text) <= 3000
    assert text.endswith(f"…\n\n<{base.post.url}>")
    assert text.split("…")[0].split()[-1].startswith("word")  # a whole word before the cut
    assert validate(message) == []


def test_image_alt_falls_back_to_the_title_and_can_be_switched_off(
    tmp_path: Path, make_slack: MakeSlack
) -> None:
    site = make_site(
        tmp_path / "other",
        {"2026-01-01-a.md": post("Cover story", "2026-01-01", image="/img/c.png")},
    )
    target = make_target(
        TargetConfig(name="s", type="slack", options={"url": "https://h.example/x"}),
        site.site,
    )
    message = target.render(entry_of(site), KEY)
    assert message.body["blocks"][-1]["alt_text"] == "Cover story"
    no_image = make_slack(image=False).render(entry_of(site), KEY)
    assert kinds(no_image) == ["header", "section"]


def test_a_link_with_characters_that_would_break_it_is_encoded(
    make_slack: MakeSlack, entry: Entry
) -> None:
    odd = replace(entry, post=replace(entry.post, url="https://b.example/a|b>c d.html"))
    message = make_slack().render(odd, KEY)
    assert section(message).endswith("<https://b.example/a%7Cb%3Ec%20d.html>")
    assert validate(message) == []


def test_template_override_escapes_values(make_slack: MakeSlack, entry: Entry) -> None:
    target = make_slack(template="*{{ post.title }}* ({{ post.categories | join(', ') }})")
    assert section(target.render(entry, KEY)) == "*Launch &amp; &lt;!channel&gt; day* ()"


def test_template_file_is_read_from_the_site_root(
    site: Config, make_slack: MakeSlack, entry: Entry
) -> None:
    (site.root / "slack.j2").write_text("New: {{ post.url }}", "utf-8")
    assert section(make_slack(template_file="slack.j2").render(entry, KEY)) == (
        f"New: {entry.post.url}"
    )


def test_a_template_syntax_error_is_a_config_error_with_the_line(make_slack: MakeSlack) -> None:
    with pytest.raises(ConfigError) as caught:
        make_slack(template="fine\n{{ post.title ")
    assert "targets[0].template: line 2:" in str(caught.value)


def test_a_template_too_long_to_fit_fails_that_delivery(
    make_slack: MakeSlack, entry: Entry
) -> None:
    target = make_slack(template="x" * 3001 + "{{ post.url }}")
    with pytest.raises(PermanentError) as caught:
        target.render(entry, KEY)
    assert "the limit is 3000: shorten the template" in str(caught.value)


# --- send --------------------------------------------------------------------


def test_send_posts_the_message(
    httpserver: HTTPServer, make_slack: MakeSlack, entry: Entry
) -> None:
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_handler(slack_webhook())
    target = make_slack(httpserver.url_for(PATH))
    message = target.render(entry, KEY)
    assert target.send(message) == Receipt()  # Slack returns no id
    httpserver.check_assertions()
    request, response = httpserver.log[0]
    assert response.status_code == 200
    assert request.headers["User-Agent"] == f"syndicate/{__version__}"
    assert json.loads(request.get_data()) == message.body


def test_an_image_slack_cannot_fetch_does_not_cost_the_post(
    httpserver: HTTPServer, make_slack: MakeSlack, entry: Entry
) -> None:
    httpserver.expect_request(PATH).respond_with_handler(
        slack_webhook(broken_images=("https://blog.example.com/assets/",))
    )
    target = make_slack(httpserver.url_for(PATH))
    assert target.send(target.render(entry, KEY)) == Receipt()
    sent = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert [[b["type"] for b in body["blocks"]] for body in sent] == [
        ["header", "section", "image"],
        ["header", "section"],
    ]
    assert [response.status_code for _, response in httpserver.log] == [400, 200]


def test_another_bad_request_is_dead_and_not_resent(
    httpserver: HTTPServer, make_slack: MakeSlack, entry: Entry
) -> None:
    httpserver.expect_request(PATH).respond_with_data("invalid_payload", status=400)
    target = make_slack(httpserver.url_for(PATH))
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(entry, KEY))
    assert str(caught.value) == "HTTP 400: invalid_payload"
    assert len(httpserver.log) == 1


@pytest.mark.parametrize(
    ("status", "answer", "kind", "says"),
    [
        (429, "rate_limited", TransientError, "HTTP 429"),
        (500, "rollup_error", TransientError, "HTTP 500"),
        (403, "action_prohibited", PermanentError, "renew it"),
        (404, "no_service", PermanentError, "create a new one and update url"),
        (410, "channel_is_archived", PermanentError, "the endpoint is gone"),
    ],
)
def test_answers(
    httpserver: HTTPServer,
    make_slack: MakeSlack,
    entry: Entry,
    status: int,
    answer: str,
    kind: type[Exception],
    says: str,
) -> None:
    headers = {"Retry-After": "3"} if status == 429 else {}
    httpserver.expect_request(PATH).respond_with_data(answer, status=status, headers=headers)
    target = make_slack(httpserver.url_for(PATH))
    with pytest.raises(kind) as caught:
        target.send(target.render(entry, KEY))
    assert says in str(caught.value) and answer in str(caught.value)
    if status == 429:
        assert isinstance(caught.value, TransientError) and caught.value.retry_after == 3.0


def test_the_webhook_url_never_shows(
    httpserver: HTTPServer,
    make_slack: MakeSlack,
    entry: Entry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="syndicate")
    echo = f"no_service for {PATH} (token {TOKEN})"
    httpserver.expect_request(PATH).respond_with_data(echo, status=404)
    target = make_slack(httpserver.url_for(PATH))
    message = target.render(entry, KEY)
    with pytest.raises(PermanentError) as caught:
        target.send(message)
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)
    # The loopback server's own access log (werkzeug) is the receiver's, not ours.
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("werkzeug")]
    assert not any(TOKEN in line for line in ours)
    assert TOKEN not in json.dumps(message.body)  # --dry-run shows the body


def test_ambiguous_outcomes_are_held_unless_configured(make_slack: MakeSlack) -> None:
    assert not SlackTarget.idempotent
    assert not make_slack().retries_ambiguous()
    assert make_slack(on_ambiguous="retry").retries_ambiguous()


# --- config ------------------------------------------------------------------


def test_url_from_the_environment(monkeypatch: pytest.MonkeyPatch, make_slack: MakeSlack) -> None:
    monkeypatch.setenv("SLACK_HOOK", "https://hooks.slack.com" + PATH)
    target = make_slack("${SLACK_HOOK}", read_timeout=3, connect_timeout=1.5)
    assert target.url == "https://hooks.slack.com" + PATH
    assert (target.connect_timeout, target.read_timeout) == (1.5, 3.0)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "targets[0].url: is required"),
        ({"url": "hooks.slack.com/services/x"}, "targets[0].url: expected the webhook's http"),
        ({"url": "https://h.example/x y"}, "targets[0].url: expected a URL without spaces"),
        ({"url": "https://h.example/x", "imgae": False}, 'unknown key (did you mean "image"?)'),
        ({"url": "https://h.example/x", "read_timeout": 0}, "targets[0].read_timeout: expected"),
        (
            {"url": "https://h.example/x", "template": "a", "template_file": "b"},
            "targets[0].template_file: set either template or template_file",
        ),
        ({"url": "https://h.example/x", "template_file": "missing.j2"}, "cannot read"),
    ],
    ids=["no-url", "not-http", "space", "typo", "zero-timeout", "two-templates", "no-file"],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="s", type="slack", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    assert str(caught.value).startswith(f"{site.path}: ") and expected in str(caught.value)
    if "url" in options:
        assert options["url"] not in str(caught.value)


def test_fields_and_limits_are_described() -> None:
    assert set(SlackTarget.fields) == {
        "url",
        "template",
        "template_file",
        "image",
        "connect_timeout",
        "read_timeout",
    }
    assert any("3000" in line for line in SlackTarget.limits)


# --- the sample post, by eye -----------------------------------------------------


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    found = scan(config.site)
    sample = next(
        p
        for p in found.posts
        if p.source.endswith("ai-scribes-and-the-future-of-precision-medicine.md")
    )
    target = make_target(
        TargetConfig(
            name="slack", type="slack", options={"url": "https://h.example/x"}, source=config.path
        ),
        config.site,
    )
    message = target.render(render_entry(sample, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, "utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert validate(message) == []
