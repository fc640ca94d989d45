"""The state store on PostgreSQL: schema, row claims, the feed lock, and
several worker processes sharing one outbox.

Each test gets its own database, created and dropped here. Set
SYNDICATE_TEST_POSTGRES_URL to a server where that user may CREATE DATABASE,
e.g. postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from receiver import (
    FAST_DELIVERY,
    Receiver,
    run_crashing_worker,
    webhook,
    write_site,
)
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url

from syndicate.config import load_config
from syndicate.errors import StateError
from syndicate.feeds import main_feed_paths
from syndicate.outbox import delivery_key, enqueue
from syndicate.posts import due_posts, scan
from syndicate.schema import SCHEMA_VERSION, deliveries, meta
from syndicate.state import Delivery, Store, open_store
from syndicate.targets.registry import make_targets
from syndicate.worker import run_once, tick_lock

BASE_URL = os.environ.get("SYNDICATE_TEST_POSTGRES_URL", "")
pytestmark = pytest.mark.skipif(
    not BASE_URL,
    reason="set SYNDICATE_TEST_POSTGRES_URL=postgresql://... to run PostgreSQL tests",
)

KILLED = -signal.SIGKILL
WORKERS = 4
POSTS = 100
TARGETS = 5  # 500 deliveries

# One tick in a worker process that says "ready" once imported and
# configured, then waits for a line on stdin, so all start the tick together.
# Every feed build is appended to the file in argv[2].
TICK_WORKER = textwrap.dedent(
    """
    import json
    import os
    import sys

    import syndicate.targets.webhook
    from syndicate import worker
    from syndicate.config import load_config

    config = load_config(sys.argv[1])
    real_build = worker.build


    def build(*args, **kwargs):
        with open(sys.argv[2], "a") as log:
            log.write(f"{os.getpid()}\\n")
        return real_build(*args, **kwargs)


    worker.build = build
    print("ready", flush=True)
    sys.stdin.readline()
    report = worker.run_once(config)
    print(json.dumps({"sent": len(report.dispatch.sent), "failed": report.failed}))
    """
)


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh database's URL, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"syn_test_{secrets.token_hex(6)}"
    with psycopg.connect(BASE_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(BASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(BASE_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


@pytest.fixture
def store(database: str, tmp_path: Path) -> Iterator[Store]:
    opened = open_store(database, tmp_path)
    try:
        yield opened
    finally:
        opened.close()


def all_deliveries(url: str, root: Path) -> list[Delivery]:
    store = open_store(url, root)
    try:
        return store.list_deliveries()
    finally:
        store.close()


def schema_versions(store: Store) -> list[str]:
    with store.begin() as db:
        return list(db.scalars(select(meta.c.value).where(meta.c.key == "schema_version")))


# --- schema ----------------------------------------------------------------------


def test_open_store_creates_the_schema_and_opens_again(database: str, tmp_path: Path) -> None:
    store = open_store(database, tmp_path)
    try:
        assert not store.is_sqlite
        assert store.sqlite_path is None
        tables = set(inspect(store.engine).get_table_names())
        assert {"syndicate_meta", "posts", "targets", "deliveries", "feeds", "kv"} <= tables
        assert schema_versions(store) == [str(SCHEMA_VERSION)]
        store.set_value("session", "kept")
    finally:
        store.close()

    again = open_store(database, tmp_path)
    try:
        assert schema_versions(again) == [str(SCHEMA_VERSION)]
        assert again.get_value("session") == "kept"
        with tick_lock(again) as held:  # PostgreSQL: row locks, not a file lock
            assert held
    finally:
        again.close()


def test_workers_opening_a_new_database_at_once_create_it_once(
    database: str, tmp_path: Path
) -> None:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        stores = list(pool.map(lambda _: open_store(database, tmp_path), range(WORKERS)))
    try:
        assert schema_versions(stores[0]) == [str(SCHEMA_VERSION)]
    finally:
        for opened in stores:
            opened.close()


def test_a_newer_schema_is_refused(store: Store, database: str, tmp_path: Path) -> None:
    with store.begin() as db:
        db.execute(
            meta.update()
            .where(meta.c.key == "schema_version")
            .values(value=str(SCHEMA_VERSION + 1))
        )
    with pytest.raises(StateError, match="newer"):
        open_store(database, tmp_path)


# --- locks -------------------------------------------------------------------------


def test_only_one_worker_holds_the_feed_lock(store: Store, database: str, tmp_path: Path) -> None:
    other = open_store(database, tmp_path)
    try:
        with store.feed_lock() as mine:
            assert mine
            with other.feed_lock() as theirs:
                assert not theirs
        with other.feed_lock() as theirs:  # released with the first
            assert theirs
    finally:
        other.close()


def test_claim_skips_rows_another_worker_holds(
    store: Store, tmp_path: Path, receiver: Receiver
) -> None:
    config_path = write_site(tmp_path, 3, [webhook("hook", receiver.url)])
    config = load_config(config_path)
    now = datetime.now(UTC)
    due = due_posts(scan(config.site).posts, now)
    assert enqueue(store, due, make_targets(config), now) == 3
    lease = now + timedelta(minutes=5)

    with store.engine.connect() as other:
        # Another worker's transaction holds the oldest row.
        oldest = other.scalar(
            select(deliveries.c.id)
            .order_by(deliveries.c.post_date, deliveries.c.id)
            .limit(1)
            .with_for_update()
        )
        claimed = store.claim_next("hook", now, "me", lease)
        assert claimed is not None
        assert claimed.id != oldest
        assert claimed.state == "sending"
        assert claimed.lease_owner == "me"
        other.rollback()

    claimed_next = store.claim_next("hook", now, "me", lease)
    assert claimed_next is not None
    assert claimed_next.id == oldest
    assert store.claim_next("hook", now, "me", lease) is not None
    assert store.claim_next("hook", now, "me", lease) is None


# --- several workers -------------------------------------------------------------


def run_workers(config_path: Path, builds: Path) -> list[int]:
    """One tick in each of WORKERS processes started together; how many each sent."""
    command = [sys.executable, "-c", TICK_WORKER, str(config_path), str(builds)]
    procs = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready", proc.communicate(timeout=30)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sent = []
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        report = json.loads(out)
        assert not report["failed"], err
        sent.append(report["sent"])
    return sent


def test_four_workers_deliver_each_exactly_once(
    database: str, tmp_path: Path, receiver: Receiver
) -> None:
    names = [f"hook-{n}" for n in range(TARGETS)]
    targets = [webhook(name, f"{receiver.url}/{name}") for name in names]
    config_path = write_site(tmp_path, POSTS, targets, state_url=database)
    config = load_config(config_path)
    post_ids = [p.id for p in scan(config.site).posts]
    keys = {delivery_key(post_id, name) for post_id in post_ids for name in names}
    assert len(keys) == POSTS * TARGETS
    builds = tmp_path / "builds.log"

    sent: list[int] = []
    for _ in range(3):
        sent += run_workers(config_path, builds)
        rows = all_deliveries(database, tmp_path)
        if not any(d.state in ("pending", "retry", "sending") for d in rows):
            break

    assert len(rows) == POSTS * TARGETS
    assert {d.state for d in rows} == {"sent"}
    assert {d.key for d in rows} == keys
    assert receiver.invalid() == []
    counts = receiver.counts()
    assert set(counts) == keys
    assert [key for key, count in counts.items() if count != 1] == []
    assert len(receiver.received) == POSTS * TARGETS
    assert sum(sent) == POSTS * TARGETS  # the workers' own reports agree
    assert sum(1 for count in sent if count) > 1  # they did share the outbox

    # The feed lock let one worker build the feeds; the others left them.
    assert len(builds.read_text().split()) == 1
    paths = main_feed_paths(config)
    assert len(paths) == 3  # Atom, RSS, JSON Feed
    for path in paths:
        if path.suffix == ".json":  # feedparser 6.0 reads no JSON Feed
            document = json.loads(path.read_text("utf-8"))
            assert document["version"] == "https://jsonfeed.org/version/1.1"
            assert len(document["items"]) == config.feeds.limit
            continue
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert len(parsed.entries) == config.feeds.limit


# --- crashes ------------------------------------------------------------------------


@pytest.mark.parametrize(("point", "times"), [("claimed", 1), ("sent-unrecorded", 2)])
def test_killed_worker_row_is_retried_once_its_lease_expires(
    database: str, tmp_path: Path, receiver: Receiver, point: str, times: int
) -> None:
    delivery = {**FAST_DELIVERY, "lease": "2m"}
    target = webhook("hook", receiver.url + "/in")
    config_path = write_site(tmp_path, 5, [target], state_url=database, delivery=delivery)

    result = run_crashing_worker(config_path, point)
    assert result.returncode == KILLED, (result.returncode, result.stderr)
    claimed = [d for d in all_deliveries(database, tmp_path) if d.state == "sending"]
    assert len(claimed) == 1
    key = claimed[0].key

    # Within the lease another worker cannot tell a dead worker from a slow
    # one: it sends the rest and leaves the claimed row alone.
    assert run_once(load_config(config_path)) is not None
    rows = {d.key: d.state for d in all_deliveries(database, tmp_path)}
    assert rows.pop(key) == "sending"
    assert set(rows.values()) == {"sent"}
    assert receiver.counts()[key] == times - 1

    later = datetime.now(UTC) + timedelta(minutes=3)
    assert run_once(load_config(config_path), clock=lambda: later) is not None
    rows = {d.key: d.state for d in all_deliveries(database, tmp_path)}
    assert set(rows.values()) == {"sent"}
    assert receiver.counts() == {**dict.fromkeys(rows, 1), key: times}
    assert receiver.invalid() == []


def test_workers_seeing_a_new_target_together_keep_the_baseline(
    store: Store,
    database: str,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = webhook("hook", receiver.url, backfill="0d")  # every due post is baseline
    config_path = write_site(tmp_path, 3, [target], state_url=database)
    config = load_config(config_path)
    now = datetime.now(UTC)
    due = due_posts(scan(config.site).posts, now)
    other = open_store(database, tmp_path)
    real_insert = store.insert_deliveries

    def insert_after_the_other_worker(rows: list[dict[str, object]], **kw: Any) -> int | None:
        # The other worker's whole enqueue lands between our planning and our
        # insert: a legal interleaving of two workers' transactions.
        enqueue(other, due, make_targets(config), now)
        return real_insert(rows, **kw)

    monkeypatch.setattr(store, "insert_deliveries", insert_after_the_other_worker)
    try:
        enqueue(store, due, make_targets(config), now)
    finally:
        other.close()
    rows = store.list_deliveries()
    assert len(rows) == 3
    assert {d.state for d in rows} == {"skipped"}
