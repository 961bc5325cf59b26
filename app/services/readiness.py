"""Whether this process may serve traffic: the database answers and its schema is at the migrations' head.

Reads only; running migrations is `app.storage.schema_migrations`' job, at start-up or by `flagstaff migrate`.
"""

from __future__ import annotations

from app.storage import schema_migrations
from app.storage.database import Database


def not_ready_reason(database: Database) -> str | None:
    """None when ready; otherwise a short reason for the `/readyz` answer."""
    try:
        database.ping()
        at_head = schema_migrations.is_at_head(database.engine)
    except Exception as error:  # any failure to reach the database means "not ready", never a crash
        return type(error).__name__
    return None if at_head else "migrations pending"
