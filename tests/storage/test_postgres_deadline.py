"""The client's deadline on PostgreSQL round trips, against a throwaway cluster frozen with SIGSTOP: a round
trip that overruns it fails and leaves the connection closed; round trips finished in time are left alone."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest

from app.storage.postgres_deadline import DeadlineConnection
from tests.throwaway_postgres import ThrowawayPostgres


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayPostgres]:
    postgres = ThrowawayPostgres().start()
    yield postgres
    postgres.stop()


@pytest.fixture
def connection(cluster: ThrowawayPostgres) -> Iterator[DeadlineConnection]:
    opened = DeadlineConnection.connect(cluster.url, connect_timeout=2, autocommit=True)
    opened.round_trip_seconds = 0.3
    yield opened
    opened.close()


def test_a_round_trip_to_a_frozen_server_fails_at_the_deadline_and_closes_the_connection(
    cluster: ThrowawayPostgres, connection: DeadlineConnection
) -> None:
    with cluster.frozen(), pytest.raises(psycopg.OperationalError, match=r"did not answer within 0\.3 s"):
        connection.execute("SELECT 1")
    assert connection.closed


def test_a_commit_to_a_frozen_server_fails_at_the_deadline_too(
    cluster: ThrowawayPostgres, connection: DeadlineConnection
) -> None:
    connection.autocommit = False
    connection.execute("SELECT 1")
    with cluster.frozen(), pytest.raises(psycopg.OperationalError, match="did not answer"):
        connection.commit()
    assert connection.closed


def test_round_trips_that_finish_in_time_are_left_alone(connection: DeadlineConnection) -> None:
    for _ in range(3):
        assert connection.execute("SELECT 1").fetchone() == (1,)
        time.sleep(0.4)  # past the deadline the finished round trip had: nothing may fire late
    assert connection.execute("SELECT 2").fetchone() == (2,)
    assert not connection.closed
