"""Fixtures shared by the server tests: one migrated database per backend (a SQLite file and a uniquely named
PostgreSQL database), an app built for it, and an HTTP client with an admin key and a fresh project per test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from app.main import create_app, prepare_database
from app.settings import Settings
from tests.postgres_server import POSTGRES_SERVER, database_on_server

ADMIN_TOKEN = "fs_admin_test-bootstrap-token"


def _postgres_or_skip() -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(POSTGRES_SERVER, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required in CI and is unreachable at {POSTGRES_SERVER}: {error}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_SERVER}")


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Callable[[], str]]:
    """Creates databases of their own on the shared server for this test session; drops them at the end."""
    admin = _postgres_or_skip()
    created: list[str] = []

    def create() -> str:
        name = f"flagstaff_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        return database_on_server(name)

    try:
        yield create
    finally:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def postgresql_url(postgres_databases: Callable[[], str]) -> str:
    return postgres_databases()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "flagstaff.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[FastAPI]:
    settings = Settings(database_url=database_url, admin_token=ADMIN_TOKEN, max_body_bytes=65_536)
    application = create_app(settings)
    prepare_database(settings, application.state.services)
    yield application
    application.state.services.database.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://flagstaff.test",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ) as http:
        yield http


@pytest.fixture
async def project(client: httpx.AsyncClient) -> str:
    """A new project (development, staging, production) per test, so tests never see each other's data."""
    key = f"p-{uuid.uuid4().hex[:12]}"
    response = await client.post("/api/v1/projects", json={"key": key, "name": key})
    assert response.status_code == 201, response.text
    return key
