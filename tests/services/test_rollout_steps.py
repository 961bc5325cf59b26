"""A rollout plan moves a flag's fallthrough step by step, each step after its dwell, each one revision
written by the plan itself; pause, resume and abort; a flag changed by someone else pauses the plan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI

from app.services.errors import Conflict, VersionMismatch
from tests.services.rollout_helpers import EDITOR, NEW, OLD, World, world

STEPS = [(1, 60), (5, 60), (25, 60), (100, 60)]


@pytest.fixture
def w(app: FastAPI) -> World:
    return world(app)


def _weights(flag: dict) -> list[tuple[int, int]]:
    return [(v["variation"], v["weight"]) for v in flag["fallthrough"]["rollout"]["variations"]]


def test_start_writes_the_first_step_at_once_treatment_first(w: World) -> None:
    plan = w.start(STEPS, reason="release the new checkout")

    assert (plan.status, plan.current_step, plan.percent, plan.next_percent) == ("running", 0, 1.0, 5.0)
    assert (plan.variation, plan.control) == (NEW, OLD)  # control: what the fallthrough served
    assert plan.step_started_at == w.clock.now and plan.next_step_at == w.clock.now + timedelta(seconds=60)
    flag = w.flag()
    assert flag["enabled"] is True and _weights(flag) == [(NEW, 1000), (OLD, 99_000)]
    assert plan.before == {"enabled": True, "fallthrough": {"variation": OLD}, "track_events": False}
    assert plan.flag_version == flag["version"]


def test_steps_advance_only_after_their_dwell(w: World) -> None:
    plan = w.start(STEPS)

    w.run(59)
    assert w.plan(plan.id).current_step == 0 and _weights(w.flag())[0] == (NEW, 1000)
    w.run(1)
    assert w.plan(plan.id).current_step == 1 and _weights(w.flag())[0] == (NEW, 5000)
    w.run(30)
    assert w.plan(plan.id).current_step == 1
    for _ in range(2):
        w.run(60)
    assert w.plan(plan.id).current_step == 3 and _weights(w.flag()) == [(NEW, 100_000), (OLD, 0)]
    assert w.plan(plan.id).status == "running"  # the last step has its dwell too
    w.run(60)
    done = w.plan(plan.id)
    assert (done.status, done.current_step, done.finished_at) == ("completed", 3, w.clock.now)


def test_each_step_is_one_revision_by_the_plan_in_the_audit_and_the_history(w: World) -> None:
    plan = w.start(STEPS)
    for _ in STEPS:
        w.run(60)
    actor = f"rollout:{plan.id}"

    history = w.services.flag_configs.history(w.ref(), before=None, limit=50)
    by_plan = [entry for entry in reversed(history) if entry.actor == actor]
    weights = [
        _weights(entry.flag)[0][1]
        for entry in by_plan
        if entry.flag and "rollout" in entry.flag["fallthrough"]
    ]
    assert weights == [1000, 5000, 25_000, 100_000]
    assert len({entry.revision for entry in by_plan}) == len(by_plan)
    updates = [e for e in w.audit(("flag.update",)) if e.actor == actor]
    assert len(updates) == len(by_plan) == 4  # completion restores nothing here: track_events was unchanged
    assert [e.reason for e in updates][:2] == [
        f"rollout {plan.id}: step 1 of 4, 1%",
        f"rollout {plan.id}: step 2 of 4, 5%",
    ]
    rollout_actions = [(e.action, e.actor) for e in w.audit() if e.action.startswith("rollout.")]
    assert rollout_actions == [
        ("rollout.start", EDITOR.name),
        *[("rollout.step", actor)] * 4,
        ("rollout.complete", actor),
    ]


def test_pause_stops_advancing_and_resume_starts_the_dwell_again(w: World) -> None:
    plan = w.start(STEPS)
    w.rollouts.pause(EDITOR, w.where, plan.id, None, "holiday freeze")
    w.run(600)
    paused = w.plan(plan.id)
    assert (paused.status, paused.current_step) == ("paused", 0)
    assert paused.status_reason == f"paused by {EDITOR.name}: holiday freeze"

    resumed = w.rollouts.resume(EDITOR, w.where, plan.id, None, None)
    assert (resumed.status, resumed.current_step, resumed.status_reason) == ("running", 0, None)
    w.run(59)
    assert w.plan(plan.id).current_step == 0
    w.run(1)
    assert w.plan(plan.id).current_step == 1
    assert [e.action for e in w.audit() if e.action in ("rollout.pause", "rollout.resume")] == [
        "rollout.pause",
        "rollout.resume",
    ]


def test_abort_writes_the_flag_back_as_it_was_in_one_revision(w: World) -> None:
    before = w.flag()
    plan = w.start(STEPS)
    w.run(60)
    w.run(60)

    aborted = w.rollouts.abort(EDITOR, w.where, plan.id, None, "wrong build")

    after = w.flag()
    assert aborted.status == "aborted" and aborted.status_reason == f"aborted by {EDITOR.name}: wrong build"
    assert {k: after[k] for k in ("enabled", "fallthrough")} == {
        k: before[k] for k in ("enabled", "fallthrough")
    }
    assert after["version"] == before["version"] + 4  # three steps, then the one revision back
    last = w.services.flag_configs.history(w.ref(), before=None, limit=1)[0]
    assert last.actor == EDITOR.name
    w.run(600)
    assert w.plan(plan.id).status == "aborted" and w.flag()["version"] == after["version"]


def test_a_flag_changed_outside_the_plan_pauses_it_naming_the_version_and_who(w: World) -> None:
    plan = w.start(STEPS)
    killed = w.services.flag_configs.kill(EDITOR, w.ref(), "incident")

    w.run(60)

    paused = w.plan(plan.id)
    assert (paused.status, paused.current_step) == ("paused", 0)
    assert paused.status_reason is not None
    assert f"version {killed.flag['version']}" in paused.status_reason and EDITOR.name in paused.status_reason
    assert w.flag()["enabled"] is False  # the kill stands
    entry = w.audit(("rollout.pause",))[-1]
    assert entry.actor == f"rollout:{plan.id}" and entry.reason == paused.status_reason


def test_resume_after_an_outside_change_writes_the_current_step_again(w: World) -> None:
    plan = w.start(STEPS)
    w.services.flag_configs.kill(EDITOR, w.ref(), "incident")
    w.run(60)

    w.rollouts.resume(EDITOR, w.where, plan.id, None, "fixed")

    flag = w.flag()
    assert flag["enabled"] is True and _weights(flag)[0] == (NEW, 1000)
    assert w.plan(plan.id).flag_version == flag["version"]
    w.run(60)
    assert w.plan(plan.id).current_step == 1


def test_changes_in_the_wrong_status_are_refused(w: World) -> None:
    plan = w.start(STEPS)
    with pytest.raises(Conflict):
        w.rollouts.resume(EDITOR, w.where, plan.id, None, None)
    with pytest.raises(VersionMismatch):
        w.rollouts.pause(EDITOR, w.where, plan.id, plan.version + 5, None)
    w.rollouts.abort(EDITOR, w.where, plan.id, plan.version, None)
    for change in (w.rollouts.pause, w.rollouts.resume, w.rollouts.abort):
        with pytest.raises(Conflict):
            change(EDITOR, w.where, plan.id, None, None)


def test_a_second_active_plan_on_the_same_flag_is_refused(w: World) -> None:
    first = w.start(STEPS)
    with pytest.raises(Conflict) as refused:
        w.start(STEPS)
    assert refused.value.field == "flag"
    w.rollouts.abort(EDITOR, w.where, first.id, None, None)
    assert w.start(STEPS).status == "running"


def test_a_plan_whose_flag_was_deleted_ends_aborted_saying_so(w: World) -> None:
    plan = w.start(STEPS)
    w.services.flag_definitions.delete(EDITOR, w.project, "checkout", None)

    w.run(60)

    ended = w.plan(plan.id)
    assert (ended.status, ended.status_reason) == ("aborted", "the flag was deleted")
    assert w.audit(("rollout.abort",))[-1].actor == f"rollout:{plan.id}"
