"""Bad input is refused with 422 and the field path, or 413 when too large; nothing ever answers 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings
from flagstaff import limits
from tests.api.helpers import (
    BOOLEAN_FLAG,
    create_flag,
    env_flag_url,
    environment_row,
    error_of,
    flag_row,
    flag_url,
    store_json,
)

pytestmark = pytest.mark.anyio


async def _patch_error(client: httpx.AsyncClient, project: str, body: dict[str, Any]) -> dict[str, Any]:
    await create_flag(client, project, "target")
    response = await client.patch(env_flag_url(project, "production", "target"), json=body)
    assert response.status_code == 422, response.text
    return error_of(response)


async def test_unknown_variation_index_names_its_path(client: httpx.AsyncClient, project: str):
    error = await _patch_error(client, project, {"fallthrough": {"variation": 5}})
    assert error["field"] == "fallthrough.variation" and error["code"] == "invalid"


async def test_rollout_weights_must_sum_to_100000(client: httpx.AsyncClient, project: str):
    rollout = {
        "rollout": {"variations": [{"variation": 0, "weight": 50_000}, {"variation": 1, "weight": 49_999}]}
    }
    error = await _patch_error(client, project, {"fallthrough": rollout})
    assert error["field"].startswith("fallthrough.rollout")
    assert "100000" in error["message"]


async def test_bad_regular_expression_names_the_clause_value(client: httpx.AsyncClient, project: str):
    clause = {"attribute": "email", "op": "matches", "values": ["(unclosed"]}
    error = await _patch_error(
        client, project, {"rules": [{"id": "r", "clauses": [clause], "serve": {"variation": 0}}]}
    )
    assert error["field"] == "rules[0].clauses[0].values[0]"


async def test_prerequisite_cycle_is_refused(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "a")
    await create_flag(client, project, "b")
    ok = await client.patch(
        env_flag_url(project, "production", "a"), json={"prerequisites": [{"flag": "b", "variation": 0}]}
    )
    assert ok.status_code == 200, ok.text
    cycle = await client.patch(
        env_flag_url(project, "production", "b"), json={"prerequisites": [{"flag": "a", "variation": 0}]}
    )
    assert cycle.status_code == 422
    error = error_of(cycle)
    assert "prerequisites" in error["field"] and "cycle" in error["message"].lower()


async def test_a_cycle_is_reported_at_the_changed_flags_own_prerequisite(
    client: httpx.AsyncClient, project: str
):
    for key in ("a", "b", "c"):
        await create_flag(client, project, key)
    for key, prerequisite in (("a", "b"), ("b", "c")):
        ok = await client.patch(
            env_flag_url(project, "production", key),
            json={"prerequisites": [{"flag": prerequisite, "variation": 0}]},
        )
        assert ok.status_code == 200, ok.text
    cycle = await client.patch(
        env_flag_url(project, "production", "c"),
        json={"prerequisites": [{"flag": "b", "variation": 1}, {"flag": "a", "variation": 0}]},
    )
    assert cycle.status_code == 422
    error = error_of(cycle)
    assert error["field"] == "prerequisites[0].flag"
    assert "c -> b -> c" in error["message"] and "c -> a -> b -> c" in error["message"]


async def test_unknown_prerequisite_flag_is_refused(client: httpx.AsyncClient, project: str):
    error = await _patch_error(client, project, {"prerequisites": [{"flag": "ghost", "variation": 0}]})
    assert error["field"] == "prerequisites[0].flag"


async def test_variation_of_the_wrong_kind_names_its_index(client: httpx.AsyncClient, project: str):
    response = await client.put(
        flag_url(project, "typed"), json={"kind": "boolean", "variations": [True, "yes"]}
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "variations[1]"


async def test_unknown_kind_and_unknown_fields_are_refused(client: httpx.AsyncClient, project: str):
    bad_kind = await client.put(flag_url(project, "k"), json={"kind": "color", "variations": ["red"]})
    assert bad_kind.status_code == 422 and error_of(bad_kind)["field"] == "kind"
    extra = await client.put(flag_url(project, "k"), json={**BOOLEAN_FLAG, "colour": "red"})
    assert extra.status_code == 422 and error_of(extra)["field"] == "colour"
    error = await _patch_error(client, project, {"enabled": True, "colour": "red"})
    assert error["field"] == "colour"


async def test_a_definition_change_that_breaks_existing_targeting_is_refused(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "shrink", {"kind": "string", "variations": ["a", "b", "c"]})
    await client.patch(env_flag_url(project, "staging", "shrink"), json={"fallthrough": {"variation": 2}})
    response = await client.put(
        flag_url(project, "shrink"),
        json={"kind": "string", "variations": ["a", "b"]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "environments.staging.fallthrough.variation"


async def test_kill_requires_a_reason(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "k")
    missing = await client.post(env_flag_url(project, "production", "k", "kill"), json={})
    assert missing.status_code == 422 and error_of(missing)["field"] == "reason"
    empty = await client.post(env_flag_url(project, "production", "k", "kill"), json={"reason": ""})
    assert empty.status_code == 422


async def test_malformed_json_and_wrong_types_are_422_in_the_error_shape(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "m")
    broken = await client.patch(
        env_flag_url(project, "production", "m"),
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert broken.status_code == 422 and error_of(broken)["code"] == "invalid"
    wrong = await client.get(f"/api/v1/projects/{project}/flags", params={"limit": "many"})
    assert wrong.status_code == 422 and error_of(wrong)["field"] == "limit"
    bad_match = await client.patch(
        env_flag_url(project, "production", "m"), json={}, headers={"If-Match": "v1"}
    )
    assert bad_match.status_code == 422 and error_of(bad_match)["field"] == "If-Match"


async def test_oversized_body_is_413(client: httpx.AsyncClient, project: str):
    huge = {"kind": "string", "variations": ["x" * 100_000]}
    response = await client.put(flag_url(project, "big"), json=huge)
    assert response.status_code == 413 and error_of(response)["code"] == "too_large"


async def test_keys_the_database_could_not_store_are_refused_not_crashed_on(
    client: httpx.AsyncClient, project: str
):
    nul = await client.put(flag_url(project, "bad%00key"), json=BOOLEAN_FLAG)
    assert nul.status_code == 422
    long_key = await client.put(flag_url(project, "k" * 300), json=BOOLEAN_FLAG)
    assert long_key.status_code == 422 and error_of(long_key)["field"] == "key"
    assert (await client.get(flag_url(project, "bad%00key"))).status_code == 404
    bad_project = await client.post("/api/v1/projects", json={"key": "Not A Key!"})
    assert bad_project.status_code == 422 and error_of(bad_project)["field"] == "key"


@pytest.mark.parametrize(
    "params", [{"since": "9999-12-31T23:59:59-01:00"}, {"until": "0001-01-01T00:00:00+01:00"}]
)
async def test_audit_times_without_a_utc_equivalent_are_422(
    client: httpx.AsyncClient, params: dict[str, str]
):
    response = await client.get("/api/v1/audit", params=params)
    assert response.status_code == 422 and error_of(response)["field"] == next(iter(params))


async def test_nul_characters_are_refused_alike_on_every_backend(client: httpx.AsyncClient, project: str):
    named = await client.put(flag_url(project, "n"), json={**BOOLEAN_FLAG, "name": "a\x00b"})
    assert named.status_code == 422 and error_of(named)["field"] == "name"
    segment = await client.put(
        f"/api/v1/projects/{project}/environments/production/segments/s", json={"name": "\x00"}
    )
    assert segment.status_code == 422 and error_of(segment)["field"] == "name"


async def test_dropping_a_variation_another_flag_requires_is_refused(client: httpx.AsyncClient, project: str):
    await create_flag(client, project, "base", {"kind": "string", "variations": ["a", "b", "c"]})
    await create_flag(client, project, "dependent")
    required = {"prerequisites": [{"flag": "base", "variation": 2}]}
    assert (
        await client.patch(env_flag_url(project, "production", "dependent"), json=required)
    ).status_code == 200
    response = await client.put(
        flag_url(project, "base"),
        json={"kind": "string", "variations": ["a", "b"]},
        headers={"If-Match": "*"},
    )
    assert response.status_code == 422
    assert error_of(response)["field"] == "flags.dependent.prerequisites[0].variation"


async def test_oversized_body_without_a_content_length_is_413_too(client: httpx.AsyncClient, project: str):
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"kind": "string", "variations": ["'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"]}'

    response = await client.put(
        flag_url(project, "streamed"), content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and error_of(response)["code"] == "too_large"


async def test_an_unreachable_database_is_503_not_500(tmp_path: Path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'missing-dir' / 'flagstaff.db'}"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://flagstaff.test") as http:
        response = await http.get("/api/v1/projects", headers={"Authorization": "Bearer fs_admin_x"})
    app.state.services.database.dispose()
    assert response.status_code == 503 and error_of(response)["code"] == "unavailable"


def _rules(count: int, clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"r{i}", "clauses": clauses, "serve": {"variation": 0}} for i in range(count)]


EXISTS = {"attribute": "plan", "op": "exists"}


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (_rules(limits.MAX_RULES + 1, []), "rules"),
        (_rules(limits.MAX_CLAUSES // 10 + 1, [EXISTS] * 10), f"rules[{limits.MAX_CLAUSES // 10}].clauses"),
        (
            _rules(1, [{"attribute": "id", "op": "in", "values": list(range(limits.MAX_CLAUSE_VALUES + 1))}]),
            "rules[0].clauses[0].values",
        ),
        (
            _rules(
                limits.MAX_REGEX_PATTERNS + 1, [{"attribute": "email", "op": "matches", "values": ["@x$"]}]
            ),
            f"rules[{limits.MAX_REGEX_PATTERNS}].clauses[0].values",
        ),
    ],
)
async def test_targeting_over_a_format_limit_is_refused_naming_the_field(
    client: httpx.AsyncClient, project: str, rules: list[dict[str, Any]], field: str
):
    error = await _patch_error(client, project, {"rules": rules})
    assert error["field"] == field and "at most" in error["message"]
    segment = await client.put(
        f"/api/v1/projects/{project}/environments/production/segments/s",
        json={"rules": [{"id": r["id"], "clauses": r["clauses"]} for r in rules]},
    )
    assert segment.status_code == 422 and error_of(segment)["field"] == field


async def test_a_flag_stored_before_the_limits_can_be_switched_but_not_edited_until_within_them(
    app: FastAPI, client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "legacy")
    environment = environment_row(project, "production")
    where = f"flag_id = {flag_row(project, 'legacy')} AND environment_id = {environment}"
    store_json(app, "flag_configs", "rules", where, _rules(limits.MAX_RULES + 100, [EXISTS]))
    url = env_flag_url(project, "production", "legacy")

    assert (await client.post(f"{url}/on")).status_code == 200
    assert (await client.post(f"{url}/kill", json={"reason": "incident"})).status_code == 200
    edit = await client.patch(url, json={"fallthrough": {"variation": 1}})
    assert edit.status_code == 422 and error_of(edit)["field"] == "rules"
    fixed = await client.patch(url, json={"rules": _rules(2, [EXISTS]), "fallthrough": {"variation": 1}})
    assert fixed.status_code == 200, fixed.text


@pytest.mark.parametrize(
    ("context", "field"),
    [
        ({f"a{i}": i for i in range(101)}, "context"),
        ({"key": "u", "user_agent": "x" * 20_000}, "context.user_agent"),
        ({"key": "u", "groups": ["g"] * 1025}, "context.groups"),
        ({"key": "u", "groups": ["g", "x" * 1025]}, "context.groups[1]"),
    ],
)
async def test_an_evaluation_context_over_its_bounds_is_refused(
    client: httpx.AsyncClient, project: str, context: dict[str, Any], field: str
):
    await create_flag(client, project, "f")
    response = await client.post(
        f"/api/v1/projects/{project}/environments/production/evaluate", json={"context": context}
    )
    assert response.status_code == 422, response.text
    assert error_of(response)["field"] == field
