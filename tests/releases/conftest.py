"""Fixtures for the guarded-rollout tests on real processes: the streaming tests' PostgreSQL database (one per
module) and quiet SDK logs, real SDK clients that send their metrics every 0.2 s, and `flagstaff serve`
replicas whose rollout runner looks at plans often."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from flagstaff import Client
from tests.streaming.conftest import FAST_SDK, _quiet_sdk_logs, database_url  # noqa: F401 (fixtures)

QUICK_RUNNER = {"rollout_check_seconds": "0.2", "rollout_guard_interval_seconds": "0.5"}
"""A due step is found within 0.2 s, and a running plan's guard is judged at least every 0.5 s."""
STARTUP_SECONDS = 90.0
"""How long a server process may take to answer `/readyz`: two starting at once on a loaded 2-core machine
have taken over 30 s."""
METRICS_SDK = replace(FAST_SDK, metrics_interval=0.2)


@pytest.fixture
def sdk_client() -> Iterator[Callable[[str, str], Client]]:
    """Makes clients as applications do (`Client(sdk_key, base_url, options=...)`, which sends metrics);
    each is closed at the end of the test."""
    clients: list[Client] = []

    def make(sdk_key: str, base_url: str) -> Client:
        client = Client(sdk_key, base_url, options=METRICS_SDK)
        clients.append(client)
        assert client.wait_until_ready(10), client.status()
        return client

    yield make
    for client in clients:
        client.close()
