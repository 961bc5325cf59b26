"""SDK metrics: takes SDK instances' reports of flag checks and tracked outcomes into time buckets, and
answers what they say: a flag's counts by variation, when it was last evaluated, which flags look stale, and
the totals a rollout guard compares.

Metrics describe traffic, not flags: nothing here writes a revision or an audit entry. Buckets are cut by this
server's clock (injectable, so tests move it instead of sleeping), never by the SDK's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.auth import api_keys
from app.services import lookups
from app.services.errors import InvalidInput, PermissionDenied
from app.services.flag_config_service import FlagRef
from app.services.input_models import MetricsReportIn
from app.services.metric_writer import GroupWriter
from app.services.periodic import PeriodicJob
from app.services.read_models import (
    EventTotalOut,
    FlagMetricsOut,
    MetricsAcceptedOut,
    StaleFlagOut,
    StaleFlagsOut,
    VariationCountOut,
    VariationMetricsOut,
)
from app.services.snapshot_service import SnapshotService
from app.settings import Settings
from app.storage import flag_repository, metric_repository
from app.storage.database import Database
from app.storage.metric_repository import EVALUATION, NO_VARIATION, UNATTRIBUTED, Activity, Cell, Total
from app.storage.models import utcnow

log = logging.getLogger(__name__)

SINGLE_VARIATION_WINDOW = timedelta(hours=24)
"""The stale report lists a flag that served only one variation over this window."""
_BATCH = 10_000
"""Rows deleted or merged per transaction: each statement stays short whatever has piled up."""

HOUR, DAY = 3600, 86_400
"""The widths (seconds) older buckets are merged into."""

Clock = Callable[[], datetime]
StaleReason = Literal["not_evaluated", "never_evaluated", "single_variation"]


@dataclass(frozen=True, slots=True)
class MetricLimits:
    max_cells: int
    bucket_seconds: int
    retention: timedelta
    tiers: tuple[tuple[timedelta, int], ...] = ()
    """(age, width in seconds): buckets older than the age are merged into buckets of that width."""

    @classmethod
    def of(cls, settings: Settings) -> MetricLimits:
        return cls(
            max_cells=settings.max_metric_cells,
            bucket_seconds=settings.metrics_bucket_seconds,
            retention=timedelta(days=settings.metrics_retention_days),
            tiers=(
                (timedelta(hours=settings.metrics_hourly_after_hours), HOUR),
                (timedelta(days=settings.metrics_daily_after_days), DAY),
            ),
        )


class MetricCounters:
    """This process's ingest counters in the Prometheus registry (`/metrics`)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.reports = Counter(
            "flagstaff_sdk_metric_reports",
            "SDK metrics reports accepted (POST /sdk/v1/metrics)",
            registry=registry,
        )
        self.cells = Counter(
            "flagstaff_sdk_metric_cells", "Counts (cells) accepted in SDK metrics reports", registry=registry
        )
        self.dropped = Counter(
            "flagstaff_sdk_metric_dropped",
            "Counts SDK instances said they dropped before reporting (their own bound)",
            registry=registry,
        )


