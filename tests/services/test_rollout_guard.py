"""A rollout guard compares the failure rate of the released variation with everyone else's on the flag, from
the counts SDKs reported: it holds the plan until both sides have enough observations, lets it go on while the
treatment is no worse, and rolls the flag back in one revision when it is, keeping the figures."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from app.storage.metric_repository import NO_VARIATION
from tests.services.rollout_helpers import EDITOR, NEW, OLD, World, world

STEPS = [(10, 60), (50, 60), (100, 60)]
GUARD = {"source": "sdk", "ratio": 1.5, "min_sample": 200, "failure_event": "error", "total_event": "request"}


@pytest.fixture
def w(app: FastAPI) -> World:
    return world(app)


def _traffic(w: World, *, new: tuple[int, int], old: tuple[int, int]) -> None:
    """(requests, errors) of contexts served each variation."""
    for variation, (requests, errors) in ((NEW, new), (OLD, old)):
        w.report("checkout", variation, "request", requests)
        w.report("checkout", variation, "error", errors)


def test_a_treatment_failing_three_times_as_often_is_rolled_back_with_its_figures(w: World) -> None:
    before = w.flag()
    plan = w.start(STEPS, guard=GUARD)
    assert w.flag()["track_events"] is True  # so that SDKs attribute outcomes to variations
    _traffic(w, new=(1000, 90), old=(9000, 270))

    w.run(10)

    tripped = w.plan(plan.id)
    assert tripped.status == "rolled_back" and tripped.finished_at == w.clock.now
    assert tripped.trip is not None
    assert tripped.trip["treatment"] == {"failures": 90, "total": 1000, "rate": 0.09}
    assert tripped.trip["control"] == {"failures": 270, "total": 9000, "rate": 0.03}
    assert tripped.trip["observed_ratio"] == pytest.approx(3.0)
    assert tripped.trip["z"] > tripped.trip["z_threshold"]
    assert (tripped.trip["percent"], tripped.trip["on_trip"]) == (10.0, "restore")
    assert tripped.status_reason is not None and "guard tripped" in tripped.status_reason
    after = w.flag()
    assert {k: after.get(k, False) for k in ("enabled", "fallthrough", "track_events")} == {
        "enabled": before["enabled"],
        "fallthrough": before["fallthrough"],
        "track_events": False,
    }
    assert after["version"] == before["version"] + 2  # the step, then one revision back
    entry = w.audit(("rollout.rollback",))[-1]
    assert entry.actor == f"rollout:{plan.id}" and entry.after is not None
    assert entry.after["trip"]["treatment"]["failures"] == 90 and entry.reason == tripped.status_reason
    restore = w.audit(("flag.update",))[-1]
    assert restore.actor == f"rollout:{plan.id}" and restore.after == after
    w.run(600)
    assert w.flag()["version"] == after["version"]  # a finished plan writes nothing more


def test_equal_failure_rates_let_the_plan_complete_and_restore_track_events(w: World) -> None:
    plan = w.start(STEPS, guard=GUARD)
    for _ in STEPS:
        _traffic(w, new=(1000, 30), old=(9000, 270))
        w.run(60)

    done = w.plan(plan.id)
    assert done.status == "completed" and done.trip is None
    assert done.last_check is not None and done.last_check["outcome"] == "healthy"
    flag = w.flag()
    assert "track_events" not in flag  # back to false, as before the plan
    assert flag["fallthrough"]["rollout"]["variations"][0] == {"variation": NEW, "weight": 100_000}
    assert [e.action for e in w.audit() if e.action.startswith("rollout.")][-1] == "rollout.complete"


def test_below_the_minimum_sample_the_plan_waits_and_says_so(w: World) -> None:
    plan = w.start(STEPS, guard=GUARD)
    _traffic(w, new=(150, 5), old=(9000, 270))
    w.report("checkout", NO_VARIATION, "request", 10_000)  # served the caller's default: neither side

    w.run(600)

    waiting = w.plan(plan.id)
    assert (waiting.status, waiting.current_step) == ("running", 0)
    assert waiting.last_check is not None and waiting.last_check["outcome"] == "waiting"
    assert waiting.last_check["figures"]["treatment"]["total"] == 150
    assert waiting.status_reason == waiting.last_check["message"]
    assert "150" in waiting.status_reason and "200" in waiting.status_reason

    _traffic(w, new=(850, 25), old=(0, 0))
    w.run(1)
    moved = w.plan(plan.id)
    assert (moved.current_step, moved.status_reason) == (1, None)


def test_too_few_observations_never_trip_however_bad_the_rate(w: World) -> None:
    plan = w.start(STEPS, guard=GUARD)
    _traffic(w, new=(199, 199), old=(9000, 270))

    w.run(600)

    assert (w.plan(plan.id).status, w.plan(plan.id).current_step) == ("running", 0)


def test_on_trip_kill_turns_the_flag_off_and_undoes_the_rollout(w: World) -> None:
    plan = w.start(STEPS, guard={**GUARD, "on_trip": "kill"})
    _traffic(w, new=(1000, 90), old=(9000, 270))

    w.run(10)

    flag = w.flag()
    assert w.plan(plan.id).status == "rolled_back"
    assert flag["enabled"] is False and flag["fallthrough"] == {"variation": OLD}
    kill = w.audit(("flag.kill",))[-1]
    assert kill.actor == f"rollout:{plan.id}" and kill.reason is not None and "guard tripped" in kill.reason


def test_a_guard_whose_source_cannot_answer_holds_the_plan_and_reports_the_error(w: World) -> None:
    prometheus = {"url": "http://127.0.0.1:9", "failures": "sum(errors)", "total": "sum(requests)"}
    plan = w.start(STEPS, guard={"source": "prometheus", "prometheus": prometheus})
    assert "track_events" not in w.flag()  # only the sdk source needs SDKs to attribute outcomes

    w.run(600)

    held = w.plan(plan.id)
    assert (held.status, held.current_step) == ("running", 0)
    assert held.last_check is not None and held.last_check["outcome"] == "error"
    assert held.status_reason is not None and held.status_reason.startswith("guard source error")


def test_counts_in_the_bucket_the_plan_started_in_are_judged(w: World) -> None:
    """Regression: the guard read only buckets starting after the plan's start, so a plan started in the
    middle of a minute saw none of that minute's counts and waited for up to a minute with a bad treatment
    out."""
    w.clock.advance(30)  # the plan starts half-way through a bucket
    plan = w.start(STEPS, guard=GUARD)
    _traffic(w, new=(1000, 90), old=(9000, 270))  # reported within that same bucket

    w.run(10)

    tripped = w.plan(plan.id)
    assert tripped.status == "rolled_back", tripped.last_check
    assert tripped.trip is not None and tripped.trip["treatment"]["total"] == 1000


def test_a_plan_started_in_the_minute_another_plan_of_the_flag_ended_does_not_judge_its_reports(
    w: World,
) -> None:
    w.clock.advance(10)
    first = w.start(STEPS, guard=GUARD)
    _traffic(w, new=(1000, 90), old=(9000, 270))
    w.run(10)
    assert w.plan(first.id).status == "rolled_back"

    w.clock.advance(5)  # the same minute, so the same bucket as the first plan's reports
    second = w.start(STEPS, guard=GUARD)
    w.run(10)

    held = w.plan(second.id)
    assert (held.status, held.current_step) == ("running", 0), held.last_check
    assert held.last_check is not None and held.last_check["figures"]["treatment"]["total"] == 0
    w.clock.advance(60)  # the next minute: what SDKs report now is the second plan's alone
    _traffic(w, new=(1000, 30), old=(9000, 270))
    w.run(10)
    judged = w.plan(second.id).last_check
    assert judged is not None
    assert judged["figures"]["treatment"] == {"failures": 30, "total": 1000, "rate": 0.03}


def test_a_flag_that_attributed_outcomes_before_its_plan_is_judged_from_the_next_minute(w: World) -> None:
    with w.services.writer.begin(EDITOR) as change:
        w.services.flag_configs.write_in(
            change, w.ref(), "flag.update", None, "tracked already", lambda _s, _c: {"track_events": True}
        )
    w.clock.advance(10)
    _traffic(w, new=(1000, 90), old=(9000, 270))  # before the plan: "new" served by a rule, say

    plan = w.start(STEPS, guard=GUARD)
    w.run(10)

    held = w.plan(plan.id)
    assert (held.status, held.current_step) == ("running", 0), held.last_check
    assert held.last_check is not None and held.last_check["figures"]["treatment"]["total"] == 0
