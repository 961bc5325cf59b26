"""Fixtures for the browser tests: the OFREP web provider bundled once per session, and the streaming tests'
real server processes and database."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.web_provider import build_bundle
from tests.streaming.conftest import admin, database_url, server, shared_server, start_server
from tests.streaming.processes import require

__all__ = ["admin", "database_url", "server", "shared_server", "start_server"]


@pytest.fixture(scope="session")
def web_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(shutil.which("npm") is not None, "npm is not installed")
    require(
        shutil.which("chromium") is not None or shutil.which("chromium-browser") is not None,
        "chromium is not installed",
    )
    return build_bundle(tmp_path_factory.mktemp("ofrep-web"))
