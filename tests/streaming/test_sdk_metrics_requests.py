"""The SDK's metrics delivered to a real `flagstaff serve` whose bounds are below the SDK's requests: a report
too large a body (413) or with too many cells (422 naming `counts`) reaches the server in smaller ones, and
every count arrives once. The counts are read back through the flag metrics API."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from flagstaff import Client
from tests.streaming.admin import ENV, Admin
from tests.streaming.conftest import FAST_SDK
from tests.streaming.processes import ServerProcess, wait_until

FLAGS = [f"flag-{n:02d}" for n in range(20)]


def _evaluations(admin: Admin, key: str) -> dict[int | None, int]:
    response = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{key}/metrics")
    assert response.status_code == 200, response.text
    return {
        row["variation"]: row["evaluations"] for row in response.json()["variations"] if row["evaluations"]
    }


def _answered(admin: Admin, status: int) -> int:
    """How many `POST`s the server answered with `status`, by its own request counter."""
    text = admin.http.get("/metrics").text
    pattern = rf'^flagstaff_http_requests_total{{method="POST",route="[^"]*",status="{status}"}} (\S+)$'
    return sum(int(float(count)) for count in re.findall(pattern, text, re.MULTILINE))


def test_reports_too_large_for_the_server_arrive_in_smaller_ones_with_every_count_once(
    start_server: Callable[..., ServerProcess],
) -> None:
    # 40 cells (some 3 kB of JSON) in one batch: halved twice for the body bound, then once for the cells'.
    server = start_server(max_body_bytes="1500", max_metric_cells="5")
    admin = Admin(server.base_url)
    for key in FLAGS:
        admin.create_flag(key)
    sdk_key, _ = admin.sdk_key()
    client = Client(
        sdk_key=sdk_key, base_url=server.base_url, options=replace(FAST_SDK, metrics_interval=0.5)
    )
    try:
        assert client.wait_until_ready(10)
        expected: dict[str, dict[int | None, int]] = {}
        for n, key in enumerate(FLAGS):  # two cells a flag
            served = [client.is_enabled(key, {"key": "a"}) for _ in range(n + 1)]
            client.variation(key, {"key": "a"}, "a string")  # the default: another kind than the flag's
            expected[key] = {0 if served[0] else 1: n + 1, None: 1}

        wait_until(lambda: all(_evaluations(admin, key) == expected[key] for key in FLAGS), 30, "every count")
        assert _answered(admin, 413) >= 1 and _answered(admin, 422) >= 1  # both bounds were met, and passed
    finally:
        client.close()
        admin.close()
