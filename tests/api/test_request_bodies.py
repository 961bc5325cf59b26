"""A body the server cannot read as JSON is refused with a message that says why: the Content-Type header it
needs, or where the JSON breaks. Nothing is written either way."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.helpers import create_flag, env_flag_url, error_of, flag_url

pytestmark = pytest.mark.anyio

# What `curl -d` sends when no -H 'Content-Type: ...' is given.
FORM = "application/x-www-form-urlencoded"


async def test_a_definition_sent_without_content_type_json_is_415_naming_the_header(
    client: httpx.AsyncClient, project: str
):
    body = b'{"kind": "boolean", "variations": [true, false]}'
    response = await client.put(flag_url(project, "curl"), content=body, headers={"Content-Type": FORM})
    assert response.status_code == 415, response.text
    error = error_of(response)
    assert error["code"] == "unsupported_media_type" and error["field"] == "Content-Type"
    assert "send Content-Type: application/json" in error["message"] and FORM in error["message"]
    assert (await client.get(flag_url(project, "curl"))).status_code == 404


@pytest.mark.parametrize("action", ["", "kill", "on"])
async def test_every_kind_of_body_names_the_missing_content_type(
    client: httpx.AsyncClient, project: str, action: str
):
    """A free-form body (targeting PATCH), a required model (kill) and an optional one (on) alike."""
    await create_flag(client, project, "typed")
    url = env_flag_url(project, "production", "typed", action)
    body = b'{"enabled": true}' if not action else b'{"reason": "r"}'
    method = "PATCH" if not action else "POST"
    response = await client.request(method, url, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415, response.text
    assert error_of(response)["field"] == "Content-Type"
    assert (await client.get(env_flag_url(project, "production", "typed"))).json()["flag"]["version"] == 1


async def test_a_body_without_any_content_type_is_415_too(client: httpx.AsyncClient, project: str):
    request = client.build_request("PUT", flag_url(project, "bare"), content=b'{"kind": "boolean"}')
    assert "content-type" not in request.headers
    response = await client.send(request)
    assert response.status_code == 415, response.text
    assert "this request had none" in error_of(response)["message"]


async def test_a_json_content_type_with_parameters_or_a_json_suffix_is_accepted(
    client: httpx.AsyncClient, project: str
):
    body = b'{"kind": "boolean", "variations": [true, false]}'
    for index, content_type in enumerate(("application/json; charset=utf-8", "application/merge-patch+json")):
        response = await client.put(
            flag_url(project, f"ok-{index}"), content=body, headers={"Content-Type": content_type}
        )
        assert response.status_code == 201, response.text


async def test_invalid_json_is_reported_at_its_line_and_column_with_field_body(
    client: httpx.AsyncClient, project: str
):
    body = '{\n  "kind": "boolean",\n  "variations": [true, false]\n  "tags": []\n}'
    with pytest.raises(json.JSONDecodeError) as parsed:
        json.loads(body)
    response = await client.put(
        flag_url(project, "broken"), content=body.encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    error = error_of(response)
    assert error["code"] == "invalid" and error["field"] == "body"
    position = f"line {parsed.value.lineno}, column {parsed.value.colno}"
    assert position == "line 4, column 3"
    assert error["message"].startswith(f"invalid JSON at {position}: "), error["message"]
    assert parsed.value.msg in error["message"]


async def test_a_body_that_is_not_an_object_names_the_body_not_a_position(
    client: httpx.AsyncClient, project: str
):
    response = await client.put(flag_url(project, "list"), json=[1, 2])
    assert response.status_code == 422
    assert error_of(response)["field"] == "body"
