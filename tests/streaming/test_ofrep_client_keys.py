"""Client keys (`fs_client_...`, public) against a real server: they evaluate only client-side flags, over
OFREP only, never the SDK routes or the admin API; and CORS for OFREP as `FLAGSTAFF_CORS_ALLOWED_ORIGINS`
says."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import httpx_sse

from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess

APP = "https://app.example.com"


def _flag(admin: Admin, key: str, *, client_side: bool, if_match: str | None = None) -> None:
    body = {"kind": "boolean", "variations": [True, False], "client_side": client_side}
    headers = {"If-Match": if_match} if if_match else {}
    put = admin.http.put(f"/api/v1/projects/{admin.project}/flags/{key}", json=body, headers=headers)
    assert put.status_code in (200, 201), put.text
    if if_match is None:
        admin.switch(key, "on")


def _key(admin: Admin, kind: str) -> dict[str, Any]:
    path = f"/api/v1/projects/{admin.project}/environments/{ENV}/sdk-keys"
    created = admin.http.post(path, json={"name": f"{kind} key", "kind": kind})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def _evaluate(server: ServerProcess, key: str, flag: str | None = None, **headers: str) -> httpx.Response:
    path = "/ofrep/v1/evaluate/flags" + (f"/{flag}" if flag else "")
    return httpx.post(f"{server.base_url}{path}", json={"context": {"targetingKey": "u1"}},
                      headers={"Authorization": f"Bearer {key}", **headers})  # fmt: skip


def test_a_client_key_is_created_through_the_sdk_key_route(admin: Admin) -> None:
    created = _key(admin, "client")
    listed = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/sdk-keys").json()["items"]

    assert created["secret"].startswith("fs_client_") and created["kind"] == "client"
    assert _key(admin, "server")["secret"].startswith("fs_sdk_")
    assert {item["key_id"]: item["kind"] for item in listed}[created["key_id"]] == "client"


def test_a_client_key_evaluates_only_client_side_flags(admin: Admin, server: ServerProcess) -> None:
    _flag(admin, "banner", client_side=True)
    _flag(admin, "internal", client_side=False)
    client, sdk = _key(admin, "client")["secret"], _key(admin, "server")["secret"]

    shown = _evaluate(server, client, "banner")
    hidden = _evaluate(server, client, "internal")
    missing = _evaluate(server, client, "no-such-flag")
    bulk = _evaluate(server, client)

    assert shown.status_code == 200 and shown.json()["value"] is True
    assert hidden.status_code == 404 and hidden.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert hidden.json()["errorDetails"] == missing.json()["errorDetails"].replace("no-such-flag", "internal")
    assert [flag["key"] for flag in bulk.json()["flags"]] == ["banner"]
    assert _evaluate(server, sdk, "internal").status_code == 200
    assert {flag["key"] for flag in _evaluate(server, sdk).json()["flags"]} == {"banner", "internal"}


def test_making_a_flag_client_side_is_seen_by_client_keys(admin: Admin, server: ServerProcess) -> None:
    _flag(admin, "checkout", client_side=False)
    client = _key(admin, "client")["secret"]
    assert _evaluate(server, client, "checkout").status_code == 404

    version = admin.http.get(f"/api/v1/projects/{admin.project}/flags/checkout").json()["version"]
    _flag(admin, "checkout", client_side=True, if_match=f'"{version}"')

    assert _evaluate(server, client, "checkout").status_code == 200


def test_a_client_key_never_reaches_the_sdk_routes_or_the_admin_api(
    admin: Admin, server: ServerProcess
) -> None:
    created = _key(admin, "client")
    auth = {"Authorization": f"Bearer {created['secret']}"}
    base = server.base_url

    assert httpx.get(f"{base}/sdk/v1/flags", headers=auth).status_code == 401
    with httpx.stream("GET", f"{base}/sdk/v1/stream", headers=auth) as stream:
        assert stream.status_code == 401
    assert httpx.get(f"{base}/api/v1/projects", headers=auth).status_code == 401
    path = f"{base}/api/v1/projects/{admin.project}/environments/{ENV}/sdk-keys"
    assert httpx.post(path, headers=auth, json={"name": "x"}).status_code == 401
    # The same key answers OFREP, so the refusals above are the route's, not a broken key.
    assert _evaluate(server, created["secret"]).status_code == 200


def test_a_revoked_client_key_is_refused_at_once(admin: Admin, server: ServerProcess) -> None:
    created = _key(admin, "client")
    assert _evaluate(server, created["secret"]).status_code == 200

    admin.revoke(created["key_id"])

    assert _evaluate(server, created["secret"]).status_code == 401


def test_cors_answers_preflights_and_requests_from_allowed_origins_only(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server(cors_allowed_origins=f"{APP}, https://other.example.com")
    admin = Admin(server.base_url)
    _flag(admin, "banner", client_side=True)
    client = _key(admin, "client")["secret"]
    url = f"{server.base_url}/ofrep/v1/evaluate/flags"
    asks = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}

    preflight = httpx.options(url, headers={"Origin": APP, **asks})
    refused = httpx.options(url, headers={"Origin": "https://evil.example.com", **asks})
    answer = _evaluate(server, client, Origin=APP)
    foreign = _evaluate(server, client, Origin="https://evil.example.com")
    admin_route = httpx.options(f"{server.base_url}/api/v1/projects", headers={"Origin": APP, **asks})
    admin.close()

    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == APP
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    assert answer.headers["access-control-allow-origin"] == APP
    assert answer.headers["access-control-expose-headers"] == "ETag"
    assert "access-control-allow-origin" not in foreign.headers
    assert "access-control-allow-origin" not in admin_route.headers
    for response in (preflight, answer):
        assert "access-control-allow-credentials" not in response.headers


def test_a_wildcard_origin_never_allows_credentials(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server(cors_allowed_origins="*")
    url = f"{server.base_url}/ofrep/v1/evaluate/flags"
    asks = {"Access-Control-Request-Method": "POST"}

    preflight = httpx.options(url, headers={"Origin": APP, **asks})
    answer = httpx.post(url, json={}, headers={"Origin": APP})

    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == "*"
    assert answer.status_code == 401 and answer.headers["access-control-allow-origin"] == "*"
    for response in (preflight, answer):
        assert "access-control-allow-credentials" not in response.headers


def test_the_browser_stream_tells_a_page_to_refetch_its_flags(admin: Admin, server: ServerProcess) -> None:
    _flag(admin, "banner", client_side=True)
    client = _key(admin, "client")["secret"]
    first_bulk = _evaluate(server, client)
    (stream,) = first_bulk.json()["eventStreams"]
    url = server.base_url + stream["endpoint"]["requestUri"]
    with httpx.Client(timeout=5) as http, httpx_sse.connect_sse(http, "GET", url) as source:
        events = source.iter_sse()
        first = next(events)
        admin.switch("banner", "kill")
        changed = next(events)
        refetched = _evaluate(server, client, **{"If-None-Match": first_bulk.headers["etag"]})

    assert stream["type"] == "sse" and "origin" not in stream["endpoint"]
    assert source.response.headers["content-type"].startswith("text/event-stream")
    assert first.event == "message" and first.retry is not None
    assert json.loads(first.data)["type"] == json.loads(changed.data)["type"] == "refetchEvaluation"
    assert json.loads(changed.data)["revision"] > json.loads(first.data)["revision"]
    assert refetched.status_code == 200 and refetched.json()["flags"][0]["value"] is False
    # A server key's bulk answer names no stream: it could only be opened with the key in a URL.
    assert "eventStreams" not in _evaluate(server, _key(admin, "server")["secret"]).json()


def test_the_browser_stream_takes_only_a_client_key_in_its_url(admin: Admin, server: ServerProcess) -> None:
    sdk = _key(admin, "server")["secret"]
    url = f"{server.base_url}/ofrep/v1/stream"

    assert httpx.get(url, params={"key": sdk}).status_code == 401
    assert httpx.get(url, params={"key": "fs_client_000000000000_nope"}).status_code == 401
    assert httpx.get(url).status_code == 401


def test_a_client_key_is_not_told_which_rule_decided(admin: Admin, server: ServerProcess) -> None:
    _flag(admin, "banner", client_side=True)
    rule = {
        "id": "staff-only",
        "clauses": [{"attribute": "key", "op": "in", "values": ["u1"]}],
        "serve": {"variation": 1},
    }
    path = f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/banner"
    assert admin.http.patch(path, json={"rules": [rule]}).status_code == 200
    client, sdk = _key(admin, "client")["secret"], _key(admin, "server")["secret"]

    for_client = _evaluate(server, client, "banner").json()
    for_server = _evaluate(server, sdk, "banner").json()

    assert for_client["reason"] == for_server["reason"] == "TARGETING_MATCH"
    assert "rule_id" not in for_client["metadata"] and for_server["metadata"]["rule_id"] == "staff-only"
    assert "rule_id" not in _evaluate(server, client).json()["flags"][0]["metadata"]
