"""Runs and inspects the Alembic migrations in `app/migrations/` for one database.

The only place that drives Alembic from code. The scripts live in `app/migrations/versions`, inside the
package, so an installed wheel migrates from any working directory.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from app.storage.database import make_engine, normalize_url

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# Any constant will do: it only has to be the same number in every replica that might migrate at once.
_ADVISORY_LOCK_ID = 0x466C6167


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    known = known_revisions()
    return known[-1] if known else None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


class MigrationRefused(RuntimeError):
    """A migration that cannot or must not run as asked; the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class Step:
    """What a migration command did: the database's revision before and after (None: no schema at all)."""

    before: str | None
    after: str | None


@functools.cache  # the scripts on disk do not change while the process runs; /readyz asks often
def known_revisions() -> tuple[str, ...]:
    """Every revision in `migrations/versions`, oldest first."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return tuple(reversed([revision.revision for revision in script.walk_revisions()]))


def upgrade(url: str, target: str = "head") -> Step:
    """Migrates up to `target` (a revision, "head" or "base"); on PostgreSQL under an advisory lock, so
    replicas starting together migrate once. Never goes down: a target older than the database is refused,
    naming `flagstaff migrate --downgrade-to`, because a downgrade drops tables and their data."""
    return _locked(url, lambda engine: _move(engine, url, target, up=True))


def downgrade(url: str, target: str) -> Step:
    """Migrates down to `target` (a revision, or "base" for no schema at all), dropping what later revisions
    added; refuses a target newer than the database."""
    return _locked(url, lambda engine: _move(engine, url, target, up=False))


def _move(engine: Engine, url: str, target: str, *, up: bool) -> Step:
    """One direction only: a target on the other side of the database's revision is refused, naming the
    command that goes there."""
    before = _database_revision(engine)
    wanted = _resolve(target)
    if up and _position(before) > _position(wanted):
        raise MigrationRefused(
            f"the database is at {before}, newer than {wanted or 'base'}; "
            f"use `flagstaff migrate --downgrade-to {wanted or 'base'}` to go back"
        )
    if not up and _position(before) < _position(wanted):
        raise MigrationRefused(
            f"the database is at {before or 'base'}, older than {wanted}; "
            f"use `flagstaff migrate --to {wanted}` to go forward"
        )
    if before != wanted:
        (command.upgrade if up else command.downgrade)(alembic_config(url), wanted or "base")
    return Step(before, wanted)


def _resolve(target: str) -> str | None:
    """A revision, "head" (the latest) or "base" (no schema: None)."""
    known = known_revisions()
    if target == "head":
        return known[-1]
    if target == "base":
        return None
    if target not in known:
        # Checked here, not by Alembic: it would accept a prefix ("0") and fail on others with a traceback.
        raise MigrationRefused(f"unknown revision {target!r}; known: {', '.join(known)}")
    return target


def _database_revision(engine: Engine) -> str | None:
    revision = current_revision(engine)
    if revision is not None and revision not in known_revisions():
        raise MigrationRefused(
            f"the database is at revision {revision!r}, which this release of Flagstaff does not know "
            f"(known: {', '.join(known_revisions())}); a newer release migrated it"
        )
    return revision


def _position(revision: str | None) -> int:
    return -1 if revision is None else known_revisions().index(revision)


def _locked(url: str, run: Callable[[Engine], Step]) -> Step:
    """Runs `run` holding the migration lock (on PostgreSQL), so what it reads still holds when it acts."""
    engine = make_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            return run(engine)
        with engine.connect() as lock_connection:
            lock_connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
            try:
                return run(engine)
            finally:
                lock_connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})
                lock_connection.commit()
    finally:
        engine.dispose()
