"""SDK-reported counts per flag, variation and event in time buckets (`flag_metric_counts`): every read and
write of them is here.

Counts from many SDK instances and many batches land in the same bucket row by an upsert that adds, so a
replica never reads-then-writes a count another replica is adding to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    Table,
    bindparam,
    case,
    cast,
    delete,
    extract,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.storage.models import FlagMetricCount, UtcDateTime

EVALUATION = "$evaluation"
"""The `event` of flag-check counts; names given to `client.track` never start with `$`."""
NO_VARIATION = -1
"""The `variation` of a check that served the caller's default (disabled without off variation, an error)."""
UNATTRIBUTED = ""
"""The `flag_key` of an outcome no flag claimed."""

_CELL = ["environment_id", "flag_key", "variation", "event", "bucket_start"]
_COLUMNS = [*_CELL, "count", "value_sum"]
_Upsert = TypeVar("_Upsert", postgresql.Insert, sqlite.Insert)
_TABLE: Table = FlagMetricCount.__table__  # type: ignore[assignment]  # declared models map to a Table


def bucket_start(moment: datetime, width_seconds: int) -> datetime:
    """The start of the bucket `moment` falls in: whole multiples of the bucket width since the epoch."""
    seconds = int(moment.timestamp()) // width_seconds * width_seconds
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class Cell:
    """One count to add: `flag_key` empty for an outcome no flag claimed."""

    flag_key: str
    variation: int
    event: str
    count: int
    value_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class Total:
    variation: int
    event: str
    count: int
    value_sum: float


@dataclass(frozen=True, slots=True)
class Activity:
    """One flag's evaluations of one variation: the newest bucket holding any, and how many since the
    `recent_since` the query was given (0 when all are older)."""

    flag_key: str
    variation: int
    last_evaluated: datetime
    recent: int


def add(session: Session, environment_id: int, bucket_start: datetime, cells: Iterable[Cell]) -> int:
    """Adds each cell's count and sum to its bucket row, creating the row where there is none. Returns how
    many rows were written. Cells repeating a (flag, variation, event) are summed first."""
    merged: dict[tuple[str, int, str], list[float]] = {}
    for cell in cells:
        found = merged.setdefault((cell.flag_key, cell.variation, cell.event), [0, 0.0])
        found[0] += cell.count
        found[1] += cell.value_sum
    if not merged:
        return 0
    # Sorted rows take their row locks in one order everywhere, so two replicas adding never deadlock.
    rows = sorted(merged.items())
    if session.get_bind().dialect.name == "postgresql":
        _add_postgresql(session, environment_id, bucket_start, rows)
    else:
        # One statement executed for many rows: SQLite runs them in process, a row at a time, in order.
        statement = _adding(sqlite.insert(_TABLE))
        session.connection().execute(
            statement,
            [
                {
                    "environment_id": environment_id,
                    "flag_key": flag_key,
                    "variation": variation,
                    "event": event,
                    "bucket_start": bucket_start,
                    "count": int(count),
                    "value_sum": float(value_sum),
                }
                for (flag_key, variation, event), (count, value_sum) in rows
            ],
        )
    return len(rows)


def _add_postgresql(
    session: Session,
    environment_id: int,
    bucket_start: datetime,
    rows: list[tuple[tuple[str, int, str], list[float]]],
) -> None:
    """All rows in one statement of five array parameters, unnested by the server: a round trip per row (or
    a statement with a parameter per value, past PostgreSQL's 65,535) cost ten times as much."""
    cells = (
        func.unnest(
            bindparam("flag_keys", type_=ARRAY(String)),
            bindparam("variations", type_=ARRAY(Integer)),
            bindparam("events", type_=ARRAY(String)),
            bindparam("counts", type_=ARRAY(BigInteger)),
            bindparam("sums", type_=ARRAY(Float)),
        )
        .table_valued("flag_key", "variation", "event", "count", "value_sum")
        .render_derived()
    )
    source = select(
        literal(environment_id, Integer),
        cells.c.flag_key,
        cells.c.variation,
        cells.c.event,
        literal(bucket_start, UtcDateTime),
        cells.c.count,
        cells.c.value_sum,
    ).order_by(cells.c.flag_key, cells.c.variation, cells.c.event)
    statement = _adding(postgresql.insert(_TABLE).from_select(_COLUMNS, source))
    session.connection().execute(
        statement,
        {
            "flag_keys": [key[0] for key, _ in rows],
            "variations": [key[1] for key, _ in rows],
            "events": [key[2] for key, _ in rows],
            "counts": [int(sums[0]) for _, sums in rows],
            "sums": [float(sums[1]) for _, sums in rows],
        },
    )


def _adding(statement: _Upsert) -> _Upsert:
    """`statement` made to add its counts and sums to a row that exists already."""
    return statement.on_conflict_do_update(
        index_elements=_CELL,
        set_={
            "count": _TABLE.c.count + statement.excluded.count,
            "value_sum": _TABLE.c.value_sum + statement.excluded.value_sum,
        },
    )


