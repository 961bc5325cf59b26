"""Change-log retention: old revisions are deleted whole, newer ones stay, and a client resuming from a pruned
revision gets a full snapshot while one resuming from a kept revision still gets just the changes."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.main import create_app
from app.services.change_log_retention import ChangeLogRetention
from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.database_change_source import DatabaseChangeSource
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn
from app.settings import Settings
from app.storage import project_repository
from app.storage.models import ChangeLogEntry, utcnow
from app.streaming.stream_session import resume_events

ACTOR = Actor("retention-test")
BOOLEAN = FlagDefinitionIn(kind="boolean", variations=[True, False])


def _environment_with_history(services: Services, changes: int) -> int:
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    services.flag_definitions.put(ACTOR, project, "f", BOOLEAN, None)
    for turn in range(changes - 1):
        switch = services.flag_configs.turn_on if turn % 2 == 0 else services.flag_configs.turn_off
        switch(ACTOR, FlagRef(project, "production", "f"))
    with services.database.transaction() as session:
        owner = project_repository.get_project(session, project)
        assert owner is not None
        environment = project_repository.get_environment(session, owner.id, "production")
        assert environment is not None and environment.revision == changes
        return environment.id


def _age(services: Services, environment_id: int, up_to_revision: int, days: int) -> None:
    with services.database.transaction() as session:
        session.execute(
            update(ChangeLogEntry)
            .where(ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision <= up_to_revision)
            .values(created_at=utcnow() - timedelta(days=days))
        )


def _revisions(services: Services, environment_id: int) -> list[int]:
    with services.database.transaction() as session:
        return list(
            session.scalars(
                select(ChangeLogEntry.revision)
                .where(ChangeLogEntry.environment_id == environment_id)
                .order_by(ChangeLogEntry.revision)
            )
        )


def test_revisions_past_retention_are_pruned_and_resuming_from_them_needs_a_snapshot(app: FastAPI) -> None:
    services: Services = app.state.services
    environment_id = _environment_with_history(services, changes=6)
    _age(services, environment_id, up_to_revision=3, days=10)

    deleted = ChangeLogRetention(services.database, timedelta(days=7)).prune()

    assert deleted >= 3
    assert _revisions(services, environment_id) == [4, 5, 6]
    # From a pruned revision the log has a gap: the stream sends a full snapshot (None) instead.
    source = DatabaseChangeSource(services.database)
    assert resume_events(source, environment_id, 1, max_rows=1000) is None
    # From a kept one, just the later changes, as before.
    events = resume_events(source, environment_id, 4, max_rows=1000)
    assert events is not None and [event.revision for event in events] == [5, 6]


def test_no_retention_keeps_the_whole_log(app: FastAPI) -> None:
    services: Services = app.state.services
    environment_id = _environment_with_history(services, changes=3)
    _age(services, environment_id, up_to_revision=3, days=1000)

    assert ChangeLogRetention(services.database, None).prune() == 0
    assert _revisions(services, environment_id) == [1, 2, 3]


@pytest.mark.anyio
async def test_a_running_server_prunes_on_its_interval(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        admin_token="fs_admin_retention-test-token-0123",
        change_log_retention_hours=24,
        change_log_prune_interval_seconds=0.05,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        services: Services = application.state.services
        environment_id = _environment_with_history(services, changes=4)
        _age(services, environment_id, up_to_revision=2, days=2)
        deadline = time.monotonic() + 10
        while _revisions(services, environment_id) != [3, 4] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert _revisions(services, environment_id) == [3, 4]
