"""What use cases accept as an entity's fields, checked when built: lengths, and no NUL character (PostgreSQL
text cannot hold one; refusing it here keeps both backends answering alike).

The API takes these as its request bodies unchanged, under the names its OpenAPI document has always used.
Comments, not docstrings, describe the classes: a docstring would become a description in that document.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]
_TEMPORARY = "true for a release flag meant to be removed once rolled out; false for a permanent one"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FlagDefinitionIn(Strict):
    name: Text = Field("", max_length=200, description="a display name; empty means the flag's key")
    description: Text = Field("", max_length=10_000)
    kind: Text = Field(description="boolean, string, number or json (see the flag format)")
    variations: list[Any] = Field(description="the values this flag can serve, referred to by index")
    tags: list[Text] = Field(default=[], max_length=50, description="labels to filter lists by (`?tag=`)")
    temporary: bool = Field(True, description=_TEMPORARY)
    salt: Text | None = Field(None, description="bucketing salt; defaults to the flag key")
    client_side: bool = Field(
        False, description="true: client keys (fs_client_..., public) may evaluate this flag over OFREP"
    )


class FlagDefinitionPatch(Strict):
    """The descriptive fields of a definition; an absent (or null) field is left as it is."""

    name: Text | None = Field(None, max_length=200, description="a display name; empty means the flag's key")
    description: Text | None = Field(None, max_length=10_000)
    tags: list[Text] | None = Field(None, max_length=50, description="replaces the whole list of tags")
    temporary: bool | None = Field(None, description=_TEMPORARY)


# One step of a rollout plan: the share of the flag's fallthrough served the released variation, held at least
# `dwell_seconds` before the next step (or, after the last, before the plan completes).
class RolloutStepIn(Strict):
    percent: float = Field(
        gt=0,
        le=100,
        strict=True,
        allow_inf_nan=False,
        description="0 < percent <= 100, at most 3 decimals (0.001% steps)",
    )
    dwell_seconds: float = Field(
        ge=0, strict=True, allow_inf_nan=False, description="the least time spent at this step"
    )


# A rollout plan to start: `variation` (the treatment) released to the fallthrough step by step, against
# `control`, with an optional guard that rolls it back when the treatment fails more than the control.
class RolloutIn(Strict):
    flag: Text = Field(min_length=1, max_length=200, description="the flag's key")
    variation: int = Field(ge=0, strict=True, description="the variation released, by index")
    control: int | None = Field(
        None,
        ge=0,
        strict=True,
        description="the variation everyone else keeps, by index; default: the one the fallthrough serves",
    )
    steps: list[RolloutStepIn] = Field(min_length=1, description="strictly increasing percents")
    guard: dict[str, Any] | None = Field(
        None,
        description="source, ratio, min_sample, confidence, failure_event, total_event, on_trip, prometheus",
    )
    reason: Text | None = Field(None, max_length=2000, description="why, for the audit log")
