"""What the console's release pages show, shaped from the services' read models: a rollout plan with its step
("step 2 of 4"), its variations by value, its guard's policy and last check, a rolled-back plan's trip figures
and the SDK confirmations of the revision it last wrote; the flag's releases for the flag page's partial
(`flag_releases.html`); the environment's releases for its page; and the URLs their forms post to.

Presentation only: every figure comes from a service, and nothing here decides anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from app.console.counters import Counter
from app.console.release_forms import Submitted
from app.services.read_models import (
    RolloutOut,
    ScheduleOut,
    TriggerOut,
    VariationMetricsOut,
    WebhookDeliveryOut,
    WebhookOut,
)

ACTIVE = ("running", "paused")


def _key(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True, slots=True)
class ReleaseUrls:
    """Where the release pages and their forms are, for one environment (and one flag, for its partial)."""

    project: str
    environment: str
    flag: str = ""

    @property
    def environment_base(self) -> str:
        return f"/console/projects/{_key(self.project)}/environments/{_key(self.environment)}"

    @property
    def releases(self) -> str:
        """The environment's releases page."""
        return f"{self.environment_base}/releases"

    @property
    def plans(self) -> str:
        """The plans table's rows as JSON holding HTML, for the page's script (this flag's, with a flag)."""
        return f"{self.releases}/plans" + (f"?flag={_key(self.flag)}" if self.flag else "")

    @property
    def flag_releases(self) -> str:
        """The flag's releases in the environment, on a page of their own."""
        return f"{self.environment_base}/flags/{_key(self.flag)}/releases"

    @property
    def flag_page(self) -> str:
        return f"/console/projects/{_key(self.project)}/flags/{_key(self.flag)}"

    @property
    def flag_settings(self) -> str:
        return f"{self.flag_page}/settings"

    @property
    def live(self) -> str:
        return f"{self.environment_base}/live"

    @property
    def rollouts(self) -> str:
        return f"{self.environment_base}/rollouts"

    def rollout(self, plan: int, action: str) -> str:
        return f"{self.rollouts}/{plan}/{action}"

    @property
    def schedules(self) -> str:
        return f"{self.environment_base}/schedules"

    def cancel_schedule(self, schedule: int) -> str:
        return f"{self.schedules}/{schedule}/cancel"

    @property
    def triggers(self) -> str:
        return f"{self.environment_base}/triggers"

    def revoke_trigger(self, trigger: int) -> str:
        return f"{self.triggers}/{trigger}/revoke"

    @property
    def webhooks(self) -> str:
        return f"{self.environment_base}/webhooks"

    def delete_webhook(self, webhook: int) -> str:
        return f"{self.webhooks}/{webhook}/delete"

    def kill(self, flag: str) -> str:
        """The kill switch's confirmation page (and the dialog's POST) for a flag of this environment."""
        return f"{self.environment_base}/flags/{_key(flag)}/kill"


@dataclass(frozen=True, slots=True)
class Side:
    failures: float
    total: float
    rate: float | None


@dataclass(frozen=True, slots=True)
class Trip:
    """The figures that rolled a plan back."""

    treatment: Side
    control: Side
    observed_ratio: float | None
    z: float | None
    z_threshold: float | None
    percent: float | None
    on_trip: str


def _side(figures: Any) -> Side:
    found = figures if isinstance(figures, dict) else {}
    return Side(found.get("failures", 0), found.get("total", 0), found.get("rate"))


