"""SQLAlchemy table models for every persisted entity.

Database rows only: API schemas live in `app.api.schemas` and the flag shape in the SDK. Migrations must
match these models exactly (a test compares them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every backend and hands back aware UTC, so SQLite and PostgreSQL compare alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UtcDateTime,
    }


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Environment(Base):
    __tablename__ = "environments"
    __table_args__ = (UniqueConstraint("project_id", "key", name="uq_environments_project_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # Strictly increasing; bumped in the same transaction as every change to this environment's flag data.
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlagDefinition(Base):
    """A flag's project-wide part. Deleting keeps the row (`deleted`): re-creation continues its versions."""

    __tablename__ = "flag_definitions"
    __table_args__ = (UniqueConstraint("project_id", "key", name="uq_flag_definitions_project_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    variations: Mapped[list[Any]]
    tags: Mapped[list[Any]]
    temporary: Mapped[bool] = mapped_column(default=True)
    # Whether a client key (`fs_client_...`, public) may evaluate this flag through OFREP.
    client_side: Mapped[bool] = mapped_column(default=False, server_default=false())
    salt: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlagConfig(Base):
    """A flag's per-environment targeting; `version` is the flag's wire-format version in that environment."""

    __tablename__ = "flag_configs"
    __table_args__ = (UniqueConstraint("flag_id", "environment_id", name="uq_flag_configs_flag_environment"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flag_definitions.id", ondelete="CASCADE"))
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    off_variation: Mapped[int | None] = mapped_column(Integer)
    targets: Mapped[list[Any]]
    rules: Mapped[list[Any]]
    fallthrough: Mapped[dict[str, Any]]
    prerequisites: Mapped[list[Any]]
    # SDKs attribute `client.track` outcomes to this flag's variations (what a rollout guard reads).
    track_events: Mapped[bool] = mapped_column(default=False, server_default=false())
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlagConfigVersion(Base):
    """Every version a flag had in an environment, as its full wire-format body (history and revert)."""

    __tablename__ = "flag_config_versions"
    __table_args__ = (
        UniqueConstraint(
            "environment_id", "flag_key", "version", name="uq_flag_config_versions_env_key_version"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    flag_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(BigInteger)
    revision: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Segment(Base):
    """A segment in one environment; deleting keeps the row (`deleted`) for the same reason as flags."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("environment_id", "key", name="uq_segments_environment_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    included: Mapped[list[Any]]
    excluded: Mapped[list[Any]]
    rules: Mapped[list[Any]]
    version: Mapped[int] = mapped_column(BigInteger, default=1)
    deleted: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeLogEntry(Base):
    """One changed flag or segment at one environment revision: streaming resumes clients from this table."""

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_environment_revision", "environment_id", "revision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(BigInteger)
    entity_kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(default=False)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only: nothing in the server updates or deletes these rows. Keys are copied, not referenced."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_project_at", "project_key", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(64))
    project_key: Mapped[str | None] = mapped_column(String(64))
    environment_key: Mapped[str | None] = mapped_column(String(64))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_key: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))


class AdminKey(Base):
    __tablename__ = "admin_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The non-secret part of the key, used to find the row before the constant-time hash comparison.
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    project_key: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class SdkKey(Base):
    __tablename__ = "sdk_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    # `server` (`fs_sdk_...`: the whole snapshot) or `client` (`fs_client_...`: client-side flags over OFREP)
    kind: Mapped[str] = mapped_column(String(16), default="server", server_default="server")


# -- release safety: SDK metrics, scheduled changes, rollout plans, triggers, webhooks ------


class FlagMetricCount(Base):
    """Counts SDKs reported for one flag, variation and event in one time bucket, summed over instances.

    `event` is `$evaluation` for flag checks, else the name given to `client.track`; `variation` is -1 where
    no variation was served (the caller's default), and `flag_key` is empty for an outcome no flag claimed."""

    __tablename__ = "flag_metric_counts"
    __table_args__ = (
        UniqueConstraint(
            "environment_id",
            "flag_key",
            "variation",
            "event",
            "bucket_start",
            name="uq_flag_metric_counts_cell",
        ),
        Index("ix_flag_metric_counts_bucket", "bucket_start"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"))
    flag_key: Mapped[str] = mapped_column(String(200))
    variation: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(200))
    bucket_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    value_sum: Mapped[float] = mapped_column(Float, default=0.0)


class ScheduledChange(Base):
    """ "At `due_at`, apply this change to this flag": `action` is patch (with `changes`), on, off or kill.

    `status`: pending, then applied, refused (the flag moved past `expected_version`), failed or cancelled."""

    __tablename__ = "scheduled_changes"
    __table_args__ = (Index("ix_scheduled_changes_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    flag_key: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    expected_version: Mapped[int | None] = mapped_column(BigInteger)
    apply_if_changed: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(Text)
    applied_version: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ran_at: Mapped[datetime | None]


class RolloutPlan(Base):
    """A progressive rollout of `variation` (against `control`) on one flag's fallthrough, step by step.

    `status`: running, paused, completed, rolled_back or aborted. `before` holds the targeting fields the plan
    changes, as they were when it started; abort and rollback write them back."""

    __tablename__ = "rollout_plans"
    __table_args__ = (Index("ix_rollout_plans_status_next", "status", "next_check_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    flag_key: Mapped[str] = mapped_column(String(200))
    variation: Mapped[int] = mapped_column(Integer)
    control: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[Any]]
    guard: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    current_step: Mapped[int] = mapped_column(Integer, default=-1)
    step_started_at: Mapped[datetime | None]
    next_step_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flag_version: Mapped[int | None] = mapped_column(BigInteger)
    trip: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The guard's latest check: its outcome (waiting, healthy, tripped, error), message and figures.
    last_check: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(BigInteger, default=1)


class Trigger(Base):
    """A secret URL bound to one action (kill, on, off) on one flag: monitoring calls it, no other key."""

    __tablename__ = "triggers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    flag_key: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    fire_on_resolved: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_fired_at: Mapped[datetime | None]
    fire_count: Mapped[int] = mapped_column(BigInteger, default=0)


class Webhook(Base):
    """An outbound webhook: a URL that receives each audited change of one environment, signed with `secret`.

    `cursor` is the last audit entry id turned into deliveries: the audit log is the webhook's outbox."""

    __tablename__ = "webhooks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(128))
    events: Mapped[list[Any] | None] = mapped_column(JSON)
    cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event sent (or being retried) to one webhook: `status` pending, delivered or failed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "audit_id", name="uq_webhook_deliveries_event"),
        Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    audit_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A web console sign-in: the cookie holds a token whose hash is here, never the admin key itself."""

    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_key_id: Mapped[int] = mapped_column(ForeignKey("admin_keys.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
