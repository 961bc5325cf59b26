"""Rollout plans through the admin API of a real server, for the guarded-rollout tests and the benchmark: a
flag that serves its old variation to everyone, a plan started on it, its state, and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.streaming.admin import ENV, Admin

OLD, NEW = "old", "new"
PERCENTS = [1, 5, 10, 25, 50, 100]
FINISHED = ("completed", "rolled_back", "aborted", "paused")


def create_old_new_flag(admin: Admin, key: str) -> None:
    """A string flag, on, serving "old" (variation 0) to everyone; "new" is variation 1."""
    created = admin.http.put(
        f"/api/v1/projects/{admin.project}/flags/{key}", json={"kind": "string", "variations": [OLD, NEW]}
    )
    assert created.status_code == 201, created.text
    admin.switch(key, "on")


def start_plan(
    admin: Admin, flag: str, percents: Sequence[float], dwell_seconds: float, guard: dict[str, Any]
) -> dict[str, Any]:
    """Releases variation 1 ("new") of `flag` step by step; the answer is the plan, its first step written."""
    body = {
        "flag": flag,
        "variation": 1,
        "steps": [{"percent": p, "dwell_seconds": dwell_seconds} for p in percents],
        "guard": guard,
        "reason": "guarded rollout test",
    }
    response = admin.http.post(rollouts_path(admin), json=body)
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


def rollouts_path(admin: Admin, suffix: str = "") -> str:
    return f"/api/v1/projects/{admin.project}/environments/{ENV}/rollouts{suffix}"


def plan(admin: Admin, plan_id: int) -> dict[str, Any]:
    response = admin.http.get(rollouts_path(admin, f"/{plan_id}"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def finished(admin: Admin, plan_id: int) -> dict[str, Any] | None:
    """The plan once it no longer runs (`wait_until`'s predicate), else None."""
    current = plan(admin, plan_id)
    return current if current["status"] in FINISHED else None


def audit(admin: Admin, *actions: str) -> list[dict[str, Any]]:
    """The project's audit entries, oldest first, of the given actions (all when none is given)."""
    response = admin.http.get("/api/v1/audit", params={"project": admin.project, "limit": 1000})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = list(reversed(response.json()["items"]))
    return [entry for entry in entries if not actions or entry["action"] in actions]


def flag_in_env(admin: Admin, flag: str) -> dict[str, Any]:
    """The flag as the environment serves it (wire format)."""
    response = admin.http.get(f"/api/v1/projects/{admin.project}/environments/{ENV}/flags/{flag}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["flag"]
    return body


def assert_rolled_back(admin: Admin, rolled_back: dict[str, Any], guard: dict[str, Any]) -> None:
    """The plan was rolled back by its guard before its last step, on figures that justify it; the audit log
    says so and why, and shows the flag written back as it was before the plan."""
    assert rolled_back["status"] == "rolled_back", rolled_back
    trip = rolled_back["trip"]
    assert trip["treatment"]["total"] >= guard["min_sample"] <= trip["control"]["total"]
    assert trip["observed_ratio"] > guard["ratio"] and trip["z"] > trip["z_threshold"]
    assert trip["percent"] < 100
    actor = f"rollout:{rolled_back['id']}"
    [rollback] = audit(admin, "rollout.rollback")
    assert rollback["actor"] == actor, rollback
    assert rollback["reason"].startswith(f"rollout {rolled_back['id']} rolled back")
    assert "guard tripped" in rollback["reason"]
    figures = rollback["after"]["trip"]
    for name in ("treatment", "control", "observed_ratio", "z", "z_threshold"):
        assert figures[name] == trip[name], name
    assert figures["treatment"]["rate"] > figures["control"]["rate"]
    write_back = audit(admin, "flag.update")[-1]
    assert write_back["actor"] == actor and write_back["reason"] == rollback["reason"]
    assert write_back["after"]["fallthrough"] == {"variation": 0}
    flag = flag_in_env(admin, rolled_back["flag"])
    assert flag["fallthrough"] == {"variation": 0} and not flag.get("track_events", False)
