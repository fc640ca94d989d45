"""The Apprise target, sending through the real ``apprise`` package to its
``json://`` service on a loopback HTTP server (pytest-httpserver).

The JSON service posts ``{"version", "title", "message", "type",
"attachments"}``, attachments as base64 with a MIME type; the test server
checks that shape the way a receiver would.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_apprise import CONTRACT
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets import registry
from syndicate.targets.apprise import AppriseTarget, escape_markdown
from syndicate.targets.base import Lookup, Receipt

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "apprise.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
TOKEN = "tok3nAbCdEf0123456789xyz"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
validate = CONTRACT.validate
# apprise's own import of a module Python 3.13 drops; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")


@pytest.fixture(autouse=True)
def apprise_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TYPES, "apprise", "syndicate.targets.apprise:AppriseTarget")


class Memory:
    """The state store's key/value table, in memory."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def get_value(self, key: str) -> str | None:
        return self.values.get(key)

    def set_value(self, key: str, value: str) -> None:
        self.values[key] = value


@pytest.fixture
def site(tmp_path: Path, httpserver: HTTPServer) -> Config:
    # The site lives on the loopback server, so the post's image can be fetched.
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch **day** <b>✓</b> @everyone",
                "2026-04-10 09:30:00 +0200",
                "We *launched* [a thing](/x.html) with_underscores.\n\nMore below.",
                image="/assets/cover.png",
            )
        },
        site={"url": httpserver.url_for("/").rstrip("/")},
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


def json_url(server: HTTPServer, path: str = f"/notify/{TOKEN}", query: str = "") -> str:
    return f"json://127.0.0.1:{server.port}{path}{query}"


MakeApprise = Callable[..., AppriseTarget]


@pytest.fixture
def make_apprise(site: Config) -> MakeApprise:
    def make(urls: list[str], **options: Any) -> AppriseTarget:
        config = TargetConfig(
            name="alerts", type="apprise", options={"urls": urls, **options}, source=site.path
        )
        target = registry.make_target(config, site.site)
        assert isinstance(target, AppriseTarget)
        return target

    return make


def serve_image(server: HTTPServer, status: int = 200) -> None:
    server.expect_request("/assets/cover.png", method="GET").respond_with_data(
        PNG, status=status, content_type="image/png"
    )


def received(server: HTTPServer, path: str = f"/notify/{TOKEN}") -> list[dict[str, Any]]:
    return [json.loads(r.get_data()) for r, _ in server.log if r.path == path]


# --- render --------------------------------------------------------------------


