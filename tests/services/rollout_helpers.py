"""What the rollout tests share: a clock they move by hand, a rollout service on the app's database driven by
it, and a project with a flag that is on and serves its old variation to everyone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI

from app.services import lookups
from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.flag_config_service import FlagRef
from app.services.input_models import FlagDefinitionIn, RolloutIn
from app.services.read_models import RolloutOut
from app.services.rollout_service import EnvironmentRef, RolloutService
from app.settings import Settings
from app.storage import metric_repository
from app.storage.metric_repository import Cell

EDITOR = Actor("release-manager", "req-rollout")
ENV = "production"
OLD, NEW = 0, 1
CHECKOUT = FlagDefinitionIn(kind="string", variations=["old", "new"])


class Clock:
    """Starts far in the future, so that no runner on the real clock ever finds these plans due."""

    def __init__(self) -> None:
        self.now = datetime(2100, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class World:
    services: Services
    rollouts: RolloutService
    clock: Clock
    project: str

    @property
    def where(self) -> EnvironmentRef:
        return EnvironmentRef(self.project, ENV)

    def ref(self, flag: str = "checkout") -> FlagRef:
        return FlagRef(self.project, ENV, flag)

    def start(self, steps: list[tuple[float, float]], flag: str = "checkout", **fields: Any) -> RolloutOut:
        body = {
            "flag": flag,
            "variation": NEW,
            "steps": [{"percent": p, "dwell_seconds": d} for p, d in steps],
            **fields,
        }
        return self.rollouts.start(EDITOR, self.where, RolloutIn.model_validate(body))

    def plan(self, plan_id: int) -> RolloutOut:
        return self.rollouts.get(self.where, plan_id)

    def run(self, seconds: float = 0.0) -> None:
        """Moves the clock on, then runs one round of the runner."""
        self.clock.advance(seconds)
        self.rollouts.runner.run_once()

    def flag(self, flag: str = "checkout") -> dict[str, Any]:
        return self.services.flag_configs.get(self.ref(flag)).flag

    def report(self, flag: str, variation: int, event: str, count: int) -> None:
        """Counts as SDKs report them, in the bucket of the clock's minute."""
        database = self.services.database
        with database.transaction() as session:
            _, environment = lookups.environment(session, self.project, ENV)
            bucket = self.clock.now.replace(second=0, microsecond=0)
            metric_repository.add(session, environment.id, bucket, [Cell(flag, variation, event, count)])

    def audit(self, actions: tuple[str, ...] = ()) -> list[Any]:
        entries = self.services.audit.query(project=self.project, environment=ENV, limit=1000)
        return [entry for entry in reversed(entries) if not actions or entry.action in actions]


def world(app: FastAPI, flags: tuple[str, ...] = ("checkout",), **settings: Any) -> World:
    services: Services = app.state.services
    clock = Clock()
    rollouts = RolloutService(
        services.database,
        services.writer,
        services.flag_configs,
        services.propagation,
        Settings(database_url=services.settings.database_url, **settings),
        clock=clock,
    )
    project = f"p-{uuid.uuid4().hex[:12]}"
    services.projects.create_project(EDITOR, project, project, [ENV])
    for flag in flags:
        services.flag_definitions.put(EDITOR, project, flag, CHECKOUT, None)
        services.flag_configs.turn_on(EDITOR, FlagRef(project, ENV, flag))
    return World(services, rollouts, clock, project)
