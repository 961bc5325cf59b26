"""The SDK instances of an environment, as its page lists them: each with its key's name, the revision it last
confirmed and when it was last seen; stale unless it confirmed the current revision; the stalest first."""

from __future__ import annotations

import time
import uuid

from fastapi import FastAPI

from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn

ACTOR = Actor("instances-test")


def test_instances_are_listed_with_their_key_revision_and_last_seen_time(app: FastAPI) -> None:
    services: Services = app.state.services
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    services.flag_definitions.put(
        ACTOR, project, "f", FlagDefinitionIn(kind="boolean", variations=[True, False]), None
    )
    key = services.keys.create_sdk_key(ACTOR, project, "production", "checkout-service")
    target = services.snapshots.authenticate_sdk(key.secret)
    assert target is not None
    environment_id = target.environment_id
    current = services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "f")).revision
    now = time.time()
    registry = services.propagation.registry
    registry.mark_connected(
        [(environment_id, key.key_id, i) for i in ("fresh", "behind", "silent")], now + 30
    )
    registry.record_ack(environment_id, key.key_id, "fresh", current, now)
    registry.record_ack(environment_id, key.key_id, "behind", current - 1, now)

    found = services.propagation.instances(project, "production")

    assert (found.revision, found.available) == (current, True)
    rows = [(i.instance_id, i.key_name, i.applied_revision, i.stale) for i in found.instances]
    assert rows == [
        ("silent", "checkout-service", None, True),
        ("behind", "checkout-service", current - 1, True),
        ("fresh", "checkout-service", current, False),
    ]
    fresh = found.instances[-1]
    assert fresh.confirmed_at is not None and abs(fresh.confirmed_at.timestamp() - now) < 1
    assert fresh.last_seen is not None
    assert abs(fresh.last_seen.timestamp() - (now + 30 - services.propagation.presence_ttl_seconds)) < 1


def test_an_environment_without_sdks_lists_none(app: FastAPI) -> None:
    services: Services = app.state.services
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])

    found = services.propagation.instances(project, "production")

    assert found.instances == [] and found.available
