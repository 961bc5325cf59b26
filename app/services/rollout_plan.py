"""A rollout plan's rules and shapes: which steps are valid, what each step writes into the flag, what the end
writes back, and the plan as its read model and audit entries show it.

Pure functions over values and rows: no queries, no clock, no transaction.

A step writes the fallthrough as a two-way rollout with the treatment FIRST: a context gets the treatment when
its bucket is below the treatment's weight, so widening the weight keeps every context that already had it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.services.errors import InvalidInput
from app.services.input_models import RolloutStepIn
from app.services.read_models import PropagationOut, RolloutOut, RolloutStepOut
from app.storage.models import RolloutPlan
from flagstaff.bucketing import BUCKETS

PLAN_FIELDS = ("enabled", "fallthrough", "track_events")
"""The flag fields a plan writes; abort and rollback write them back as they were (`RolloutPlan.before`)."""
_PER_PERCENT = BUCKETS // 100


@dataclass(frozen=True, slots=True)
class Step:
    percent: float
    dwell_seconds: float

    @property
    def weight(self) -> int:
        """The treatment's share of the buckets: thousandths of a percent."""
        return round(self.percent * _PER_PERCENT)

    def to_dict(self) -> dict[str, float]:
        return {"percent": self.percent, "dwell_seconds": self.dwell_seconds}


def check_steps(given: Sequence[RolloutStepIn], max_steps: int, max_dwell_seconds: float) -> list[Step]:
    """The steps, or a 422 naming the first bad field."""
    if len(given) > max_steps:
        raise InvalidInput(f"a plan has at most {max_steps} steps, not {len(given)}", "steps")
    steps: list[Step] = []
    for index, raw in enumerate(given):
        step = Step(percent=raw.percent, dwell_seconds=raw.dwell_seconds)
        if not math.isclose(step.percent * _PER_PERCENT, step.weight, abs_tol=1e-6):
            raise InvalidInput("must have at most 3 decimals (0.001% steps)", f"steps[{index}].percent")
        if steps and step.weight <= steps[-1].weight:
            raise InvalidInput(
                f"must be above the previous step's {steps[-1].percent:g}", f"steps[{index}].percent"
            )
        if step.dwell_seconds > max_dwell_seconds:
            raise InvalidInput(f"must be at most {max_dwell_seconds:g}", f"steps[{index}].dwell_seconds")
        steps.append(step)
    return steps


def check_variations(
    variation: int, control: int | None, variations: Sequence[Any], fallthrough: dict[str, Any]
) -> tuple[int, int]:
    """(treatment, control) as indexes into the flag's variations; control defaults to the variation the
    fallthrough serves to everyone."""
    count = len(variations)
    if variation >= count:
        raise InvalidInput(f"the flag has {count} variations (0 to {count - 1})", "variation")
    if control is None:
        if "variation" not in fallthrough:
            raise InvalidInput(
                "the fallthrough is a rollout: name the variation everyone else keeps", "control"
            )
        control = int(fallthrough["variation"])
        if control == variation:
            raise InvalidInput(
                f"the fallthrough already serves variation {variation}: name another control", "control"
            )
    if control >= count:
        raise InvalidInput(f"the flag has {count} variations (0 to {count - 1})", "control")
    if control == variation:
        raise InvalidInput("must differ from variation", "control")
    return variation, control


def steps_of(plan: RolloutPlan) -> list[Step]:
    return [Step(percent=float(s["percent"]), dwell_seconds=float(s["dwell_seconds"])) for s in plan.steps]


def step_changes(plan: RolloutPlan, index: int) -> dict[str, Any]:
    """The flag fields step `index` writes: on, the fallthrough split treatment first, and (for a guard
    reading SDK metrics) `track_events`, so SDKs attribute outcomes to the variation each context got."""
    weight = steps_of(plan)[index].weight
    changes: dict[str, Any] = {
        "enabled": True,
        "fallthrough": {
            "rollout": {
                "variations": [
                    {"variation": plan.variation, "weight": weight},
                    {"variation": plan.control, "weight": BUCKETS - weight},
                ]
            }
        },
    }
    if plan.guard is not None and plan.guard.get("source") == "sdk":
        changes["track_events"] = True
    return changes


def fields_of(values: dict[str, Any]) -> dict[str, Any]:
    """The plan's fields of a flag's targeting values (`wire_format.config_values`)."""
    return {name: values[name] for name in PLAN_FIELDS}


def restore_changes(plan: RolloutPlan, *, kill: bool = False) -> dict[str, Any]:
    """`before` written back; `kill` turns the flag off as well, so that turning it on later does not bring
    the rollout back."""
    assert plan.before is not None
    changes = fields_of(plan.before)
    if kill:
        changes["enabled"] = False
    return changes


def percent_at(plan: RolloutPlan, index: int) -> float:
    return steps_of(plan)[index].percent if 0 <= index < len(plan.steps) else 0.0


def summary(plan: RolloutPlan) -> dict[str, Any]:
    """The plan as its audit entries record it, before and after a change."""
    return {
        "id": plan.id,
        "flag": plan.flag_key,
        "status": plan.status,
        "status_reason": plan.status_reason,
        "variation": plan.variation,
        "control": plan.control,
        "current_step": plan.current_step,
        "percent": percent_at(plan, plan.current_step),
        "steps": plan.steps,
        "guard": plan.guard,
        "flag_version": plan.flag_version,
        "trip": plan.trip,
    }


def read_model(
    plan: RolloutPlan, project: str, environment: str, propagation: PropagationOut | None = None
) -> RolloutOut:
    index = plan.current_step
    return RolloutOut(
        id=plan.id,
        project=project,
        environment=environment,
        flag=plan.flag_key,
        variation=plan.variation,
        control=plan.control,
        status=plan.status,  # type: ignore[arg-type]  # one of the five, as only this package writes it
        status_reason=plan.status_reason,
        steps=[RolloutStepOut(**step.to_dict()) for step in steps_of(plan)],
        current_step=index,
        percent=percent_at(plan, index),
        next_percent=percent_at(plan, index + 1) if index + 1 < len(plan.steps) else None,
        step_started_at=plan.step_started_at,
        next_step_at=plan.next_step_at,
        started_at=plan.started_at,
        finished_at=plan.finished_at,
        guard=plan.guard,
        last_check=plan.last_check,
        trip=plan.trip,
        before=plan.before,
        flag_version=plan.flag_version,
        created_by=plan.created_by,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
        version=plan.version,
        propagation=propagation,
    )
