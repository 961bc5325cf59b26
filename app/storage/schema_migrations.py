"""Runs and inspects the Alembic migrations in `app/migrations/` for one database.

The only place that drives Alembic from code. The scripts live in `app/migrations/versions`, inside the
package, so an installed wheel migrates from any working directory.
"""

from __future__ import annotations

import functools
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


@functools.cache  # the scripts on disk do not change while the process runs; /readyz asks often
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_at_head(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()


def upgrade(url: str, target: str = "head") -> None:
    """Migrates up; on PostgreSQL under an advisory lock, so replicas starting together migrate once."""
    engine = make_engine(url)
    try:
        if engine.dialect.name == "postgresql":
            with engine.connect() as lock_connection:
                lock_connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
                try:
                    command.upgrade(alembic_config(url), target)
                finally:
                    lock_connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _ADVISORY_LOCK_ID})
                    lock_connection.commit()
        else:
            command.upgrade(alembic_config(url), target)
    finally:
        engine.dispose()


def downgrade(url: str, target: str) -> None:
    command.downgrade(alembic_config(url), target)
