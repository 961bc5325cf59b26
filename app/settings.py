"""The server's one settings object, read from `FLAGSTAFF_*` environment variables.

Holds configuration only; nothing here connects to anything.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A guessable first admin key would open the whole server; generated keys are far longer than this.
ADMIN_TOKEN_MIN_LENGTH = 16
# The levels uvicorn accepts; the server's own loggers use the same.
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


class Settings(BaseSettings):
    """Every setting is read from the environment variable `FLAGSTAFF_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="FLAGSTAFF_", extra="ignore")

    database_url: str = Field(
        "sqlite:///./flagstaff.db",
        description="SQLAlchemy URL; postgresql+psycopg://... in production, a SQLite file by default.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for fan-out between replicas; unset = in-process."
    )
    admin_token: SecretStr | None = Field(
        None,
        description="Becomes the first admin key when none exists; at least "
        f"{ADMIN_TOKEN_MIN_LENGTH} characters. If unset, one is generated and printed.",
    )
    host: str = Field("127.0.0.1", description="Address `flagstaff serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port `flagstaff serve` listens on.")
    max_body_bytes: int = Field(1_048_576, ge=1, description="Larger request bodies are refused with 413.")
    # At most the 128 levels a stored value may have (app/storage/stored_values.py), so any body fits.
    max_json_depth: int = Field(
        32,
        ge=8,
        le=128,
        description="A JSON request body nesting objects and lists deeper than this is refused with 422.",
    )

    # -- database bounds (docs/api.md, Limits): past any of them a request answers 503 ------
    database_connect_timeout_seconds: int = Field(
        3, ge=2, description="PostgreSQL: opening a connection gives up after this many whole seconds."
    )
    database_statement_timeout_seconds: float = Field(
        5.0,
        gt=0,
        description="One statement may run this long (a server that answers nothing gets 1 s more); "
        "on SQLite, how long a write waits for the database lock.",
    )
    database_pool_timeout_seconds: float = Field(
        3.0, gt=0, description="How long a request waits for a free connection of the pool."
    )
    readiness_timeout_seconds: float = Field(
        1.0, gt=0, description="`/readyz` reports the database unavailable when its check takes longer."
    )
    log_level: str = Field("info", description=f"Log level: {', '.join(LOG_LEVELS)}.")
    access_log: bool = Field(
        True,
        description="One line per HTTP request on the `flagstaff.access` logger (at info); false for none.",
    )
    access_log_sdk_sample_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of `/sdk/` (polls, streams, acks) and `/ofrep/` requests logged when "
        "access_log is on: 0 to 1.",
    )
    migrate_on_start: bool = Field(
        True,
        description="Run pending migrations at start-up; if false, refuse to start until they are run.",
    )
    bootstrap: bool = Field(
        True, description="At start-up, create the default project and the first admin key when missing."
    )

    change_log_retention_hours: float = Field(
        168.0,
        ge=0,
        description="Change-log revisions older than this are deleted (0 keeps them forever); an SDK "
        "resuming from a deleted revision gets a full snapshot instead.",
    )
    change_log_prune_interval_seconds: float = Field(
        3600.0, gt=0, description="How often each process deletes change-log revisions past their retention."
    )

    # -- server-side evaluation (POST .../evaluate) ------
    evaluate_max_attributes: int = Field(
        100, ge=1, description="A context with more attributes than this is refused with 422."
    )
    evaluate_max_value_length: int = Field(
        1024,
        ge=1,
        description="A context string longer than this (in characters), or list with more items, is refused.",
    )
    evaluate_concurrency: int = Field(
        1,
        ge=1,
        description="Evaluations run at once, in worker processes: writes and kills never wait for them.",
    )
    evaluate_queue_size: int = Field(
        8,
        ge=0,
        description="Evaluations that may wait for a worker; more are refused with 503 and Retry-After.",
    )

    cors_allowed_origins: str = Field(
        "",
        description="Origins (comma-separated, e.g. `https://app.example.com`) whose pages may call OFREP "
        "(`/ofrep/v1/*`); `*` for any. Empty: no cross-origin access. Credentials are never allowed.",
    )

    # -- streaming (docs/streaming.md) ------
    stream_heartbeat_seconds: float = Field(
        15.0, gt=0, description="A comment line on every idle SSE stream."
    )
    stream_retry_ms: int = Field(1000, ge=0, description="The `retry:` reconnect hint sent to SSE clients.")
    stream_poll_seconds: float = Field(
        2.0, gt=0, description="Safety net: how often each process checks the database for missed revisions."
    )
    stream_queue_size: int = Field(
        256, ge=1, description="Events buffered per stream; a client further behind gets a fresh snapshot."
    )
    stream_resume_max_changes: int = Field(
        1000,
        ge=0,
        description="A resume needing more change-log rows than this gets a full snapshot instead.",
    )
    stream_shutdown_spread_seconds: float = Field(
        5.0, ge=0, description="On SIGTERM, clients are told to reconnect after a random delay up to this."
    )
    stream_presence_ttl_seconds: float = Field(
        30.0,
        gt=0,
        description=(
            "An SDK instance counts as connected this long after its stream or poll was last seen; also how "
            "long after a start (or a loss of Redis) the propagation report says presence is unknown."
        ),
    )
    sdk_ack_rate_per_key: float = Field(
        1000.0,
        gt=0,
        description=(
            "Acknowledgements accepted per SDK key per second by each server process, in bursts of up to one "
            "second's worth; more get 429 and the SDK retries."
        ),
    )

    # -- the web console (docs/console.md) ------
    console_session_idle_minutes: float = Field(
        720.0,
        gt=0,
        description="A console session unused for this long ends; the next page asks to sign in again.",
    )
    console_session_max_hours: float = Field(
        24.0, gt=0, description="A console session ends this long after its sign-in, however much it is used."
    )
    console_sign_in_failures_per_minute: int = Field(
        10,
        ge=1,
        description="Failed console sign-ins allowed per client address per minute by each server process; "
        "past them, sign-in answers 429 for that address until the minute has passed.",
    )
    console_max_flag_rows: int = Field(
        2000,
        ge=1,
        description="The console's flag list shows at most this many flags at once; a search narrows it.",
    )
    console_max_release_rows: int = Field(
        50,
        ge=1,
        le=1000,
        description="The console's releases page lists at most this many rollout plans, scheduled changes, "
        "triggers and webhooks of each kind (the active and pending ones first).",
    )

    # -- SDK metrics (POST /sdk/v1/metrics) ------
    max_metric_cells: int = Field(
        20_000,
        ge=1,
        description="A metrics report with more counts (cells) than this is refused with 422.",
    )
    metrics_bucket_seconds: int = Field(
        60,
        ge=1,
        le=86_400,
        description="SDK counts are summed into buckets of this many seconds of the server's receive time.",
    )
    metrics_hourly_after_hours: float = Field(
        2.0,
        gt=0,
        description="SDK metric buckets older than this are merged into one per hour, so that long windows "
        "read few rows.",
    )
    metrics_daily_after_days: float = Field(
        2.0, gt=0, description="SDK metric buckets older than this are merged into one per day (UTC)."
    )
    metrics_retention_days: float = Field(
        30.0,
        gt=0,
        description="SDK metric buckets older than this are deleted; `last evaluated` reaches back this far.",
    )
    metrics_prune_interval_seconds: float = Field(
        3600.0, gt=0, description="How often each process deletes SDK metric buckets past their retention."
    )

    # -- scheduled changes (docs/releases.md) ------
    schedule_poll_seconds: float = Field(
        0.25,
        gt=0,
        le=60,
        description="How often each process looks for scheduled changes that are due; a change runs at most "
        "about this long after its time.",
    )
    schedule_max_days_ahead: int = Field(
        366, ge=1, le=36_600, description="A change may be scheduled at most this many days ahead."
    )

    # -- rollout plans (docs/releases.md) ------
    rollout_check_seconds: float = Field(
        1.0,
        gt=0,
        description="How often each process looks for rollout plans whose next step or guard check is due.",
    )
    rollout_guard_interval_seconds: float = Field(
        10.0,
        gt=0,
        description="A running plan's guard is checked, and its flag compared with what the plan last wrote, "
        "at least this often.",
    )
    rollout_max_steps: int = Field(20, ge=1, le=1000, description="Steps per rollout plan (422 beyond).")
    rollout_max_dwell_seconds: float = Field(
        2_592_000.0, gt=0, description="The longest dwell time of one rollout step (422 beyond): 30 days."
    )

    # -- rollout guards (docs/releases.md) ------
    guard_query_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description="A rollout guard's Prometheus source gives up on one check's queries (all four together) "
        "after this long; the guard then waits and says why.",
    )

    # -- monitoring triggers and outbound webhooks (docs/api.md, Triggers and Webhooks) ------
    trigger_rate_limit_per_minute: float = Field(
        60.0,
        gt=0,
        description="Fires accepted per trigger per minute by each server process, in bursts of up to a "
        "minute's worth; more get 429 with Retry-After.",
    )
    webhook_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description="Each step of one webhook delivery (connecting, sending, waiting for the answer) gives "
        "up after this long, and the attempt counts as failed.",
    )
    webhook_max_attempts: int = Field(
        8, ge=1, le=100, description="A delivery that failed this many times is marked failed, not retried."
    )
    webhook_backoff_base_seconds: float = Field(
        10.0,
        gt=0,
        le=86_400,
        description="The wait before a delivery's second attempt; it doubles after each failure.",
    )
    webhook_backoff_cap_seconds: float = Field(
        3600.0, gt=0, le=604_800, description="The longest wait between two attempts of a delivery."
    )
    webhook_poll_interval_seconds: float = Field(
        1.0,
        gt=0,
        description="How often each process turns new audit entries into deliveries and sends them.",
    )
    webhook_concurrency: int = Field(4, ge=1, le=64, description="Deliveries each process sends at once.")
    webhook_commit_grace_seconds: float = Field(
        60.0,
        gt=0,
        description="An audit entry id missing from the log (a transaction still committing, or rolled back) "
        "is waited for this long before webhooks move past it.",
    )

    @field_validator("admin_token", mode="before")
    @classmethod
    def _empty_token_is_unset(cls, value: Any) -> Any:
        # `FLAGSTAFF_ADMIN_TOKEN=` (as compose files and shells pass an unset variable) means "not chosen".
        return None if value == "" else value

    @field_validator("admin_token")
    @classmethod
    def _token_long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < ADMIN_TOKEN_MIN_LENGTH:
            length = len(token.get_secret_value())
            raise ValueError(f"must be at least {ADMIN_TOKEN_MIN_LENGTH} characters, not {length}")
        return token

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, level: str) -> str:
        if level.lower() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}, not {level!r}")
        return level.lower()


class SettingsError(ValueError):
    """A `FLAGSTAFF_*` variable holds a value the server cannot use; the message names it, in one line."""


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (and `overrides`), or a SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        problems = []
        for found in error.errors():
            name = "FLAGSTAFF_" + "_".join(str(part) for part in found["loc"]).upper()
            problems.append(f"{name}: {found['msg'].removeprefix('Value error, ')}")
        raise SettingsError("; ".join(problems)) from None
