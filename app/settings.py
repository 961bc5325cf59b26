"""The server's one settings object, read from `FLAGSTAFF_*` environment variables.

Holds configuration only; nothing here connects to anything.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
        description="Becomes the first admin key when none exists; if unset one is generated and printed.",
    )
    host: str = Field("127.0.0.1", description="Address `flagstaff serve` listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port `flagstaff serve` listens on.")
    max_body_bytes: int = Field(1_048_576, ge=1, description="Larger request bodies are refused with 413.")
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    access_log: bool = Field(
        True,
        description="One line per HTTP request on the `flagstaff.access` logger (at info); false for none.",
    )
    access_log_sdk_sample_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of `/sdk/` requests (polls, streams, acks) logged when access_log is on: 0 to 1.",
    )
    migrate_on_start: bool = Field(
        True,
        description="Run pending migrations at start-up; if false, refuse to start until they are run.",
    )
    bootstrap: bool = Field(
        True, description="At start-up, create the default project and the first admin key when missing."
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
        description="An SDK instance counts as connected this long after its stream was last seen.",
    )
