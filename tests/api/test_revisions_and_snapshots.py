"""Environment revisions only increase; the SDK snapshot carries them as ETag with 304 on If-None-Match;
history keeps every version and revert restores an earlier one as a new version."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import create_flag, env_flag_url, sdk_key

pytestmark = pytest.mark.anyio


async def _revision(client: httpx.AsyncClient, project: str, env: str) -> int:
    revision: int = (await client.get(f"/api/v1/projects/{project}/environments/{env}")).json()["revision"]
    return revision


async def test_every_write_bumps_the_environment_revision_by_one(client: httpx.AsyncClient, project: str):
    seen = [await _revision(client, project, "production")]
    await create_flag(client, project, "r")
    seen.append(await _revision(client, project, "production"))
    url = env_flag_url(project, "production", "r")
    for body in ({"enabled": True}, {"off_variation": 0}, {"targets": [{"variation": 0, "values": ["u"]}]}):
        response = await client.patch(url, json=body)
        seen.append(response.json()["revision"])
        assert seen[-1] == await _revision(client, project, "production")
    assert seen == list(range(seen[0], seen[0] + len(seen)))
    failed = await client.patch(url, json={"fallthrough": {"variation": 9}})
    assert failed.status_code == 422
    assert await _revision(client, project, "production") == seen[-1]  # a refused write leaves no trace


async def test_sdk_snapshot_has_the_revision_as_etag_and_answers_304_when_unchanged(
    client: httpx.AsyncClient, project: str
):
    key = await sdk_key(client, project, "production")
    await create_flag(client, project, "snap")
    # The identity encoding, whose ETag is the strong "<revision>" (gzip: test_sdk_snapshot_encodings.py)
    headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "identity"}
    first = await client.get("/sdk/v1/flags", headers=headers)
    assert first.status_code == 200
    snapshot = first.json()
    assert first.headers["etag"] == f'"{snapshot["revision"]}"' and snapshot["format"] == 1
    assert snapshot["flags"]["snap"]["version"] == 1 and snapshot["segments"] == {}
    unchanged = await client.get("/sdk/v1/flags", headers={**headers, "If-None-Match": first.headers["etag"]})
    assert unchanged.status_code == 304 and unchanged.content == b""
    await client.post(env_flag_url(project, "production", "snap", "on"))
    changed = await client.get("/sdk/v1/flags", headers={**headers, "If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["revision"] == snapshot["revision"] + 1
    assert changed.json()["flags"]["snap"]["enabled"] is True


async def test_the_bare_sdk_key_works_without_the_bearer_scheme(client: httpx.AsyncClient, project: str):
    key = await sdk_key(client, project, "development")
    assert (await client.get("/sdk/v1/flags", headers={"Authorization": key})).status_code == 200


async def test_sdk_snapshot_is_loadable_by_the_sdk(client: httpx.AsyncClient, project: str):
    import flagstaff

    key = await sdk_key(client, project, "production")
    await create_flag(client, project, "loadable")
    body = (await client.get("/sdk/v1/flags", headers={"Authorization": f"Bearer {key}"})).json()
    assert flagstaff.validate_snapshot(body) == []
    assert flagstaff.load_snapshot(body).evaluate("loadable", {"key": "u"}).reason.value == "DISABLED"


async def test_history_lists_every_version_and_revert_restores_one_as_a_new_version(
    client: httpx.AsyncClient, project: str
):
    await create_flag(client, project, "h")
    url = env_flag_url(project, "production", "h")
    await client.patch(url, json={"targets": [{"variation": 0, "values": ["alice"]}]})
    await client.patch(url, json={"targets": [{"variation": 0, "values": ["bob"]}], "enabled": True})
    history = (await client.get(f"{url}/history")).json()
    assert [e["version"] for e in history["items"]] == [3, 2, 1]
    assert history["items"][1]["flag"]["targets"][0]["values"] == ["alice"]
    page = (await client.get(f"{url}/history", params={"limit": 1, "before": 3})).json()
    assert [e["version"] for e in page["items"]] == [2] and page["next"] == 2
    reverted = await client.post(f"{url}/revert", json={"version": 2, "reason": "bob broke it"})
    assert reverted.status_code == 200
    flag = reverted.json()["flag"]
    assert flag["version"] == 4 and flag["targets"][0]["values"] == ["alice"] and flag["enabled"] is False
    assert (await client.post(f"{url}/revert", json={"version": 99})).status_code == 404
    stale = await client.post(f"{url}/revert", json={"version": 1}, headers={"If-Match": '"3"'})
    assert stale.status_code == 412


async def test_health_readiness_and_metrics(client: httpx.AsyncClient):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ok", "database": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200 and "flagstaff_http_requests_total" in metrics.text
