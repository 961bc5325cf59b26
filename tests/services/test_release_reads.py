"""The reads the console's release pages make for many plans at once: flag definitions by key in one query,
and each active plan's SDK confirmations in one transaction, the same as reading each plan alone."""

from __future__ import annotations

from fastapi import FastAPI

from app.services.change_transaction import Actor
from tests.services.rollout_helpers import CHECKOUT, world


def test_definitions_by_key_leave_out_unknown_and_deleted_flags(app: FastAPI) -> None:
    w = world(app, flags=("checkout", "search", "gone"))
    w.services.flag_definitions.delete(Actor("cleaner"), w.project, "gone", None)
    found = w.services.flag_definitions.get_many(w.project, {"checkout", "search", "gone", "never"})
    assert sorted(found) == ["checkout", "search"]
    assert found["checkout"].variations == CHECKOUT.variations
    assert w.services.flag_definitions.get_many(w.project, set()) == {}


def test_confirmations_of_many_plans_are_those_each_plan_reports_alone(app: FastAPI) -> None:
    w = world(app, flags=("checkout", "search"))
    first = w.start([(10, 60), (100, 60)])
    w.run(60)  # the first plan's second step
    second = w.start([(50, 60), (100, 60)], flag="search")
    plans = [w.plan(first.id), w.plan(second.id)]
    together = w.services.rollouts.confirmations(w.where, plans)
    assert together == {plan.id: plan.propagation for plan in plans}
    assert together[first.id].revision < together[second.id].revision  # each of its own last write
