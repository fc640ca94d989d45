"""The Teams target against a loopback server that answers like a Workflows webhook.

The fake flow checks the signature in the query, the JSON envelope and the
Adaptive Card with the contract row's validator (written from Microsoft's
documentation), refuses messages over 28 KB with 413 as Teams does, and
accepts the rest with ``202 Accepted`` and no body.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from contract_teams import validate
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.base import Message, Receipt
from syndicate.targets.registry import make_target
from syndicate.targets.teams import TeamsTarget

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "teams.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
SIG = "wOrKfLoWsIgNaTuRe0123456789"
PATH = "/powerautomate/automations/direct/workflows/9a8b7c/triggers/manual/paths/invoke"
QUERY = f"api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
CARD = "application/vnd.microsoft.card.adaptive"


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "**Big** [news](http://evil.example)",
                "2026-04-10 09:30:00 +0200",
                "We launched_it & more.\n\nMore below.",
                image="/assets/cover.jpg",
                image_alt='"A rocket"',
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


MakeTeams = Callable[..., TeamsTarget]


@pytest.fixture
def make_teams(site: Config) -> Iterator[MakeTeams]:
    made: list[TeamsTarget] = []

    def make(url: str = f"https://env.example.com{PATH}?{QUERY}", **options: Any) -> TeamsTarget:
        config = TargetConfig(
            name="staff", type="teams", options={"url": url, **options}, source=site.path
        )
        target = make_target(config, site.site)
        assert isinstance(target, TeamsTarget)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def workflow(request: Request) -> Response:
    """A Workflows trigger: signature, size, envelope and card checked."""

    def refuse(status: int, code: str) -> Response:
        body = {"error": {"code": code, "message": f"refused: {code}"}}
        return Response(json.dumps(body), status=status, content_type="application/json")

    if request.args.get("sig") != SIG:
        return refuse(401, "DirectApiAuthorizationRequired")
    data = request.get_data()
    if len(data) > 28_000:
        return refuse(413, "MessageTooLarge")
    if request.mimetype != "application/json":
        return refuse(400, "InvalidRequestContent")
    if validate(Message(target="t", key="k", body=json.loads(data))):
        return refuse(400, "InvalidRequestContent")
    return Response("", status=202)


def card(message: Message) -> dict[str, Any]:
    attachments = message.body["attachments"]
    assert len(attachments) == 1 and attachments[0]["contentType"] == CARD
    content: dict[str, Any] = attachments[0]["content"]
    return content


def texts(message: Message) -> list[str]:
    return [e["text"] for e in card(message)["body"] if e["type"] == "TextBlock"]


# --- render ------------------------------------------------------------------


def test_render_is_an_adaptive_card(make_teams: MakeTeams, entry: Entry) -> None:
    target = make_teams()
    message = target.render(entry, KEY)
    assert message.headers == {} and message.key == KEY
    assert message.body["type"] == "message"
    assert card(message) == {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": r"\*\*Big\*\* \[news\](http://evil.example)",
                "size": "Large",
                "weight": "Bolder",
                "wrap": True,
            },
            {"type": "TextBlock", "text": r"We launched\_it & more.", "wrap": True},
            {
                "type": "Image",
                "url": "https://blog.example.com/assets/cover.jpg",
                "altText": "A rocket",
                "size": "Stretch",
            },
        ],
        "actions": [
            {
                "type": "Action.OpenUrl",
                "title": "Read the post",
                "url": "https://blog.example.com/2026/04/10/launch.html",
            }
        ],
    }
    assert validate(message) == []
    assert target.render(entry, KEY) == message


def test_the_validator_catches_markdown_and_size(make_teams: MakeTeams, entry: Entry) -> None:
    message = make_teams().render(entry, KEY)
    raw = json.loads(json.dumps(message.body).replace(r"\\*\\*Big\\*\\*", "**Big**"))
    assert any(p.startswith("TextBlock markup") for p in validate(Message("t", KEY, raw)))
    raw["attachments"][0]["content"]["body"][1]["text"] = "x" * 28_001
    assert any(p.endswith("bytes > 28 KB") for p in validate(Message("t", KEY, raw)))


def test_template_lines_become_paragraphs_and_lists_stay_text(
    make_teams: MakeTeams, entry: Entry
) -> None:
    odd = replace(entry, summary="1. first - second")
    target = make_teams(template="{{ post.summary }}\n{{ site.title }}\n\n\nend", button="Open")
    message = target.render(odd, KEY)
    assert texts(message)[1] == "1\\. first - second\n\nTest Blog\n\nend"
    assert card(message)["actions"][0]["title"] == "Open"


def test_the_message_is_fitted_into_28_kb(make_teams: MakeTeams, entry: Entry) -> None:
    # Three UTF-8 bytes a character: 12,000 characters are 36,000 bytes.
    long = replace(entry, summary="漢字かな交じり文 " * 1300)
    message = make_teams().render(long, KEY)
    size = len(json.dumps(message.body, separators=(",", ":"), ensure_ascii=False).encode())
    assert 25_000 < size <= 27_000
    assert texts(message)[1].endswith("…")
    assert card(message)["actions"][0]["url"] == entry.post.url
    assert validate(message) == []


def test_a_template_too_big_to_fit_fails_that_delivery(make_teams: MakeTeams, entry: Entry) -> None:
    with pytest.raises(PermanentError) as caught:
        make_teams(template="x" * 28_000).render(entry, KEY)
    assert "shorten the template" in str(caught.value)


def test_image_can_be_switched_off(make_teams: MakeTeams, entry: Entry) -> None:
    body = card(make_teams(image=False).render(entry, KEY))["body"]
    assert [e["type"] for e in body] == ["TextBlock", "TextBlock"]


def test_an_empty_text_block_is_left_out(make_teams: MakeTeams, entry: Entry) -> None:
    assert len(texts(make_teams().render(replace(entry, summary=""), KEY))) == 1


# --- send --------------------------------------------------------------------


def test_send_is_accepted_without_an_id(
    httpserver: HTTPServer, make_teams: MakeTeams, entry: Entry
) -> None:
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_handler(workflow)
    target = make_teams(httpserver.url_for(f"{PATH}?{QUERY}"))
    message = target.render(entry, KEY)
    assert target.send(message) == Receipt()
    httpserver.check_assertions()
    request, response = httpserver.log[0]
    assert response.status_code == 202
    assert json.loads(request.get_data()) == message.body


@pytest.mark.parametrize(
    ("status", "headers", "kind", "says"),
    [
        (429, {"Retry-After": "5"}, TransientError, "HTTP 429"),
        (503, {}, TransientError, "HTTP 503"),
        (404, {}, PermanentError, "the workflow was deleted"),
        (401, {}, PermanentError, "renew it"),
        (413, {}, PermanentError, "HTTP 413"),
    ],
)
def test_answers(
    httpserver: HTTPServer,
    make_teams: MakeTeams,
    entry: Entry,
    status: int,
    headers: dict[str, str],
    kind: type[Exception],
    says: str,
) -> None:
    body = {"error": {"code": "Refused", "message": f"at {PATH}?{QUERY}"}}
    httpserver.expect_request(PATH).respond_with_json(body, status=status, headers=headers)
    target = make_teams(httpserver.url_for(f"{PATH}?{QUERY}"))
    with pytest.raises(kind) as caught:
        target.send(target.render(entry, KEY))
    assert says in str(caught.value)
    assert SIG not in str(caught.value)  # the signature in the echoed URL is redacted
    if status == 429:
        assert isinstance(caught.value, TransientError) and caught.value.retry_after == 5.0


def test_a_wrong_signature_is_dead_with_renew(
    httpserver: HTTPServer, make_teams: MakeTeams, entry: Entry
) -> None:
    httpserver.expect_request(PATH).respond_with_handler(workflow)
    target = make_teams(httpserver.url_for(f"{PATH}?api-version=1&sig=stale-signature-000"))
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(entry, KEY))
    assert "renew it" in str(caught.value)


# --- config ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "targets[0].url: is required"),
        ({"url": "https://e.example/x", "button": ""}, "targets[0].button: expected a non-empty"),
        ({"url": "https://e.example/x", "template": "{{ post.nope"}, "targets[0].template: line 1"),
        ({"url": "https://e.example/x", "buton": "Go"}, 'unknown key (did you mean "button"?)'),
    ],
    ids=["no-url", "empty-button", "template-syntax", "typo"],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="t", type="teams", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    assert expected in str(caught.value)


def test_fields_and_ambiguity(make_teams: MakeTeams) -> None:
    assert set(TeamsTarget.fields) == {
        "url",
        "button",
        "template",
        "template_file",
        "image",
        "connect_timeout",
        "read_timeout",
    }
    assert not TeamsTarget.idempotent and not make_teams().retries_ambiguous()


# --- the sample post, by eye -----------------------------------------------------


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    sample = next(
        p
        for p in scan(config.site).posts
        if p.source.endswith("ai-scribes-and-the-future-of-precision-medicine.md")
    )
    options = {"url": f"https://env.example.com{PATH}?{QUERY}"}
    target = make_target(
        TargetConfig(name="teams", type="teams", options=options, source=config.path),
        config.site,
    )
    message = target.render(render_entry(sample, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, "utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert validate(message) == []
