"""The engine and session factory for one database URL, with the per-backend settings writes rely on and the
bounds on how long a caller may wait for the database.

Creates connections only; what to store is the repositories' business.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from app.storage.postgres_deadline import DeadlineConnection
from app.storage.stored_values import check_flushed_rows, readable_json

# Connections a PostgreSQL engine keeps, and how many more it may open under load.
POOL_SIZE = 10
MAX_OVERFLOW = 20
# A live server cancels a statement itself at statement_timeout and keeps the connection; the client's own
# deadline, for a server that answers nothing at all, comes this much later, so as never to race the server.
UNRESPONSIVE_GRACE_SECONDS = 1.0
# Without limits (migrations, the command line) SQLite still gives up on a lock held this long.
_SQLITE_DEFAULT_BUSY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class DatabaseLimits:
    """How long a caller waits for the database before it is told the database is unavailable."""

    connect_timeout_seconds: int  # PostgreSQL: opening a connection (libpq counts whole seconds, at least 2)
    statement_timeout_seconds: float  # one statement; on SQLite, waiting for the write lock
    pool_timeout_seconds: float  # waiting for a free connection of the pool


def normalize_url(url: str) -> str:
    """Lets operators write `postgresql://` and still get the psycopg 3 driver we ship."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, limits: DatabaseLimits | None = None) -> Engine:
    """Without `limits` (migrations, which may rightly wait for another replica's lock or run long) a
    PostgreSQL caller waits as long as the server takes."""
    url = normalize_url(url)
    pool: dict[str, Any] = {"pool_timeout": limits.pool_timeout_seconds} if limits and _queued(url) else {}
    if url.startswith("sqlite"):
        busy_seconds = limits.statement_timeout_seconds if limits else _SQLITE_DEFAULT_BUSY_SECONDS
        connect_args = {"check_same_thread": False, "timeout": busy_seconds}
        engine = create_engine(url, connect_args=connect_args, json_deserializer=readable_json, **pool)
        _configure_sqlite(engine, busy_seconds)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        json_deserializer=readable_json,
        **pool,
    )
    if limits is not None:
        _bound_postgresql(engine, limits)
    return engine


def _queued(url: str) -> bool:
    """Whether the engine's pool makes callers queue for connections (an in-memory SQLite one does not)."""
    parsed = make_url(url)
    dialect = cast(type[DefaultDialect], parsed.get_dialect())
    return issubclass(dialect.get_pool_class(parsed), QueuePool)


def _bound_postgresql(engine: Engine, limits: DatabaseLimits) -> None:
    statement_ms = max(1, round(limits.statement_timeout_seconds * 1000))

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> DeadlineConnection:
        cparams["connect_timeout"] = limits.connect_timeout_seconds
        connection = DeadlineConnection.connect(*cargs, **cparams)
        connection.round_trip_seconds = limits.statement_timeout_seconds + UNRESPONSIVE_GRACE_SECONDS
        # A session setting rather than a startup option: connection poolers such as PgBouncer refuse those.
        connection.autocommit = True
        connection.execute("SELECT set_config('statement_timeout', %s, false)", [f"{statement_ms}ms"])
        connection.autocommit = False
        return connection


def _configure_sqlite(engine: Engine, busy_seconds: float) -> None:
    # pysqlite starts transactions lazily and deferred; a deferred transaction that reads first and writes
    # later fails at once under concurrency instead of waiting. BEGIN IMMEDIATE takes the write lock up
    # front, so SQLite serialises writers the way a row lock does on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={max(1, round(busy_seconds * 1000))}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory; services open one session per unit of work."""

    def __init__(self, url: str, limits: DatabaseLimits | None = None) -> None:
        self.engine = make_engine(url, limits)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Nothing that could not be sent back is ever written, whichever service writes it.
        event.listen(self._sessions, "before_flush", check_flushed_rows)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def session(self) -> Session:
        """A new session; the caller commits or rolls back (see `transaction` for the common case)."""
        return self._sessions()

    @contextmanager
    def transaction(self, *, consistent_read: bool = False) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on any exception.

        `consistent_read` makes every statement see the same committed state (REPEATABLE READ on PostgreSQL;
        SQLite's transactions already are), for reads that must not mix two revisions.
        """
        with self._sessions() as session, session.begin():
            if consistent_read and self.is_postgresql:
                session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
