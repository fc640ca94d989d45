"""The listmonk target against a loopback server that answers like listmonk.

``FakeListmonk`` checks each request the way listmonk's handlers do
(cmd/campaigns.go, internal/core): BasicAuth, the create fields and their
lengths, the body compiled as a Go template (anything ``{{``-shaped that is
not one of its own functions fails), the ``tag`` filter on the campaign list,
and the status rules (only a draft or paused campaign can start). Crash tests
kill a real worker process at each step and check: no post twice, none lost.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from contract_listmonk import _validate as listmonk_validate
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from receiver import write_site
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.outbox import delivery_key, look_up
from syndicate.posts import scan
from syndicate.publish import dry_run
from syndicate.state import Delivery, open_store
from syndicate.targets import registry
from syndicate.targets.base import Lookup, Receipt
from syndicate.targets.listmonk import ListmonkTarget, defuse, delivery_tag
from syndicate.worker import run_once

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "listmonk.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
USER, TOKEN = "syndicate", "lm-token-7f6e5d4c3b2a"
KILLED = -signal.SIGKILL


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TYPES, "listmonk", "syndicate.targets.listmonk:ListmonkTarget")


def as_json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(value), status=status, headers=headers, content_type="application/json"
    )


def refused(message: str, status: int = 400) -> Response:
    return as_json({"message": message}, status)


class FakeListmonk:
    """Campaign endpoints with listmonk's rules, in memory."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.lists = {1, 2, 3}
        self.campaigns: list[dict[str, Any]] = []
        self.started: list[int] = []  # campaign ids that went out
        self.requests: list[tuple[str, str]] = []
        self.tag_filter = True  # False: a pre-v3.0 server ignoring ?tag=
        self.fail: dict[tuple[str, str], Response] = {}  # (method, path) -> answer
        self.stall: set[tuple[str, str]] = set()  # act, then hold the answer
        self.release = threading.Event()
        self._lock = threading.Lock()
        server.expect_request(re.compile(r"/api/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        route = (request.method, re.sub(r"/\d+", "/{id}", request.path))
        with self._lock:
            self.requests.append(route)
        expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return refused("invalid API credentials", 403)
        if route in self.fail:
            return self.fail[route]
        with self._lock:
            answer = self._route(request, route)
        if route in self.stall:
            self.release.wait(timeout=30)
        return answer

    def _route(self, request: Request, route: tuple[str, str]) -> Response:
        if route == ("GET", "/api/campaigns"):
            return self._list(request)
        if route == ("POST", "/api/campaigns"):
            return self._create(request.get_json())
        if route == ("PUT", "/api/campaigns/{id}/status"):
            number = int(request.path.split("/")[3])
            return self._status(number, request.get_json())
        return refused("not found", 404)

    def _list(self, request: Request) -> Response:
        tags = request.args.getlist("tag") if self.tag_filter else []
        found = [c for c in self.campaigns if all(t in c["tags"] for t in tags)]
        found.sort(key=lambda c: c["id"], reverse=True)  # created_at DESC
        results = [{**c, "body": ""} if request.args.get("no_body") else c for c in found]
        page = {"results": results, "query": "", "total": len(found), "per_page": 20, "page": 1}
        return as_json({"data": page})

    def _create(self, data: Any) -> Response:
        if not isinstance(data, dict):
            return refused("invalid JSON")
        name, subject = data.get("name", ""), data.get("subject", "")
        if not 1 <= len(name.encode()) <= 2000:
            return refused("invalid length for name")
        if not 1 <= len(subject.encode()) <= 5000:
            return refused("invalid length for subject")
        if data.get("type") not in ("regular", "optin"):
            return refused("invalid campaign type")
        if data.get("content_type") not in ("richtext", "html", "markdown", "plain"):
            return refused("invalid content type")
        lists = data.get("lists")
        if not lists or not all(isinstance(i, int) and i in self.lists for i in lists):
            return refused("invalid lists")
        for label in ("subject", "body", "altbody"):
            if go_template_error(str(data.get(label) or "")):
                return refused(f"error compiling {label}: unexpected template action")
        campaign = {
            "id": len(self.campaigns) + 1,
            "uuid": f"uuid-{len(self.campaigns) + 1}",
            "type": data["type"],
            "name": name,
            "subject": subject,
            "body": data.get("body", ""),
            "altbody": data.get("altbody"),
            "content_type": data["content_type"],
            # normalizeTags: whitespace becomes "-".
            "tags": [re.sub(r"\s+", "-", t.strip()) for t in data.get("tags") or []],
            "template_id": data.get("template_id", 1),
            "from_email": data.get("from_email", "listmonk <noreply@listmonk.example>"),
            "status": "draft",
            "lists": [{"id": i, "name": f"list {i}"} for i in lists],
        }
        self.campaigns.append(campaign)
        return as_json({"data": campaign})

    def _status(self, number: int, data: Any) -> Response:
        campaign = next((c for c in self.campaigns if c["id"] == number), None)
        if campaign is None:
            return refused("campaign not found")
        wanted = data.get("status") if isinstance(data, dict) else None
        if wanted == "running":
            if campaign["status"] not in ("draft", "paused"):
                return refused("only paused and draft campaigns can be started")
            self.started.append(number)
        campaign["status"] = wanted
        return as_json({"data": campaign})

    def add(self, key: str, status: str, **extra: Any) -> dict[str, Any]:
        campaign = {
            "id": len(self.campaigns) + 1,
            "name": "earlier",
            "subject": "earlier",
            "status": status,
            "tags": [delivery_tag(key)],
            **extra,
        }
        self.campaigns.append(campaign)
        return campaign

    def routes(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.requests)


def go_template_error(text: str) -> bool:
    """Whether listmonk's compile step would choke on, or run, post text:
    any ``{{`` action, or the ``url@TrackLink`` shorthand it rewrites."""
    return "{{" in text or bool(re.search(r"https?://\S*@TrackLink", text))


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    httpserver.stop()


@pytest.fixture
def fake(server: HTTPServer) -> Iterator[FakeListmonk]:
    listmonk = FakeListmonk(server)
    yield listmonk
    listmonk.release.set()


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch «day» ✓",
                "2026-04-10 09:30:00 +0200",
                "We *launched* [the docs](/docs/).\n\nMore below.",
                categories="[News]",
                image="/assets/cover.jpg",
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    found = scan(site.site)
    assert not found.errors
    return render_entry(found.posts[0], site.site)


Make = Callable[..., ListmonkTarget]


@pytest.fixture
def make(site: Config, server: HTTPServer) -> Iterator[Make]:
    made: list[ListmonkTarget] = []

    def build(**options: Any) -> ListmonkTarget:
        values = {
            "url": server.url_for("/").rstrip("/"),
            "api_user": USER,
            "token": TOKEN,
            "lists": [3],
            "read_timeout": 2.0,
            **options,
        }
        values = {key: value for key, value in values.items() if value is not None}
        config = TargetConfig(name="news", type="listmonk", options=values, source=site.path)
        target = registry.make_target(config, site.site)
        assert isinstance(target, ListmonkTarget)
        made.append(target)
        return target

    yield build
    for target in made:
        target.close()


def with_text(entry: Entry, title: str, summary: str) -> Entry:
    from dataclasses import replace

    return replace(entry, post=replace(entry.post, title=title), summary=summary)


# --- render ------------------------------------------------------------------


def test_render_is_a_draft_campaign_with_the_html_apart(make: Make, entry: Entry) -> None:
    message = make().render(entry, KEY)
    tag = delivery_tag(KEY)
    body = message.body
    assert body["name"] == f"Launch «day» ✓ [{tag}]"
    assert body["subject"] == "Launch «day» ✓"
    assert (body["lists"], body["type"], body["content_type"]) == ([3], "regular", "html")
    assert body["tags"] == [tag] and body["mode"] == "draft"
    assert body["link"] == entry.post.url
    assert "template_id" not in body and "from_email" not in body
    # The HTML is for --dry-run's file and for send, not in the readable body.
    assert message.html is not None and "<html" in message.html
    assert body["html_bytes"] == len(message.html.encode())
    assert all("<html" not in str(value) for value in body.values())
    assert f'href="{entry.post.url}"' in message.html
    assert 'src="https://blog.example.com/assets/cover.jpg"' in message.html
    assert 'width="536"' in message.html
    assert body["altbody"].endswith(f"Read on the site: {entry.post.url}\n")
    assert listmonk_validate(message) == []
    assert make().render(entry, KEY) == message  # pure and stable


def test_the_tag_is_per_delivery_short_and_plain() -> None:
    tag = delivery_tag(KEY)
    assert re.fullmatch(r"syndicate-[0-9a-f]{16}", tag)
    assert delivery_tag(KEY) == tag
    # Two targets on one server: different keys, different tags.
    assert delivery_tag(delivery_key("post-1", "a")) != delivery_tag(delivery_key("post-1", "b"))


def test_go_template_syntax_in_a_post_is_printed_not_run(make: Make, entry: Entry) -> None:
    title = "Use {{ .Subscriber.Email }} and {{{ x }}}"
    summary = "See https://evil.example/x@TrackLink and {{ UnsubscribeURL }}"
    message = make().render(with_text(entry, title, summary), KEY)
    assert listmonk_validate(message) == []
    for text in (message.body["subject"], message.html or "", message.body["altbody"]):
        assert not go_template_error(text)
    # Invisible to readers: only a zero-width space was added.
    assert message.body["subject"].replace("\u200b", "") == title
    assert defuse("{{{") == "{\u200b{\u200b{"
    # The campaign name is never compiled: it keeps the real title.
    assert message.body["name"].startswith(title)


def test_a_long_title_is_cut_in_subject_and_name_not_the_link(make: Make, entry: Entry) -> None:
    title = "Überlänge " * 60  # 11 bytes a word
    message = make().render(with_text(entry, title, "s"), KEY)
    subject, name = message.body["subject"], message.body["name"]
    assert len(subject.encode()) <= 200 and subject.endswith("…")
    assert len(name.encode()) <= 200 and name.endswith(f"… [{delivery_tag(KEY)}]")
    assert entry.post.url in (message.html or "")
    assert listmonk_validate(message) == []


def test_control_characters_never_reach_the_subject(make: Make, entry: Entry) -> None:
    message = make().render(with_text(entry, "Bell\x07 and\x00 null", "s"), KEY)
    assert message.body["subject"] == "Bell and null"


def test_options_reach_the_body(make: Make, entry: Entry) -> None:
    target = make(
        mode="send",
        lists=[1, 2, 1],
        template_id=4,
        from_email="Blog <news@example.com>",
        tags=["blog", "weekly digest"],
    )
    body = target.render(entry, KEY).body
    assert body["mode"] == "send" and body["lists"] == [1, 2]
    assert body["template_id"] == 4 and body["from_email"] == "Blog <news@example.com>"
    assert body["tags"] == [delivery_tag(KEY), "blog", "weekly digest"]


def test_subject_template_and_full_content(make: Make, entry: Entry) -> None:
    message = make(subject="New: {{ post.title }}", content="full").render(entry, KEY)
    assert message.body["subject"] == "New: Launch «day» ✓"
    assert "More below." in (message.html or "") and "More below." in message.body["altbody"]


def test_a_subject_template_syntax_error_names_the_key_and_line(make: Make) -> None:
    with pytest.raises(ConfigError) as caught:
        make(subject="{{ post.title ")
    assert "targets[0].subject: line 1:" in str(caught.value)


def test_an_html_template_error_names_the_key_and_line(make: Make, site: Config) -> None:
    (site.root / "mail.html").write_text("<p>ok</p>\n{% if %}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        make(html_template="mail.html")
    assert "targets[0].html_template: line 2:" in str(caught.value)


def test_dry_run_writes_the_email_to_a_file(make: Make, site: Config, tmp_path: Path) -> None:
    (sample,) = scan(site.site).posts
    (outcome,) = dry_run(sample, [make()], preview_dir=tmp_path)
    assert outcome.message is not None
    page = Path(outcome.message["html_file"])
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert TOKEN not in json.dumps(outcome.message)


# --- send --------------------------------------------------------------------


def test_draft_mode_searches_then_creates_one_draft(
    make: Make, entry: Entry, fake: FakeListmonk
) -> None:
    target = make()
    receipt = target.send(target.render(entry, KEY))
    assert fake.routes() == [("GET", "/api/campaigns"), ("POST", "/api/campaigns")]
    (campaign,) = fake.campaigns
    assert campaign["status"] == "draft" and fake.started == []
    assert campaign["tags"] == [delivery_tag(KEY)]
    assert campaign["body"].startswith("<!DOCTYPE html>")
    assert campaign["altbody"].startswith("Launch «day» ✓")
    assert receipt == Receipt("1", f"{target.url}/admin/campaigns/1")


def test_send_mode_starts_the_campaign(make: Make, entry: Entry, fake: FakeListmonk) -> None:
    target = make(mode="send")
    receipt = target.send(target.render(entry, KEY))
    assert fake.routes()[-1] == ("PUT", "/api/campaigns/{id}/status")
    assert fake.started == [1] and fake.campaigns[0]["status"] == "running"
    assert receipt.remote_id == "1"


def test_a_tagged_draft_is_started_not_created_again(
    make: Make, entry: Entry, fake: FakeListmonk
) -> None:
    fake.add(KEY, "draft")
    target = make(mode="send")
    receipt = target.send(target.render(entry, KEY))
    assert ("POST", "/api/campaigns") not in fake.routes()
    assert len(fake.campaigns) == 1 and fake.started == [1]
    assert receipt.remote_id == "1"


@pytest.mark.parametrize("status", ["running", "finished", "scheduled"])
def test_a_campaign_already_out_is_recorded(
    make: Make, entry: Entry, fake: FakeListmonk, status: str
) -> None:
    fake.add(KEY, status)
    target = make(mode="send")
    assert target.send(target.render(entry, KEY)).remote_id == "1"
    assert fake.routes() == [("GET", "/api/campaigns")]
    assert fake.started == []


@pytest.mark.parametrize("status", ["paused", "cancelled"])
def test_a_campaign_a_person_stopped_is_left_alone(
    make: Make,
    entry: Entry,
    fake: FakeListmonk,
    caplog: pytest.LogCaptureFixture,
    status: str,
) -> None:
    fake.add(KEY, status)
    caplog.set_level(logging.WARNING, logger="syndicate")
    target = make(mode="send")
    assert target.send(target.render(entry, KEY)).remote_id == "1"
    assert fake.started == [] and len(fake.campaigns) == 1
    assert any(r.getMessage() == "campaign_left_alone" for r in caplog.records)


def test_another_deliverys_campaign_is_not_taken(
    make: Make, entry: Entry, fake: FakeListmonk
) -> None:
    fake.add(delivery_key(entry.post.id, "other-target"), "finished")
    target = make()
    assert target.send(target.render(entry, KEY)).remote_id == "2"
    assert len(fake.campaigns) == 2


def test_of_two_tagged_campaigns_the_started_one_counts(
    make: Make, entry: Entry, fake: FakeListmonk, caplog: pytest.LogCaptureFixture
) -> None:
    fake.add(KEY, "draft")
    fake.add(KEY, "finished")
    caplog.set_level(logging.WARNING, logger="syndicate")
    target = make(mode="send")
    assert target.send(target.render(entry, KEY)).remote_id == "2"
    assert fake.started == []
    assert any(r.getMessage() == "duplicate_campaigns" for r in caplog.records)


def test_a_server_ignoring_the_tag_filter_creates_nothing(
    make: Make, entry: Entry, fake: FakeListmonk
) -> None:
    fake.tag_filter = False
    fake.add(delivery_key("someone-else", "news"), "finished")
    target = make()
    with pytest.raises(PermanentError, match=r"ignored the tag filter \(it needs v3.0"):
        target.send(target.render(entry, KEY))
    assert len(fake.campaigns) == 1


def test_refused_credentials_are_dead_and_say_renew(
    make: Make, entry: Entry, fake: FakeListmonk
) -> None:
    target = make(token="wrong-token-123456")
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(entry, KEY))
    assert "renew" in str(caught.value) and "invalid API credentials" in str(caught.value)
    assert "wrong-token-123456" not in str(caught.value)
    assert fake.campaigns == []


def test_a_validation_error_is_dead(make: Make, entry: Entry, fake: FakeListmonk) -> None:
    target = make(lists=[99])
    with pytest.raises(PermanentError, match=r"HTTP 400: .*invalid lists"):
        target.send(target.render(entry, KEY))


def test_a_429_from_a_proxy_keeps_its_hint(make: Make, entry: Entry, fake: FakeListmonk) -> None:
    fake.fail[("GET", "/api/campaigns")] = refused("slow down", 429)
    fake.fail[("GET", "/api/campaigns")].headers["Retry-After"] = "42"
    target = make()
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    assert caught.value.retry_after == 42.0 and not caught.value.ambiguous
    assert fake.campaigns == []


def test_a_failed_start_leaves_a_draft_that_the_retry_starts(
    make: Make, entry: Entry, fake: FakeListmonk
) -> None:
    fake.fail[("PUT", "/api/campaigns/{id}/status")] = refused("database busy", 503)
    target = make(mode="send")
    message = target.render(entry, KEY)
    with pytest.raises(TransientError):
        target.send(message)
    del fake.fail[("PUT", "/api/campaigns/{id}/status")]
    assert target.send(message).remote_id == "1"
    assert len(fake.campaigns) == 1 and fake.started == [1]


# --- ambiguous outcomes --------------------------------------------------------


@pytest.mark.parametrize(("mode", "found"), [("draft", "receipt"), ("send", "not found")])
def test_a_create_that_timed_out_is_found_and_never_made_twice(
    make: Make, entry: Entry, fake: FakeListmonk, mode: str, found: str
) -> None:
    fake.stall.add(("POST", "/api/campaigns"))
    target = make(mode=mode, read_timeout=0.3)
    message = target.render(entry, KEY)
    with pytest.raises(TransientError) as caught:
        target.send(message)
    assert caught.value.ambiguous
    answer = target.find_sent(message)
    if found == "receipt":
        assert answer == Receipt("1", f"{target.url}/admin/campaigns/1")
    else:
        # The draft exists but was never started: send resumes that draft.
        assert answer is Lookup.NOT_FOUND
        assert target.send(message).remote_id == "1"
        assert fake.started == [1]
    assert len(fake.campaigns) == 1


def test_find_sent_says_not_found_or_sent(make: Make, entry: Entry, fake: FakeListmonk) -> None:
    target = make(mode="send")
    message = target.render(entry, KEY)
    assert target.find_sent(message) is Lookup.NOT_FOUND
    fake.add(KEY, "running")
    assert target.find_sent(message) == Receipt("1", f"{target.url}/admin/campaigns/1")


def test_a_lookup_that_fails_is_unknown(make: Make, entry: Entry, fake: FakeListmonk) -> None:
    fake.fail[("GET", "/api/campaigns")] = refused("down", 502)
    target = make()
    assert look_up(target, target.render(entry, KEY)) is Lookup.UNKNOWN


def test_a_newsletter_never_retries_on_a_guess(make: Make) -> None:
    target = make()
    assert target.never_resend and not target.idempotent
    assert not target.retries_ambiguous()
    with pytest.raises(ConfigError, match="never sends twice on a guess"):
        make(on_ambiguous="retry")


# --- config ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"lists": None}, "targets[0].lists: is required"),
        ({"lists": []}, "targets[0].lists: expected a non-empty list"),
        ({"lists": ["3"]}, "targets[0].lists: expected a non-empty list"),
        ({"lists": [True]}, "targets[0].lists: expected a non-empty list"),
        ({"lists": [0]}, "targets[0].lists: expected a non-empty list"),
        ({"url": "lists.example.com"}, "targets[0].url: expected the listmonk address"),
        ({"api_user": "a:b"}, "targets[0].api_user: expected a user name without"),
        ({"token": "two words"}, "targets[0].token: expected a token without spaces"),
        ({"mode": "publish"}, 'targets[0].mode: expected one of "draft", "send"'),
        ({"template_id": "2"}, "targets[0].template_id: expected a positive id"),
        ({"content": "all"}, 'targets[0].content: expected one of "summary", "full"'),
        ({"tokn": "x"}, 'targets[0].tokn: unknown key (did you mean "token"?)'),
    ],
)
def test_config_errors(make: Make, options: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make(**options)  # None: the key left out
    assert expected in str(caught.value)


def test_a_token_from_a_missing_env_var_is_named_not_shown(make: Make) -> None:
    with pytest.raises(ConfigError) as caught:
        make(token="${LISTMONK_TOKEN_NOT_SET}")
    assert "environment variable LISTMONK_TOKEN_NOT_SET is not set" in str(caught.value)


# --- golden --------------------------------------------------------------------


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    (sample,) = [p for p in scan(config.site).posts if p.slug.startswith("ai-scribes")]
    options = {
        "url": "https://lists.example.com",
        "api_user": "syndicate",
        "token": "golden-token-000",
        "lists": [3],
    }
    target_config = TargetConfig(name="news", type="listmonk", options=options, source=config.path)
    target = registry.make_target(target_config, config.site)
    message = target.render(render_entry(sample, config.site), KEY)
    assert listmonk_validate(message) == []
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, encoding="utf-8")
    assert produced == GOLDEN.read_text(encoding="utf-8")


