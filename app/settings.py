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
    migrate_on_start: bool = Field(
        True,
        description="Run pending migrations at start-up; if false, refuse to start until they are run.",
    )
    bootstrap: bool = Field(
        True, description="At start-up, create the default project and the first admin key when missing."
    )
