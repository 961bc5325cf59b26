"""A real Prometheus Alertmanager, configured with a trigger's URL as its webhook receiver, kills a flag on a
real `flagstaff serve` when an alert fires; its resolved notification is ignored, except by a trigger told to
act on resolution too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.alertmanager_server import AlertmanagerServer
from tests.streaming.processes import ADMIN_TOKEN, ServerProcess, wait_until

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ALERT = {"alertname": "CheckoutErrors", "severity": "page"}
SUMMARY = {"summary": "checkout 5xx above 5%"}
FIRED_LINE = '"POST /api/v1/triggers/{secret} HTTP/1.1" 200'


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of its own, so that the server's first start makes its admin key from ADMIN_TOKEN."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'flagstaff.db'}"
    create: Callable[[], str] = request.getfixturevalue("postgres_databases")
    return create()


@pytest.fixture
def server(fresh_database: str, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(fresh_database, output=tmp_path / "server.log", log_level="info").start()
    yield process
    process.kill()


def _call(server: ServerProcess, method: str, path: str, body: Any = None) -> dict[str, Any]:
    response = httpx.request(method, server.base_url + path, json=body, headers=HEADERS, timeout=10)
    assert response.status_code < 300, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _enabled(server: ServerProcess, flag: str) -> bool:
    state = _call(server, "GET", f"/api/v1/projects/default/environments/production/flags/{flag}")
    enabled: bool = state["flag"]["enabled"]
    return enabled


def _audit(server: ServerProcess, actor: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = _call(server, "GET", f"/api/v1/audit?project=default&actor={actor}")[
        "items"
    ]
    return items


def test_an_alert_fired_through_alertmanager_kills_the_flag_and_resolving_it_does_not_undo_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    triggers = "/api/v1/projects/default/environments/production/triggers"
    for flag in ("checkout", "fallback"):
        _call(
            server,
            "PUT",
            f"/api/v1/projects/default/flags/{flag}",
            {"kind": "boolean", "variations": [True, False]},
        )
    _call(server, "POST", "/api/v1/projects/default/environments/production/flags/checkout/on")
    kill = _call(server, "POST", triggers, {"name": "checkout-errors", "flag": "checkout", "action": "kill"})
    fallback = _call(
        server,
        "POST",
        triggers,
        {"name": "fallback-page", "flag": "fallback", "action": "on", "fire_on_resolved": True},
    )
    assert kill["url"].startswith(server.base_url + "/api/v1/triggers/fs_trigger_")
    alertmanager = AlertmanagerServer([kill["url"], fallback["url"]], tmp_path).start()
    try:
        alertmanager.fire(ALERT, SUMMARY)
        wait_until(
            lambda: not _enabled(server, "checkout"), 30, "Alertmanager's notification to kill the flag"
        )
        [killed] = _audit(server, "trigger:checkout-errors")
        assert (killed["action"], killed["target_key"], killed["environment"]) == (
            "flag.kill",
            "checkout",
            "production",
        )
        assert killed["reason"] == "Alertmanager firing: CheckoutErrors (checkout 5xx above 5%)"
        wait_until(lambda: _enabled(server, "fallback"), 30, "the fallback trigger's fire")

        # An operator switches the fallback off again; then the alert resolves.
        _call(server, "POST", "/api/v1/projects/default/environments/production/flags/fallback/off")
        alertmanager.resolve(ALERT, SUMMARY)
        wait_until(
            lambda: _enabled(server, "fallback"), 30, "the resolved notification to the fallback trigger"
        )
        reasons = [entry["reason"] for entry in _audit(server, "trigger:fallback-page")]
        assert reasons == [
            "Alertmanager resolved: CheckoutErrors (checkout 5xx above 5%)",
            "Alertmanager firing: CheckoutErrors (checkout 5xx above 5%)",
        ]
        # The kill trigger got the resolved notification too, answered it, and left the flag killed.
        server_log = tmp_path / "server.log"
        wait_until(
            lambda: server_log.read_text(encoding="utf-8", errors="replace").count(FIRED_LINE) >= 4,
            30,
            "both triggers to answer both notifications",
        )
        assert _enabled(server, "checkout") is False
        assert len(_audit(server, "trigger:checkout-errors")) == 1
        listed = {item["name"]: item for item in _call(server, "GET", triggers)["items"]}
        assert (listed["checkout-errors"]["fire_count"], listed["fallback-page"]["fire_count"]) == (1, 2)
        assert kill["secret"] not in server_log.read_text(encoding="utf-8", errors="replace")
    finally:
        alertmanager.stop()
