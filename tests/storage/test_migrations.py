"""The Alembic migrations, on SQLite and PostgreSQL: they upgrade, downgrade and upgrade again, and they
create exactly the schema the models describe (no drift)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from app.storage import schema_migrations
from app.storage.database import make_engine
from app.storage.models import Base


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_databases: Callable[[], str]
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    return postgres_databases()


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trips(empty_database: str):
    schema_migrations.upgrade(empty_database)
    assert _tables(empty_database) == set(Base.metadata.tables)
    schema_migrations.downgrade(empty_database, "base")
    assert _tables(empty_database) == set()
    schema_migrations.upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        assert schema_migrations.is_at_head(engine)
    finally:
        engine.dispose()


def test_each_migration_step_downgrades_to_its_predecessor(empty_database: str):
    schema_migrations.upgrade(empty_database, "0001")
    assert "projects" in _tables(empty_database) and "audit_log" not in _tables(empty_database)
    schema_migrations.upgrade(empty_database, "0002")
    schema_migrations.downgrade(empty_database, "0001")
    assert "audit_log" not in _tables(empty_database) and "flag_configs" in _tables(empty_database)


def test_models_and_migrations_describe_the_same_schema(empty_database: str):
    schema_migrations.upgrade(empty_database)
    engine = make_engine(empty_database)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
