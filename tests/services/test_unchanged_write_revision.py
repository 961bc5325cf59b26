"""A write that changes nothing (a repeated kill, on or off) reports the revision at which the flag is as it
returns it: the environment's revision under the write lock, not one read before the lock that a concurrent
writer may since have passed. A caller waiting for SDKs to confirm that revision waits for the right one."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.services import lookups
from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn
from app.services.read_models import EnvironmentFlag
from app.storage import flag_repository

ACTOR = Actor("revision-test")
BOOLEAN = FlagDefinitionIn(kind="boolean", variations=[True, False])


def _new_flag(services: Services, *, enabled: bool) -> str:
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    services.flag_definitions.put(ACTOR, project, "pay", BOOLEAN, None)
    (services.flag_configs.turn_on if enabled else services.flag_configs.turn_off)(
        ACTOR, FlagRef(project, "production", "pay")
    )
    return project


def test_a_repeated_switch_reports_the_current_revision_without_writing_one(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _new_flag(services, enabled=True)
    services.flag_definitions.put(ACTOR, project, "other", BOOLEAN, None)  # the environment moves on
    current = services.projects.get_environment(project, "production").revision

    again = services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "pay"))

    assert (again.changed, again.revision, again.flag["enabled"]) == (False, current, True)
    assert services.projects.get_environment(project, "production").revision == current


def test_a_repeat_racing_the_change_it_repeats_reports_the_revision_that_made_the_change(
    app: FastAPI, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs write transactions one after another (BEGIN IMMEDIATE): none can interleave")
    services: Services = app.state.services
    project = _new_flag(services, enabled=True)
    results: list[EnvironmentFlag] = []

    def kill() -> None:
        results.append(services.flag_configs.kill(ACTOR, FlagRef(project, "production", "pay"), "r"))

    racer = threading.Thread(target=kill)
    with services.writer.begin(ACTOR) as change:  # a kill by someone else, committed while the racer waits
        owner, environment = lookups.environment(change.session, project, "production")
        killed_at = change.bump(environment)
        config = flag_repository.get_config(change.session, lookups.flag(change.session, owner, "pay").id,
                                            environment.id)  # fmt: skip
        assert config is not None
        config.enabled = False
        change.session.flush()
        racer.start()  # it reads the environment (the old revision), then waits for the lock held here
        _wait_for_a_lock_wait(services)
    racer.join(10)

    assert len(results) == 1
    assert (results[0].changed, results[0].flag["enabled"]) == (False, False)
    assert results[0].revision == killed_at  # not killed_at - 1, at which the flag was still on


def _wait_for_a_lock_wait(services: Services) -> None:
    deadline = time.monotonic() + 10
    with services.database.engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            probe.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the racing kill never waited for the environment's lock")
