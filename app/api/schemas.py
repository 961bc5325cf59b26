"""Request bodies of the admin API, and its pages and lists of the services' read models (never database rows,
never the flag shape: flag bodies are plain JSON objects checked by the SDK's validator).

Every response body of one entity is the read model the service returns (`app.services.read_models`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.auth.roles import Role
from app.services.input_models import Strict, Text
from app.services.project_service import DEFAULT_ENVIRONMENTS
from app.services.read_models import (
    AdminKeyOut,
    AuditEntryOut,
    EnvironmentOut,
    FlagDefinitionOut,
    HistoryEntry,
    ProjectOut,
    RolloutOut,
    ScheduleOut,
    SdkKeyOut,
    SegmentOut,
    TriggerOut,
    WebhookDeliveryOut,
    WebhookOut,
)

Name = Field("", max_length=200)


class EnvironmentIn(Strict):
    key: Text = Field(max_length=64)
    name: Text = Name


class EnvironmentList(BaseModel):
    items: list[EnvironmentOut]


class ProjectIn(Strict):
    key: Text = Field(max_length=64)
    name: Text = Name
    environments: list[Text] = Field(default=list(DEFAULT_ENVIRONMENTS), max_length=50)


class ProjectList(BaseModel):
    items: list[ProjectOut]


class FlagDefinitionPage(BaseModel):
    items: list[FlagDefinitionOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


class EnvironmentFlagPage(BaseModel):
    items: list[dict[str, Any]]
    revision: int
    next: str | None


class KillIn(Strict):
    reason: Text = Field(min_length=1, max_length=2000)


class ToggleIn(Strict):
    reason: Text | None = Field(None, max_length=2000)


class RevertIn(Strict):
    version: int = Field(ge=1, le=2**53)
    reason: Text | None = Field(None, max_length=2000)


class HistoryPage(BaseModel):
    items: list[HistoryEntry]
    next: int | None = Field(description="pass as `before` for the next page; null on the last")


class SegmentPage(BaseModel):
    items: list[SegmentOut]
    next: str | None


class EvaluateIn(Strict):
    context: dict[str, Any] = Field(description="the evaluation context; `key` identifies it")
    flag: Text | None = Field(None, description="one flag's key; omit to evaluate every flag")


class EvaluationOut(BaseModel):
    value: Any = None
    variation_index: int | None
    reason: str
    rule_id: str | None
    error_code: str | None
    error_message: str | None


class EvaluateOut(BaseModel):
    revision: int
    results: dict[str, EvaluationOut]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next: int | None = Field(description="pass as `before` for the next page; null on the last")


class AdminKeyIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    role: Role
    project: Text | None = Field(None, max_length=64, description="limit the key to one project; null = all")


class AdminKeyList(BaseModel):
    items: list[AdminKeyOut]


class SdkKeyIn(Strict):
    name: Text = Field(min_length=1, max_length=200)
    kind: Literal["server", "client"] = Field(
        "server",
        description="server: fs_sdk_..., the whole snapshot (keep it secret); "
        "client: fs_client_..., public, evaluates client-side flags over OFREP only",
    )


class SdkKeyList(BaseModel):
    items: list[SdkKeyOut]


class SchedulePage(BaseModel):
    items: list[ScheduleOut]
    next: int | None = Field(description="pass as `after` for the next page; null on the last")


class RolloutPage(BaseModel):
    items: list[RolloutOut]
    next: int | None = Field(description="pass as `before` for the next page; null on the last")


class TriggerList(BaseModel):
    items: list[TriggerOut]


class WebhookList(BaseModel):
    items: list[WebhookOut]


class WebhookDeliveryPage(BaseModel):
    items: list[WebhookDeliveryOut]
    next: int | None = Field(description="pass as `before` for the next page; null on the last")
