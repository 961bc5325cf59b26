"""Every flush checks what it writes: a row that could not be sent back in a response (text that is not valid
Unicode, JSON nested too deeply) is refused with the field named, and nothing of the change commits."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI

from app.services import lookups
from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.errors import InvalidInput
from app.storage.stored_values import MAX_STORED_DEPTH

ACTOR = Actor("unstorable-test")


def _nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"reason": "x\ud800y"}, "reason"),
        ({"after": {"name": "ok", "tags": ["\udc00"]}}, "after.tags[0]"),
        ({"before": {"variations": _nested(MAX_STORED_DEPTH)}}, "before.variations" + "[0]" * 127),
    ],
)
def test_a_change_holding_a_value_that_could_not_be_sent_back_never_commits(
    app: FastAPI, fields: dict[str, Any], path: str
) -> None:
    services: Services = app.state.services
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, ["production"])
    revision = services.projects.get_environment(project, "production").revision

    with pytest.raises(InvalidInput) as refused, services.writer.begin(ACTOR) as change:
        _, environment = lookups.environment(change.session, project, "production")
        change.bump(environment)
        change.audit("flag.update", "f", project=project, **fields)

    assert refused.value.field == path
    assert services.projects.get_environment(project, "production").revision == revision
    audit = services.audit.query(project=project, limit=10)
    assert [entry.action for entry in audit] == ["project.create"]
