"""Console sessions as use cases: failed sign-ins counted per address over a sliding minute, the session's
last use written at most every half minute, finished sessions pruned a day later, and the stream keys of live
sessions told apart from ended ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from app.services.console_session_service import (
    STREAM_KEY_PREFIX,
    BadKey,
    ConsoleSessionService,
    FailedSignIns,
    SessionLimits,
    TooManyAttempts,
    live_stream_keys,
)
from app.services.container import Services
from app.storage.models import ConsoleSession, utcnow
from tests.conftest import ADMIN_TOKEN


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failed_sign_ins_block_an_address_for_the_rest_of_the_minute() -> None:
    clock = Clock()
    failures = FailedSignIns(3, clock)
    for _ in range(3):
        assert not failures.blocked("10.1.1.1")
        failures.record("10.1.1.1")
        clock.now += 10
    assert failures.blocked("10.1.1.1")
    assert not failures.blocked("10.1.1.2")
    clock.now += 31  # the first failure is now more than a minute old
    assert not failures.blocked("10.1.1.1")


def test_failed_sign_ins_stay_bounded_in_memory() -> None:
    failures = FailedSignIns(1, Clock(), max_addresses=2)
    for address in ("a", "b", "c"):
        failures.record(address)
    assert not failures.blocked("a")  # forgotten when the table started over
    assert failures.blocked("c")


def _services(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


def _row(services: Services, session_id: int) -> ConsoleSession:
    with services.database.transaction() as session:
        found = session.get(ConsoleSession, session_id)
        assert found is not None
        session.expunge(found)
        return found


def test_a_resolved_session_records_its_use_at_most_every_half_minute(app: FastAPI) -> None:
    services = _services(app)
    signed = services.console_sessions.sign_in(ADMIN_TOKEN, "10.9.0.1")
    first = _row(services, signed.identity.session_id).last_seen_at
    assert services.console_sessions.resolve(signed.token) is not None
    assert _row(services, signed.identity.session_id).last_seen_at == first
    with services.database.transaction() as session:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == signed.identity.session_id)
            .values(last_seen_at=first - timedelta(minutes=5))
        )
    identity = services.console_sessions.resolve(signed.token)
    assert identity is not None and identity.csrf_token == signed.identity.csrf_token
    assert _row(services, signed.identity.session_id).last_seen_at > first - timedelta(seconds=1)


def test_bad_keys_are_refused_and_counted_until_even_a_good_one_waits(app: FastAPI) -> None:
    services = _services(app)
    limits = SessionLimits(idle=timedelta(hours=1), lifetime=timedelta(hours=2), failures_per_minute=2)
    sessions = ConsoleSessionService(services.database, services.writer, limits)
    with pytest.raises(BadKey):
        sessions.sign_in("fs_admin_nothing", "10.9.0.2")
    with pytest.raises(BadKey):
        sessions.sign_in("x" * 10_000, "10.9.0.2")  # too long to be a key: never looked up, still counted
    with pytest.raises(TooManyAttempts):
        sessions.sign_in(ADMIN_TOKEN, "10.9.0.2")
    signed = sessions.sign_in(ADMIN_TOKEN, "10.9.0.22")
    assert signed.identity.expires_at - utcnow() > timedelta(hours=1, minutes=59)


def test_stream_keys_of_ended_sessions_are_not_live_and_finished_sessions_are_pruned(app: FastAPI) -> None:
    services = _services(app)
    kept = services.console_sessions.sign_in(ADMIN_TOKEN, "10.9.0.3").identity
    ended = services.console_sessions.sign_in(ADMIN_TOKEN, "10.9.0.3").identity
    services.console_sessions.sign_out(ended)
    services.console_sessions.sign_out(ended)  # a second sign-out changes nothing
    with services.database.transaction() as session:
        live = live_stream_keys(
            session, {kept.stream_key, ended.stream_key, f"{STREAM_KEY_PREFIX}x", "sdkkey"}
        )
    assert live == {kept.stream_key}
    assert services.console_sessions.resolve("not a token") is None

    with services.database.transaction() as session:
        session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.id == ended.session_id)
            .values(ended_at=utcnow() - timedelta(days=2))
        )
    assert services.console_sessions.prune() >= 1
    with services.database.transaction() as session:
        remaining = set(session.scalars(select(ConsoleSession.id)))
    assert kept.session_id in remaining and ended.session_id not in remaining