def test_render_escapes_markdown_and_keeps_the_link(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    message = make_apprise([json_url(httpserver)]).render(entry, KEY)
    body = message.body
    assert body["title"] == r"Launch \*\*day\*\* &lt;b>✓&lt;/b> @everyone"
    assert body["body"] == (r"We launched a thing with\_underscores." + "\n\n" + entry.post.url)
    assert body["body_format"] == "markdown"
    assert body["attach"] == httpserver.url_for("/assets/cover.png")
    assert body["services"] == 1
    assert TOKEN not in json.dumps(body)  # the URLs are credentials: never shown
    assert validate(message) == []


@pytest.mark.parametrize(
    ("body_format", "title"),
    [
        ("text", "Launch **day** <b>✓</b> @everyone"),
        ("html", "Launch **day** &lt;b&gt;✓&lt;/b&gt; @everyone"),
    ],
)
def test_other_formats_escape_for_themselves(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer, body_format: str, title: str
) -> None:
    message = make_apprise([json_url(httpserver)], body_format=body_format).render(entry, KEY)
    assert message.body["title"] == title
    if body_format == "html":
        assert f'<a href="{entry.post.url}">' in message.body["body"]


def test_escape_markdown() -> None:
    assert escape_markdown(r"a*b_c`d[e]f~g\h<i>") == r"a\*b\_c\`d\[e\]f\~g\\h&lt;i>"


def test_the_summary_is_shortened_never_the_link(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    target = make_apprise([json_url(httpserver)], max_length=len(entry.post.url) + 60)
    body = target.render(entry, KEY).body
    assert body["body"].endswith("\n\n" + entry.post.url)
    assert "…" in body["body"]
    assert len(body["title"]) + len(body["body"]) <= len(entry.post.url) + 60


def test_a_long_title_fits_apprise_s_title_limit(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    from dataclasses import replace

    long = replace(entry, post=replace(entry.post, title="word_ " * 100))
    message = make_apprise([json_url(httpserver)]).render(long, KEY)
    assert len(message.body["title"]) <= 250 and message.body["title"].endswith("…")
    assert validate(message) == []


def test_template_override_and_errors(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    target = make_apprise([json_url(httpserver)], template="New: {{ post.title }} {{ post.url }}")
    assert target.render(entry, KEY).body["body"].startswith(r"New: Launch \*\*day\*\*")
    with pytest.raises(ConfigError) as caught:
        make_apprise([json_url(httpserver)], template="ok\n{{ post.title ")
    assert "targets[0].template: line 2:" in str(caught.value)


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    sample = next(
        p
        for p in scan(config.site).posts
        if p.source.endswith("ai-scribes-and-the-future-of-precision-medicine.md")
    )
    options = {"urls": [f"tgram://123456789:{TOKEN}/-100200300", "ntfys://ntfy.sh/blog-news"]}
    target = registry.make_target(
        TargetConfig(name="alerts", type="apprise", options=options, source=config.path),
        config.site,
    )
    message = target.render(render_entry(sample, config.site), KEY)
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, "utf-8")
    assert produced == GOLDEN.read_text("utf-8")
    assert validate(message) == []


# --- send ----------------------------------------------------------------------


def test_send_posts_title_body_and_the_image(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    serve_image(httpserver)
    httpserver.expect_request(f"/notify/{TOKEN}", method="POST").respond_with_json({})
    target = make_apprise([json_url(httpserver)])
    message = target.render(entry, KEY)
    assert target.send(message) == Receipt()
    (payload,) = received(httpserver)
    assert payload["version"] == "1.0" and payload["type"] == "info"
    assert payload["title"] == message.body["title"]
    assert payload["message"] == message.body["body"]
    (attachment,) = payload["attachments"]
    assert attachment["mimetype"] == "image/png"
    assert base64.b64decode(attachment["base64"]) == PNG


def test_an_image_that_cannot_be_fetched_is_left_out(
    make_apprise: MakeApprise,
    entry: Entry,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="syndicate")
    serve_image(httpserver, status=404)
    httpserver.expect_request(f"/notify/{TOKEN}", method="POST").respond_with_json({})
    target = make_apprise([json_url(httpserver)])
    target.send(target.render(entry, KEY))
    (payload,) = received(httpserver)
    assert payload["attachments"] == []
    assert any(r.getMessage() == "image_skipped" for r in caplog.records)


def test_attach_image_false_fetches_nothing(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(f"/notify/{TOKEN}", method="POST").respond_with_json({})
    target = make_apprise([json_url(httpserver)], attach_image=False)
    target.send(target.render(entry, KEY))
    assert [r.path for r, _ in httpserver.log] == [f"/notify/{TOKEN}"]
    assert received(httpserver)[0]["attachments"] == []


def test_a_failure_is_transient_with_apprise_s_reason_and_no_token(
    make_apprise: MakeApprise,
    entry: Entry,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="werkzeug")  # the test server's own log
    httpserver.expect_request(f"/notify/{TOKEN}").respond_with_data(f"bad {TOKEN}", status=500)
    target = make_apprise([json_url(httpserver)], attach_image=False)
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    text = str(caught.value)
    assert text.startswith("1 of 1 services failed: urls[0] (JSON): ")
    assert "error=500" in text
    assert not caught.value.ambiguous
    assert TOKEN not in text and TOKEN not in caplog.text
    # Apprise's logger is left as it was found.
    assert logging.getLogger("apprise").propagate


def test_a_retry_after_a_partial_failure_skips_the_services_that_took_it(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/ok", method="POST").respond_with_json({})
    answers = iter([503, 200])
    httpserver.expect_request("/flaky", method="POST").respond_with_handler(
        lambda request: Response("{}", status=next(answers))
    )
    target = make_apprise(
        [json_url(httpserver, "/ok"), json_url(httpserver, "/flaky")], attach_image=False
    )
    target.attach(Memory())
    message = target.render(entry, KEY)
    with pytest.raises(TransientError, match=r"1 of 2 services failed: urls\[1\]") as caught:
        target.send(message)
    assert "1 took it and will not get it again" in str(caught.value)
    assert target.find_sent(message) is Lookup.UNKNOWN
    assert target.send(message) == Receipt()
    assert (len(received(httpserver, "/ok")), len(received(httpserver, "/flaky"))) == (1, 2)
    assert target.find_sent(message) == Receipt()  # every service took it


def test_without_a_state_store_nothing_can_be_found(
    make_apprise: MakeApprise, entry: Entry, httpserver: HTTPServer
) -> None:
    target = make_apprise([json_url(httpserver)])
    assert target.find_sent(target.render(entry, KEY)) is Lookup.UNKNOWN


@pytest.fixture
def stalled() -> Iterator[HTTPServer]:
    """A server that takes the request and answers only at teardown."""
    release = threading.Event()
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)

    def stall(request: Request) -> Response:
        release.wait(timeout=30)
        return Response("{}", status=200)

    server.expect_request("/slow").respond_with_handler(stall)
    server.start()
    yield server
    release.set()
    server.stop()


def test_no_answer_in_time_is_ambiguous_and_held(
    make_apprise: MakeApprise, entry: Entry, stalled: HTTPServer
) -> None:
    target = make_apprise([json_url(stalled, "/slow", "?rto=0.3")], attach_image=False)
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    assert caught.value.ambiguous
    assert str(caught.value).startswith("1 of 1 services failed: urls[0] (JSON): ")
    assert not target.retries_ambiguous()  # default on_ambiguous: hold


def test_a_refused_connection_is_not_ambiguous(make_apprise: MakeApprise, entry: Entry) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        target = make_apprise([f"json://127.0.0.1:{port}/x"], attach_image=False)
        with pytest.raises(TransientError) as caught:
            target.send(target.render(entry, KEY))
    assert not caught.value.ambiguous
    assert "Connection error" in str(caught.value)


def test_urls_come_from_the_environment(
    make_apprise: MakeApprise,
    entry: Entry,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("APPRISE_TEST_TOKEN", TOKEN)
    httpserver.expect_request(f"/notify/{TOKEN}", method="POST").respond_with_json({})
    target = make_apprise([json_url(httpserver, "/notify/${APPRISE_TEST_TOKEN}")])
    target.send(target.render(entry, KEY))
    assert len(received(httpserver)) == 1


# --- the optional package ------------------------------------------------------


def test_import_reaches_the_third_party_package(make_apprise: MakeApprise) -> None:
    target = make_apprise(["json://127.0.0.1:9/x"])
    assert target.apprise.__name__ == "apprise"
    assert hasattr(target.apprise, "Apprise")
    assert "syndicate" not in Path(target.apprise.__file__).parts


def test_a_missing_package_is_a_clear_config_error(
    make_apprise: MakeApprise, site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "syndicate.targets.apprise")
    importlib.import_module("syndicate.targets.apprise")  # importable without it
    with pytest.raises(ConfigError) as caught:
        make_apprise(["json://127.0.0.1:9/x"])
    assert str(caught.value) == (
        f"{site.path}: targets[0].type: the apprise target needs the apprise package:"
        ' pip install "syndicate[apprise]"'
    )


# --- config --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "targets[0].urls: is required"),
        ({"urls": "json://x/y"}, "targets[0].urls: expected a list of Apprise URLs"),
        ({"urls": []}, "targets[0].urls: is required"),
        ({"urls": [3]}, "targets[0].urls: expected a list of strings"),
        (
            {"urls": ["json://127.0.0.1/x", f"nosuch://{TOKEN}/x"]},
            'targets[0].urls[1]: Apprise cannot use this URL ("nosuch://" is not a service',
        ),
        ({"urls": [TOKEN]}, "targets[0].urls[0]: Apprise cannot use this URL (no scheme)"),
        (
            {"urls": ["json://127.0.0.1/${APPRISE_NOT_SET_ANYWHERE}"]},
            "targets[0].urls[0]: environment variable APPRISE_NOT_SET_ANYWHERE is not set",
        ),
        ({"urls": ["json://h/x"], "body_format": "rst"}, "targets[0].body_format: expected"),
        ({"urls": ["json://h/x"], "max_length": 0}, "targets[0].max_length: expected a positive"),
        ({"urls": ["json://h/x"], "url": "x"}, 'targets[0].url: unknown key (did you mean "urls"'),
    ],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="alerts", type="apprise", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        registry.make_target(config, site.site)
    assert expected in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_class_facts(make_apprise: MakeApprise) -> None:
    target = make_apprise(["json://127.0.0.1:9/x"])
    assert not AppriseTarget.idempotent and not AppriseTarget.never_resend
    assert target.on_ambiguous == "hold"
    assert make_apprise(["json://127.0.0.1:9/x"], on_ambiguous="retry").retries_ambiguous()
    assert set(AppriseTarget.fields) == {
        "urls",
        "body_format",
        "attach_image",
        "max_length",
        "template",
        "template_file",
    }
