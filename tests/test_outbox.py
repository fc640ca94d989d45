"""The outbox end to end: real HTTP on 127.0.0.1, a real SQLite file, an injected clock."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from helpers import FakeClock, make_site, post
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from syndicate.config import Config
from syndicate.errors import TransientError
from syndicate.feeds import Entry
from syndicate.outbox import revive
from syndicate.state import Delivery, Store, open_store
from syndicate.tables import Table
from syndicate.targets import registry
from syndicate.targets.base import Lookup, Message, Receipt, Target
from syndicate.targets.registry import make_targets
from syndicate.worker import TickReport, tick

START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
FAST_RETRIES = {"backoff_base": "30s", "backoff_factor": 2, "jitter": 0, "max_attempts": 3}


class World:
    """A site, its state store and its targets, ticking on a fake clock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.clock = FakeClock(START)
        self.store: Store = open_store(config.state.url, config.root)
        self.targets = make_targets(config)

    def tick(self, **advance: float) -> TickReport:
        if advance:
            self.clock.advance(**advance)
        return tick(
            self.config,
            self.store,
            self.targets,
            clock=self.clock,
            exclusive=True,
            rng=random.Random(0),
        )

    def rows(self, target: str | None = None) -> list[Delivery]:
        return sorted(self.store.list_deliveries(target=target), key=lambda d: d.post_date)

    def close(self) -> None:
        for target in self.targets:
            target.close()
        self.store.close()


@pytest.fixture
def world_for(tmp_path: Path) -> Iterator[Any]:
    made: list[World] = []

    def build(
        posts: dict[str, str | bytes], targets: list[dict[str, Any]], **delivery: Any
    ) -> World:
        config = make_site(tmp_path, posts, targets=targets, delivery={**FAST_RETRIES, **delivery})
        world = World(config)
        made.append(world)
        return world

    yield build
    for world in made:
        world.close()


def hook(server: HTTPServer, path: str = "/hook", **options: Any) -> dict[str, Any]:
    return {
        "name": options.pop("name", "hook"),
        "type": "webhook",
        "url": server.url_for(path),
        "backfill": "3650d",
        **options,
    }


ONE_POST = {"2026-11-20-hello.md": post("Hello", "2026-11-20 09:00")}
FILE_TARGET = {"name": "f", "type": "file", "folder": "out", "backfill": "3650d"}


