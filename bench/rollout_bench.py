"""Rollout runner benchmark: what one round of the runner costs per plan, when every plan's step is due (each
visit writes a step: a flag revision, its history, change log and two audit entries) and when only their
guards are (each visit reads the plan's SDK metrics and judges them), on SQLite and PostgreSQL.

Run: `python bench/rollout_bench.py [--plans N]` (PostgreSQL at FLAGSTAFF_TEST_POSTGRES, skipped when it is
unreachable). A reading to record, not a test: nothing fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_env import ScratchDatabase, commit, load_average, machine

from app.main import open_database, prepare_database
from app.services import lookups
from app.services.change_transaction import Actor
from app.services.commit_listener import ignore_commit
from app.services.container import build_services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn, RolloutIn
from app.services.rollout_service import EnvironmentRef, RolloutService
from app.settings import Settings
from app.storage import metric_repository
from app.storage.metric_repository import Cell

POSTGRES = os.environ.get("FLAGSTAFF_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
ACTOR = Actor("bench")
ENV = "production"
STRING_FLAG = FlagDefinitionIn(kind="string", variations=["a", "b"])


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2100, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def measure(database_url: str, plans: int) -> tuple[float, float]:
    """(ms per step written, ms per guard check) over one round each."""
    settings = Settings(database_url=database_url, bootstrap=False)
    database = open_database(settings)
    services = build_services(database, ignore_commit, settings)
    prepare_database(settings, services)
    clock = Clock()
    rollouts = RolloutService(
        database, services.writer, services.flag_configs, services.propagation, settings, clock=clock
    )
    project = f"b{uuid.uuid4().hex[:8]}"
    services.projects.create_project(ACTOR, project, project, [ENV])
    where = EnvironmentRef(project, ENV)
    guard = {"min_sample": 100}
    for index in range(plans):
        key = f"flag-{index}"
        services.flag_definitions.put(ACTOR, project, key, STRING_FLAG, None)
        services.flag_configs.turn_on(ACTOR, FlagRef(project, ENV, key))
        steps = [{"percent": 1, "dwell_seconds": 60}, {"percent": 50, "dwell_seconds": 3600}]
        body = {"flag": key, "variation": 1, "steps": steps, "guard": guard}
        rollouts.start(ACTOR, where, RolloutIn.model_validate(body))
    # Equal failure rates on both sides of every flag: each guard judges its plan healthy.
    cells = [Cell(f"flag-{i}", v, e, 500) for i in range(plans) for v in (0, 1) for e in ("request", "error")]
    with database.transaction() as session:
        _, environment = lookups.environment(session, project, ENV)
        metric_repository.add(session, environment.id, clock.now, cells)

    clock.now += timedelta(seconds=60)
    started = time.perf_counter()
    rollouts.runner.run_once()  # every plan's next step is due
    steps_ms = (time.perf_counter() - started) * 1000 / plans
    clock.now += timedelta(seconds=settings.rollout_guard_interval_seconds)
    started = time.perf_counter()
    rollouts.runner.run_once()  # only the guards are due
    checks_ms = (time.perf_counter() - started) * 1000 / plans
    database.dispose()
    return steps_ms, checks_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--plans", type=int, default=200, help="running plans (default: 200)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        rows.append(("SQLite", *measure(f"sqlite:///{directory}/bench.db", args.plans)))
    try:
        scratch = ScratchDatabase(POSTGRES).create()
    except psycopg.OperationalError as error:
        print(f"PostgreSQL unreachable ({error}); SQLite only", file=sys.stderr)
    else:
        try:
            rows.append(("PostgreSQL", *measure(scratch.url, args.plans)))
        finally:
            scratch.drop()
    print(
        f"Rollout runner, {args.plans} running plans; {machine()}; load {load_average()}; commit {commit()}\n"
    )
    print(
        "| database | one round, every step due: ms per step written | one round, guards due: ms per check |"
    )
    print("| --- | --- | --- |")
    for name, steps_ms, checks_ms in rows:
        print(f"| {name} | {steps_ms:.2f} | {checks_ms:.2f} |")


if __name__ == "__main__":
    main()