# --- crash safety: a real worker process killed at each step --------------------

# argv: config path, target class ("module:Class"), crash point. Registers the
# newsletter types (the shared registry does not list them yet), then dies
# with SIGKILL at the point; exit 3 if the point was never reached.
NEWSLETTER_WORKER = textwrap.dedent(
    """
    import importlib
    import os
    import signal
    import sys

    from syndicate import state, worker
    from syndicate.config import load_config
    from syndicate.targets import registry

    config_path, spec, point = sys.argv[1], sys.argv[2], sys.argv[3]
    module_name, _, class_name = spec.partition(":")
    registry.TYPES[module_name.rsplit(".", 1)[1]] = spec
    cls = getattr(importlib.import_module(module_name), class_name)


    def die():
        os.kill(os.getpid(), signal.SIGKILL)


    def after(owner, name):
        real = getattr(owner, name)

        def wrapped(*args, **kwargs):
            result = real(*args, **kwargs)
            die()
            return result

        setattr(owner, name, wrapped)


    if point == "claimed":
        real_claim = state.Store.claim_next

        def claim_next(self, *args, **kwargs):
            delivery = real_claim(self, *args, **kwargs)
            if delivery is not None:
                die()
            return delivery

        state.Store.claim_next = claim_next
    elif point == "committing-sent":
        real_finish = state.Store.finish

        def finish(self, delivery, owner, **values):
            if values.get("state") == "sent":
                die()
            return real_finish(self, delivery, owner, **values)

        state.Store.finish = finish
    elif point == "sent-unrecorded":
        after(cls, "send")
    else:
        after(cls, point)  # a step of the target's own: "_create", "_put_content"

    worker.run_once(load_config(config_path))
    sys.exit(3)
    """
)
POSTS = 3