def test_a_due_post_is_sent_once(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_json({"id": "m-1"})
    world = world_for(ONE_POST, [hook(httpserver)])
    report = world.tick()
    assert len(report.dispatch.sent) == 1
    (row,) = world.rows()
    assert (row.state, row.attempts, row.remote_id, row.sent_at) == ("sent", 1, "m-1", START)
    world.tick(minutes=10)
    assert len(httpserver.log) == 1


def test_500_then_success_waits_the_backoff(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_ordered_request("/hook").respond_with_data("ok", status=200)
    world = world_for(ONE_POST, [hook(httpserver)])
    world.tick()
    (row,) = world.rows()
    assert (row.state, row.attempts) == ("retry", 1)
    assert row.next_attempt_at == START + timedelta(seconds=30)
    assert row.last_error == "HTTP 500: down"
    world.tick(seconds=29)
    assert len(httpserver.log) == 1  # not due yet
    world.tick(seconds=1)
    (row,) = world.rows()
    assert (row.state, row.attempts) == ("sent", 2)


def test_429_retry_after_is_honoured(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )
    world = world_for(ONE_POST, [hook(httpserver)])
    world.tick()
    (row,) = world.rows()
    assert row.state == "retry"
    assert row.next_attempt_at == START + timedelta(seconds=120)


def test_attempts_run_out_and_the_delivery_dies(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("busy", status=503)
    world = world_for(ONE_POST, [hook(httpserver)], max_attempts=2)
    world.tick()
    report = world.tick(seconds=30)
    assert len(report.dispatch.dead) == 1
    (row,) = world.rows()
    assert row.state == "dead"
    assert row.reason == "gave up after 2 attempts: HTTP 503: busy"
    world.tick(hours=10)
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    ("status", "reason"),
    [(400, "HTTP 400: bad"), (404, "HTTP 404: bad"), (422, "HTTP 422: bad")],
)
def test_client_errors_are_dead_at_once(
    world_for: Any, httpserver: HTTPServer, status: int, reason: str
) -> None:
    httpserver.expect_request("/hook").respond_with_data("bad", status=status)
    world = world_for(ONE_POST, [hook(httpserver)])
    world.tick()
    (row,) = world.rows()
    assert (row.state, row.reason, row.attempts) == ("dead", reason, 1)
    world.tick(days=1)
    assert len(httpserver.log) == 1


def test_a_redirect_is_not_followed(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data(
        "", status=301, headers={"Location": httpserver.url_for("/moved")}
    )
    world = world_for(ONE_POST, [hook(httpserver)])
    world.tick()
    (row,) = world.rows()
    assert row.state == "dead"
    assert "redirected to" in (row.reason or "")
    assert [entry[0].path for entry in httpserver.log] == ["/hook"]


def test_a_timeout_is_retried_with_the_same_key(world_for: Any, httpserver: HTTPServer) -> None:
    release = threading.Event()
    seen: list[str] = []

    def stall(request: Request) -> Response:
        seen.append(request.headers["webhook-id"])
        if len(seen) == 1:
            release.wait(5)
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(stall)
    world = world_for(ONE_POST, [hook(httpserver, read_timeout=0.3)])
    try:
        world.tick()
    finally:
        release.set()
    (row,) = world.rows()
    assert row.state == "retry"
    assert "may have arrived" in (row.last_error or "")
    world.tick(seconds=30)
    (row,) = world.rows()
    assert row.state == "sent"
    assert len(seen) == 2 and seen[0] == seen[1]


def test_oldest_post_goes_first(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    posts = {
        "2026-11-22-c.md": post("Third", "2026-11-22"),
        "2026-11-20-a.md": post("First", "2026-11-20"),
        "2026-11-21-b.md": post("Second", "2026-11-21"),
    }
    world = world_for(posts, [hook(httpserver)])
    world.tick()
    titles = [entry[0].get_json()["data"]["title"] for entry in httpserver.log]
    assert titles == ["First", "Second", "Third"]


def test_baseline_then_only_new_posts(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    posts = {
        f"2026-0{1 + i // 28}-{1 + i % 28:02d}-old-{i}.md": post(f"Old {i}", "2026-01-01")
        for i in range(50)
    }
    world = world_for(posts, [{**hook(httpserver), "backfill": "0d"}])
    report = world.tick()
    assert report.enqueued == 0 and len(httpserver.log) == 0
    assert {row.state for row in world.rows()} == {"skipped"}
    assert all((row.reason or "").startswith("baseline") for row in world.rows())
    new = world.config.site.posts_dir / "2026-11-25-new.md"
    new.write_text(post("New", "2026-11-25 11:00"), "utf-8")
    world.tick(minutes=5)
    world.tick(minutes=5)
    assert [entry[0].get_json()["data"]["title"] for entry in httpserver.log] == ["New"]


def test_backfill_lets_recent_posts_through(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    posts = {
        "2026-11-01-old.md": post("Old", "2026-11-01"),
        "2026-11-24-recent.md": post("Recent", "2026-11-24"),
    }
    world = world_for(posts, [{**hook(httpserver), "backfill": "7d"}])
    world.tick()
    assert [entry[0].get_json()["data"]["title"] for entry in httpserver.log] == ["Recent"]


def test_filters_skip_other_categories(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    posts = {
        "2026-11-20-a.md": post("News", "2026-11-20", categories="[News]"),
        "2026-11-21-b.md": post("Other", "2026-11-21", categories="[misc]"),
    }
    world = world_for(posts, [hook(httpserver, categories=["news"])])
    world.tick()
    assert [entry[0].get_json()["data"]["title"] for entry in httpserver.log] == ["News"]
    skipped = [row for row in world.rows() if row.state == "skipped"]
    assert len(skipped) == 1 and (skipped[0].reason or "").startswith("filtered")


def test_scheduled_post_is_sent_when_due(world_for: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    posts = {"2026-11-25-later.md": post("Later", "2026-11-25 15:00 +0000")}
    world = world_for(posts, [hook(httpserver)])
    report = world.tick()
    assert report.next_due == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    assert len(httpserver.log) == 0
    world.clock.now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    world.tick()
    assert len(httpserver.log) == 1


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_slow_target_does_not_hold_up_another(
    world_for: Any, threaded_server: HTTPServer
) -> None:
    httpserver = threaded_server
    fast_seen = threading.Event()

    def slow(_request: Request) -> Response:
        # Only answers once the other target's request has arrived: if the two
        # were sent one after the other, this would time out first.
        return Response("ok" if fast_seen.wait(5) else "late", status=200)

    def fast(_request: Request) -> Response:
        fast_seen.set()
        return Response("ok")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/fast").respond_with_handler(fast)
    targets = [
        hook(httpserver, "/slow", name="a-slow", read_timeout=3),
        hook(httpserver, "/fast", name="b-fast"),
    ]
    world = world_for(ONE_POST, targets, concurrency=2)
    world.tick()
    assert {row.target: row.state for row in world.rows()} == {"a-slow": "sent", "b-fast": "sent"}


class AmbiguousTarget(Target):
    """A target without idempotency whose sends end ambiguously, then succeed."""

    type = "ambiguous"
    calls: ClassVar[list[str]] = []

    def configure(self, table: Table) -> None:
        self.fail = table.flag("fail", True)

    def render(self, entry: Entry, key: str) -> Message:
        return Message(target=self.name, key=key, body={"title": entry.post.title})

    def send(self, message: Message) -> Receipt:
        AmbiguousTarget.calls.append(message.key)
        if self.fail and len(AmbiguousTarget.calls) == 1:
            raise TransientError("no answer after sending", ambiguous=True)
        return Receipt(remote_id="r")


@pytest.fixture
def ambiguous_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registry.TYPES, "ambiguous", "test_outbox:AmbiguousTarget")
    AmbiguousTarget.calls = []
    yield


@pytest.mark.usefixtures("ambiguous_type")
def test_ambiguous_outcome_is_held_until_retry(world_for: Any) -> None:
    world = world_for(ONE_POST, [{"name": "x", "type": "ambiguous", "backfill": "3650d"}])
    report = world.tick()
    assert len(report.dispatch.held) == 1
    (row,) = world.rows()
    assert row.state == "held" and "ambiguous" in (row.reason or "")
    world.tick(days=2)
    assert len(AmbiguousTarget.calls) == 1  # never sent again on its own
    assert len(revive(world.store, world.clock(), target="x")) == 1
    world.tick()
    (row,) = world.rows()
    assert row.state == "sent" and len(AmbiguousTarget.calls) == 2


@pytest.mark.usefixtures("ambiguous_type")
def test_on_ambiguous_retry_retries(world_for: Any) -> None:
    target = {"name": "x", "type": "ambiguous", "backfill": "3650d", "on_ambiguous": "retry"}
    world = world_for(ONE_POST, [target])
    world.tick()
    assert world.rows()[0].state == "retry"
    world.tick(seconds=30)
    assert world.rows()[0].state == "sent"


@pytest.mark.usefixtures("ambiguous_type")
def test_a_dead_workers_sending_row_is_resolved_at_once(
    world_for: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    targets = [
        hook(httpserver),
        {"name": "x", "type": "ambiguous", "backfill": "3650d", "fail": False},
    ]
    world = world_for(ONE_POST, targets)
    now = world.clock()
    world.tick()  # enqueue and send both
    for row in world.rows():
        # As if a worker had claimed them and died: lease still running.
        world.store.update(
            row.id,
            "sent",
            state="sending",
            lease_owner="dead",
            lease_until=now + timedelta(hours=1),
        )
    world.tick()
    states = {row.target: row.state for row in world.rows()}
    assert states == {"hook": "sent", "x": "held"}  # idempotent: retried; else held
    assert len(httpserver.log) == 2


def test_recover_leaves_a_row_another_worker_took_over(world_for: Any) -> None:
    world = world_for(ONE_POST, [FILE_TARGET])
    world.tick()
    (row,) = world.rows()
    now = world.clock()
    # Worker A saw the row with an expired lease ...
    world.store.update(row.id, "sent", state="sending", lease_owner="A", lease_until=now)
    stale = world.store.list_deliveries()[0]
    # ... but worker B recovered and claimed it first.
    world.store.update(row.id, "sending", lease_owner="B", lease_until=now + timedelta(minutes=5))
    assert world.store.update(row.id, "sending", same_lease=stale, state="retry") is False
    assert world.store.list_deliveries()[0].lease_owner == "B"


@pytest.mark.usefixtures("ambiguous_type")
def test_a_send_that_outlives_its_lease_is_recorded_as_sent(
    world_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = world_for(ONE_POST, [{"name": "x", "type": "ambiguous", "fail": False}])
    world.targets[0].backfill = timedelta(days=3650)

    def slow_send(self: AmbiguousTarget, message: Message) -> Receipt:
        # While this send is out, another worker finds the lease expired and
        # parks the row as held.
        from syndicate.outbox import recover

        recover(world.store, {}, world.clock() + timedelta(hours=1), exclusive=False)
        assert world.rows()[0].state == "held"
        return Receipt(remote_id="late")

    monkeypatch.setattr(AmbiguousTarget, "send", slow_send)
    world.tick()
    (row,) = world.rows()
    assert (row.state, row.remote_id) == ("sent", "late")
    assert revive(world.store, world.clock(), target="x") == []  # nothing to send twice


def test_unwritable_feeds_do_not_stop_announcements(world_for: Any, tmp_path: Path) -> None:
    world = world_for(ONE_POST, [FILE_TARGET])
    (tmp_path / "public").write_text("a file where the feed folder should be", "utf-8")
    report = world.tick()
    assert len(report.dispatch.sent) == 1
    assert any("cannot write the feed" in error.message for error in report.errors)


def test_a_post_that_is_no_longer_due_waits_with_the_reason(
    world_for: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hook").respond_with_data("busy", status=503)
    world = world_for(ONE_POST, [hook(httpserver)])
    world.tick()
    path = world.config.site.posts_dir / "2026-11-20-hello.md"
    path.write_text(post("Hello", "2026-11-20 09:00", draft="true"), "utf-8")
    world.tick(minutes=5)
    (row,) = world.rows()
    assert row.state == "retry" and row.attempts == 1
    assert row.last_error == "the post is not due any more (draft: true)"
    assert len(httpserver.log) == 1


class SearchableTarget(AmbiguousTarget):
    """A newsletter-like target: never resends on a guess, but can be searched."""

    type = "searchable"
    never_resend = True
    answer: ClassVar[Receipt | Lookup] = Lookup.UNKNOWN

    def find_sent(self, message: Message) -> Receipt | Lookup:
        return SearchableTarget.answer


@pytest.fixture
def searchable_type(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(registry.TYPES, "searchable", "test_outbox:SearchableTarget")
    AmbiguousTarget.calls = []
    yield


@pytest.mark.usefixtures("searchable_type")
@pytest.mark.parametrize(
    ("answer", "state", "sends"),
    [
        (Receipt(remote_id="found-1"), "sent", 1),
        (Lookup.NOT_FOUND, "retry", 1),
        (Lookup.UNKNOWN, "held", 1),
    ],
    ids=["found", "not-found", "unknown"],
)
def test_an_ambiguous_send_is_looked_up_before_anything_else(
    world_for: Any, monkeypatch: pytest.MonkeyPatch, answer: Any, state: str, sends: int
) -> None:
    monkeypatch.setattr(SearchableTarget, "answer", answer)
    world = world_for(ONE_POST, [{"name": "n", "type": "searchable", "backfill": "3650d"}])
    world.tick()
    (row,) = world.rows()
    assert row.state == state
    assert len(AmbiguousTarget.calls) == sends
    if state == "sent":
        assert row.remote_id == "found-1"


@pytest.mark.usefixtures("searchable_type")
def test_a_dead_workers_newsletter_row_is_looked_up(
    world_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = world_for(
        ONE_POST, [{"name": "n", "type": "searchable", "backfill": "3650d", "fail": False}]
    )
    world.tick()
    (row,) = world.rows()
    world.store.update(row.id, "sent", state="sending", lease_owner="dead")
    monkeypatch.setattr(SearchableTarget, "answer", Receipt(remote_id="campaign-9"))
    world.tick()
    (row,) = world.rows()
    assert (row.state, row.remote_id) == ("sent", "campaign-9")
    assert len(AmbiguousTarget.calls) == 1  # found, not sent again


@pytest.mark.usefixtures("searchable_type")
def test_a_newsletter_refuses_on_ambiguous_retry(world_for: Any) -> None:
    from syndicate.errors import ConfigError

    with pytest.raises(ConfigError, match="never sends twice on a guess"):
        world_for(ONE_POST, [{"name": "n", "type": "searchable", "on_ambiguous": "retry"}])
