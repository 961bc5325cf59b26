"""Where the tests find PostgreSQL: `FLAGSTAFF_TEST_POSTGRES`, a URL of a database on the shared server that
test fixtures connect to in order to create (and drop) databases of their own."""

from __future__ import annotations

import os

POSTGRES_SERVER = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def database_on_server(name: str) -> str:
    """The URL of database `name` on the same server."""
    return f"{POSTGRES_SERVER.rsplit('/', 1)[0]}/{name}"