def run_newsletter_worker(config_path: Path, spec: str, point: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", NEWSLETTER_WORKER, str(config_path), spec, point],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == KILLED, (result.returncode, result.stderr)


def deliveries(config_path: Path) -> list[Delivery]:
    config = load_config(config_path)
    store = open_store(config.state.url, config.root)
    try:
        return store.list_deliveries()
    finally:
        store.close()


def tick_until_idle(config_path: Path, limit: int = 5) -> None:
    for _ in range(limit):
        assert run_once(load_config(config_path)) is not None
        rows = deliveries(config_path)
        if not [d for d in rows if d.state in ("pending", "retry", "sending")]:
            return
    raise AssertionError(f"still busy after {limit} ticks: {deliveries(config_path)}")


def listmonk_site(tmp_path: Path, server: HTTPServer, mode: str) -> Path:
    table = {
        "name": "news",
        "type": "listmonk",
        "url": server.url_for("/").rstrip("/"),
        "api_user": USER,
        "token": TOKEN,
        "mode": mode,
        "backfill": "3650d",
    }
    path = write_site(tmp_path, POSTS, [table])
    # write_site writes scalars only; ours is the last table, so append to it.
    with path.open("a", encoding="utf-8") as config:
        config.write("lists = [3]\n")
    return path


@pytest.mark.parametrize(
    ("point", "mode"),
    [
        ("claimed", "send"),
        ("_create", "send"),
        ("_create", "draft"),
        ("sent-unrecorded", "send"),
        ("sent-unrecorded", "draft"),
        ("committing-sent", "send"),
    ],
)
def test_a_killed_worker_sends_no_post_twice_and_loses_none(
    tmp_path: Path, server: HTTPServer, fake: FakeListmonk, point: str, mode: str
) -> None:
    config_path = listmonk_site(tmp_path, server, mode)
    run_newsletter_worker(config_path, "syndicate.targets.listmonk:ListmonkTarget", point)
    left = [d for d in deliveries(config_path) if d.state == "sending"]
    assert len(left) == 1
    made_before = len(fake.campaigns)
    assert made_before == (0 if point == "claimed" else 1)

    tick_until_idle(config_path)

    rows = deliveries(config_path)
    assert len(rows) == POSTS and {d.state for d in rows} == {"sent"}
    tags = [c["tags"][0] for c in fake.campaigns]
    assert sorted(tags) == sorted(delivery_tag(d.key) for d in rows)  # one each, none twice
    if mode == "send":
        assert sorted(fake.started) == sorted(c["id"] for c in fake.campaigns)
    else:
        assert fake.started == [] and {c["status"] for c in fake.campaigns} == {"draft"}
    by_tag = {c["tags"][0]: str(c["id"]) for c in fake.campaigns}
    assert {d.remote_id for d in rows} == set(by_tag.values())


def test_a_killed_worker_whose_campaign_cannot_be_looked_up_is_held(
    tmp_path: Path, server: HTTPServer, fake: FakeListmonk
) -> None:
    config_path = listmonk_site(tmp_path, server, "send")
    run_newsletter_worker(config_path, "syndicate.targets.listmonk:ListmonkTarget", "_create")
    (left,) = [d for d in deliveries(config_path) if d.state == "sending"]
    fake.fail[("GET", "/api/campaigns")] = refused("down for maintenance", 503)

    assert run_once(load_config(config_path)) is not None

    rows = {d.key: d for d in deliveries(config_path)}
    held = rows[left.key]
    assert held.state == "held" and "ambiguous" in (held.reason or "")
    assert len(fake.campaigns) == 1 and fake.started == []  # never a second one
