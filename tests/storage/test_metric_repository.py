"""The metric repository, one suite run on SQLite and PostgreSQL: the upsert adds (across calls, within a
call, from two connections at once), totals and evaluation activity group what they should, and pruning
deletes only what is older, a batch at a time."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.services.change_transaction import Actor
from app.storage import metric_repository, project_repository
from app.storage.database import Database
from app.storage.metric_repository import EVALUATION, NO_VARIATION, Cell, Total
from app.storage.models import FlagMetricCount

T0 = datetime(2025, 11, 28, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def database(app: FastAPI) -> Database:
    found: Database = app.state.services.database
    return found


@pytest.fixture
def environment_id(app: FastAPI, database: Database) -> int:
    key = f"p-{uuid.uuid4().hex[:12]}"
    app.state.services.projects.create_project(Actor("metrics-test"), key, key, ["production"])
    with database.transaction() as session:
        project = project_repository.get_project(session, key)
        assert project is not None
        environment = project_repository.get_environment(session, project.id, "production")
        assert environment is not None
        return environment.id


def _add(database: Database, environment_id: int, bucket: datetime, *cells: Cell) -> int:
    with database.transaction() as session:
        return metric_repository.add(session, environment_id, bucket, cells)


def _totals(database: Database, environment_id: int, flag: str, **window: datetime) -> list[Total]:
    with database.transaction() as session:
        return list(
            metric_repository.totals(session, environment_id, flag, since=window.pop("since", T0), **window)
        )


def _rows(database: Database, environment_id: int) -> int:
    with database.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(FlagMetricCount)
            .where(FlagMetricCount.environment_id == environment_id)
        )
        return int(count or 0)


def test_adding_to_an_existing_cell_adds_count_and_sum(database: Database, environment_id: int) -> None:
    _add(database, environment_id, T0, Cell("f", 0, EVALUATION, 120), Cell("f", 1, "error", 7, 2.5))
    _add(database, environment_id, T0, Cell("f", 0, EVALUATION, 30), Cell("f", 1, "error", 1, 0.25))

    assert _totals(database, environment_id, "f") == [
        Total(variation=0, event=EVALUATION, count=150, value_sum=0.0),
        Total(variation=1, event="error", count=8, value_sum=2.75),
    ]
    assert _rows(database, environment_id) == 2


def test_cells_repeated_in_one_call_are_summed_into_one_row(database: Database, environment_id: int) -> None:
    written = _add(
        database,
        environment_id,
        T0,
        Cell("f", 0, EVALUATION, 1),
        Cell("f", 0, EVALUATION, 2),
        Cell("", -1, "x", 3),
    )

    assert written == 2
    assert _totals(database, environment_id, "f") == [Total(0, EVALUATION, 3, 0.0)]
    assert _totals(database, environment_id, "") == [Total(NO_VARIATION, "x", 3, 0.0)]


def test_totals_read_only_the_flag_and_the_window(database: Database, environment_id: int) -> None:
    for minute in range(5):
        _add(
            database,
            environment_id,
            T0 + minute * MINUTE,
            Cell("f", 0, EVALUATION, 10),
            Cell("g", 0, EVALUATION, 1),
        )

    window = _totals(database, environment_id, "f", since=T0 + MINUTE, until=T0 + 4 * MINUTE)
    everything = _totals(database, environment_id, "f", since=T0 - MINUTE)

    assert window == [Total(0, EVALUATION, 30, 0.0)]  # minutes 1, 2 and 3
    assert everything == [Total(0, EVALUATION, 50, 0.0)]


def test_one_call_may_carry_more_cells_than_a_statement_has_parameters(
    database: Database, environment_id: int
) -> None:
    # 20,000 rows of 7 values each: past SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
    cells = [Cell(f"flag-{n}", n % 3, EVALUATION, n + 1) for n in range(20_000)]

    assert _add(database, environment_id, T0, *cells) == 20_000
    assert _add(database, environment_id, T0, *cells) == 20_000
    assert _rows(database, environment_id) == 20_000
    assert _totals(database, environment_id, "flag-19999") == [Total(19_999 % 3, EVALUATION, 40_000, 0.0)]


def test_last_evaluated_is_the_newest_bucket_with_evaluations(
    database: Database, environment_id: int
) -> None:
    with database.transaction() as session:
        assert metric_repository.last_evaluated(session, environment_id, "f") is None
    _add(database, environment_id, T0, Cell("f", 0, EVALUATION, 1))
    _add(database, environment_id, T0 + 2 * MINUTE, Cell("f", 1, EVALUATION, 4))
    # Neither an outcome nor a zero count is an evaluation.
    _add(database, environment_id, T0 + 5 * MINUTE, Cell("f", 1, "error", 4), Cell("f", 0, EVALUATION, 0))

    with database.transaction() as session:
        assert metric_repository.last_evaluated(session, environment_id, "f") == T0 + 2 * MINUTE


def test_evaluation_activity_groups_by_flag_and_variation(database: Database, environment_id: int) -> None:
    _add(database, environment_id, T0, Cell("f", 0, EVALUATION, 5), Cell("g", 1, EVALUATION, 2))
    _add(
        database, environment_id, T0 + 10 * MINUTE, Cell("f", 0, EVALUATION, 3), Cell("f", -1, EVALUATION, 1)
    )
    _add(database, environment_id, T0 + 10 * MINUTE, Cell("f", 1, "error", 9), Cell("", -1, "error", 9))

    with database.transaction() as session:
        found = metric_repository.evaluation_activity(session, environment_id, recent_since=T0 + MINUTE)

    by_cell = {(a.flag_key, a.variation): (a.last_evaluated, a.recent) for a in found}
    assert by_cell == {
        ("f", 0): (T0 + 10 * MINUTE, 3),
        ("f", -1): (T0 + 10 * MINUTE, 1),
        ("g", 1): (T0, 0),
    }


def test_prune_deletes_older_buckets_in_batches(database: Database, environment_id: int) -> None:
    # Pruning spans every environment: this test's buckets are older than any other test's.
    old = datetime(2001, 1, 1, tzinfo=UTC)
    for minute in range(6):
        _add(
            database, environment_id, old + minute * MINUTE, Cell("f", 0, EVALUATION, 1), Cell("g", 0, "e", 1)
        )

    with database.transaction() as session:
        first = metric_repository.prune(session, before=old + 4 * MINUTE, limit=5)
    with database.transaction() as session:
        second = metric_repository.prune(session, before=old + 4 * MINUTE, limit=5)

    assert (first, second) == (5, 3)  # 8 rows in minutes 0 to 3
    assert _totals(database, environment_id, "f", since=old) == [Total(0, EVALUATION, 2, 0.0)]
    assert _totals(database, environment_id, "g", since=old) == [Total(0, "e", 2, 0.0)]


def _compact(database: Database, width: int, before: datetime, limit: int = 10_000) -> int:
    with database.transaction() as session:
        return metric_repository.compact(session, width_seconds=width, before=before, limit=limit)


def _buckets(database: Database, environment_id: int) -> list[tuple[datetime, str, int, str, int]]:
    with database.transaction() as session:
        rows = session.execute(
            select(
                FlagMetricCount.bucket_start,
                FlagMetricCount.flag_key,
                FlagMetricCount.variation,
                FlagMetricCount.event,
                FlagMetricCount.count,
            )
            .where(FlagMetricCount.environment_id == environment_id)
            .order_by(FlagMetricCount.bucket_start, FlagMetricCount.flag_key, FlagMetricCount.variation)
        )
        return [tuple(row) for row in rows]


def test_compacting_merges_older_buckets_into_wider_ones_and_keeps_every_count(
    database: Database, environment_id: int
) -> None:
    # Compacting spans every environment: this test's buckets are older than any other test's.
    hour = datetime(2000, 6, 1, 10, 0, tzinfo=UTC)
    for minute in (0, 1, 59, 60, 61, 125):
        _add(
            database,
            environment_id,
            hour + minute * MINUTE,
            Cell("f", 0, EVALUATION, 1),
            Cell("f", 1, "error", 2, 0.5),
        )

    # Buckets before 12:00 only: 12:05 stays as it is.
    merged = _compact(database, 3600, before=hour + timedelta(hours=2))

    assert (
        merged == 6
    )  # 10:01, 10:59, 11:01 of each of the two cells; 10:00 and 11:00 are the rows merged into
    assert _buckets(database, environment_id) == [
        (hour, "f", 0, EVALUATION, 3),
        (hour, "f", 1, "error", 6),
        (hour + timedelta(hours=1), "f", 0, EVALUATION, 2),
        (hour + timedelta(hours=1), "f", 1, "error", 4),
        (hour + 125 * MINUTE, "f", 0, EVALUATION, 1),
        (hour + 125 * MINUTE, "f", 1, "error", 2),
    ]
    assert _totals(database, environment_id, "f", since=hour) == [
        Total(0, EVALUATION, 6, 0.0),
        Total(1, "error", 12, 3.0),
    ]
    assert _compact(database, 3600, before=hour + timedelta(hours=2)) == 0  # nothing left to merge
    # A day's compaction merges the hours into the day's first bucket.
    assert _compact(database, 86_400, before=hour + timedelta(days=1)) == 6
    day = hour.replace(hour=0)
    assert _buckets(database, environment_id) == [(day, "f", 0, EVALUATION, 6), (day, "f", 1, "error", 12)]
    with database.transaction() as session:
        assert metric_repository.last_evaluated(session, environment_id, "f") == day


def test_compacting_goes_a_batch_at_a_time(database: Database, environment_id: int) -> None:
    hour = datetime(2000, 6, 2, 10, 0, tzinfo=UTC)
    for minute in range(1, 8):
        _add(database, environment_id, hour + minute * MINUTE, Cell("f", 0, EVALUATION, minute))

    batches = [_compact(database, 3600, before=hour + timedelta(hours=1), limit=3) for _ in range(4)]

    assert batches == [3, 3, 1, 0]
    assert _buckets(database, environment_id) == [(hour, "f", 0, EVALUATION, sum(range(1, 8)))]


def test_compacting_while_others_compact_and_add_loses_and_doubles_nothing(
    database: Database, environment_id: int
) -> None:
    hour = datetime(2000, 6, 3, 10, 0, tzinfo=UTC)
    minutes, rounds = 60, 20
    for minute in range(minutes):
        _add(
            database,
            environment_id,
            hour + minute * MINUTE,
            *(Cell(f"f{n}", 0, EVALUATION, 1) for n in range(5)),
        )
    start = threading.Barrier(3)
    failures: list[BaseException] = []

    def compacting() -> None:
        try:
            start.wait(timeout=10)
            while _compact(database, 3600, before=hour + timedelta(hours=1), limit=7):
                pass
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    def adding() -> None:
        try:
            start.wait(timeout=10)
            for _ in range(rounds):  # into the very row the others merge into
                _add(database, environment_id, hour, *(Cell(f"f{n}", 0, EVALUATION, 10) for n in range(5)))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=target) for target in (compacting, compacting, adding)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert _compact(database, 3600, before=hour + timedelta(hours=1)) == 0
    assert _buckets(database, environment_id) == [
        (hour, f"f{n}", 0, EVALUATION, minutes + rounds * 10) for n in range(5)
    ]


def test_two_connections_adding_to_the_same_cells_at_once_lose_nothing(
    database: Database, environment_id: int
) -> None:
    rounds, writers = 60, 2
    # Fresh cells every round, so that both writers also race to create the same row, not only to update it.
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait(timeout=10)
            for turn in range(rounds):
                bucket = T0 + turn * MINUTE
                cells = [Cell(f"f{n}", n % 2, EVALUATION, 1 + writer) for n in range(20)]
                cells.append(Cell("f0", 0, "revenue", 1, 0.5))
                _add(database, environment_id, bucket, *(cells if writer else reversed(cells)))
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    assert _totals(database, environment_id, "f0", since=T0) == [
        Total(0, EVALUATION, rounds * (1 + 2), 0.0),
        Total(0, "revenue", rounds * writers, rounds * writers * 0.5),
    ]
    assert _totals(database, environment_id, "f19", since=T0) == [Total(1, EVALUATION, rounds * 3, 0.0)]
    assert _rows(database, environment_id) == rounds * 21
