"""The access log is a setting: a line per admin request by default, SDK requests only at their sampling rate,
nothing at all when it is off."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from app.main import create_app, prepare_database
from app.settings import Settings

pytestmark = pytest.mark.anyio
ADMIN = "fs_admin_access-log-test-token"


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., AsyncIterator[httpx.AsyncClient]]:
    @asynccontextmanager
    async def started(**settings: object) -> AsyncIterator[httpx.AsyncClient]:
        chosen = Settings(database_url=f"sqlite:///{tmp_path / 'access.db'}", admin_token=ADMIN, **settings)
        app = create_app(chosen)
        prepare_database(chosen, app.state.services)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {ADMIN}"}
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
                yield client
        finally:
            app.state.services.database.dispose()

    return started  # type: ignore[return-value]


async def _sdk_polls(client: httpx.AsyncClient, polls: int) -> None:
    created = await client.post(
        "/api/v1/projects/default/environments/production/sdk-keys", json={"name": "log"}
    )
    key = created.json()["secret"]
    for _ in range(polls):
        # The first poll is answered by the route, the others by the poll front: both are logged alike.
        answer = await client.get("/sdk/v1/flags", headers={"Authorization": f"Bearer {key}"})
        assert answer.status_code == 200


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "flagstaff.access"]


async def test_admin_requests_are_logged_and_sdk_polls_are_not_by_default(
    serve: Callable[..., AsyncIterator[httpx.AsyncClient]], caplog: pytest.LogCaptureFixture
):
    caplog.set_level("INFO", logger="flagstaff.access")
    async with serve() as client:
        await _sdk_polls(client, 3)
        await client.get("/api/v1/projects", headers={"X-Request-ID": "trace-1"})
    lines = _lines(caplog)
    assert not any("/sdk/" in line for line in lines)
    assert any(
        '"GET /api/v1/projects HTTP/1.1" 200' in line and "request_id=trace-1" in line for line in lines
    )
    assert any('"POST /api/v1/projects/default/environments/production/sdk-keys' in line for line in lines)


async def test_a_sampling_rate_of_one_logs_every_sdk_poll(
    serve: Callable[..., AsyncIterator[httpx.AsyncClient]], caplog: pytest.LogCaptureFixture
):
    caplog.set_level("INFO", logger="flagstaff.access")
    async with serve(access_log_sdk_sample_rate=1.0) as client:
        await _sdk_polls(client, 3)
    assert sum('"GET /sdk/v1/flags HTTP/1.1" 200' in line for line in _lines(caplog)) == 3


async def test_no_line_at_all_when_the_access_log_is_off(
    serve: Callable[..., AsyncIterator[httpx.AsyncClient]], caplog: pytest.LogCaptureFixture
):
    caplog.set_level("INFO", logger="flagstaff.access")
    async with serve(access_log=False, access_log_sdk_sample_rate=1.0) as client:
        await _sdk_polls(client, 2)
        await client.get("/api/v1/projects")
    assert _lines(caplog) == []


def test_the_sampling_rate_is_a_share_and_refuses_anything_else():
    with pytest.raises(ValueError, match="access_log_sdk_sample_rate"):
        Settings(access_log_sdk_sample_rate=1.5)


async def test_ofrep_evaluations_are_sampled_like_sdk_requests(
    serve: Callable[..., AsyncIterator[httpx.AsyncClient]], caplog: pytest.LogCaptureFixture
):
    caplog.set_level("INFO", logger="flagstaff.access")
    for rate, expected in ((0.0, 0), (1.0, 2)):
        caplog.clear()
        async with serve(access_log_sdk_sample_rate=rate) as client:
            created = await client.post(
                "/api/v1/projects/default/environments/production/sdk-keys", json={"name": "log"}
            )
            key = {"Authorization": f"Bearer {created.json()['secret']}"}
            for _ in range(2):
                answer = await client.post("/ofrep/v1/evaluate/flags", json={}, headers=key)
                assert answer.status_code == 200
        assert (
            sum('"POST /ofrep/v1/evaluate/flags HTTP/1.1" 200' in line for line in _lines(caplog)) == expected
        )
