"""What the use cases return: one read model per entity, detached from the database, which the API sends as
its response bodies unchanged (Pydantic, not HTTP: nothing here knows of requests or status codes).

Named as the OpenAPI document names them (`...Out` where the request has an `...In`), because a rename here
would rename the types of every client generated from that document. Comments, not docstrings, describe the
classes: a docstring would become a description in that document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


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