@dataclass(frozen=True, slots=True)
class PlanView:
    """A plan as a row of the plans table. `variations` are the flag's values (None when the flag is gone)."""

    plan: RolloutOut
    variations: Sequence[Any] | None
    confirmations: Counter | None = None

    @property
    def active(self) -> bool:
        return self.plan.status in ACTIVE

    @property
    def step(self) -> int:
        """The step the plan is at, counted from 1 (0 before its first is written)."""
        return self.plan.current_step + 1

    @property
    def step_count(self) -> int:
        return len(self.plan.steps)

    def label(self, index: int) -> Any:
        """The variation's value, or `#index` when the flag no longer has it."""
        if self.variations is not None and 0 <= index < len(self.variations):
            return self.variations[index]
        return f"#{index}"

    @property
    def next_in(self) -> str:
        """When the next step (or the end) is due, from now: `in 4 min`, `due now`; empty when none is."""
        at = self.plan.next_step_at
        if at is None or not self.active:
            return ""
        seconds = int((at - datetime.now(UTC)).total_seconds())
        if seconds <= 0:
            return "due now"
        for size, unit in ((86_400, "d"), (3_600, "h"), (60, "min")):
            if seconds >= size:
                return f"in {seconds // size} {unit}"
        return f"in {seconds} s"

    @property
    def guard(self) -> str | None:
        """The guard's policy in a line: `ratio 1.5, 200 each side, on trip: restore (sdk)`."""
        guard = self.plan.guard
        if guard is None:
            return None
        return (
            f"ratio {guard.get('ratio')}, {guard.get('min_sample')} each side, "
            f"on trip: {guard.get('on_trip', 'restore')} ({guard.get('source', 'sdk')})"
        )

    @property
    def check_outcome(self) -> str | None:
        return None if self.plan.last_check is None else str(self.plan.last_check.get("outcome", ""))

    @property
    def check_message(self) -> str:
        return "" if self.plan.last_check is None else str(self.plan.last_check.get("message", ""))

    @property
    def checked_at(self) -> datetime | None:
        at = None if self.plan.last_check is None else self.plan.last_check.get("at")
        try:
            return datetime.fromisoformat(at) if isinstance(at, str) else None
        except ValueError:
            return None

    @property
    def trip(self) -> Trip | None:
        trip = self.plan.trip
        if trip is None:
            return None
        return Trip(
            treatment=_side(trip.get("treatment")),
            control=_side(trip.get("control")),
            observed_ratio=trip.get("observed_ratio"),
            z=trip.get("z"),
            z_threshold=trip.get("z_threshold"),
            percent=trip.get("percent"),
            on_trip=str(trip.get("on_trip", "restore")),
        )


@dataclass(frozen=True, slots=True)
class WebhookView:
    webhook: WebhookOut
    deliveries: Sequence[WebhookDeliveryOut]


@dataclass(frozen=True, slots=True)
class FlagReleases:
    """The context of the `flag_releases.html` partial: one flag's releases in one environment."""

    urls: ReleaseUrls
    variations: Sequence[Any]
    client_side: bool
    plans: Sequence[PlanView]
    """Newest first; the active plan (at most one) among them."""
    pending: Sequence[ScheduleOut]
    """Soonest first."""
    triggers: Sequence[TriggerOut]
    """The flag's triggers here that are not revoked."""
    evaluations: Sequence[VariationMetricsOut]
    """Evaluations by variation over `evaluation_hours`, as SDKs reported them."""
    evaluation_hours: int
    submitted: Submitted = field(default_factory=Submitted)
    """A form of the partial sent back with a refusal at its field; empty otherwise."""

    @property
    def flag(self) -> str:
        return self.urls.flag

    @property
    def environment(self) -> str:
        return self.urls.environment

    @property
    def active(self) -> PlanView | None:
        return next((view for view in self.plans if view.active), None)


@dataclass(frozen=True, slots=True)
class EnvironmentReleases:
    """The context of the releases page of one environment."""

    urls: ReleaseUrls
    plans: Sequence[PlanView]
    """Active ones first, then the latest finished ones."""
    pending: Sequence[ScheduleOut]
    settled: Sequence[ScheduleOut]
    triggers: Sequence[TriggerOut]
    webhooks: Sequence[WebhookView]
    flags: Sequence[str]
    """The project's flag keys, offered by the forms' flag inputs."""
    revision: int
    """The environment's revision as the page shows it: the live stream names any later one."""
    submitted: Submitted = field(default_factory=Submitted)

    @property
    def active(self) -> bool:
        return any(view.active for view in self.plans)
