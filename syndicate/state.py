"""The state store: posts seen, deliveries, targets seen, feed fingerprints.

SQLAlchemy Core on SQLite (default, a file under ``state/``, WAL) or
PostgreSQL (``postgresql://`` URL; several workers share it). The schema has a
version: an older database is upgraded in place on open, a newer one refused.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Table, create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from .errors import StateError
from .redact import redact
from .schema import deliveries, feeds, kv, migrate, posts, targets


def resolve_url(url: str, root: Path) -> str:
    """A relative SQLite path is relative to the site root; PostgreSQL URLs
    use psycopg (version 3) unless they name a driver."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StateError(f"state.url: not a database URL: {redact(url)}") from None
    if parsed.drivername == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).is_absolute():
            parsed = parsed.set(database=str(root / database))
    elif parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif not parsed.drivername.startswith("postgresql+"):
        raise StateError(
            f'state.url: expected "sqlite:///path" or "postgresql://...", got "{parsed.drivername}://"'
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed "sending" survives a power cut, so nothing is sent twice.
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass(frozen=True)
class Delivery:
    """One post × target, as stored."""

    id: int
    post_id: str
    target: str
    key: str
    state: str
    reason: str | None
    attempts: int
    post_date: datetime
    next_attempt_at: datetime | None
    lease_until: datetime | None
    lease_owner: str | None
    last_error: str | None
    remote_id: str | None
    remote_url: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> Delivery:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


class Store:
    """An open state database. Methods commit their own transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        database = self.engine.url.database
        if self.is_sqlite and database and database != ":memory:":
            return Path(database)
        return None

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            # Locked, gone, full: one line for the person, never a traceback.
            raise StateError(f"state database: {redact(_first_line(exc))}") from None

    def close(self) -> None:
        self.engine.dispose()

    def _insert_ignoring_duplicates(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table).on_conflict_do_nothing()

    # --- targets and posts ---------------------------------------------------

    def known_targets(self) -> set[str]:
        with self.begin() as db:
            return set(db.scalars(select(targets.c.name)))

    def _add_target(self, db: Connection, name: str, now: datetime) -> bool:
        statement = self._insert_ignoring_duplicates(targets).values(name=name, first_seen=now)
        return bool(db.execute(statement).rowcount)

    def delivered_post_ids(self, target: str) -> set[str]:
        """Posts that already have a delivery row (in any state) for ``target``."""
        with self.begin() as db:
            return set(
                db.scalars(select(deliveries.c.post_id).where(deliveries.c.target == target))
            )

    def insert_deliveries(
        self,
        rows: list[dict[str, Any]],
        *,
        first_sight_of: str | None = None,
        now: datetime | None = None,
    ) -> int | None:
        """Insert new rows; a row another worker inserted first is left alone.

        With ``first_sight_of``, the target's first sight is recorded in the
        same transaction as its baseline rows, so a crash can never leave a
        target "seen" without its baseline. None when another worker saw the
        target first (nothing was written).
        """
        inserted = 0
        with self.begin() as db:
            if first_sight_of is not None:
                assert now is not None
                if not self._add_target(db, first_sight_of, now):
                    return None
            for row in rows:
                statement = self._insert_ignoring_duplicates(deliveries).values(**row)
                inserted += db.execute(statement).rowcount
        return inserted

    def known_post_ids(self) -> set[str]:
        with self.begin() as db:
            return set(db.scalars(select(posts.c.id)))

    def add_posts(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.begin() as db:
                for row in rows:
                    db.execute(self._insert_ignoring_duplicates(posts).values(**row))

    # --- deliveries ----------------------------------------------------------

    def claim_next(
        self,
        target: str,
        now: datetime,
        owner: str,
        lease_until: datetime,
        skip: Iterable[int] = (),
    ) -> Delivery | None:
        """Take the oldest due delivery of ``target``: commit it as ``sending``
        with a lease. PostgreSQL skips rows other workers hold; SQLite has no
        row locks, so the write checks the row is still free."""
        skipped = list(skip)
        while True:
            with self.begin() as db:
                query = (
                    select(deliveries.c.id)
                    .where(
                        deliveries.c.target == target,
                        deliveries.c.state.in_(("pending", "retry")),
                        deliveries.c.next_attempt_at <= now,
                    )
                    .order_by(deliveries.c.post_date, deliveries.c.id)
                    .limit(1)
                )
                if skipped:
                    query = query.where(deliveries.c.id.not_in(skipped))
                if not self.is_sqlite:
                    query = query.with_for_update(skip_locked=True)
                found = db.scalar(query)
                if found is None:
                    return None
                claimed = db.execute(
                    deliveries.update()
                    .where(deliveries.c.id == found, deliveries.c.state.in_(("pending", "retry")))
                    .values(
                        state="sending", lease_until=lease_until, lease_owner=owner, updated_at=now
                    )
                )
                if claimed.rowcount:
                    row = db.execute(select(deliveries).where(deliveries.c.id == found))
                    return Delivery.from_row(row.mappings().one())
            # Taken between our read and our write: look again.

    def finish(self, delivery: Delivery, owner: str, **values: Any) -> bool:
        """Commit a claimed delivery's outcome; False if the lease was lost."""
        with self.begin() as db:
            result = db.execute(
                deliveries.update()
                .where(
                    deliveries.c.id == delivery.id,
                    deliveries.c.state == "sending",
                    deliveries.c.lease_owner == owner,
                )
                .values(lease_until=None, lease_owner=None, **values)
            )
            return bool(result.rowcount)

    def update(
        self,
        delivery_id: int,
        expected_state: str,
        *,
        same_lease: Delivery | None = None,
        **values: Any,
    ) -> bool:
        """Change one row if it is still in ``expected_state`` (and, with
        ``same_lease``, still held by that lease: a row another worker has
        recovered and claimed meanwhile is left alone)."""
        conditions = [deliveries.c.id == delivery_id, deliveries.c.state == expected_state]
        if same_lease is not None:
            conditions.append(
                deliveries.c.lease_owner.is_(None)
                if same_lease.lease_owner is None
                else deliveries.c.lease_owner == same_lease.lease_owner
            )
            conditions.append(
                deliveries.c.lease_until.is_(None)
                if same_lease.lease_until is None
                else deliveries.c.lease_until == same_lease.lease_until
            )
        with self.begin() as db:
            result = db.execute(deliveries.update().where(*conditions).values(**values))
            return bool(result.rowcount)

    def settle_sent(self, delivery_id: int, **values: Any) -> bool:
        """A send succeeded after its lease ran out: if the row was meanwhile
        parked (held, or waiting to retry), it was sent after all."""
        with self.begin() as db:
            result = db.execute(
                deliveries.update()
                .where(
                    deliveries.c.id == delivery_id,
                    deliveries.c.state.in_(("held", "retry")),
                    deliveries.c.lease_owner.is_(None),
                )
                .values(state="sent", reason=None, next_attempt_at=None, **values)
            )
            return bool(result.rowcount)

    def stale_sending(self, now: datetime, *, all_of_them: bool = False) -> list[Delivery]:
        """Rows left in ``sending`` by a worker that died: lease expired, or
        every one when the caller holds the only lock (SQLite)."""
        query = select(deliveries).where(deliveries.c.state == "sending")
        if not all_of_them:
            query = query.where(deliveries.c.lease_until < now)
        with self.begin() as db:
            return [Delivery.from_row(row) for row in db.execute(query).mappings()]

    def list_deliveries(
        self, *, target: str | None = None, post_id: str | None = None, states: Iterable[str] = ()
    ) -> list[Delivery]:
        query = select(deliveries).order_by(deliveries.c.post_date.desc(), deliveries.c.target)
        if target is not None:
            query = query.where(deliveries.c.target == target)
        if post_id is not None:
            query = query.where(deliveries.c.post_id == post_id)
        wanted = list(states)
        if wanted:
            query = query.where(deliveries.c.state.in_(wanted))
        with self.begin() as db:
            return [Delivery.from_row(row) for row in db.execute(query).mappings()]

    # --- feeds -----------------------------------------------------------------

    def feed_fingerprint(self) -> str | None:
        with self.begin() as db:
            value: str | None = db.scalar(select(feeds.c.fingerprint).where(feeds.c.name == "all"))
            return value

    def set_feed_fingerprint(self, fingerprint: str, now: datetime) -> None:
        with self.begin() as db:
            db.execute(feeds.delete().where(feeds.c.name == "all"))
            db.execute(feeds.insert().values(name="all", fingerprint=fingerprint, written_at=now))

    @contextlib.contextmanager
    def feed_lock(self) -> Iterator[bool]:
        """PostgreSQL: True for the one worker holding the feed-building lock.
        SQLite: always True (the tick's file lock already makes it the only one)."""
        if self.is_sqlite:
            yield True
            return
        with self.engine.connect() as db:
            held = bool(db.scalar(text("SELECT pg_try_advisory_lock(727002)")))
            try:
                yield held
            finally:
                if held:
                    db.execute(text("SELECT pg_advisory_unlock(727002)"))
                db.commit()

    # --- key/value, for target sessions and the like -------------------------

    def get_value(self, key: str) -> str | None:
        with self.begin() as db:
            value: str | None = db.scalar(select(kv.c.value).where(kv.c.key == key))
            return value

    def set_value(self, key: str, value: str) -> None:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(kv).values(key=key, value=value)
        with self.begin() as db:
            db.execute(
                statement.on_conflict_do_update(index_elements=[kv.c.key], set_={"value": value})
            )


def open_store(url: str, root: Path) -> Store:
    """Open (creating or upgrading) the state database at ``url``."""
    resolved = resolve_url(url, root)
    parsed = make_url(resolved)
    if parsed.drivername == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database or "").parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(f"state.url: cannot create {folder} ({exc.strerror})") from None
    try:
        engine = create_engine(resolved, future=True, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError):
        raise StateError(
            "state.url: PostgreSQL needs the psycopg driver: pip install 'syndicate[postgres]'"
        ) from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StateError(
            f"state.url: cannot open the state database ({redact(_first_line(exc))})"
        ) from None
    return Store(engine)


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else ""
