"""The commit listener hears of every committed revision, once per changed environment, after the commit, and
never of a write that was refused or changed nothing."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI

from app.services.change_transaction import Actor, ChangeWriter
from app.services.container import Services, build_services
from app.services.errors import InvalidInput
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn
from app.storage import change_log, project_repository

ACTOR = Actor("listener-test")


@pytest.fixture
def heard(app: FastAPI) -> tuple[list[tuple[int, int]], Services]:
    calls: list[tuple[int, int]] = []
    services = build_services(
        app.state.services.database, lambda env, revision: calls.append((env, revision))
    )
    return calls, services


def test_each_environment_of_a_definition_change_is_announced_with_its_new_revision(
    heard: tuple[list[tuple[int, int]], Services],
) -> None:
    calls, services = heard
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project)
    assert calls == []  # creating empty environments changes no flag data
    services.flag_definitions.put(
        ACTOR, project, "f", FlagDefinitionIn(name="f", kind="boolean", variations=[True, False]), None
    )
    assert len(calls) == 3 and all(revision == 1 for _, revision in calls)
    with services.database.transaction() as session:
        environment_id = calls[0][0]
        entries = change_log.changes_since(session, environment_id, 0)
        assert [(e.revision, e.entity_kind, e.key, e.version) for e in entries] == [(1, "flag", "f", 1)]
        environment = project_repository.get_environment_by_id(session, environment_id)
        assert environment is not None and environment.revision == 1


def test_refused_and_idempotent_writes_announce_nothing(
    heard: tuple[list[tuple[int, int]], Services],
) -> None:
    calls, services = heard
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    services.flag_definitions.put(
        ACTOR, project, "f", FlagDefinitionIn(name="f", kind="boolean", variations=[True, False]), None
    )
    calls.clear()
    with pytest.raises(InvalidInput):
        services.flag_configs.patch(
            ACTOR, FlagRef(project, "production", "f"), {"fallthrough": {"variation": 7}}, None
        )
    services.flag_configs.kill(ACTOR, FlagRef(project, "production", "f"), "already off")
    assert calls == []
    services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "f"))
    assert [revision for _, revision in calls] == [2]


def test_a_failing_listener_does_not_undo_or_fail_the_committed_change(app: FastAPI):
    def explode(environment_id: int, revision: int) -> None:
        raise RuntimeError("listener down")

    services = build_services(app.state.services.database, explode)
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    services.flag_definitions.put(
        ACTOR, project, "f", FlagDefinitionIn(name="f", kind="boolean", variations=[True, False]), None
    )
    assert services.flag_definitions.get(project, "f").version == 1
    assert isinstance(services.writer, ChangeWriter)
