"""The engine and session factory for one database URL, with the per-backend settings writes rely on.

Creates connections only; what to store is the repositories' business.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from app.storage.stored_values import check_flushed_rows, readable_json


def normalize_url(url: str) -> str:
    """Lets operators write `postgresql://` and still get the psycopg 3 driver we ship."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, json_deserializer=readable_json
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_deserializer=readable_json
    )


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite starts transactions lazily and deferred; a deferred transaction that reads first and writes
    # later fails at once under concurrency instead of waiting. BEGIN IMMEDIATE takes the write lock up
    # front, so SQLite serialises writers the way a row lock does on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory; services open one session per unit of work."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
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
