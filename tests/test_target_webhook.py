"""The webhook target against a real HTTP server on 127.0.0.1 (Standard Webhooks v1).

Signatures are checked by ``verify`` below, written from the specification
and tested against its reference vector, not by the code under test.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate import __version__
from syndicate.config import Config, TargetConfig, parse_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.posts import scan
from syndicate.targets.base import Message, Receipt
from syndicate.targets.registry import make_target
from syndicate.targets.webhook import WebhookTarget, sign, webhook_id

KEY = "syn_0123456789abcdef0123456789abcdef"
NOW = 1_780_000_000
SECRET_BYTES = hashlib.sha256(b"syndicate webhook test key").digest()  # 32 bytes
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()
TOKEN = "abcdef123456"

# The reference vector published with Standard Webhooks (svix's test suite).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def verify(secret: str, headers: Any, body: bytes) -> bool:
    """A receiver's check, per the spec: HMAC-SHA256 of "id.timestamp.body"
    keyed with the base64-decoded part of the secret after "whsec_"; the
    header is a space-separated list of "v1,<base64>" signatures."""
    key = base64.b64decode(secret[len("whsec_") :])
    content = b".".join(
        [headers["webhook-id"].encode(), headers["webhook-timestamp"].encode(), body]
    )
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for item in headers["webhook-signature"].split(" "):
        version, _, signature = item.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch «day» ✓",
                "2026-04-10 09:30:00 +0200",
                "We *launched*.\n\nMore below.",
                categories="[News]",
                tags="[python, web]",
                image="/assets/cover.jpg",
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


MakeHook = Callable[..., WebhookTarget]


@pytest.fixture
def make_hook(site: Config) -> Iterator[MakeHook]:
    made: list[WebhookTarget] = []

    def make(url: str, **options: Any) -> WebhookTarget:
        config = TargetConfig(
            name="hook", type="webhook", options={"url": url, **options}, source=site.path
        )
        target = make_target(config, site.site)
        assert isinstance(target, WebhookTarget)
        target.clock = lambda: NOW + 0.75  # whole seconds are sent
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def send(target: WebhookTarget, entry: Entry, key: str = KEY) -> tuple[Message, Receipt]:
    message = target.render(entry, key)
    return message, target.send(message)


# --- the signature -----------------------------------------------------------


def test_the_test_verifier_accepts_the_spec_vector() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": f"v1,wrongsignature= {SPEC_SIGNATURE}",
    }
    assert verify(SPEC_SECRET, headers, SPEC_BODY)
    assert not verify(SPEC_SECRET, headers, SPEC_BODY + b" ")


def test_sign_matches_the_spec_vector() -> None:
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    assert sign(key, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


# --- render ------------------------------------------------------------------


def test_render_is_a_standard_webhooks_payload(make_hook: MakeHook, entry: Entry) -> None:
    target = make_hook("https://hooks.example.com/in", secret=SECRET)

    def no_clock() -> float:
        raise AssertionError("render must not read the clock")

    target.clock = no_clock
    message = target.render(entry, KEY)
    assert message.key == KEY and message.target == "hook"
    assert message.body == {
        "type": "post.published",
        "timestamp": "2026-04-10T09:30:00+02:00",
        "data": {
            "id": "https://blog.example.com/news/2026/04/10/launch",
            "title": "Launch «day» ✓",
            "url": "https://blog.example.com/news/2026/04/10/launch.html",
            "summary": "We launched.",
            "image": "https://blog.example.com/assets/cover.jpg",
            "categories": ["News"],
            "tags": ["python", "web"],
            "date": "2026-04-10T09:30:00+02:00",
            "updated": "2026-04-10T09:30:00+02:00",
            "author": {"name": "Ada", "email": "ada@example.com", "url": None},
        },
    }
    # Only non-secret headers are shown (by --dry-run); no signature, no time.
    assert message.headers == {"content-type": "application/json", "webhook-id": KEY}
    assert target.render(entry, KEY) == message


def test_event_name_is_configurable(make_hook: MakeHook, entry: Entry) -> None:
    target = make_hook("https://hooks.example.com/in", event="blog.post.published")
    assert target.render(entry, KEY).body["type"] == "blog.post.published"


@pytest.mark.parametrize(
    "key", ["https://blog.example.com/a.html|hook", "with space", "ключ", "", "x" * 256]
)
def test_an_id_unfit_for_the_header_becomes_a_stable_digest(key: str) -> None:
    value = webhook_id(key)
    assert value.startswith("msg_") and len(value) == 36
    assert "." not in value and value.isascii()
    assert webhook_id(key) == value
    assert webhook_id(key + "!") != value


# --- send: success -----------------------------------------------------------


def test_send_posts_the_signed_payload(
    httpserver: HTTPServer, make_hook: MakeHook, entry: Entry
) -> None:
    httpserver.expect_oneshot_request("/in/blog", method="POST").respond_with_json(
        {"id": "rcv-42", "ok": True}
    )
    target = make_hook(httpserver.url_for("/in/blog"), secret=SECRET)
    message, receipt = send(target, entry)
    assert receipt == Receipt(remote_id="rcv-42", remote_url=None)
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    request, _ = httpserver.log[0]
    assert request.path == "/in/blog"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == f"syndicate/{__version__}"
    assert request.headers["webhook-id"] == KEY
    assert request.headers["webhook-timestamp"] == str(NOW)
    body = request.get_data()
    assert json.loads(body) == message.body
    # Compact UTF-8, exactly the bytes that were signed.
    assert "Launch «day» ✓".encode() in body and b": " not in body
    assert verify(SECRET, request.headers, body)
    assert not verify(SECRET, request.headers, body.replace(b"Launch", b"Lunch"))


def test_no_secret_means_no_signature_header(
    httpserver: HTTPServer, make_hook: MakeHook, entry: Entry
) -> None:
    httpserver.expect_oneshot_request("/in").respond_with_data("", status=204)
    target = make_hook(httpserver.url_for("/in"))
    _, receipt = send(target, entry)
    assert receipt == Receipt()
    request, _ = httpserver.log[0]
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == KEY


def test_extra_headers_are_sent_with_env_values_resolved(
    httpserver: HTTPServer, make_hook: MakeHook, entry: Entry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_BEARER", "bearer-value-991")
    httpserver.expect_oneshot_request(
        "/in", headers={"Authorization": "Bearer bearer-value-991", "X-Source": "blog"}
    ).respond_with_data("ok")
    target = make_hook(
        httpserver.url_for("/in"),
        headers={"Authorization": "Bearer ${HOOK_BEARER}", "X-Source": "blog"},
    )
    send(target, entry)
    httpserver.check_assertions()
    assert "bearer-value-991" not in repr(target.render(entry, KEY))


@pytest.mark.parametrize(
    ("response", "remote_id"),
    [
        ({"id": 7}, "7"),
        ({"id": "abc"}, "abc"),
        ({"id": True}, None),
        ({"id": {"nested": 1}}, None),
        ({"other": "x"}, None),
        (["id"], None),
        ("not json", None),
    ],
    ids=["number", "string", "bool", "object", "no-id", "list", "text"],
)
def test_remote_id_comes_from_a_json_object(
    httpserver: HTTPServer,
    make_hook: MakeHook,
    entry: Entry,
    response: Any,
    remote_id: str | None,
) -> None:
    handler = httpserver.expect_oneshot_request("/in")
    if isinstance(response, str):
        handler.respond_with_data(response, content_type="text/plain")
    else:
        handler.respond_with_json(response)
    _, receipt = send(make_hook(httpserver.url_for("/in")), entry)
    assert receipt.remote_id == remote_id


def test_a_receiver_deduping_by_id_counts_one_post_once(
    httpserver: HTTPServer, make_hook: MakeHook, entry: Entry
) -> None:
    processed: dict[str, str] = {}
    arrivals: list[str] = []

    def receiver(request: Request) -> Response:
        body = request.get_data()
        if not verify(SECRET, request.headers, body):
            return Response("bad signature", status=401)
        arrivals.append(request.headers["webhook-timestamp"])
        processed.setdefault(request.headers["webhook-id"], json.loads(body)["data"]["id"])
        return Response(json.dumps({"id": request.headers["webhook-id"]}), status=200)

    httpserver.expect_request("/in", method="POST").respond_with_handler(receiver)
    target = make_hook(httpserver.url_for("/in"), secret=SECRET)
    ticks = iter([NOW, NOW + 300])
    target.clock = lambda: next(ticks)
    message = target.render(entry, KEY)
    first = target.send(message)
    second = target.send(message)  # a retry after an ambiguous outcome
    assert first == second == Receipt(remote_id=KEY)
    assert arrivals == [str(NOW), str(NOW + 300)]  # two signed attempts...
    assert list(processed.values()) == [entry.post.id]  # ...one post


# --- send: failures ----------------------------------------------------------


def http_date(seconds_from_now: int) -> str:
    return email.utils.format_datetime(
        datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True
    )


@pytest.mark.parametrize(
    ("status", "headers", "low", "high"),
    [
        (500, {}, None, None),
        (502, {}, None, None),
        (503, {}, None, None),
        (429, {"Retry-After": "7"}, 7, 7),
        (503, {"Retry-After": "http-date"}, 60, 120),
    ],
    ids=["500", "502", "503-no-header", "429-seconds", "503-http-date"],
)
def test_transient_statuses(
    httpserver: HTTPServer,
    make_hook: MakeHook,
    entry: Entry,
    status: int,
    headers: dict[str, str],
    low: float | None,
    high: float | None,
) -> None:
    if headers.get("Retry-After") == "http-date":
        headers = {"Retry-After": http_date(120)}
    httpserver.expect_oneshot_request("/in").respond_with_data(
        "try later", status=status, headers=headers
    )
    with pytest.raises(TransientError) as caught:
        send(make_hook(httpserver.url_for("/in")), entry)
    error = caught.value
    assert not error.ambiguous
    assert str(error).startswith(f"HTTP {status}")
    if low is None:
        assert error.retry_after is None
    else:
        assert error.retry_after is not None and low <= error.retry_after <= (high or low)


@pytest.mark.parametrize(
    ("status", "says"),
    [(400, "HTTP 400: nope"), (401, "renew it"), (403, "renew it"), (410, "gone"), (422, "nope")],
)
def test_permanent_statuses(
    httpserver: HTTPServer, make_hook: MakeHook, entry: Entry, status: int, says: str
) -> None:
    httpserver.expect_oneshot_request("/in").respond_with_data("nope", status=status)
    with pytest.raises(PermanentError) as caught:
        send(make_hook(httpserver.url_for("/in")), entry)
    assert says in str(caught.value)
    assert str(caught.value).startswith(f"HTTP {status}")


def test_a_redirect_is_not_followed(
    httpserver: HTTPServer, make_hook: MakeHook, entry: Entry
) -> None:
    moved = httpserver.url_for("/moved")
    httpserver.expect_request("/in").respond_with_data("", status=301, headers={"Location": moved})
    httpserver.expect_request("/moved").respond_with_data("ok")
    with pytest.raises(PermanentError) as caught:
        send(make_hook(httpserver.url_for("/in")), entry)
    # http.check would say "HTTP 301: redirected to ...; update the target's URL", but
    # new_session's max_redirects=0 makes requests raise TooManyRedirects first.
    assert "redirect" in str(caught.value).lower()
    assert [request.path for request, _ in httpserver.log] == ["/in"]


@pytest.fixture
def stalled() -> Iterator[HTTPServer]:
    """A server that accepts the request and does not answer until teardown.

    Its own server, so the stalled request never lands in another test's log.
    """
    release = threading.Event()
    server = HTTPServer(host="127.0.0.1", port=0)

    def stall(request: Request) -> Response:
        release.wait(timeout=30)
        return Response("too late", status=200)

    server.expect_request("/in").respond_with_handler(stall)
    server.start()
    yield server
    release.set()
    server.stop()


def test_no_answer_in_time_is_ambiguous(
    stalled: HTTPServer, make_hook: MakeHook, entry: Entry
) -> None:
    target = make_hook(stalled.url_for("/in"), read_timeout=0.3, secret=SECRET)
    with pytest.raises(TransientError) as caught:
        send(target, entry)
    assert caught.value.ambiguous
    assert "0.3s" in str(caught.value)
    # Ambiguous, but safe to retry: the receiver dedupes by webhook-id.
    assert target.retries_ambiguous()


def test_a_refused_connection_is_not_ambiguous(make_hook: MakeHook, entry: Entry) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        port = closed.getsockname()[1]
        target = make_hook(f"http://127.0.0.1:{port}/in/{TOKEN}x?token={TOKEN}")
        with pytest.raises(TransientError) as caught:
            send(target, entry)
    assert not caught.value.ambiguous
    assert "connection failed" in str(caught.value)
    assert TOKEN not in str(caught.value)


# --- secrets -----------------------------------------------------------------


def test_secrets_never_reach_errors_or_logs(
    httpserver: HTTPServer,
    make_hook: MakeHook,
    entry: Entry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="syndicate")
    # The test server's own access log is the receiver's, not ours.
    caplog.set_level(logging.WARNING, logger="werkzeug")
    url = httpserver.url_for("/in") + f"?token={TOKEN}"
    encoded_secret = SECRET.removeprefix("whsec_")
    echo = f"unknown token {TOKEN} (secret {encoded_secret}) at {url}"
    httpserver.expect_request("/in").respond_with_data(echo, status=401)
    target = make_hook(url, secret=SECRET)
    with pytest.raises(PermanentError) as caught:
        send(target, entry)
    message = str(caught.value)
    assert message.startswith("HTTP 401: unknown token ***")
    assert "renew it" in message
    for leaked in (TOKEN, encoded_secret, SECRET, url):
        assert leaked not in message
        assert leaked not in caplog.text
    assert httpserver.log[0][0].args["token"] == TOKEN  # it was sent, just never shown


# --- config ------------------------------------------------------------------


def test_through_parse_config_and_the_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    raw_target = {
        "name": "team",
        "type": "webhook",
        "url": "https://hooks.example.com/in",
        "secret": "${HOOK_SECRET}",
        "connect_timeout": 2,
        "read_timeout": 20.5,
    }
    config = parse_config(
        {"site": {"title": "T", "url": "https://blog.example.com"}, "targets": [raw_target]},
        tmp_path / "config" / "syndicate.toml",
    )
    target = make_target(config.targets[0], config.site)
    assert isinstance(target, WebhookTarget)
    assert (target.name, target.connect_timeout, target.read_timeout) == ("team", 2.0, 20.5)
    assert target.key == SECRET_BYTES
    assert target.idempotent
    assert set(WebhookTarget.fields) == {
        "url",
        "secret",
        "headers",
        "connect_timeout",
        "read_timeout",
        "event",
    }


def test_default_timeouts(make_hook: MakeHook) -> None:
    target = make_hook("https://hooks.example.com/in")
    assert (target.connect_timeout, target.read_timeout) == (5.0, 15.0)
    assert target.key is None


@pytest.mark.parametrize(
    "secret",
    [
        SPEC_SECRET,  # 24 bytes, the least allowed
        "whsec_" + base64.b64encode(bytes(range(64))).decode(),  # 64, the most
    ],
    ids=["24-bytes", "64-bytes"],
)
def test_secret_sizes_at_the_limits_are_accepted(make_hook: MakeHook, secret: str) -> None:
    assert make_hook("https://hooks.example.com/in", secret=secret).key is not None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"secret": "c2VjcmV0LWJ5dGVzLXRoYXQtYXJlLWxvbmctZW5vdWdo"}, 'expected "whsec_"'),
        ({"secret": "whsec_not base64!!"}, 'the part after "whsec_" is not base64'),
        (
            {"secret": "whsec_" + base64.b64encode(bytes(23)).decode()},
            "this one decodes to 23 bytes",
        ),
        (
            {"secret": "whsec_" + base64.b64encode(bytes(65)).decode()},
            "this one decodes to 65 bytes",
        ),
    ],
    ids=["no-prefix", "not-base64", "too-short", "too-long"],
)
def test_bad_secrets_are_config_errors_that_do_not_quote_them(
    make_hook: MakeHook, options: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_hook("https://hooks.example.com/in", **options)
    message = str(caught.value)
    assert "targets[0].secret: " in message and expected in message
    assert options["secret"] not in message
    assert options["secret"].removeprefix("whsec_") not in message


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/in", "hooks.example.com/in", "https:///in", "file:///tmp/x"]
)
def test_a_url_must_be_http(make_hook: MakeHook, url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make_hook(url)
    message = str(caught.value)
    assert "targets[0].url: expected an http:// or https:// URL with a host" in message
    assert url not in message


def test_a_missing_env_var_is_named_not_the_value(make_hook: MakeHook) -> None:
    with pytest.raises(ConfigError) as caught:
        make_hook("https://hooks.example.com/in?token=${MISSING_VAR_FOR_HOOK}")
    message = str(caught.value)
    assert message.endswith("targets[0].url: environment variable MISSING_VAR_FOR_HOOK is not set")
    assert "hooks.example.com" not in message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "targets[0].url: is required"),
        (
            {"url": "https://h.example/in", "secrett": SECRET},
            'unknown key (did you mean "secret"?)',
        ),
        ({"url": "https://h.example/in", "read_timeout": 0}, "targets[0].read_timeout: expected"),
        ({"url": "https://h.example/in", "connect_timeout": "5s"}, "targets[0].connect_timeout"),
        ({"url": "https://h.example/in", "headers": "x"}, "targets[0].headers: expected a table"),
        (
            {"url": "https://h.example/in", "headers": {"webhook-id": "x"}},
            "targets[0].headers.webhook-id: is set by the webhook target itself",
        ),
        (
            {"url": "https://h.example/in", "headers": {"Bad Name": "x"}},
            "targets[0].headers.Bad Name: expected a header name",
        ),
        (
            {"url": "https://h.example/in", "headers": {"X-Count": 3}},
            "targets[0].headers.X-Count: expected a string",
        ),
        ({"url": "https://h.example/in", "event": ""}, "targets[0].event: expected a non-empty"),
    ],
    ids=[
        "no-url",
        "typo",
        "zero-timeout",
        "text-timeout",
        "headers-not-table",
        "reserved-header",
        "bad-header-name",
        "header-not-text",
        "empty-event",
    ],
)
def test_config_errors(site: Config, options: dict[str, Any], expected: str) -> None:
    config = TargetConfig(name="hook", type="webhook", options=options, source=site.path)
    with pytest.raises(ConfigError) as caught:
        make_target(config, site.site)
    assert str(caught.value).startswith(f"{site.path}: ")
    assert expected in str(caught.value)


def test_a_header_value_from_env_with_a_line_break_is_refused_unquoted(
    make_hook: MakeHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_HEADER", "value-one\r\nX-Injected: 1")
    with pytest.raises(ConfigError) as caught:
        make_hook("https://hooks.example.com/in", headers={"X-Token": "${HOOK_HEADER}"})
    assert "targets[0].headers.X-Token: expected a value on one line" in str(caught.value)
    assert "value-one" not in str(caught.value)
