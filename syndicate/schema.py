"""The state database's tables, its schema version and the upgrades between
versions. ``state.py`` holds the queries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.types import DateTime, TypeDecorator

from .errors import StateError

SCHEMA_VERSION = 1


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


metadata = MetaData()

meta = Table(
    "syndicate_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

posts = Table(
    "posts",
    metadata,
    Column("id", Text, primary_key=True),
    Column("source", Text, nullable=False),
    Column("size", Integer),
    Column("mtime_ns", String(32)),
    Column("content_hash", String(64)),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
)

targets = Table(
    "targets",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("first_seen", UTCDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post_id", Text, nullable=False),
    Column("target", String(200), nullable=False),
    Column("key", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("post_date", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Column("lease_owner", String(100)),
    Column("last_error", Text),
    Column("remote_id", Text),
    Column("remote_url", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("post_id", "target", name="deliveries_post_target"),
    Index("deliveries_due", "target", "state", "next_attempt_at"),
)

feeds = Table(
    "feeds",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("written_at", UTCDateTime, nullable=False),
)

kv = Table(
    "kv",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

# version -> function upgrading a database at that version by one step.
MIGRATIONS: dict[int, Any] = {}


def migrate(engine: Engine) -> None:
    """Create the tables, or upgrade them to SCHEMA_VERSION; refuse newer."""
    with engine.begin() as db:
        if engine.dialect.name == "postgresql":
            # Two workers starting at once must not both create the tables.
            db.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        if not inspect(db).has_table(meta.name):
            metadata.create_all(db)
            db.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            return
        found = int(db.scalar(select(meta.c.value).where(meta.c.key == "schema_version")) or 0)
        if found > SCHEMA_VERSION:
            raise StateError(
                f"the state database has schema version {found}, newer than this syndicate "
                f"understands ({SCHEMA_VERSION}); upgrade syndicate, or point state.url elsewhere"
            )
        while found < SCHEMA_VERSION:
            MIGRATIONS[found](db)
            found += 1
            db.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(found)))
        # Tables added without a version bump (none yet) would be created here.
        metadata.create_all(db)
