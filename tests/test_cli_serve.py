"""`flagstaff serve` prepares the database once: it migrates and bootstraps before the server starts (so a
refusal is one line, not a failed start-up), and the app it then serves does not do it again.

Run in this process, so that the work can be counted: uvicorn, which is not ours, is replaced by a stand-in
that does what it does with the app (builds it from the factory, then runs its start-up and shut-down).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from app import cli, main
from app.storage import schema_migrations


def _counted(calls: list[str], name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return function(*args, **kwargs)

    return call


def _serve_like_uvicorn(server: uvicorn.Server, sockets: Any = None) -> None:
    """`uvicorn.Server.run`'s part that concerns the app: build it from the factory, start it, stop it."""
    assert server.config.factory
    built: FastAPI = server.config.app()

    async def start_and_stop() -> None:
        async with built.router.lifespan_context(built):
            pass

    asyncio.run(start_and_stop())
    server.started = True


def test_serve_migrates_and_bootstraps_once_and_prints_the_admin_key_once_and_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable in [name for name in os.environ if name.startswith("FLAGSTAFF_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("FLAGSTAFF_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("FLAGSTAFF_LOG_LEVEL", "warning")
    calls: list[str] = []
    monkeypatch.setattr(schema_migrations, "upgrade", _counted(calls, "migrate", schema_migrations.upgrade))
    monkeypatch.setattr(main, "bootstrap", _counted(calls, "bootstrap", main.bootstrap))
    monkeypatch.setattr(uvicorn.Server, "run", _serve_like_uvicorn)

    assert cli.main(["serve", "--port", "0"]) == 0

    assert calls == ["migrate", "bootstrap"]
    out = capsys.readouterr().out
    assert len(re.findall(r"fs_admin_[0-9a-f]{12}_\S+", out)) == 1
    assert "Web console: http://127.0.0.1:0/console" in out
