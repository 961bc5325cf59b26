"""The application factory: `create_app(settings)` builds one app with its own database, services and metrics.

Nothing is created at import time; `flagstaff serve` (`app.serve`) calls it. A bare
`uvicorn app.main:create_app --factory` serves the same app, but does not drain its streams on a stop signal.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import Receive, Scope, Send

from app import server_logging
from app.api import (
    audit_routes,
    evaluation_routes,
    flag_config_routes,
    flag_definition_routes,
    health_routes,
    import_routes,
    key_routes,
    metrics_routes,
    ofrep_routes,
    projects_routes,
    propagation_routes,
    rollout_routes,
    schedule_routes,
    sdk_metrics_routes,
    sdk_routes,
    sdk_stream_routes,
    segment_routes,
    trigger_routes,
    webhook_routes,
    wire_schemas,
)
from app.api.body_guard import check_json_body
from app.api.docs_pages import install_docs_pages
from app.api.errors import install_error_handlers
from app.api.ofrep_cors import OfrepCors
from app.api.request_middleware import RequestMiddleware
from app.api.request_records import AccessLog, RequestRecorder
from app.api.sdk_poll import SdkPollFront
from app.console.install import install_console
from app.services import periodic
from app.services.bootstrap import bootstrap
from app.services.commit_listener import CommitListener
from app.services.container import Services, build_services
from app.settings import Settings, SettingsError, load_settings
from app.storage import schema_migrations
from app.storage.database import Database, DatabaseLimits
from app.streaming.runtime import Streaming


class FlagstaffApp(FastAPI):
    """FastAPI with the SDK poll front ahead of all it does per request (its telemetry check, middleware
    stack, routing and dependency injection): most polls are answered from memory in a few microseconds."""

    poll_front: SdkPollFront | None = None
    streaming: Streaming | None = None

    def begin_shutdown(self) -> None:
        """The process got a stop signal (callable from a signal handler, or any thread): every stream is told
        to reconnect, each after its own delay, while the server finishes what it is serving."""
        if self.streaming is not None:
            self.streaming.begin_shutdown()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.poll_front
        if front is not None and await front.answer(scope, send):
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    listener: CommitListener | None = None,
    database_prepared: bool = False,
) -> FlagstaffApp:
    """The app. Its start-up runs `prepare_database` unless `database_prepared` says the caller already did:
    `flagstaff serve` does, before uvicorn starts, so that a refusal is one line, not a failed start."""
    if settings is None:
        try:
            settings = load_settings()
        except SettingsError as error:
            # Called by the server runner: refuse to start in one line, not a traceback.
            raise SystemExit(f"flagstaff: {error}") from None
    server_logging.configure(settings.log_level)
    database = open_database(settings)
    services = build_services(database, listener, settings)
    streaming = services.streaming

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not database_prepared:
            prepare_database(settings, services)
        await streaming.start()
        pruning = asyncio.create_task(services.retention.run(settings.change_log_prune_interval_seconds))
        jobs = periodic.start_jobs(services.jobs)
        try:
            yield
        finally:
            pruning.cancel()
            await periodic.stop_jobs(jobs)
            await streaming.stop()
            services.evaluations.close()
            database.dispose()

    # /docs and /redoc load their scripts and styles from /docs-assets, never a CDN: they work offline.
    app = FlagstaffApp(
        title="Flagstaff",
        version="0.1.0",
        lifespan=lifespan,
        description="Feature flags: admin API, audit log, kill switch and the SDK snapshot endpoint.",
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_json_body)],
    )
    # The one container; routes reach it through `app.api.dependencies`, never through app.state directly.
    app.state.services = services
    app.state.streaming = streaming  # the SSE routes' handle on services.streaming (the same object)
    app.state.sdk_streams = services.sdk_streams
    app.streaming = streaming
    install_error_handlers(app)
    install_docs_pages(app)
    # The SDK routes come first: they take nearly all the traffic, and the router tries routes in order.
    for module in (
        sdk_routes,
        sdk_stream_routes,
        sdk_metrics_routes,
        ofrep_routes,
        projects_routes,
        flag_definition_routes,
        flag_config_routes,
        segment_routes,
        schedule_routes,
        evaluation_routes,
        audit_routes,
        key_routes,
        propagation_routes,
        metrics_routes,
        rollout_routes,
        import_routes,
        trigger_routes,
        webhook_routes,
        health_routes,
    ):
        app.include_router(module.router)
    install_console(app)
    recorder = RequestRecorder(
        services.metrics, AccessLog(settings.access_log, settings.access_log_sdk_sample_rate)
    )
    app.add_middleware(OfrepCors, allowed_origins=settings.cors_allowed_origins)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes, recorder=recorder)
    app.poll_front = SdkPollFront(services.snapshots, recorder, services.streaming)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def open_database(settings: Settings) -> Database:
    """The database with the settings' bounds on every wait: past one, a request answers 503."""
    limits = DatabaseLimits(
        connect_timeout_seconds=settings.database_connect_timeout_seconds,
        statement_timeout_seconds=settings.database_statement_timeout_seconds,
        pool_timeout_seconds=settings.database_pool_timeout_seconds,
    )
    return Database(settings.database_url, limits)


def prepare_database(settings: Settings, services: Services) -> None:
    """Migrate (or refuse to start when told not to and migrations are pending), then bootstrap."""
    if settings.migrate_on_start:
        schema_migrations.upgrade(settings.database_url)
    elif not schema_migrations.is_at_head(services.database.engine):
        raise RuntimeError(
            "the database is not at the current schema version: run `flagstaff migrate` first "
            "(or set FLAGSTAFF_MIGRATE_ON_START=true)"
        )
    if settings.bootstrap:
        token = settings.admin_token.get_secret_value() if settings.admin_token else None
        bootstrap(services.database, services.writer, token, sys.stdout)


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(
            wire_schemas.snapshot_components()
        )
        app.openapi_schema = schema
    return app.openapi_schema
