"""Generated requests from the OpenAPI document (schemathesis, bounded and derandomized) never get a server
error, and every response matches the documented status codes, content types and schemas."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.services.change_transaction import Actor
from app.services.errors import Conflict
from app.services.input_models import FlagDefinitionIn
from app.settings import Settings
from tests.conftest import ADMIN_TOKEN

FUZZ_PROJECT = "fuzz"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Deleting these would leave the rest of the run nothing but 404s to look at.
_KEEP_ALIVE = {
    ("DELETE", "/api/v1/projects/{project}"),
    ("DELETE", "/api/v1/projects/{project}/environments/{env}"),
    ("DELETE", "/api/v1/projects/{project}/flags/{flag}"),
}


def _operation_labels() -> list[str]:
    """Read at collection time from an app that is never started (building one connects to nothing)."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return [result.ok().label for result in schemathesis.openapi.from_dict(document).get_all_operations()]


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    _ensure_fuzz_project(app)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)

    @schema.hook
    def map_path_parameters(context: Any, parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        """Point most requests at a project that exists, so the generated bodies reach real handlers."""
        if not parameters or (context.operation.method.upper(), context.operation.path) in _KEEP_ALIVE:
            return parameters
        fixed = {"project": FUZZ_PROJECT, "env": "production", "flag": "f"}
        return {name: fixed.get(name, value) for name, value in parameters.items()}

    return schema


def _ensure_fuzz_project(app: FastAPI) -> None:
    services = app.state.services
    try:
        services.projects.create_project(Actor("conformance"), FUZZ_PROJECT, "Fuzz")
    except Conflict:
        return
    services.flag_definitions.put(
        Actor("conformance"),
        FUZZ_PROJECT,
        "f",
        FlagDefinitionIn(name="f", kind="boolean", variations=[True, False]),
        None,
    )


@pytest.mark.parametrize("label", _operation_labels())
def test_generated_requests_get_no_server_error_and_documented_responses(api_schema: Any, label: str) -> None:
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, checks=CHECKS)

    check()


def test_openapi_document_embeds_the_sdk_snapshot_schema(app: FastAPI) -> None:
    document = app.openapi()
    assert "Snapshot" in document["components"]["schemas"]
    assert "Snapshot_flag" in document["components"]["schemas"]
