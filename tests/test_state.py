"""The state store: created on first use, versioned, upgraded, never downgraded."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, inspect, text

from syndicate import schema
from syndicate.errors import StateError
from syndicate.state import open_store, resolve_url

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_sqlite_file_is_created_relative_to_the_site_root(tmp_path: Path) -> None:
    store = open_store("sqlite:///state/syndicate.db", tmp_path)
    store.close()
    database = tmp_path / "state" / "syndicate.db"
    assert database.is_file()
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = db.execute(
            "SELECT value FROM syndicate_meta WHERE key = 'schema_version'"
        ).fetchone()[0]
    assert version == str(schema.SCHEMA_VERSION)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    open_store("sqlite:///s.db", tmp_path).close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE syndicate_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StateError, match="schema version 99, newer than this syndicate"):
        open_store("sqlite:///s.db", tmp_path)


def test_older_schema_is_upgraded_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store("sqlite:///s.db", tmp_path)
    store.set_value("kept", "yes")
    store.close()
    current = schema.SCHEMA_VERSION

    def add_column(db: Connection) -> None:
        db.execute(text("ALTER TABLE targets ADD COLUMN note VARCHAR(20)"))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", current + 1)
    monkeypatch.setitem(schema.MIGRATIONS, current, add_column)
    store = open_store("sqlite:///s.db", tmp_path)
    try:
        columns = {c["name"] for c in inspect(store.engine).get_columns("targets")}
        assert "note" in columns
        assert store.get_value("kept") == "yes"
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        version = db.execute("SELECT value FROM syndicate_meta").fetchone()[0]
    assert version == str(current + 1)


def test_unusable_database_is_a_one_line_state_error(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError) as caught:
        open_store("sqlite:///junk.db", tmp_path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///state/x.db", "sqlite:////site/state/x.db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_urls_resolve(url: str, expected: str) -> None:
    assert resolve_url(url, Path("/site")) == expected


def test_other_databases_are_refused() -> None:
    with pytest.raises(
        StateError, match=re.escape('expected "sqlite:///path" or "postgresql://..."')
    ):
        resolve_url("mysql://u@h/db", Path("/site"))


def test_targets_are_recorded_once(tmp_path: Path) -> None:
    store = open_store("sqlite:///s.db", tmp_path)
    try:
        assert store.insert_deliveries([], first_sight_of="hook", now=NOW) == 0
        assert store.insert_deliveries([], first_sight_of="hook", now=NOW) is None
        assert store.known_targets() == {"hook"}
    finally:
        store.close()


def test_values_are_replaced(tmp_path: Path) -> None:
    store = open_store("sqlite:///s.db", tmp_path)
    try:
        store.set_value("session", "one")
        store.set_value("session", "two")
        assert store.get_value("session") == "two"
        assert store.get_value("missing") is None
    finally:
        store.close()


def test_a_folder_that_cannot_be_made_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("file", "utf-8")
    with pytest.raises(StateError, match=r"state\.url: cannot create"):
        open_store("sqlite:///blocked/state/s.db", tmp_path)


def test_a_malformed_url_is_a_state_error() -> None:
    with pytest.raises(StateError, match="not a database URL"):
        resolve_url("postgresql://u:pw@host:notaport/db", Path("/site"))
