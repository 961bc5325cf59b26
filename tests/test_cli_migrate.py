"""`flagstaff migrate`, run as a command on SQLite and PostgreSQL: it says what the database was at and is at
now, goes back only when asked with --downgrade-to, and refuses unknown revisions in one line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from app.storage import schema_migrations
from app.storage.database import make_engine
from tests.cli_helpers import cli_env, flagstaff, free_port

# The scripts of this release, oldest first: the expectations below hold whichever is the latest.
KNOWN = schema_migrations.known_revisions()
HEAD = KNOWN[-1]
KNOWN_TEXT = ", ".join(KNOWN)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrate.db'}"
    return postgres_databases()


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return schema_migrations.current_revision(engine)
    finally:
        engine.dispose()


def _refusal(result: object) -> str:
    """The one line a refused command printed; fails on anything else (a traceback, a zero exit)."""
    assert getattr(result, "returncode", None) == 2, result
    stderr: str = getattr(result, "stderr", "")
    assert stderr.endswith("\n") and stderr.count("\n") == 1 and stderr.startswith("flagstaff: "), stderr
    return stderr.removeprefix("flagstaff: ").rstrip("\n")


def test_migrate_to_an_older_revision_says_the_database_is_newer_and_changes_nothing(empty_database: str):
    env = cli_env(empty_database)
    assert flagstaff("migrate", env=env).returncode == 0

    older = flagstaff("migrate", "--to", "0001", env=env)

    assert _refusal(older) == (
        f"the database is at {HEAD}, newer than 0001; use `flagstaff migrate --downgrade-to 0001` to go back"
    )
    assert older.stdout == ""
    assert _revision(empty_database) == HEAD


def test_an_unknown_revision_is_refused_naming_the_known_ones(empty_database: str):
    env = cli_env(empty_database)
    assert flagstaff("migrate", "--to", "0001", env=env).returncode == 0

    # Alembic itself would take "0" as a prefix of 0001, and answer "x" with a traceback.
    for option, unknown in [("--to", "x"), ("--to", "0"), ("--downgrade-to", "x")]:
        assert _refusal(flagstaff("migrate", option, unknown, env=env)) == (
            f"unknown revision {unknown!r}; known: {KNOWN_TEXT}"
        )
    assert _revision(empty_database) == "0001"


def test_downgrade_to_goes_back_and_every_step_says_where_the_database_was_and_is(empty_database: str):
    env = cli_env(empty_database)

    def migrate(*args: str) -> str:
        result = flagstaff("migrate", *args, env=env)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert result.stdout.count("\n") == 1
        return result.stdout.rstrip("\n")

    assert migrate().endswith(f"from base (no tables) to {HEAD} (the latest)")
    assert migrate().endswith(f"is already at {HEAD} (the latest); nothing to do")
    assert migrate("--downgrade-to", "0001").endswith(f"from {HEAD} (the latest) to 0001")
    assert _revision(empty_database) == "0001"
    assert _refusal(flagstaff("migrate", "--downgrade-to", "0002", env=env)) == (
        "the database is at 0001, older than 0002; use `flagstaff migrate --to 0002` to go forward"
    )
    assert migrate("--to", HEAD).endswith(f"from 0001 to {HEAD} (the latest)")
    assert migrate("--downgrade-to", "base").endswith(f"from {HEAD} (the latest) to base (no tables)")
    assert _revision(empty_database) is None


def test_a_database_migrated_by_a_newer_release_is_refused_by_migrate_and_serve(empty_database: str):
    env = cli_env(empty_database)
    assert flagstaff("migrate", env=env).returncode == 0
    engine = make_engine(empty_database)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()
    expected = (
        "the database is at revision '0099', which this release of Flagstaff does not know "
        f"(known: {KNOWN_TEXT}); a newer release migrated it"
    )

    assert _refusal(flagstaff("migrate", env=env)) == expected
    assert _refusal(flagstaff("serve", "--port", str(free_port()), env=env, timeout=30)) == expected
