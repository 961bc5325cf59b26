"""Alembic environment: connects to the configured database and runs the scripts in `versions/`.

The URL comes from the Alembic config (set by `app.storage.schema_migrations`) or else FLAGSTAFF_DATABASE_URL.
"""

from __future__ import annotations

from alembic import context

from app.settings import Settings
from app.storage.database import make_engine
from app.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url if url else Settings().database_url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            # Batch mode lets SQLite, which cannot ALTER most things, run the same scripts by copying tables.
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
