"""Each commit is noticed once per process: the process that commits a change reads the change log once for
it, whether its notice comes back from Redis or not (`/metrics` counts the reads)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import httpx_sse
import pytest

from tests.streaming.admin import Admin
from tests.streaming.processes import ServerProcess

READS = "flagstaff_stream_change_log_reads_total"


def _log_reads(server: ServerProcess) -> float:
    for line in httpx.get(f"{server.base_url}/metrics", timeout=5).text.splitlines():
        if line.startswith(f"{READS} "):
            return float(line.split()[1])
    raise AssertionError(f"/metrics has no {READS}")


@pytest.mark.parametrize("with_redis", [False, True], ids=["in_process", "redis"])
def test_each_commit_is_read_from_the_change_log_once_by_the_process_that_made_it(
    with_redis: bool, request: pytest.FixtureRequest, start_server: Callable[..., ServerProcess]
) -> None:
    redis_url = request.getfixturevalue("redis_server").url if with_redis else None
    server = start_server(redis_url, stream_poll_seconds="600")  # no safety-net catch-up during the test
    admin = Admin(server.base_url)
    try:
        admin.create_flag("checkout")
        key, _ = admin.sdk_key()
        headers = {"Authorization": f"Bearer {key}"}
        with (
            httpx.Client(timeout=5) as http,
            httpx_sse.connect_sse(http, "GET", f"{server.base_url}/sdk/v1/stream", headers=headers) as source,
        ):
            events = source.iter_sse()
            assert next(events).event == "snapshot"
            before = _log_reads(server)
            for action in ("kill", "on", "kill"):
                admin.switch("checkout", action)
                assert next(events).event == "change"
            # A second wake-up for the same commit would have read the log again right after the first read,
            # before the change reached this stream.
            assert _log_reads(server) - before == 3
    finally:
        admin.close()
