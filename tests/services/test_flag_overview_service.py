"""Flags at a glance: a flag is killed while it is off and its last switch was a kill; what it serves reads as
shares of a rollout; the rows changed since a revision are those the change log names, or none and a word to
read everything anew once the log no longer reaches back that far."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from sqlalchemy import delete, select

from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.flag_overview_service import FlagQuery, FlagState
from app.services.input_models import FlagDefinitionIn
from app.storage.models import ChangeLogEntry, Environment, Project

ALICE = Actor("alice")
BOB = Actor("bob")


def _project(services: Services, *flags: str) -> str:
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ALICE, project, project, ["production", "staging"])
    for key in flags:
        body = FlagDefinitionIn(kind="string", variations=["red", "green", "blue"], tags=["colour"])
        services.flag_definitions.put(ALICE, project, key, body, None)
    return project


def _state(services: Services, project: str, flag: str, env: str = "production") -> FlagState:
    return services.flag_overview.row(project, env, flag).state


def test_killed_means_off_with_a_kill_as_the_last_switch(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project(services, "banner")
    ref = FlagRef(project, "production", "banner")
    assert _state(services, project, "banner") is FlagState.OFF
    services.flag_configs.turn_on(ALICE, ref)
    assert _state(services, project, "banner") is FlagState.ON
    services.flag_configs.kill(BOB, ref, "wrong colour everywhere")
    row = services.flag_overview.row(project, "production", "banner")
    assert row.state is FlagState.KILLED
    assert row.last_switch is not None and (row.last_switch.actor, row.last_switch.reason) == (
        "bob",
        "wrong colour everywhere",
    )
    services.flag_configs.patch(ALICE, ref, {"off_variation": 2}, None)  # targeting edits keep it killed
    row = services.flag_overview.row(project, "production", "banner")
    assert row.state is FlagState.KILLED
    assert row.last_change is not None and row.last_change.actor == "alice"
    assert [served.value for served in row.serves] == ["blue"]
    assert _state(services, project, "banner", "staging") is FlagState.OFF  # per environment
    services.flag_configs.turn_on(ALICE, ref)
    services.flag_configs.turn_off(ALICE, ref)
    assert _state(services, project, "banner") is FlagState.OFF


def test_a_rollout_is_read_as_its_shares(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project(services, "theme")
    rollout = {"variations": [{"variation": 0, "weight": 33333}, {"variation": 2, "weight": 66667}]}
    ref = FlagRef(project, "production", "theme")
    services.flag_configs.patch(ALICE, ref, {"enabled": True, "fallthrough": {"rollout": rollout}}, None)
    row = services.flag_overview.row(project, "production", "theme")
    assert row.is_rollout
    assert [(s.value, s.percent) for s in row.serves] == [("red", 33.333), ("blue", 66.667)]


def test_the_table_filters_and_counts(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project(services, "a-flag", "b-flag", "c-flag")
    services.flag_configs.turn_on(ALICE, FlagRef(project, "production", "b-flag"))
    table = services.flag_overview.table(project, "production", FlagQuery(state="off"), limit=1)
    assert [row.key for row in table.rows] == ["a-flag"]
    assert (table.matching, table.total, list(table.tags)) == (2, 3, ["colour"])


def test_changed_rows_come_from_the_change_log_while_it_reaches_back(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project(services, "a-flag", "b-flag")
    start = services.projects.get_environment(project, "production").revision
    services.flag_configs.turn_on(ALICE, FlagRef(project, "production", "b-flag"))
    changed = services.flag_overview.changed_since(project, "production", start, FlagQuery())
    assert changed.complete and [row.key for row in changed.rows] == ["b-flag"] and changed.gone == []
    assert (
        services.flag_overview.changed_since(project, "production", changed.revision, FlagQuery()).rows == ()
    )

    with services.database.transaction() as session:  # as retention would have pruned it
        environment_id = session.scalar(
            select(Environment.id)
            .join(Project, Project.id == Environment.project_id)
            .where(Project.key == project, Environment.key == "production")
        )
        session.execute(
            delete(ChangeLogEntry).where(
                ChangeLogEntry.environment_id == environment_id, ChangeLogEntry.revision <= start + 1
            )
        )
    assert not services.flag_overview.changed_since(project, "production", start, FlagQuery()).complete
