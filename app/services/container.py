"""Builds every service for one database, once: the app factory holds the result, and routes reach each
service through it (`app.api.dependencies.ServicesDep`), never through attributes of their own on the app."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import CollectorRegistry

from app.services.audit_service import AuditService
from app.services.change_log_retention import ChangeLogRetention
from app.services.change_transaction import ChangeWriter
from app.services.commit_listener import CommitListener
from app.services.console_session_service import ConsoleSessionService, SessionLimits
from app.services.console_stream_service import ConsoleStreamService
from app.services.database_change_source import DatabaseChangeSource
from app.services.evaluation_service import EvaluationLimits, EvaluationService
from app.services.flag_config_service import FlagConfigService
from app.services.flag_definition_service import FlagDefinitionService
from app.services.flag_overview_service import FlagOverviewService
from app.services.key_service import KeyService
from app.services.metrics_service import MetricCounters, MetricLimits, MetricsService
from app.services.ofrep_service import OfrepService
from app.services.periodic import PeriodicJob
from app.services.project_service import ProjectService
from app.services.propagation import PropagationService
from app.services.readiness import ReadinessProbe
from app.services.rollout_service import RolloutService
from app.services.schedule_service import ScheduleService
from app.services.sdk_stream_service import SdkStreamService
from app.services.segment_service import SegmentService
from app.services.snapshot_service import SnapshotService
from app.services.trigger_service import TriggerService
from app.services.unleash_import import UnleashImportService
from app.services.webhook_service import WebhookService
from app.settings import Settings
from app.storage.database import Database
from app.streaming.runtime import Streaming


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    database: Database
    writer: ChangeWriter
    streaming: Streaming
    """The streaming runtime (hub, acknowledgement registry, its rate limiter): started and stopped by the
    app's lifespan, used by the SDK routes and by the services that count confirmations."""
    metrics: CollectorRegistry
    projects: ProjectService
    flag_definitions: FlagDefinitionService
    flag_configs: FlagConfigService
    segments: SegmentService
    snapshots: SnapshotService
    evaluations: EvaluationService
    audit: AuditService
    keys: KeyService
    ofrep: OfrepService
    imports: UnleashImportService
    propagation: PropagationService
    readiness: ReadinessProbe
    retention: ChangeLogRetention
    sdk_streams: SdkStreamService
    console_sessions: ConsoleSessionService
    console_streams: ConsoleStreamService
    flag_overview: FlagOverviewService
    """Flags at a glance for people (the console's lists): state, what they serve, their last change."""
    sdk_metrics: MetricsService
    """Flag checks and outcomes reported by SDKs (`POST /sdk/v1/metrics`); `metrics` is the Prometheus
    registry."""
    schedules: ScheduleService
    rollouts: RolloutService
    triggers: TriggerService
    webhooks: WebhookService
    jobs: tuple[PeriodicJob, ...] = ()
    """Background work the app's lifespan runs on a timer in every process (`app.services.periodic`)."""


def build_services(
    database: Database,
    listener: CommitListener | None = None,
    settings: Settings | None = None,
    *,
    streaming: Streaming | None = None,
) -> Services:
    """`listener` is told of every commit; by default the streaming runtime's, which fans it out to SDKs.
    Building starts nothing: the streaming runtime waits for `start()`, evaluation workers for a first use."""
    settings = settings or Settings()
    metrics = CollectorRegistry()
    streaming = streaming or Streaming(settings, DatabaseChangeSource(database), metrics)
    snapshots = SnapshotService(database)
    notify = listener if listener is not None else streaming.on_commit

    def on_commit(environment_id: int, revision: int) -> None:
        snapshots.note_commit(environment_id, revision)
        notify(environment_id, revision)

    writer = ChangeWriter(database, on_commit)
    propagation = PropagationService(database, streaming.registry, settings.stream_presence_ttl_seconds)
    hours = settings.change_log_retention_hours
    projects = ProjectService(database, writer)
    flag_definitions = FlagDefinitionService(database, writer)
    flag_configs = FlagConfigService(database, writer, propagation)
    console_sessions = ConsoleSessionService(database, writer, SessionLimits.of(settings))
    sdk_metrics = MetricsService(database, snapshots, MetricLimits.of(settings), MetricCounters(metrics))
    schedules = ScheduleService(
        database, writer, flag_configs, max_days_ahead=settings.schedule_max_days_ahead
    )
    rollouts = RolloutService(database, writer, flag_configs, propagation, settings)
    webhooks = WebhookService(database, writer, settings)
    return Services(
        settings=settings,
        database=database,
        writer=writer,
        streaming=streaming,
        metrics=metrics,
        projects=projects,
        flag_definitions=flag_definitions,
        flag_configs=flag_configs,
        segments=SegmentService(database, writer),
        snapshots=snapshots,
        evaluations=EvaluationService(snapshots, EvaluationLimits.of(settings)),
        audit=AuditService(database),
        keys=KeyService(database, writer, on_sdk_key_revoked=snapshots.poll_cache.forget_key),
        ofrep=OfrepService(snapshots),
        imports=UnleashImportService(projects, flag_definitions, flag_configs),
        propagation=propagation,
        readiness=ReadinessProbe(database, settings.readiness_timeout_seconds),
        retention=ChangeLogRetention(database, timedelta(hours=hours) if hours > 0 else None),
        sdk_streams=SdkStreamService(snapshots, streaming),
        console_sessions=console_sessions,
        console_streams=ConsoleStreamService(database, streaming),
        flag_overview=FlagOverviewService(database),
        sdk_metrics=sdk_metrics,
        jobs=(
            PeriodicJob("console-session-prune", 3600.0, console_sessions.prune),
            sdk_metrics.retention_job(settings.metrics_prune_interval_seconds),
            PeriodicJob("schedules", settings.schedule_poll_seconds, schedules.run_due),
            PeriodicJob("rollouts", settings.rollout_check_seconds, rollouts.runner.run_once),
            *webhooks.jobs(),
        ),
        schedules=schedules,
        rollouts=rollouts,
        triggers=TriggerService(database, writer, flag_configs, settings.trigger_rate_limit_per_minute),
        webhooks=webhooks,
    )
