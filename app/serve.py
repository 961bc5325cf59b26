"""Runs one server process: uvicorn serving the app, and what a stop signal means for its open streams.

On SIGTERM (or SIGINT) uvicorn stops accepting connections and waits for the open ones to end. Streams never
end by themselves, so the same signal also tells the app to drain them: each is told to reconnect after a
delay of its own (`FlagstaffApp.begin_shutdown`). Nothing runs at import time; `flagstaff serve` calls `run`.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from app.main import FlagstaffApp, create_app
from app.settings import Settings

STARTUP_FAILURE = 3
"""The exit status when the app could not start (uvicorn's own)."""


class _Server(uvicorn.Server):
    """uvicorn's server, which also passes each stop signal on to the app."""

    def __init__(self, config: uvicorn.Config, on_stop_signal: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_stop_signal = on_stop_signal

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._on_stop_signal()


def run(settings: Settings) -> int:
    """Serves until a stop signal; returns the process's exit status."""
    apps: list[FlagstaffApp] = []

    def build() -> FlagstaffApp:
        # `flagstaff serve` has migrated and bootstrapped already, so that a refusal is one line.
        apps.append(create_app(settings, database_prepared=True))
        return apps[-1]

    def begin_shutdown() -> None:
        for app in apps:
            app.begin_shutdown()

    config = uvicorn.Config(
        build,
        factory=True,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # The app writes its own access log (FLAGSTAFF_ACCESS_LOG, sampled for SDK requests); uvicorn's would
        # log every poll, and writing that line costs more than answering the poll.
        access_log=False,
        log_config=log_config(settings.log_level),
    )
    server = _Server(config, begin_shutdown)
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it stopped for, once stopped
        server.run()
    return 0 if server.started else STARTUP_FAILURE


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration, plus the app's access logger on stdout in uvicorn's format."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["handlers"]["flagstaff_access"] = {
        "formatter": "default",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"]["flagstaff.access"] = {
        "handlers": ["flagstaff_access"],
        "level": level.upper(),
        "propagate": False,
    }
    return config
