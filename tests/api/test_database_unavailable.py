"""A database that cannot serve a request in time, on both backends: no free connection in the pool, or a
statement blocked past the statement timeout (SQLite: the write lock held past its busy timeout) answers 503
with `Retry-After` and the JSON error body, within the configured bounds."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.main import create_app, prepare_database
from app.settings import Settings
from tests.api.helpers import create_flag, env_flag_url, error_of
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.anyio
# A hang detector, far above the bounds set below: a request still unanswered by then is stuck for good.
STUCK_AFTER = 20.0


@pytest.fixture(scope="module")
def app(database_url: str) -> Iterator[FastAPI]:
    """The server with bounds short enough that waiting for them costs a test well under a second."""
    settings = Settings(
        database_url=database_url,
        admin_token=ADMIN_TOKEN,
        database_pool_timeout_seconds=0.2,
        database_statement_timeout_seconds=0.5,
    )
    application = create_app(settings)
    prepare_database(settings, application.state.services)
    yield application
    application.state.services.database.dispose()


@contextmanager
def every_pooled_connection(application: FastAPI) -> Iterator[list[Connection]]:
    """Checks out connections until the pool has none left to give, and holds them."""
    engine = application.state.services.database.engine
    with ExitStack() as stack:
        held: list[Connection] = []
        while True:
            try:
                held.append(stack.enter_context(engine.connect()))
            except PoolTimeout:
                break
        yield held


@contextmanager
def flag_configs_locked(database_url: str) -> Iterator[None]:
    """Another client holds the lock every write of a flag's targeting needs, until the block ends."""
    if database_url.startswith("sqlite"):
        other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
        return
    with psycopg.connect(database_url) as other:
        other.execute("LOCK TABLE flag_configs IN EXCLUSIVE MODE")
        yield
        other.rollback()


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert error_of(response)["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1


async def test_a_kill_answers_503_when_the_pool_has_no_connection_to_give(
    app: FastAPI, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "checkout")
    url = env_flag_url(project, "production", "checkout", "kill")
    with every_pooled_connection(app) as held, anyio.fail_after(STUCK_AFTER):
        assert held, "the pool gave no connection at all"
        response = await client.post(url, json={"reason": "checkout errors"})
    assert_unavailable(response)


async def test_a_kill_blocked_past_the_statement_timeout_answers_503_and_changes_nothing(
    database_url: str, client: httpx.AsyncClient, project: str
) -> None:
    await create_flag(client, project, "checkout")
    turned_on = await client.post(env_flag_url(project, "production", "checkout", "on"))
    assert turned_on.status_code == 200, turned_on.text
    with flag_configs_locked(database_url), anyio.fail_after(STUCK_AFTER):
        response = await client.post(
            env_flag_url(project, "production", "checkout", "kill"), json={"reason": "checkout errors"}
        )
    assert_unavailable(response)
    after = await client.get(env_flag_url(project, "production", "checkout"))
    assert after.status_code == 200, after.text
    assert after.json()["flag"]["enabled"] is True
