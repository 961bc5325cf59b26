"""Opening an SDK stream and acknowledging through `SdkStreamService`, in a running app: the key is checked,
the stream starts with a snapshot (or resumes), changes follow, only a present instance may acknowledge, and
a process that is shutting down opens no stream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from app.main import FlagstaffApp, create_app
from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn
from app.services.sdk_stream_service import Refusal, Refused, SdkStreamService
from app.settings import Settings
from app.streaming.events import HEARTBEAT_COMMENT
from tests.streaming.processes import free_port

ACTOR = Actor("stream-service-test")
BOOLEAN = FlagDefinitionIn(kind="boolean", variations=[True, False])


@dataclass
class Running:
    app: FlagstaffApp
    services: Services
    streams: SdkStreamService
    project: str
    sdk_key: str

    def kill(self) -> int:
        state = self.services.flag_configs.kill(
            ACTOR, FlagRef(self.project, "production", "checkout"), "test"
        )
        return state.revision


@pytest.fixture
async def running(database_url: str) -> AsyncIterator[Running]:
    async with _running(database_url) as found:
        yield found


@asynccontextmanager
async def _running(database_url: str, redis_url: str | None = None) -> AsyncIterator[Running]:
    settings = Settings(
        database_url=database_url, admin_token="fs_admin_stream-service-test-token", redis_url=redis_url
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        services: Services = app.state.services
        project = f"p-{uuid.uuid4().hex[:12]}"
        services.projects.create_project(ACTOR, project, project, ["production"])
        services.flag_definitions.put(ACTOR, project, "checkout", BOOLEAN, None)
        services.flag_configs.turn_on(ACTOR, FlagRef(project, "production", "checkout"))
        created = services.keys.create_sdk_key(ACTOR, project, "production", "sdk")
        yield Running(app, services, services.sdk_streams, project, created.secret)


async def _next_event(chunks: AsyncGenerator[bytes, None]) -> bytes:
    """The next chunk that is not a heartbeat (nothing writes these streams, so they count as idle)."""
    while True:
        chunk = await asyncio.wait_for(anext(chunks), 5)
        if chunk != HEARTBEAT_COMMENT:
            return chunk


@pytest.mark.anyio
async def test_an_unknown_or_missing_key_opens_no_stream(running: Running) -> None:
    for token in (None, "fs_sdk_unknown", running.sdk_key + "x"):
        with pytest.raises(Refused) as refused:
            await running.streams.open(token, resume_from=None, instance_id=None)
        assert refused.value.reason is Refusal.UNKNOWN_KEY and refused.value.code == "unauthorized"


@pytest.mark.anyio
async def test_a_stream_starts_with_the_snapshot_then_sends_each_change(running: Running) -> None:
    opened = await running.streams.open(running.sdk_key, resume_from=None, instance_id=None)
    try:
        first = await _next_event(opened.chunks)
        assert first.startswith(b"retry: ") and b"event: snapshot\n" in first
        revision = await asyncio.to_thread(running.kill)
        change = await _next_event(opened.chunks)
        assert change.startswith(b"event: change\nid: %d\n" % revision)
    finally:
        await opened.chunks.aclose()


@pytest.mark.anyio
async def test_a_stream_resumed_at_the_current_revision_confirms_it_without_a_snapshot(
    running: Running,
) -> None:
    current = await asyncio.to_thread(running.kill)
    opened = await running.streams.open(running.sdk_key, resume_from=current, instance_id=None)
    try:
        first = await _next_event(opened.chunks)
        assert b"event: snapshot" not in first
        assert b'event: change\nid: %d\ndata: {"revision":%d,"changes":[]}' % (current, current) in first
    finally:
        await opened.chunks.aclose()


@pytest.mark.anyio
async def test_only_an_instance_present_with_the_key_may_acknowledge(running: Running) -> None:
    with pytest.raises(Refused) as refused:
        running.streams.acknowledge(running.sdk_key, "instance-1", 1)
    assert refused.value.reason is Refusal.NOT_CONNECTED and refused.value.field == "instance_id"

    opened = await running.streams.open(running.sdk_key, resume_from=None, instance_id="instance-1")
    try:
        for _ in range(500):  # presence is recorded off the event loop, just after the subscription
            try:
                await asyncio.to_thread(running.streams.acknowledge, running.sdk_key, "instance-1", 1)
                break
            except Refused as refusal:
                assert refusal.reason is Refusal.NOT_CONNECTED
                await asyncio.sleep(0.01)
        else:
            raise AssertionError("the streaming instance could never acknowledge")
    finally:
        await opened.chunks.aclose()


@pytest.mark.anyio
async def test_a_process_told_to_shut_down_opens_no_more_streams(running: Running) -> None:
    running.app.begin_shutdown()  # what the serve path calls on SIGTERM
    await asyncio.sleep(0.05)  # the drain runs on the event loop
    with pytest.raises(Refused) as refused:
        await running.streams.open(running.sdk_key, resume_from=None, instance_id=None)
    assert refused.value.reason is Refusal.SHUTTING_DOWN


@pytest.mark.anyio
async def test_an_acknowledgement_that_cannot_be_stored_is_refused_as_unavailable(database_url: str) -> None:
    async with _running(database_url, f"redis://127.0.0.1:{free_port()}/0") as running:  # nothing listens
        with pytest.raises(Refused) as refused:
            await asyncio.to_thread(running.streams.acknowledge, running.sdk_key, "instance-1", 1)
        assert refused.value.reason is Refusal.UNAVAILABLE
        assert refused.value.message == "acknowledgements cannot be stored: ConnectionError"
