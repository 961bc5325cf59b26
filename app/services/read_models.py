"""What the use cases return: one read model per entity, detached from the database, which the API sends as
its response bodies unchanged (Pydantic, not HTTP: nothing here knows of requests or status codes).

Named as the OpenAPI document names them (`...Out` where the request has an `...In`), because a rename here
would rename the types of every client generated from that document. Comments, not docstrings, describe the
classes: a docstring would become a description in that document.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


# How many connected SDK instances have applied a revision, and whether every one can be known yet.
class PropagationOut(BaseModel):
    revision: int = Field(description="the environment revision being confirmed")
    confirmed: int = Field(description="connected SDK instances that have applied it")
    unconfirmed: int = Field(description="connected SDK instances that have not (yet)")
    slowest_confirmation_ms: float | None = Field(
        description="from the commit to the latest confirmation so far; null when none confirmed"
    )
    available: bool = Field(True, description="false when confirmations could not be read (Redis down)")
    presence: Literal["complete", "unknown"] = Field(
        "complete",
        description=(
            "unknown while connected SDKs may be missing from the counts: just after a server start, or "
            "after Redis lost its data, until SDKs have had a presence TTL to reconnect; or when `available` "
            "is false"
        ),
    )
    note: str | None = Field(None, description="why presence is unknown, for people; null when complete")


# One SDK instance receiving an environment's flags (streaming, or polling with an instance id).
class SdkInstanceOut(BaseModel):
    key_id: str = Field(description="the SDK key it connects with")
    key_name: str | None = Field(description="that key's name; null if the key was deleted")
    instance_id: str = Field(description="the id the instance gave itself")
    applied_revision: int | None = Field(description="the latest revision it confirmed; null if none yet")
    confirmed_at: datetime | None = Field(description="when that confirmation arrived")
    last_seen: datetime | None = Field(description="its stream's latest presence refresh, or its latest poll")
    stale: bool = Field(description="it has not confirmed the environment's current revision")


# The SDK instances connected to one environment, with the same presence caveats as a propagation report.
class SdkInstancesOut(BaseModel):
    revision: int = Field(description="the environment's current revision")
    instances: list[SdkInstanceOut]
    available: bool = Field(description="false when presence could not be read (Redis down)")
    presence: Literal["complete", "unknown"]
    note: str | None


class EnvironmentOut(BaseModel):
    key: str
    name: str
    revision: int


# A project and its environments, in the order they were created.
class ProjectOut(BaseModel):
    key: str
    name: str
    environments: list[EnvironmentOut] = []


# A flag's project-wide definition; the audit log records it as this too, before and after a change.
class FlagDefinitionOut(BaseModel):
    key: str
    name: str
    description: str
    kind: str
    variations: list[Any]
    tags: list[str]
    temporary: bool
    salt: str
    version: int
    client_side: bool


# A flag as it stands in one environment, after a read or a write.
class EnvironmentFlag(BaseModel):
    flag: dict[str, Any] = Field(description="the flag in wire format (docs/flag-format.md)")
    revision: int = Field(description="the environment's revision after this request")
    changed: bool = True
    propagation: PropagationOut | None = Field(None, description="only with ?wait=: SDK confirmations")


# One version of a flag in one environment, as its history lists it; `flag` is None for a deletion.
class HistoryEntry(BaseModel):
    version: int
    revision: int
    deleted: bool
    flag: dict[str, Any] | None
    actor: str
    at: datetime


class SegmentOut(BaseModel):
    key: str
    name: str
    description: str
    included: list[Any]
    excluded: list[Any]
    rules: list[Any]
    version: int


# Read from a row, where the project's and environment's keys are columns named `..._key`.
_ProjectKey = Field(validation_alias=AliasChoices("project", "project_key"))
_EnvironmentKey = Field(validation_alias=AliasChoices("environment", "environment_key"))


# One audit entry; `project` and `environment` are keys, copied when the entry was written.
class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    project: str | None = _ProjectKey
    environment: str | None = _EnvironmentKey
    target_kind: str
    target_key: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    request_id: str | None


# An admin key without its secret; `project` None means every project.
class AdminKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    key_id: str
    name: str
    role: str
    project: str | None = _ProjectKey
    created_at: datetime
    revoked_at: datetime | None


class AdminKeyCreated(AdminKeyOut):
    secret: str = Field(description="the key itself; shown only in this response")


class SdkKeyOut(BaseModel):
    key_id: str
    name: str
    kind: str = Field(description="`server` (fs_sdk_: the whole environment) or `client` (fs_client_)")
    created_at: datetime
    revoked_at: datetime | None


class SdkKeyCreated(SdkKeyOut):
    secret: str = Field(description="the key itself; shown only in this response")


class ImportedFlag(BaseModel):
    key: str
    status: str  # created, updated or failed
    message: str


class UnmappedItem(BaseModel):
    flag: str
    what: str
    why: str


class ImportOut(BaseModel):
    flags: list[ImportedFlag]
    unmapped: list[UnmappedItem]


# -- SDK metrics ------
class MetricsAcceptedOut(BaseModel):
    accepted: int = Field(description="the counts (cells) of the report, all added to the current bucket")


class EventTotalOut(BaseModel):
    event: str = Field(description="the name given to `client.track`")
    count: int
    sum: float = Field(description="the sum of the values tracked with the event")


# One variation's counts over the window; `variation` null is the caller's default (flag off, error).
class VariationMetricsOut(BaseModel):
    variation: int | None = Field(
        description="the variation's index; null when the caller's default was served"
    )
    value: Any = Field(
        description="the variation's value; null for the default, or an index the flag lacks now"
    )
    evaluations: int = Field(description="flag checks that served it")
    events: list[EventTotalOut] = Field(description="outcomes tracked by the callers it was served to")


# What SDKs reported about one flag in one environment over a window of hours.
class FlagMetricsOut(BaseModel):
    flag: str
    since: datetime = Field(description="the window's start: buckets starting at or after it are counted")
    until: datetime = Field(description="when the answer was made")
    bucket_seconds: int = Field(description="the width of a bucket: counts are summed by the server's clock")
    last_evaluated: datetime | None = Field(
        description="the start of the newest bucket with evaluations (within retention), or null"
    )
    variations: list[VariationMetricsOut] = Field(
        description="every variation of the flag in order, then the default (null) when it was served"
    )


class VariationCountOut(BaseModel):
    variation: int | None = Field(
        description="the variation's index; null when the caller's default was served"
    )
    value: Any = Field(
        description="the variation's value; null for the default, or an index the flag lacks now"
    )
    evaluations: int


# A flag the stale report lists, and why.
class StaleFlagOut(BaseModel):
    key: str
    reason: Literal["not_evaluated", "never_evaluated", "single_variation"] = Field(
        description="not_evaluated: none for `days`; never_evaluated: none within retention, and the flag is "
        "older than `days`; single_variation: only one variation was served in the last 24 hours"
    )
    last_evaluated: datetime | None
    created_at: datetime = Field(description="when the flag came to this environment")
    temporary: bool = Field(description="false for a permanent flag, which may rightly serve one value")
    variations: list[VariationCountOut] = Field(description="evaluations in the last 24 hours, by variation")


class StaleFlagsOut(BaseModel):
    days: int
    not_evaluated_since: datetime = Field(description="flags not evaluated since this moment are listed")
    single_variation_since: datetime = Field(description="the 24 hours the single-variation check reads")
    flags_checked: int = Field(description="the environment's flags the report looked at")
    items: list[StaleFlagOut] = Field(description="in key order")


ScheduleAction = Literal["patch", "on", "off", "kill"]
ScheduleStatus = Literal["pending", "applied", "refused", "failed", "cancelled"]


# A change scheduled for one flag in one environment, and, once it ran, how it ended.
class ScheduleOut(BaseModel):
    id: int
    project: str
    environment: str
    flag: str
    action: ScheduleAction
    changes: dict[str, Any] | None = Field(description="patch only: the targeting fields it writes")
    reason: str | None
    at: datetime = Field(description="when it is due")
    expected_version: int | None = Field(description="the flag version it expects to find")
    apply_if_changed: bool
    status: ScheduleStatus
    outcome: str | None = Field(description="how it ended, for people; null while pending")
    applied_version: int | None = Field(description="the flag's version after it was applied")
    created_by: str
    created_at: datetime
    ran_at: datetime | None = Field(description="when it ran; null while pending, and if cancelled")


class RolloutStepOut(BaseModel):
    percent: float
    dwell_seconds: float


# A rollout plan and where it stands. `current_step` is an index into `steps` (-1 before the first is
# written); `percent` is the share of the fallthrough the released variation has now.
class RolloutOut(BaseModel):
    id: int
    project: str
    environment: str
    flag: str
    variation: int = Field(description="the variation released (the treatment), by index")
    control: int = Field(description="the variation the rest of the fallthrough keeps, by index")
    status: Literal["running", "paused", "completed", "rolled_back", "aborted"]
    status_reason: str | None = Field(description="why the plan is paused, waiting, or ended as it did")
    steps: list[RolloutStepOut]
    current_step: int
    percent: float
    next_percent: float | None = Field(description="the next step's percent; null at the last step")
    step_started_at: datetime | None
    next_step_at: datetime | None = Field(
        description="when the next step (or completion) is due; with a guard, not before it judged healthy"
    )
    started_at: datetime | None
    finished_at: datetime | None
    guard: dict[str, Any] | None = Field(description="the guard policy, defaults filled in; null: none")
    last_check: dict[str, Any] | None = Field(
        description="the guard's latest check: `at`, `outcome` (waiting, healthy, tripped or error), "
        "`message`, `figures`"
    )
    trip: dict[str, Any] | None = Field(description="the figures that rolled the plan back")
    before: dict[str, Any] | None = Field(
        description="the flag's enabled, fallthrough and track_events before the plan: what abort restores"
    )
    flag_version: int | None = Field(description="the flag version the plan last wrote")
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    propagation: PropagationOut | None = Field(
        None, description="only on a single plan: connected SDKs' confirmations of the revision last written"
    )


# A monitoring trigger without its secret: `fingerprint` tells which URL it is.
class TriggerOut(BaseModel):
    id: int
    name: str
    flag: str
    action: str = Field(description="kill, on or off")
    fire_on_resolved: bool
    fingerprint: str = Field(
        description="the first 8 hex digits of the SHA-256 of the trigger's secret: hash a URL's secret to "
        "tell which trigger it is"
    )
    created_by: str
    created_at: datetime
    revoked_at: datetime | None
    last_fired_at: datetime | None
    fire_count: int = Field(description="fires that performed the action (or found it done already)")


class TriggerCreated(TriggerOut):
    secret: str = Field(description="the secret part of the URL; shown only in this response")
    url: str = Field(
        "",
        description="POST here to fire, with no other credential: the server's own address as this request "
        "reached it, then /api/v1/triggers/<secret>",
    )


# What one call of a trigger's URL did.
class TriggerFired(BaseModel):
    trigger: str = Field(description="the trigger's name")
    action: str
    flag: str
    changed: bool = Field(description="false when the flag was already in that state, or nothing was done")
    revision: int | None = Field(description="the environment's revision after the fire; null when ignored")
    ignored: Literal["resolved"] | None = Field(
        None, description="`resolved`: the alert resolved and the trigger acts on firing only"
    )


# An outbound webhook without its secret.
class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    events: list[str] | None = Field(description="the audit actions sent (patterns like `flag.*`); null: all")
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = Field(description="when it was deleted; it sends nothing since")


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the key that signs every delivery; shown only in this response")


# One event sent, or being retried, to a webhook.
class WebhookDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="sent as X-Flagstaff-Delivery")
    audit_id: int
    event: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    next_attempt_at: datetime | None = Field(description="when a pending delivery is tried next")
    last_status: int | None = Field(description="the HTTP status of the last answer; null when none came")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
