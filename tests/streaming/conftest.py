"""Fixtures for the streaming tests: a PostgreSQL database shared by the server processes of a test module,
and servers and Redis instances that are always stopped, even when a test fails half-way."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from flagstaff import Client
from flagstaff.live import LiveDataSource, LiveOptions
from tests.postgres_server import POSTGRES_SERVER, database_on_server
from tests.streaming.admin import Admin
from tests.streaming.processes import RedisServer, ServerProcess, require

# SDK timings for tests: a read timeout just above two 1 s heartbeats, and quick retries.
FAST_SDK = LiveOptions(
    read_timeout=2.5, initial_backoff=0.1, max_backoff=0.5, poll_interval=0.5, auth_retry_interval=0.5,
    ack_interval=0.05, cache_interval=0.1,
)  # fmt: skip


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        require(False, f"PostgreSQL is unreachable at {POSTGRES_SERVER}: {error}")
        raise
    name = f"flagstaff_stream_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield database_on_server(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def start_server(database_url: str) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def start(redis_url: str | None = None, **settings: str) -> ServerProcess:
        server = ServerProcess(database_url, redis_url, **settings)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.kill()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_server(database_url: str) -> Iterator[ServerProcess]:
    server = ServerProcess(database_url).start()
    yield server
    server.kill()


@pytest.fixture
def server(shared_server: ServerProcess) -> ServerProcess:
    """The module's server (started again if a test stopped it); tests isolate themselves by project."""
    if shared_server.process is None or shared_server.process.poll() is not None:
        shared_server.start()
    return shared_server


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[Admin]:
    client = Admin(server.base_url)
    yield client
    client.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def make(sdk_key: str, base_url: str, **kwargs: Any) -> Client:
        options = kwargs.pop("options", FAST_SDK)
        source = LiveDataSource(sdk_key, base_url, options=options, **kwargs)
        client = Client(data_source=source)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture(autouse=True)
def _quiet_sdk_logs() -> None:
    # Reconnect warnings are expected here; they would only drown the report of a real failure.
    logging.getLogger("flagstaff").setLevel(logging.ERROR)
