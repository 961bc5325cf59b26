"""Group commit of metrics reports, on SQLite and PostgreSQL: reports that arrive while a write runs are
written together in one transaction and every caller returns after its counts are committed; a group that
fails to write fails its own callers only."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

from app.services.change_transaction import Actor
from app.services.metric_writer import GroupWriter
from app.storage import metric_repository, project_repository
from app.storage.database import Database
from app.storage.metric_repository import EVALUATION, Cell, Total

ACTOR = Actor("metric-writer-test")
BUCKET = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _environments(app: FastAPI, *keys: str) -> tuple[str, list[int]]:
    project = f"p-{uuid.uuid4().hex[:12]}"
    app.state.services.projects.create_project(ACTOR, project, project, list(keys))
    with app.state.services.database.transaction() as session:
        owner = project_repository.get_project(session, project)
        assert owner is not None
        found = [project_repository.get_environment(session, owner.id, key) for key in keys]
        return project, [environment.id for environment in found if environment is not None]


class HeldWrites:
    """The real write, counted; the first one waits for `release` so that others can queue behind it."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.calls: list[tuple[int, int]] = []  # (environment, cells)
        self.first_started, self.release = threading.Event(), threading.Event()

    def __call__(self, environment_id: int, bucket_start: datetime, cells: Sequence[Cell]) -> None:
        self.calls.append((environment_id, len(cells)))
        if len(self.calls) == 1:
            self.first_started.set()
            assert self.release.wait(timeout=30)
        with self.database.transaction() as session:
            metric_repository.add(session, environment_id, bucket_start, cells)


def _in_threads(calls: list[Callable[[], None]]) -> tuple[list[threading.Thread], dict[int, BaseException]]:
    errors: dict[int, BaseException] = {}

    def run(index: int, call: Callable[[], None]) -> None:
        try:
            call()
        except BaseException as error:  # reported by the test
            errors[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    return threads, errors


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _totals(database: Database, environment_id: int, flag: str) -> list[Total]:
    with database.transaction() as session:
        return list(metric_repository.totals(session, environment_id, flag, since=BUCKET))


def test_reports_arriving_during_a_write_are_written_together(app: FastAPI) -> None:
    database = app.state.services.database
    _, (environment,) = _environments(app, "production")
    writes = HeldWrites(database)
    writer = GroupWriter(writes)

    def report(count: int) -> Callable[[], None]:
        return lambda: writer.add(
            environment, BUCKET, [Cell("f", 0, EVALUATION, count), Cell("g", 1, "e", 1)]
        )

    first, first_errors = _in_threads([report(1)])
    assert writes.first_started.wait(timeout=30)
    queued, queued_errors = _in_threads([report(10), report(100), report(1000)])
    _wait_until(lambda: writer.waiting == 3)
    writes.release.set()
    for thread in [*first, *queued]:
        thread.join(timeout=30)

    assert first_errors == {} and queued_errors == {}
    # The three queued reports became one write, of their cells merged by key (two rows).
    assert len(writes.calls) == 2
    assert _totals(database, environment, "f") == [Total(0, EVALUATION, 1111, 0.0)]
    assert _totals(database, environment, "g") == [Total(1, "e", 4, 0.0)]


def test_a_group_that_cannot_be_written_fails_only_its_own_callers(app: FastAPI) -> None:
    database = app.state.services.database
    project, (kept, deleted) = _environments(app, "production", "doomed")
    app.state.services.projects.delete_environment(ACTOR, project, "doomed")
    writes = HeldWrites(database)
    writer = GroupWriter(writes)

    first, first_errors = _in_threads([lambda: writer.add(kept, BUCKET, [Cell("f", 0, EVALUATION, 1)])])
    assert writes.first_started.wait(timeout=30)
    queued, queued_errors = _in_threads(
        [
            lambda: writer.add(deleted, BUCKET, [Cell("f", 0, EVALUATION, 5)]),
            lambda: writer.add(kept, BUCKET, [Cell("f", 0, EVALUATION, 2)]),
        ]
    )
    _wait_until(lambda: writer.waiting == 2)
    writes.release.set()
    for thread in [*first, *queued]:
        thread.join(timeout=30)

    assert first_errors == {}
    assert list(queued_errors) == [0] and isinstance(queued_errors[0], IntegrityError)
    assert _totals(database, kept, "f") == [Total(0, EVALUATION, 3, 0.0)]


def test_a_lone_report_is_written_at_once_by_its_own_caller(app: FastAPI) -> None:
    database = app.state.services.database
    _, (environment,) = _environments(app, "production")
    writes: list[int] = []

    def write(environment_id: int, bucket_start: datetime, cells: Sequence[Cell]) -> None:
        writes.append(threading.get_ident())
        with database.transaction() as session:
            metric_repository.add(session, environment_id, bucket_start, cells)

    writer = GroupWriter(write)
    writer.add(environment, BUCKET, [Cell("f", 0, EVALUATION, 1)])
    writer.add(environment, BUCKET, [Cell("f", 0, EVALUATION, 1)])

    assert writes == [threading.get_ident()] * 2
    assert _totals(database, environment, "f") == [Total(0, EVALUATION, 2, 0.0)]


@pytest.mark.parametrize("failure", [ValueError("refused"), KeyboardInterrupt()])
def test_a_write_that_raises_is_reported_to_its_caller_and_the_next_report_is_written(
    app: FastAPI, failure: BaseException
) -> None:
    database = app.state.services.database
    _, (environment,) = _environments(app, "production")
    failing = [failure]

    def write(environment_id: int, bucket_start: datetime, cells: Sequence[Cell]) -> None:
        if failing:
            raise failing.pop()
        with database.transaction() as session:
            metric_repository.add(session, environment_id, bucket_start, cells)

    writer = GroupWriter(write)
    with pytest.raises(type(failure)):
        writer.add(environment, BUCKET, [Cell("f", 0, EVALUATION, 1)])
    writer.add(environment, BUCKET, [Cell("f", 0, EVALUATION, 7)])

    assert _totals(database, environment, "f") == [Total(0, EVALUATION, 7, 0.0)]