def totals(
    session: Session, environment_id: int, flag_key: str, *, since: datetime, until: datetime | None = None
) -> Sequence[Total]:
    """Per variation and event, the counts of buckets starting at or after `since` (and before `until`)."""
    query = (
        select(
            FlagMetricCount.variation,
            FlagMetricCount.event,
            func.sum(FlagMetricCount.count),
            func.sum(FlagMetricCount.value_sum),
        )
        .where(
            FlagMetricCount.environment_id == environment_id,
            FlagMetricCount.flag_key == flag_key,
            FlagMetricCount.bucket_start >= since,
        )
        .group_by(FlagMetricCount.variation, FlagMetricCount.event)
        .order_by(FlagMetricCount.variation, FlagMetricCount.event)
    )
    if until is not None:
        query = query.where(FlagMetricCount.bucket_start < until)
    return [
        Total(variation=int(v), event=str(e), count=int(c or 0), value_sum=float(s or 0.0))
        for v, e, c, s in session.execute(query)
    ]


def last_evaluated(session: Session, environment_id: int, flag_key: str) -> datetime | None:
    """The start of the newest bucket in which the flag was evaluated at least once, or None."""
    return session.scalar(
        select(func.max(FlagMetricCount.bucket_start)).where(
            FlagMetricCount.environment_id == environment_id,
            FlagMetricCount.flag_key == flag_key,
            FlagMetricCount.event == EVALUATION,
            FlagMetricCount.count > 0,
        )
    )


def evaluation_activity(session: Session, environment_id: int, *, recent_since: datetime) -> list[Activity]:
    """For every flag and variation evaluated in the environment, in one grouped query: the newest bucket,
    and the evaluations since `recent_since`. Unattributed counts are not evaluations and never appear."""
    recent = func.sum(case((FlagMetricCount.bucket_start >= recent_since, FlagMetricCount.count), else_=0))
    query = (
        select(
            FlagMetricCount.flag_key,
            FlagMetricCount.variation,
            func.max(FlagMetricCount.bucket_start),
            recent,
        )
        .where(
            FlagMetricCount.environment_id == environment_id,
            FlagMetricCount.event == EVALUATION,
            FlagMetricCount.count > 0,
        )
        .group_by(FlagMetricCount.flag_key, FlagMetricCount.variation)
    )
    return [
        Activity(flag_key=str(k), variation=int(v), last_evaluated=last, recent=int(r or 0))
        for k, v, last, r in session.execute(query)
    ]


def compact(session: Session, *, width_seconds: int, before: datetime, limit: int) -> int:
    """Merges up to `limit` rows of buckets that started before `before` into the `width_seconds` bucket each
    falls in (aligned to the epoch, like every bucket): its counts and sums are added to that bucket's row and
    the row is deleted. Returns how many rows were merged away; counts are never lost or counted twice.

    Rows are claimed with SKIP LOCKED (PostgreSQL), so replicas compacting at once merge different rows; the
    rows merged into are aligned ones, which are never claimed, and are written in one order everywhere."""
    misaligned = cast(extract("epoch", FlagMetricCount.bucket_start), BigInteger) % width_seconds != 0
    claimed = session.execute(
        select(
            FlagMetricCount.id,
            FlagMetricCount.environment_id,
            FlagMetricCount.bucket_start,
            FlagMetricCount.flag_key,
            FlagMetricCount.variation,
            FlagMetricCount.event,
            FlagMetricCount.count,
            FlagMetricCount.value_sum,
        )
        .where(FlagMetricCount.bucket_start < before, misaligned)
        .order_by(FlagMetricCount.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not claimed:
        return 0
    merged: dict[tuple[int, datetime], list[Cell]] = {}
    for _, environment_id, start, flag_key, variation, event, count, value_sum in claimed:
        seconds = int(start.timestamp()) // width_seconds * width_seconds
        into = datetime.fromtimestamp(seconds, UTC)
        merged.setdefault((environment_id, into), []).append(
            Cell(flag_key, variation, event, count, value_sum)
        )
    session.execute(delete(FlagMetricCount).where(FlagMetricCount.id.in_([row[0] for row in claimed])))
    for (environment_id, into), cells in sorted(merged.items()):
        add(session, environment_id, into, cells)
    return len(claimed)


def prune(session: Session, *, before: datetime, limit: int) -> int:
    """Deletes up to `limit` buckets that started before `before`; returns how many rows went. Rows another
    replica is deleting at the same moment are skipped, not waited for (PostgreSQL)."""
    doomed = (
        select(FlagMetricCount.id)
        .where(FlagMetricCount.bucket_start < before)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = session.execute(delete(FlagMetricCount).where(FlagMetricCount.id.in_(doomed)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
