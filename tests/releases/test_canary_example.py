"""`examples/canary.py`, the service of the canary walk-through ("A canary on your machine" in
docs/releases.md), run as the docs say against a real `flagstaff serve` process while a guarded plan serves
the new variation to half the traffic: it prints what it served and failed each second, and the server
receives its metrics, attributed to the variation each request was served. Keeps the walk-through true."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.releases.conftest import STARTUP_SECONDS
from tests.releases.plans import rollouts_path
from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import REPO, ServerProcess

FLAG = "new-checkout"
LINE = re.compile(
    r"^\s*\d+ s  new variation for\s+(?P<share>[\d.]+)% of (?P<total>\d+) requests  "
    r"failures: new (?P<new>\d+), old (?P<old>\d+)$"
)


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[ServerProcess]:
    process = ServerProcess(database_url).launch()
    try:
        yield process.wait_ready(STARTUP_SECONDS)
    finally:
        process.kill()


def _half_released(admin: Admin) -> None:
    """The walk-through's flag: boolean, on, serving false (variation 1); then a guarded plan serving true
    (variation 0) to 50 %, held there (an hour's dwell) while the example runs."""
    definition = {"kind": "boolean", "variations": [True, False]}
    created = admin.http.put(f"/api/v1/projects/{admin.project}/flags/{FLAG}", json=definition)
    assert created.status_code == 201, created.text
    patched = admin.http.patch(
        f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{FLAG}",
        json={"enabled": True, "fallthrough": {"variation": 1}},
    )
    assert patched.status_code == 200, patched.text
    body = {
        "flag": FLAG,
        "variation": 0,
        "steps": [{"percent": 50, "dwell_seconds": 3600}, {"percent": 100, "dwell_seconds": 3600}],
        "guard": {"min_sample": 1_000_000},  # never judges here: the plan holds its first step
    }
    started = admin.http.post(rollouts_path(admin), json=body)
    assert started.status_code == 201, started.text


def _metrics(admin: Admin) -> list[dict[str, Any]]:
    response = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{FLAG}/metrics")
    assert response.status_code == 200, response.text
    variations: list[dict[str, Any]] = response.json()["variations"]
    return variations


def test_the_canary_example_serves_both_variations_and_reports_its_metrics(server: ServerProcess) -> None:
    admin = Admin(server.base_url)
    try:
        _half_released(admin)
        secret, _ = admin.sdk_key()
        command = [
            sys.executable, "examples/canary.py", "--base-url", server.base_url, "--sdk-key", secret,
            "--flag", FLAG, "--treatment-errors", "0.3", "--control-errors", "0.1",
            "--rate", "200", "--seconds", "4", "--metrics-interval", "0.5", "--seed", "1",
        ]  # fmt: skip
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)

        assert run.returncode == 0, run.stderr
        lines = [LINE.match(line) for line in run.stdout.splitlines()]
        assert lines and all(lines), run.stdout
        printed = sum(int(match["total"]) for match in lines if match)
        assert sum(int(match["new"]) for match in lines if match) > 0, run.stdout
        assert sum(int(match["old"]) for match in lines if match) > 0, run.stdout
        assert all(0 < float(match["share"]) < 100 for match in lines if match), run.stdout

        # close() sent the last batch before the example exited: the server has every request it printed,
        # each under the variation it was served, beside the flag checks of the same requests.
        variations = {entry["value"]: entry for entry in _metrics(admin)}
        for value in (False, True):
            events = {event["event"]: event["count"] for event in variations[value]["events"]}
            assert events["request"] == variations[value]["evaluations"] > 0, variations
            assert 0 < events["error"] < events["request"], variations
        assert sum(variations[value]["evaluations"] for value in (False, True)) >= printed
    finally:
        admin.close()
