"""Kill, on and off are use cases of the flag-config service: each owns its audit action, and given `wait` it
answers with the confirmations of connected SDKs, so every caller (HTTP, CLI, automation) gets the same."""

from __future__ import annotations

import uuid

from fastapi import FastAPI

from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn

ACTOR = Actor("switch-test", "req-7")
BOOLEAN = FlagDefinitionIn(kind="boolean", variations=[True, False])


def _project_with_flag(services: Services) -> str:
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    services.flag_definitions.put(ACTOR, project, "f", BOOLEAN, None)
    return project


def test_kill_switch_is_audited_as_a_kill_with_its_reason(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project_with_flag(services)
    services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "f"))

    killed = services.flag_configs.kill(ACTOR, FlagRef(project, "production", "f"), "checkout errors")

    assert killed.changed and killed.flag["enabled"] is False and killed.propagation is None
    entry = services.audit.query(project=project, flag="f", limit=1)[0]
    assert (entry.action, entry.reason, entry.request_id) == ("flag.kill", "checkout errors", "req-7")


def test_on_and_off_are_audited_as_such_and_a_repeat_changes_nothing(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project_with_flag(services)

    on = services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "f"), "launch")
    again = services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "f"))
    off = services.flag_configs.turn_off(ACTOR, FlagRef(project, "production", "f"))

    assert on.changed and not again.changed and again.revision == on.revision
    assert off.changed and off.revision == on.revision + 1
    actions = [entry.action for entry in services.audit.query(project=project, flag="f", limit=10)]
    assert actions == ["flag.off", "flag.on", "flag.create"]


def test_a_switch_given_wait_answers_with_the_confirmations_of_its_revision(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project_with_flag(services)

    killed = services.flag_configs.kill(ACTOR, FlagRef(project, "production", "f"), "incident", wait=0)

    assert killed.propagation is not None
    assert killed.propagation.revision == killed.revision
    assert (killed.propagation.confirmed, killed.propagation.unconfirmed) == (0, 0)  # no SDK is connected
