"""Where a rollout guard's counts come from, and the outcome of one check of them.

The `sdk` source reads the metrics SDKs reported to this server (`app.storage.metric_repository`) since the
plan started (`counting_from`): the treatment is what contexts served the released variation reported, the
control what contexts served any other variation reported (checks that served the caller's default belong to
neither). The `prometheus` source is `app.services.prometheus_source`. The decision itself is
`guards.judge`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from app.services.guards import GuardPolicy, Sample, judge
from app.services.prometheus_source import GuardSourceError, read_prometheus
from app.storage import metric_repository
from app.storage.metric_repository import EVALUATION, NO_VARIATION

Outcome = Literal["waiting", "healthy", "tripped", "error"]


@dataclass(frozen=True, slots=True)
class GuardCheck:
    """One check: `waiting` until both sides have `min_sample`, then `healthy` or `tripped`; `error` when
    the source could not answer (the plan waits and says why)."""

    at: datetime
    outcome: Outcome
    message: str
    figures: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "outcome": self.outcome,
            "message": self.message,
            "figures": self.figures,
        }


def counting_from(
    started: datetime, bucket_seconds: int, *, attributed_before: bool, other_plan_ended: datetime | None
) -> datetime:
    """Where a plan's SDK counts begin. Reports are summed into buckets by the server's clock, so the bucket a
    plan started in also holds what was reported in it before the start. The plan counts that bucket whole
    when nothing attributed in it can be another's: the flag attributed no outcomes before the plan
    (`attributed_before`: its `track_events` was on) and no other plan of the flag ended in that bucket or the
    one before (its SDKs may still be sending that plan's counts). Otherwise the plan counts from the next
    bucket on: blind until then, rather than judged on another plan's traffic."""
    width = timedelta(seconds=bucket_seconds)
    bucket = metric_repository.bucket_start(started, bucket_seconds)
    if attributed_before or (other_plan_ended is not None and other_plan_ended >= bucket - width):
        return bucket + width
    return bucket


def sdk_samples(
    session: Session,
    environment_id: int,
    flag_key: str,
    treatment: int,
    policy: GuardPolicy,
    since: datetime,
) -> tuple[Sample, Sample]:
    """(treatment, control): `failure_event` counts and `total_event` counts (the flag's evaluations when
    `total_event` is None) of each side in the buckets starting at or after `since`."""
    total_event = policy.total_event or EVALUATION
    counts = {True: [0, 0], False: [0, 0]}  # is treatment -> [failures, total]
    for row in metric_repository.totals(session, environment_id, flag_key, since=since):
        if row.variation == NO_VARIATION:
            continue
        side = counts[row.variation == treatment]
        if row.event == policy.failure_event:
            side[0] += row.count
        if row.event == total_event:
            side[1] += row.count
    return Sample(*counts[True]), Sample(*counts[False])


def prometheus_samples(
    policy: GuardPolicy, variations: Sequence[Any], treatment: int, control: int, timeout_seconds: float
) -> tuple[Sample, Sample]:
    assert policy.prometheus is not None  # `guards.parse` requires the queries for this source
    return read_prometheus(policy.prometheus, variations[treatment], variations[control], timeout_seconds)


def check(policy: GuardPolicy, read: Callable[[], tuple[Sample, Sample]], at: datetime) -> GuardCheck:
    """Reads the counts with `read` and judges them."""
    try:
        treatment, control = read()
    except GuardSourceError as error:
        return GuardCheck(at, "error", f"guard source error: {error}")
    verdict = judge(policy, treatment, control)
    figures = verdict.figures()
    rates = f"treatment {_rate(verdict.treatment)}, control {_rate(verdict.control)}"
    if not verdict.ready:
        message = (
            f"waiting for samples: treatment {treatment.total} and control {control.total} of the "
            f"{policy.min_sample} each side needs"
        )
        return GuardCheck(at, "waiting", message, figures)
    if verdict.tripped:
        message = (
            f"guard tripped: the failure rate of the treatment is above {policy.ratio:g} x the control's "
            f"({rates}; z = {verdict.z:.2f} > {verdict.threshold:.2f})"
        )
        return GuardCheck(at, "tripped", message, figures)
    return GuardCheck(at, "healthy", f"healthy: failure rates {rates}, limit {policy.ratio:g} x", figures)


def _rate(sample: Sample) -> str:
    rate = sample.rate
    return "n/a" if rate is None else f"{rate:.2%} of {sample.total}"
