"""Plans started at once for one flag: exactly one starts, the others are refused with a conflict, and the
flag carries one plan's first step only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

from app.services.errors import Conflict
from app.services.read_models import RolloutOut
from tests.services.rollout_helpers import world

STARTERS = 6


def test_plans_started_at_once_for_one_flag_one_starts_the_others_conflict(app: FastAPI) -> None:
    w = world(app)
    barrier = threading.Barrier(STARTERS)

    def start(index: int) -> RolloutOut | Conflict:
        barrier.wait()
        try:
            return w.start([(1 + index, 60)])
        except Conflict as refused:
            return refused

    with ThreadPoolExecutor(STARTERS) as pool:
        outcomes = list(pool.map(start, range(STARTERS)))

    started = [o for o in outcomes if isinstance(o, RolloutOut)]
    assert len(started) == 1 and sum(isinstance(o, Conflict) for o in outcomes) == STARTERS - 1
    flag = w.flag()
    weight = flag["fallthrough"]["rollout"]["variations"][0]["weight"]
    assert weight == round(started[0].percent * 1000)
    assert [p.id for p in w.rollouts.list(w.where, flag="checkout", status=None, before=None, limit=10)] == [
        started[0].id
    ]
    assert len(w.audit(("rollout.start",))) == 1
