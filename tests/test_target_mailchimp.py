"""The Mailchimp target against a loopback server that answers like Mailchimp.

``FakeMailchimp`` checks each request the way the Marketing API does: Basic
auth with the key as the password, the campaign fields, ``count`` at most
1000, ``fields`` trimming the answer, content only on a draft ("save"), a
send only of a draft with content, and answers errors as problem documents.
Crash tests kill a real worker process at each step (the worker script is
shared with the listmonk tests): no post twice, none lost.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from contract_mailchimp import _validate as mailchimp_validate
from contract_mailchimp import problem
from helpers import make_site, post
from pytest_httpserver import HTTPServer
from receiver import write_site
from test_target_listmonk import POSTS, deliveries, run_newsletter_worker, tick_until_idle
from werkzeug import Request, Response

from syndicate.config import Config, TargetConfig, load_config
from syndicate.errors import ConfigError, PermanentError, TransientError
from syndicate.feeds import Entry, render_entry
from syndicate.outbox import delivery_key, look_up
from syndicate.posts import scan
from syndicate.targets import mailchimp, registry
from syndicate.targets.base import Lookup, Receipt
from syndicate.targets.mailchimp import BLOCKED_WAIT, THROTTLED_WAIT, MailchimpTarget, marker
from syndicate.worker import run_once

ROOT = Path(__file__).parent.parent
GOLDEN = Path(__file__).parent / "golden" / "targets" / "mailchimp.json"
KEY = "syn_0123456789abcdef0123456789abcdef"
API_KEY = "0123456789abcdef0123456789abcdef-us21"
LIST = "a1b2c3d4e5"
SPEC = "syndicate.targets.mailchimp:MailchimpTarget"


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.TYPES, "mailchimp", SPEC)


def as_json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, content_type="application/json")


def pick(value: Any, paths: list[list[str]]) -> Any:
    """Mailchimp's ``fields``: keep only the listed dotted paths."""
    if not paths or any(not p for p in paths):
        return value
    if isinstance(value, list):
        return [pick(item, paths) for item in value]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for name in {p[0] for p in paths}:
        if name in value:
            kept[name] = pick(value[name], [p[1:] for p in paths if p[0] == name])
    return kept


