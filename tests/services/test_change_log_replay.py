"""The change log is a complete history: replaying it from revision 0 rebuilds exactly the snapshot served to
SDKs, every revision from 1 to the current one has its rows, and versions only increase per entity."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI

import flagstaff
from app.services import environment_snapshot
from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn
from app.storage import change_log, project_repository

ACTOR = Actor("replay-test")
BOOLEAN = FlagDefinitionIn(kind="boolean", variations=[True, False])


def _busy_history(services: Services, project: str) -> None:
    """Creates, edits, deletes and re-creates flags and segments in production."""
    flags, segments, configs = services.flag_definitions, services.segments, services.flag_configs
    for key in ("a", "b", "c"):
        flags.put(ACTOR, project, key, BOOLEAN, None)
    segments.put(ACTOR, project, "production", "beta", {"included": ["u1"]}, None)
    rule = {"id": "r", "clauses": [{"op": "segment_match", "values": ["beta"]}], "serve": {"variation": 0}}
    configs.patch(ACTOR, FlagRef(project, "production", "a"), {"rules": [rule], "enabled": True}, None)
    configs.patch(
        ACTOR, FlagRef(project, "production", "b"), {"prerequisites": [{"flag": "a", "variation": 0}]}, None
    )
    configs.turn_on(ACTOR, FlagRef(project, "production", "c"))
    configs.kill(ACTOR, FlagRef(project, "production", "c"), "incident")
    flags.delete(ACTOR, project, "c", None)
    flags.put(ACTOR, project, "c", FlagDefinitionIn(kind="string", variations=["x", "y"]), None)
    segments.put(ACTOR, project, "production", "beta", {"included": ["u1", "u2"]}, None)
    segments.put(ACTOR, project, "production", "unused", {}, None)
    segments.delete(ACTOR, project, "production", "unused", None)
    configs.revert(ACTOR, FlagRef(project, "production", "a"), 1, None, None)


def test_replaying_the_change_log_rebuilds_the_served_snapshot(app: FastAPI) -> None:
    services: Services = app.state.services
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    _busy_history(services, project)
    with services.database.transaction() as session:
        owner = project_repository.get_project(session, project)
        assert owner is not None
        environment = project_repository.get_environment(session, owner.id, "production")
        assert environment is not None
        served = environment_snapshot.build(session, environment)
        entries = change_log.changes_since(session, environment.id, 0)

    revisions = [entry.revision for entry in entries]
    assert revisions == sorted(revisions) and sorted(set(revisions)) == list(range(1, served["revision"] + 1))

    replayed: dict[str, dict[str, Any]] = {"flag": {}, "segment": {}}
    versions: dict[tuple[str, str], int] = {}
    sdk_view = flagstaff.load_snapshot({"format": 1, "revision": 0, "flags": {}, "segments": {}})
    for entry in entries:
        assert entry.version > versions.get((entry.entity_kind, entry.key), 0)  # versions only increase
        versions[(entry.entity_kind, entry.key)] = entry.version
        if entry.deleted:
            replayed[entry.entity_kind].pop(entry.key, None)
        else:
            assert entry.payload is not None
            replayed[entry.entity_kind][entry.key] = entry.payload
        sdk_view = sdk_view.apply(entry.entity_kind, entry.key, entry.payload, entry.version, entry.revision)

    assert replayed["flag"] == served["flags"] and replayed["segment"] == served["segments"]
    assert sdk_view.revision == served["revision"]
    assert {key: flag.version for key, flag in sdk_view.flags.items()} == {
        key: body["version"] for key, body in served["flags"].items()
    }
