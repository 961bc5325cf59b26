"""Scheduled changes run by real `flagstaff serve` processes: two replicas on one PostgreSQL database apply
each change exactly once, and changes that fell due while the only server was stopped are applied, once,
when it is back (on PostgreSQL and on a SQLite file).

How late each change ran (`ran_at - at`) is recorded as a test property, never asserted: speed is a figure
for people, not a pass condition."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.streaming.admin import ENV, Admin
from tests.streaming.processes import ServerProcess, wait_until

FLAGS = ["alpha", "beta", "gamma", "delta", "epsilon"]
# A start takes seconds on an idle machine, and 20 s or more on a loaded one: these tests wait for longer.
START_SECONDS = 90
# Each test starts servers two or three times, and waits for changes to fall due.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def servers() -> Iterator[Callable[..., ServerProcess]]:
    """`servers(database_url)` launches `flagstaff serve` (not waiting for it); all are stopped at the end."""
    started: list[ServerProcess] = []

    def launch(database_url: str) -> ServerProcess:
        server = ServerProcess(database_url)
        started.append(server)
        return server.launch()

    yield launch
    for server in started:
        server.kill()


def _ready(server: ServerProcess) -> ServerProcess:
    def answers() -> bool:
        assert server.process is not None and server.process.poll() is None, "the server exited"
        return httpx.get(f"{server.base_url}/readyz", timeout=2).status_code == 200

    wait_until(answers, START_SECONDS, f"the server on port {server.port}")
    return server


def _start(server: ServerProcess) -> ServerProcess:
    return _ready(server.launch())


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _schedules(admin: Admin) -> list[dict[str, Any]]:
    url = f"/api/v1/projects/{admin.project}/environments/{ENV}/schedules"
    response = admin.http.get(url, params={"limit": 1000})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _create(admin: Admin, flag: str, at: datetime, index: int) -> dict[str, Any]:
    rule = {"id": f"r{index}", "clauses": [{"attribute": "k", "op": "in", "values": [str(index)]}]}
    body = {
        "flag": flag,
        "at": _iso(at),
        "action": "patch",
        "changes": {"rules": [{**rule, "serve": {"variation": 0}}]},
        "reason": f"step {index}",
        "apply_if_changed": True,  # the flag's other changes come first; each must still apply
    }
    response = admin.http.post(f"/api/v1/projects/{admin.project}/environments/{ENV}/schedules", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _settled(admin: Admin, count: int) -> list[dict[str, Any]] | None:
    found = _schedules(admin)
    return found if len(found) == count and all(s["status"] != "pending" for s in found) else None


def _flag_writes(admin: Admin) -> Counter[str]:
    """Flag writes made by scheduled changes, in the audit log of the environment, by actor (every page)."""
    writes: Counter[str] = Counter()
    before = None
    while True:
        params = {"project": admin.project, "environment": ENV, "before": before, "limit": 1000}
        page = admin.http.get(
            "/api/v1/audit", params={k: v for k, v in params.items() if v is not None}
        ).json()
        writes.update(
            e["actor"]
            for e in page["items"]
            if e["action"].startswith("flag.") and e["actor"].startswith("schedule:")
        )
        before = page["next"]
        if before is None:
            return writes


def _lateness_ms(settled: list[dict[str, Any]]) -> list[float]:
    return sorted(
        (datetime.fromisoformat(s["ran_at"]) - datetime.fromisoformat(s["at"])).total_seconds() * 1000
        for s in settled
    )


def test_two_replicas_apply_each_of_thirty_changes_exactly_once(
    postgres_databases: Callable[[], str],
    servers: Callable[..., ServerProcess],
    record_property: Callable[[str, object], None],
) -> None:
    database_url = postgres_databases()
    first, second = servers(database_url), servers(database_url)  # starting (and migrating) together
    _ready(first)
    _ready(second)
    admin = Admin(first.base_url)
    try:
        for flag in FLAGS:
            admin.create_flag(flag, enabled=False)
        start = datetime.now(UTC) + timedelta(seconds=10)  # time to create all 30 on a loaded machine
        created = []
        for index in range(30):
            admin.use((first, second)[index % 2].base_url)
            at = start + timedelta(milliseconds=70 * index)  # due within ~2 s
            created.append(_create(admin, FLAGS[index % len(FLAGS)], at, index))

        settled = wait_until(lambda: _settled(admin, 30), 30, "every scheduled change to run")

        assert {s["status"] for s in settled} == {"applied"}, [s["outcome"] for s in settled]
        assert _flag_writes(admin) == Counter(  # one flag write per schedule, each by its schedule
            {f"schedule:{s['id']}": 1 for s in created}
        )
        for flag in FLAGS:
            mine = [s for s in settled if s["flag"] == flag]
            state = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{flag}").json()
            assert state["flag"]["version"] == 1 + len(mine)
            assert sorted(s["applied_version"] for s in mine) == list(range(2, 2 + len(mine)))
        lateness = _lateness_ms(settled)
        record_property("schedule_lateness_ms_median", round(lateness[len(lateness) // 2], 1))
        record_property("schedule_lateness_ms_max", round(lateness[-1], 1))
        print(
            f"two replicas, 30 changes: ran_at - at median {lateness[15]:.0f} ms, max {lateness[-1]:.0f} ms"
        )
    finally:
        admin.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_changes_due_while_the_server_was_stopped_run_once_when_it_is_back(
    backend: str,
    request: pytest.FixtureRequest,
    servers: Callable[..., ServerProcess],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'flagstaff.db'}"
    else:
        database_url = request.getfixturevalue("postgres_databases")()
    server = _ready(servers(database_url))
    admin = Admin(server.base_url)
    try:
        for flag in FLAGS[:2]:
            admin.create_flag(flag, enabled=False)
        due = datetime.now(UTC) + timedelta(seconds=6)
        created = [_create(admin, FLAGS[index % 2], due, index) for index in range(4)]
        server.terminate()
        stopped_at = datetime.now(UTC)
        assert stopped_at < due  # stopped before any was due
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 1)

        _start(server)
        settled = wait_until(lambda: _settled(admin, 4), 20, "the overdue changes to run")

        assert {s["status"] for s in settled} == {"applied"}
        assert all(datetime.fromisoformat(s["ran_at"]) > stopped_at for s in settled)
        assert _flag_writes(admin) == Counter({f"schedule:{s['id']}": 1 for s in created})
        for flag in FLAGS[:2]:
            state = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{flag}").json()
            assert state["flag"]["version"] == 3
        record_property("schedule_lateness_after_restart_ms_max", round(_lateness_ms(settled)[-1], 1))
    finally:
        admin.close()