class FakeMailchimp:
    """Campaign endpoints with the Marketing API's rules, in memory."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.lists = {LIST}
        self.campaigns: list[dict[str, Any]] = []
        self.content: dict[str, dict[str, str]] = {}
        self.sent: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.fail: dict[tuple[str, str], Response] = {}
        self.stall: set[tuple[str, str]] = set()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._clock = 0
        server.expect_request(re.compile(r"/3\.0/.*")).respond_with_handler(self.handle)

    def handle(self, request: Request) -> Response:
        route = (
            request.method,
            re.sub(r"/campaigns/[0-9a-f]{10}", "/campaigns/{id}", request.path),
        )
        with self._lock:
            self.requests.append(route)
        auth = request.headers.get("Authorization", "")
        password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")[2]
        if not auth.startswith("Basic ") or password != API_KEY:
            return problem(401, "API Key Invalid", "Your API key may be invalid.")
        if route in self.fail:
            return self.fail[route]
        with self._lock:
            answer = self._route(request, route)
        if route in self.stall:
            self.release.wait(timeout=30)
        return answer

    def _route(self, request: Request, route: tuple[str, str]) -> Response:
        number = request.path.split("/")[3] if route[1].startswith("/3.0/campaigns/") else ""
        campaign = next((c for c in self.campaigns if c["id"] == number), None)
        if number and campaign is None:
            return problem(404, "Resource Not Found", "The requested resource could not be found.")
        if route == ("GET", "/3.0/campaigns"):
            return self._list(request)
        if route == ("POST", "/3.0/campaigns"):
            return self._create(request.get_json())
        assert campaign is not None
        if route == ("GET", "/3.0/campaigns/{id}/content"):
            return as_json(self.content.get(number, {"html": "", "plain_text": ""}))
        if route == ("PUT", "/3.0/campaigns/{id}/content"):
            if campaign["status"] != "save":
                return problem(400, "Bad Request", "This campaign cannot be updated.")
            data = request.get_json()
            self.content[number] = {"html": data["html"], "plain_text": data.get("plain_text", "")}
            return as_json(self.content[number])
        if route == ("POST", "/3.0/campaigns/{id}/actions/send"):
            if campaign["status"] != "save" or not self.content.get(number, {}).get("html"):
                return problem(400, "Bad Request", "Your Campaign is not ready to send.")
            campaign["status"] = "sent"
            self.sent.append(number)
            return Response(status=204)
        return problem(405, "Method Not Allowed", "The requested method is not allowed.")

    def _list(self, request: Request) -> Response:
        count = int(request.args.get("count", 10))
        offset = int(request.args.get("offset", 0))
        if count > 1000:
            return problem(400, "Invalid Resource", "count: must be at most 1000")
        if request.args.get("sort_field") not in (None, "create_time", "send_time"):
            return problem(400, "Invalid Resource", "sort_field: invalid")
        ordered = sorted(self.campaigns, key=lambda c: c["create_time"])
        if request.args.get("sort_dir") == "DESC":
            ordered.reverse()
        page = {"campaigns": ordered[offset : offset + count], "total_items": len(ordered)}
        fields = [f.split(".") for f in request.args.get("fields", "").split(",") if f]
        return as_json(pick(page, fields))

    def _create(self, data: Any) -> Response:
        settings = data.get("settings") or {}
        if data.get("type") not in ("regular", "plaintext", "rss", "variate"):
            return problem(400, "Invalid Resource", "type: invalid")
        if (data.get("recipients") or {}).get("list_id") not in self.lists:
            return problem(400, "Invalid Resource", "list_id: The resource could not be found")
        for field in ("subject_line", "title", "from_name", "reply_to"):
            if not isinstance(settings.get(field), str) or not settings[field]:
                return problem(400, "Invalid Resource", f"settings.{field}: required to send")
        self._clock += 1
        number = f"{self._clock:010x}"
        campaign = {
            "id": number,
            "web_id": 1000 + self._clock,
            "type": data["type"],
            "create_time": f"2026-04-10T09:{self._clock // 60:02d}:{self._clock % 60:02d}+00:00",
            "status": "save",
            "archive_url": f"http://eepurl.com/{number}",
            "recipients": data["recipients"],
            "settings": settings,
        }
        self.campaigns.append(campaign)
        return as_json(campaign)

    def add(self, key: str, status: str, html: str = "") -> dict[str, Any]:
        self._clock += 1
        number = f"{self._clock:010x}"
        campaign = {
            "id": number,
            "web_id": 1000 + self._clock,
            "type": "regular",
            "create_time": f"2026-04-10T08:00:{self._clock:02d}+00:00",
            "status": status,
            "archive_url": f"http://eepurl.com/{number}",
            "settings": {"title": f"Renamed by a person {marker(key)}"},
        }
        self.campaigns.append(campaign)
        self.content[number] = {"html": html, "plain_text": ""}
        return campaign

    def routes(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self.requests)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    httpserver = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    httpserver.start()
    yield httpserver
    httpserver.clear()
    httpserver.stop()


@pytest.fixture
def fake(server: HTTPServer) -> Iterator[FakeMailchimp]:
    chimp = FakeMailchimp(server)
    yield chimp
    chimp.release.set()


@pytest.fixture
def site(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "2026-04-10-launch.md": post(
                "Launch day *|FNAME|*",
                "2026-04-10 09:30:00 +0200",
                "We *launched* [the docs](/docs/?a=1&b=2).\n\nMore below.",
                image="/assets/cover.jpg",
            )
        },
    )


@pytest.fixture
def entry(site: Config) -> Entry:
    (found,) = scan(site.site).posts
    return render_entry(found, site.site)


Make = Callable[..., MailchimpTarget]


@pytest.fixture
def make(site: Config, server: HTTPServer) -> Iterator[Make]:
    made: list[MailchimpTarget] = []

    def build(**options: Any) -> MailchimpTarget:
        values = {
            "api_key": API_KEY,
            "api_url": server.url_for("/3.0"),
            "list_id": LIST,
            "read_timeout": 2.0,
            **options,
        }
        values = {key: value for key, value in values.items() if value is not None}
        config = TargetConfig(name="news", type="mailchimp", options=values, source=site.path)
        target = registry.make_target(config, site.site)
        assert isinstance(target, MailchimpTarget)
        made.append(target)
        return target

    yield build
    for target in made:
        target.close()


# --- render ------------------------------------------------------------------


def test_render_is_a_regular_campaign_with_the_html_apart(make: Make, entry: Entry) -> None:
    message = make().render(entry, KEY)
    body = message.body
    assert body["type"] == "regular" and body["recipients"] == {"list_id": LIST}
    assert body["settings"] == {
        "subject_line": "Launch day *\u200b|FNAME|*",
        "title": f"Launch day *|FNAME|* {marker(KEY)}",  # titles are never filled in
        "from_name": "Test Blog",
        "reply_to": "ada@example.com",
    }
    assert body["mode"] == "draft" and body["link"] == entry.post.url
    assert message.html is not None and body["html_bytes"] == len(message.html.encode())
    assert all("<html" not in str(value) for value in body.values())
    assert f'href="{entry.post.url}"' in message.html
    full = make(content="full").render(entry, KEY).html or ""
    assert 'href="https://blog.example.com/docs/?a=1&amp;b=2"' in full
    assert body["plain_text"].endswith(f"Read on the site: {entry.post.url}\n")
    assert mailchimp_validate(message) == []
    assert make().render(entry, KEY) == message


def test_the_data_centre_comes_from_the_key(site: Config) -> None:
    options = {"api_key": "abcdef0123-us21", "list_id": LIST}
    config = TargetConfig(name="news", type="mailchimp", options=options, source=site.path)
    target = registry.make_target(config, site.site)
    assert isinstance(target, MailchimpTarget)
    assert target.api_url == "https://us21.api.mailchimp.com/3.0"


def test_merge_tags_in_post_text_are_printed_not_filled(make: Make, entry: Entry) -> None:
    summary = "Hi *|FNAME|*, see <https://x.example/*%7CUNSUB%7C*> and *||*"
    message = make(content="full").render(replace(entry, summary=summary), KEY)
    assert mailchimp_validate(message) == []
    assert "*\u200b|FNAME|*" in (message.html or "")
    assert mailchimp.defuse("a *%7cX%7C* b") == "a %2A%7cX%7C* b"


def test_a_long_title_is_cut_in_subject_and_title_not_the_link(make: Make, entry: Entry) -> None:
    long = replace(entry, post=replace(entry.post, title="Word " * 80))
    message = make().render(long, KEY)
    settings = message.body["settings"]
    assert len(settings["subject_line"]) <= 150 and settings["subject_line"].endswith("…")
    assert len(settings["title"]) <= 100 and settings["title"].endswith(f"… {marker(KEY)}")
    assert entry.post.url in (message.html or "")


def test_a_subject_template_syntax_error_names_the_key_and_line(make: Make) -> None:
    with pytest.raises(ConfigError, match=r"targets\[0\]\.subject: line 1:"):
        make(subject="{% if %}")


# --- send --------------------------------------------------------------------


def test_draft_mode_creates_a_draft_with_its_content(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    target = make()
    receipt = target.send(target.render(entry, KEY))
    assert fake.routes() == [
        ("GET", "/3.0/campaigns"),
        ("POST", "/3.0/campaigns"),
        ("PUT", "/3.0/campaigns/{id}/content"),
    ]
    (campaign,) = fake.campaigns
    assert campaign["status"] == "save" and fake.sent == []
    assert fake.content[campaign["id"]]["html"].startswith("<!DOCTYPE html>")
    assert receipt == Receipt(campaign["id"], campaign["archive_url"])


def test_send_mode_sends_once(make: Make, entry: Entry, fake: FakeMailchimp) -> None:
    target = make(mode="send")
    receipt = target.send(target.render(entry, KEY))
    assert fake.routes()[-1] == ("POST", "/3.0/campaigns/{id}/actions/send")
    assert fake.sent == [fake.campaigns[0]["id"]] and receipt.remote_id == fake.sent[0]


def test_a_marked_draft_without_content_is_completed_not_made_again(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    draft = fake.add(KEY, "save")
    target = make(mode="send")
    assert target.send(target.render(entry, KEY)).remote_id == draft["id"]
    assert ("POST", "/3.0/campaigns") not in fake.routes()
    assert fake.content[draft["id"]]["html"].startswith("<!DOCTYPE html>")
    assert fake.sent == [draft["id"]]


def test_a_draft_a_person_edited_is_not_overwritten(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    edited = f'<p>My own words. <a href="{entry.post.url}">Read</a></p>'
    draft = fake.add(KEY, "save", html=edited)
    target = make()
    assert target.send(target.render(entry, KEY)).remote_id == draft["id"]
    assert ("PUT", "/3.0/campaigns/{id}/content") not in fake.routes()
    assert fake.content[draft["id"]]["html"] == edited


@pytest.mark.parametrize("status", ["sending", "sent", "schedule", "canceled"])
def test_a_campaign_past_the_draft_is_recorded_and_left_alone(
    make: Make, entry: Entry, fake: FakeMailchimp, status: str
) -> None:
    found = fake.add(KEY, status)
    target = make(mode="send")
    assert target.send(target.render(entry, KEY)) == Receipt(found["id"], found["archive_url"])
    assert fake.routes() == [("GET", "/3.0/campaigns")] and fake.sent == []


def test_the_search_pages_through_newest_first(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    ours = fake.add(KEY, "sent")
    for number in range(1200):
        fake.add(f"other-{number}", "sent")
    target = make()
    assert target.send(target.render(entry, KEY)).remote_id == ours["id"]
    assert fake.routes() == [("GET", "/3.0/campaigns")] * 2
    assert len(fake.campaigns) == 1201


def test_too_many_campaigns_to_search_creates_nothing(
    make: Make, entry: Entry, fake: FakeMailchimp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailchimp, "PAGE", 10)
    monkeypatch.setattr(mailchimp, "MAX_PAGES", 2)
    for number in range(25):
        fake.add(f"other-{number}", "sent")
    target = make()
    with pytest.raises(PermanentError, match="more than 20 campaigns"):
        target.send(target.render(entry, KEY))
    assert len(fake.campaigns) == 25


def test_another_deliverys_campaign_is_not_taken(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    fake.add(delivery_key(entry.post.id, "other-target"), "sent")
    target = make()
    target.send(target.render(entry, KEY))
    assert len(fake.campaigns) == 2


def test_a_bad_key_is_dead_and_says_renew(make: Make, entry: Entry, fake: FakeMailchimp) -> None:
    target = make(api_key="ffffffffffffffffffffffff-us21")
    with pytest.raises(PermanentError) as caught:
        target.send(target.render(entry, KEY))
    assert "renew" in str(caught.value) and "API Key Invalid" in str(caught.value)
    assert "ffffffffffffffffffffffff" not in str(caught.value)


def test_a_403_problem_document_is_the_key_refused(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    fake.fail[("GET", "/3.0/campaigns")] = problem(403, "Forbidden", "User disabled.")
    target = make()
    with pytest.raises(PermanentError, match="renew"):
        target.send(target.render(entry, KEY))


def test_a_bare_403_from_the_gateway_is_transient(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    page = "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>Reference #18</BODY></HTML>"
    fake.fail[("GET", "/3.0/campaigns")] = Response(page, status=403, content_type="text/html")
    target = make()
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    assert caught.value.retry_after == BLOCKED_WAIT and not caught.value.ambiguous
    assert "not the API key" in str(caught.value) and "renew" not in str(caught.value)


def test_a_429_without_a_hint_waits_our_own_time(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    fake.fail[("POST", "/3.0/campaigns")] = problem(429, "Too Many Requests", "10 connections.")
    target = make()
    with pytest.raises(TransientError) as caught:
        target.send(target.render(entry, KEY))
    assert caught.value.retry_after == THROTTLED_WAIT and fake.campaigns == []


def test_a_send_refused_leaves_a_draft_that_a_retry_completes(
    make: Make, entry: Entry, fake: FakeMailchimp
) -> None:
    fake.fail[("POST", "/3.0/campaigns/{id}/actions/send")] = problem(
        400, "Bad Request", "Your Campaign is not ready to send."
    )
    target = make(mode="send")
    message = target.render(entry, KEY)
    with pytest.raises(PermanentError, match="not ready to send"):
        target.send(message)
    del fake.fail[("POST", "/3.0/campaigns/{id}/actions/send")]
    assert target.send(message).remote_id == fake.campaigns[0]["id"]
    assert len(fake.campaigns) == 1 and len(fake.sent) == 1


# --- ambiguous outcomes --------------------------------------------------------


@pytest.mark.parametrize(
    "step", [("POST", "/3.0/campaigns"), ("PUT", "/3.0/campaigns/{id}/content")]
)
def test_a_step_that_timed_out_is_completed_never_made_twice(
    make: Make, entry: Entry, fake: FakeMailchimp, step: tuple[str, str]
) -> None:
    fake.stall.add(step)
    target = make(mode="send", read_timeout=0.3)
    message = target.render(entry, KEY)
    with pytest.raises(TransientError) as caught:
        target.send(message)
    assert caught.value.ambiguous
    fake.stall.clear()
    # A draft was made: send completes that very draft.
    assert target.find_sent(message) is Lookup.NOT_FOUND
    assert target.send(message).remote_id == fake.campaigns[0]["id"]
    assert len(fake.campaigns) == 1 and len(fake.sent) == 1


def test_a_send_that_timed_out_is_found_sent(make: Make, entry: Entry, fake: FakeMailchimp) -> None:
    fake.stall.add(("POST", "/3.0/campaigns/{id}/actions/send"))
    target = make(mode="send", read_timeout=0.3)
    message = target.render(entry, KEY)
    with pytest.raises(TransientError):
        target.send(message)
    (campaign,) = fake.campaigns
    assert target.find_sent(message) == Receipt(campaign["id"], campaign["archive_url"])
    assert fake.sent == [campaign["id"]]


def test_a_lookup_that_fails_is_unknown(make: Make, entry: Entry, fake: FakeMailchimp) -> None:
    fake.fail[("GET", "/3.0/campaigns")] = problem(503, "Service Unavailable", "Try later.")
    target = make()
    assert look_up(target, target.render(entry, KEY)) is Lookup.UNKNOWN
    with pytest.raises(ConfigError, match="never sends twice on a guess"):
        make(on_ambiguous="retry")


# --- config ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"api_url": None, "api_key": "no-data-centre"}, "targets[0].api_key: expected a Mail"),
        ({"api_url": "ftp://x"}, "targets[0].api_url: expected an http(s):// address"),
        ({"list_id": None}, "targets[0].list_id: is required"),
        ({"list_id": "a b"}, "targets[0].list_id: expected the audience id"),
        ({"reply_to": "nobody"}, "targets[0].reply_to: expected an email address"),
        ({"from_name": " "}, "targets[0].from_name: expected a sender name"),
        ({"mode": "schedule"}, 'targets[0].mode: expected one of "draft", "send"'),
        ({"listid": LIST}, 'targets[0].listid: unknown key (did you mean "list_id"?)'),
    ],
)
def test_config_errors(make: Make, options: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        make(**options)
    assert expected in str(caught.value)
    assert "no-data-centre" not in str(caught.value)


def test_reply_to_is_needed_when_the_site_has_no_author_email(tmp_path: Path) -> None:
    site = make_site(tmp_path, {}, site={"author": {"name": "Ada"}})
    options = {"api_key": API_KEY, "list_id": LIST}
    config = TargetConfig(name="news", type="mailchimp", options=options, source=site.path)
    with pytest.raises(ConfigError, match=r"reply_to: expected an email address"):
        registry.make_target(config, site.site)


# --- golden --------------------------------------------------------------------


def test_golden_render_of_the_sample_post() -> None:
    config = load_config(ROOT / "config" / "syndicate.toml")
    (sample,) = [p for p in scan(config.site).posts if p.slug.startswith("ai-scribes")]
    options = {"api_key": "golden0000-us21", "list_id": LIST}
    target_config = TargetConfig(name="news", type="mailchimp", options=options, source=config.path)
    target = registry.make_target(target_config, config.site)
    message = target.render(render_entry(sample, config.site), KEY)
    assert mailchimp_validate(message) == []
    produced = json.dumps(message.body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("SYNDICATE_REGENERATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(produced, encoding="utf-8")
    assert produced == GOLDEN.read_text(encoding="utf-8")


# --- crash safety ----------------------------------------------------------------


def mailchimp_site(tmp_path: Path, server: HTTPServer, mode: str) -> Path:
    table = {
        "name": "news",
        "type": "mailchimp",
        "api_key": API_KEY,
        "api_url": server.url_for("/3.0"),
        "list_id": LIST,
        "reply_to": "ada@example.com",
        "mode": mode,
        "backfill": "3650d",
    }
    return write_site(tmp_path, POSTS, [table])


@pytest.mark.parametrize(
    ("point", "mode"),
    [
        ("claimed", "send"),
        ("_create", "send"),  # a draft without content
        ("_create", "draft"),
        ("_put_content", "send"),
        ("_put_content", "draft"),
        ("sent-unrecorded", "send"),
        ("committing-sent", "draft"),
    ],
)
def test_a_killed_worker_sends_no_post_twice_and_loses_none(
    tmp_path: Path,
    server: HTTPServer,
    fake: FakeMailchimp,
    point: str,
    mode: str,
) -> None:
    config_path = mailchimp_site(tmp_path, server, mode)
    run_newsletter_worker(config_path, SPEC, point)
    left = [d for d in deliveries(config_path) if d.state == "sending"]
    assert len(left) == 1

    tick_until_idle(config_path)

    rows = deliveries(config_path)
    assert len(rows) == POSTS and {d.state for d in rows} == {"sent"}
    titles = [c["settings"]["title"] for c in fake.campaigns]
    assert sorted(t[-28:] for t in titles) == sorted(marker(d.key) for d in rows)
    assert all(fake.content[c["id"]]["html"].startswith("<!DOCTYPE") for c in fake.campaigns)
    if mode == "send":
        assert sorted(fake.sent) == sorted(c["id"] for c in fake.campaigns)
    else:
        assert fake.sent == [] and {c["status"] for c in fake.campaigns} == {"save"}


def test_a_killed_worker_whose_campaign_cannot_be_looked_up_is_held(
    tmp_path: Path, server: HTTPServer, fake: FakeMailchimp
) -> None:
    config_path = mailchimp_site(tmp_path, server, "send")
    run_newsletter_worker(config_path, SPEC, "_put_content")
    (left,) = [d for d in deliveries(config_path) if d.state == "sending"]
    fake.fail[("GET", "/3.0/campaigns")] = Response("<HTML>Access Denied</HTML>", status=403)

    assert run_once(load_config(config_path)) is not None

    held = {d.key: d for d in deliveries(config_path)}[left.key]
    assert held.state == "held" and "ambiguous" in (held.reason or "")
    assert len(fake.campaigns) == 1 and fake.sent == []
