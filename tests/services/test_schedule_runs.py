"""Runs of scheduled changes under contention, on SQLite and PostgreSQL: several runners at once settle each
change exactly once, a cancel racing a run has exactly one winner, and a run checks its change again."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.errors import Conflict
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn, ScheduleIn
from app.services.read_models import ScheduleOut

ACTOR = Actor("schedule-test")
ENV = "production"
BOOLEAN = FlagDefinitionIn(kind="boolean", variations=[True, False])


def _project(services: Services, flags: list[str]) -> str:
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(ACTOR, project, project, [ENV])
    for flag in flags:
        services.flag_definitions.put(ACTOR, project, flag, BOOLEAN, None)
    return project


def _rule(name: str) -> dict[str, Any]:
    return {
        "id": name,
        "clauses": [{"attribute": "k", "op": "in", "values": [name]}],
        "serve": {"variation": 0},
    }


def _in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Runs `work(i)` in `count` threads released together; returns each result (or exception)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_runners_at_once_settle_every_change_exactly_once(app: FastAPI) -> None:
    services: Services = app.state.services
    flags = ["a", "b", "c"]
    project = _project(services, flags)
    due = datetime.now(UTC) + timedelta(minutes=5)
    created = [
        services.schedules.create(
            ACTOR,
            project,
            ENV,
            ScheduleIn(
                flag=flags[index % len(flags)],
                at=due + timedelta(milliseconds=index),
                action="patch",
                changes={"rules": [_rule(f"r{index}")]},
                apply_if_changed=True,
            ),
        )
        for index in range(24)
    ]
    later = due + timedelta(minutes=1)

    rounds = _in_threads(4, lambda _index: services.schedules.run_due(later))

    assert not [result for result in rounds if isinstance(result, Exception)], rounds
    settled: list[ScheduleOut] = [s for result in rounds for s in result if s.project == project]
    assert sorted(s.id for s in settled) == sorted(s.id for s in created)  # each once, by one runner
    assert {s.status for s in settled} == {"applied"}
    writes = Counter(
        entry.actor
        for entry in services.audit.query(project=project, limit=1000)
        if entry.action == "flag.update"
    )
    assert writes == Counter({f"schedule:{s.id}": 1 for s in created})
    for flag in flags:
        state = services.flag_configs.get(FlagRef(project, ENV, flag)).flag
        assert state["version"] == 1 + len(created) // len(flags)
    assert sorted(s.applied_version for s in settled if s.flag == "a") == list(range(2, 10))


def test_a_cancel_racing_a_run_has_exactly_one_winner(app: FastAPI) -> None:
    services: Services = app.state.services
    project = _project(services, ["f"])
    outcomes = Counter()
    for attempt in range(12):
        due = datetime.now(UTC) + timedelta(minutes=5)
        body = ScheduleIn(flag="f", at=due, action="patch", changes={"rules": [_rule(f"r{attempt}")]})
        created = services.schedules.create(ACTOR, project, ENV, body)
        version = services.flag_configs.get(FlagRef(project, ENV, "f")).flag["version"]

        def race(
            index: int, schedule_id: int = created.id, now: datetime = due + timedelta(seconds=1)
        ) -> Any:
            if index == 0:
                return services.schedules.cancel(ACTOR, project, ENV, schedule_id, "race")
            return [s for s in services.schedules.run_due(now) if s.id == schedule_id]

        cancelled, ran = _in_threads(2, race)

        final = services.schedules.get(project, ENV, created.id)
        after = services.flag_configs.get(FlagRef(project, ENV, "f")).flag
        if final.status == "cancelled":
            assert isinstance(cancelled, ScheduleOut) and ran == [] and after["version"] == version
        else:
            assert final.status == "applied" and isinstance(cancelled, Conflict), (final, cancelled)
            assert [s.status for s in ran] == ["applied"] and after["version"] == version + 1
        outcomes[final.status] += 1
    assert sum(outcomes.values()) == 12


@pytest.mark.parametrize("action", ["on", "kill"])
def test_the_runner_writes_only_through_the_flag_service_checks(app: FastAPI, action: str) -> None:
    """A change checked at creation is checked again at its time: here the flag's stored targeting was broken
    in between (as only an edit by hand could), and turning it on is refused as the on route refuses it."""
    services: Services = app.state.services
    project = _project(services, ["f"])
    if action == "kill":
        services.flag_configs.turn_on(ACTOR, FlagRef(project, ENV, "f"))
    due = datetime.now(UTC) + timedelta(minutes=5)
    reason = "timed" if action == "kill" else None
    created = services.schedules.create(
        ACTOR, project, ENV, ScheduleIn(flag="f", at=due, action=action, reason=reason)
    )
    with services.database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE flag_configs SET off_variation = 9 WHERE flag_id = "
                "(SELECT id FROM flag_definitions WHERE key = 'f' AND project_id = "
                "(SELECT id FROM projects WHERE key = :project))"
            ),
            {"project": project},
        )

    ran = {s.id: s for s in services.schedules.run_due(due + timedelta(minutes=1))}[created.id]

    # Turning a broken flag on is refused; switching it off never is (the kill switch must always work).
    assert ran.status == ("failed" if action == "on" else "applied"), ran
    assert services.flag_configs.get(FlagRef(project, ENV, "f")).flag["enabled"] is False