class MetricsService:
    def __init__(
        self,
        database: Database,
        snapshots: SnapshotService,
        limits: MetricLimits,
        counters: MetricCounters,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._database, self._snapshots, self.limits = database, snapshots, limits
        self.counters, self._clock = counters, clock
        self._writer = GroupWriter(self._add)

    # -- ingest ------
    async def reporter(self, token: str | None) -> int | None:
        """The environment an SDK key reports for: None for no key, or an unknown or revoked one. A client key
        is refused (PermissionDenied): it is public, so anyone could report with it."""
        if not token:
            return None
        if token.startswith(api_keys.CLIENT_PREFIX):
            raise PermissionDenied(
                "client keys (fs_client_...) are public and may not report metrics; use a server SDK key"
            )
        target = await self._snapshots.sdk_target(token)
        return None if target is None else target.environment_id

    def ingest(self, environment_id: int, body: object) -> MetricsAcceptedOut:
        """Checks the report (a decoded JSON body) whole, then adds its counts to the current bucket,
        returning once they are committed (with those of reports arriving meanwhile: `GroupWriter`). Counts of
        flags the environment does not have are kept: an SDK may know a flag being created.

        The report is validated here, on the caller's worker thread, not as the route's body model: a report
        of thousands of counts takes a while to check, and the event loop must not wait for it."""
        try:
            report = MetricsReportIn.model_validate(body)
        except ValidationError as error:
            raise InvalidInput.from_validation(error) from None
        cells = self._cells(report)
        if cells:
            self._writer.add(environment_id, self.bucket_of(self._clock()), cells)
        self.counters.reports.inc()
        self.counters.cells.inc(len(report.counts))
        self.counters.dropped.inc(report.dropped)
        return MetricsAcceptedOut(accepted=len(report.counts))

    def _add(self, environment_id: int, bucket_start: datetime, cells: Sequence[Cell]) -> None:
        with self._database.transaction() as session:
            metric_repository.add(session, environment_id, bucket_start, cells)

    def _cells(self, report: MetricsReportIn) -> list[Cell]:
        """The report as cells, after the checks its model cannot make alone; all-zero cells are left out."""
        if len(report.counts) > self.limits.max_cells:
            found, most = len(report.counts), self.limits.max_cells
            raise InvalidInput(f"at most {most} counts per report, not {found}; report more often", "counts")
        cells = []
        for index, count in enumerate(report.counts):
            if count.event.startswith("$") and count.event != EVALUATION:
                message = f"names starting with '$' are reserved; the only one is {EVALUATION!r}"
                raise InvalidInput(message, f"counts[{index}].event")
            if count.event == EVALUATION and count.flag is None:
                raise InvalidInput("an evaluation names the flag checked", f"counts[{index}].flag")
            if count.count or count.sum:
                flag_key = UNATTRIBUTED if count.flag is None else count.flag
                variation = NO_VARIATION if count.variation is None else count.variation
                cells.append(Cell(flag_key, variation, count.event, count.count, count.sum))
        return cells

    def bucket_of(self, moment: datetime) -> datetime:
        """The start of the bucket `moment` falls in: whole multiples of the bucket width since the epoch."""
        return metric_repository.bucket_start(moment, self.limits.bucket_seconds)

    # -- reads ------
    def totals(self, environment_id: int, flag_key: str, since: datetime) -> list[Total]:
        """Per variation and event, what SDKs reported for the flag in buckets starting at or after `since`
        (variation -1: the caller's default; flag_key "": unattributed outcomes)."""
        with self._database.transaction() as session:
            return list(metric_repository.totals(session, environment_id, flag_key, since=since))

    def flag_metrics(self, ref: FlagRef, hours: int) -> FlagMetricsOut:
        now = self._clock()
        since = now - timedelta(hours=hours)
        with self._database.transaction() as session:
            project, environment = lookups.environment(session, ref.project, ref.environment)
            definition = lookups.flag(session, project, ref.flag)
            totals = metric_repository.totals(session, environment.id, ref.flag, since=since)
            last = metric_repository.last_evaluated(session, environment.id, ref.flag)
        variations: dict[int, VariationMetricsOut] = {
            index: VariationMetricsOut(variation=index, value=value, evaluations=0, events=[])
            for index, value in enumerate(definition.variations)
        }
        for total in totals:
            found = variations.get(total.variation)
            if found is None:
                index = None if total.variation == NO_VARIATION else total.variation
                found = variations[total.variation] = VariationMetricsOut(
                    variation=index, value=None, evaluations=0, events=[]
                )
            if total.event == EVALUATION:
                found.evaluations += total.count
            else:
                found.events.append(EventTotalOut(event=total.event, count=total.count, sum=total.value_sum))
        # The flag's variations in order, the default last: -1 sorts first as an int, so key it apart.
        ordered = sorted(variations.items(), key=lambda item: (item[0] == NO_VARIATION, item[0]))
        return FlagMetricsOut(
            flag=ref.flag,
            since=since,
            until=now,
            bucket_seconds=self.limits.bucket_seconds,
            last_evaluated=last,
            variations=[entry for _, entry in ordered],
        )

    def stale_flags(self, project_key: str, environment_key: str, days: int) -> StaleFlagsOut:
        """The environment's flags not evaluated for `days` (a flag never evaluated only once it is older than
        that), and those that served a single variation over the last 24 hours. Two queries however many
        flags there are: the flags, and their evaluations grouped by flag and variation."""
        now = self._clock()
        cutoff, recent_since = now - timedelta(days=days), now - SINGLE_VARIATION_WINDOW
        with self._database.transaction() as session:
            project, environment = lookups.environment(session, project_key, environment_key)
            flags = flag_repository.flag_summaries(session, project.id, environment.id)
            activity = metric_repository.evaluation_activity(
                session, environment.id, recent_since=recent_since
            )
        by_flag: dict[str, list[Activity]] = {}
        for found in activity:
            by_flag.setdefault(found.flag_key, []).append(found)
        items = []
        for flag in flags:
            evaluated = by_flag.get(flag.key, [])
            last = max((found.last_evaluated for found in evaluated), default=None)
            served = sorted((found for found in evaluated if found.recent > 0), key=_default_last)
            arrived = max(flag.created_at, environment.created_at)
            reason: StaleReason | None
            if last is None:
                reason = "never_evaluated" if arrived < cutoff else None
            elif last < cutoff:
                reason = "not_evaluated"
            else:
                reason = "single_variation" if len(served) == 1 else None
            if reason is None:
                continue
            items.append(
                StaleFlagOut(
                    key=flag.key,
                    reason=reason,
                    last_evaluated=last,
                    created_at=arrived,
                    temporary=flag.temporary,
                    variations=[_count(found, flag.variations) for found in served],
                )
            )
        return StaleFlagsOut(
            days=days,
            not_evaluated_since=cutoff,
            single_variation_since=recent_since,
            flags_checked=len(flags),
            items=items,
        )

    # -- retention ------
    def prune(self) -> int:
        """Deletes buckets older than the retention period, a batch per transaction; returns rows deleted."""
        before = self._clock() - self.limits.retention
        deleted = self._in_batches(partial(metric_repository.prune, before=before, limit=_BATCH))
        if deleted:
            log.info("pruned %d SDK metric buckets older than %s", deleted, before.isoformat())
        return deleted

    def compact(self) -> int:
        """Merges older buckets into wider ones (per hour, then per day: `MetricLimits.tiers`), so that a long
        window or the stale-flag report reads a few rows per flag and variation, not one per minute. Counts
        are kept exactly; only when they happened becomes coarser. Returns rows merged away."""
        now, merged = self._clock(), 0
        for age, width in self.limits.tiers:
            if width <= self.limits.bucket_seconds:
                continue  # buckets are that wide already
            batch = partial(metric_repository.compact, width_seconds=width, before=now - age, limit=_BATCH)
            merged += self._in_batches(batch)
        if merged:
            log.info("merged %d SDK metric buckets into wider ones", merged)
        return merged

    def tidy(self) -> None:
        """One round of the retention job: prune, then compact what is left."""
        self.prune()
        self.compact()

    def retention_job(self, interval_seconds: float) -> PeriodicJob:
        return PeriodicJob("sdk-metrics-retention", interval_seconds, self.tidy)

    def _in_batches(self, batch: Callable[[Session], int]) -> int:
        """Runs `batch` in a transaction of its own until one does less than a full batch; the total done."""
        done = 0
        while True:
            with self._database.transaction() as session:
                count = batch(session)
            done += count
            if count < _BATCH:
                return done


def _default_last(found: Activity) -> tuple[bool, int]:
    return found.variation == NO_VARIATION, found.variation


def _count(found: Activity, values: list[Any]) -> VariationCountOut:
    index = None if found.variation == NO_VARIATION else found.variation
    value = values[found.variation] if 0 <= found.variation < len(values) else None
    return VariationCountOut(variation=index, value=value, evaluations=found.recent)
