"""Fixtures for the browser tests: the OFREP web provider bundled once per session, Debian's Chromium for the
console's tests, and the streaming tests' real server processes, database and SDK clients."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.console_browser import chromium
from tests.browser.web_provider import build_bundle
from tests.streaming.conftest import admin, database_url, make_client, server, shared_server, start_server
from tests.streaming.processes import require

__all__ = ["admin", "database_url", "make_client", "server", "shared_server", "start_server"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (`/usr/bin/chromium`), driven by Playwright; no browser is downloaded."""
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def web_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(shutil.which("npm") is not None, "npm is not installed")
    require(
        shutil.which("chromium") is not None or shutil.which("chromium-browser") is not None,
        "chromium is not installed",
    )
    return build_bundle(tmp_path_factory.mktemp("ofrep-web"))
