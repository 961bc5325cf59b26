"""The parameters the routes share, each declared once with the description OpenAPI shows for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query

from app.services.flag_config_service import FlagRef
from app.services.propagation import MAX_WAIT_SECONDS

ProjectKey = Annotated[str, Path(description="the project's key, e.g. `default`")]
EnvironmentKey = Annotated[str, Path(description="the environment's key, e.g. `production`")]
FlagKey = Annotated[str, Path(description="the flag's key, e.g. `new-checkout`")]
SegmentKey = Annotated[str, Path(description="the segment's key, e.g. `beta-testers`")]
KeyId = Annotated[str, Path(description="the key's `key_id`, as listed (never its secret)")]
TriggerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the trigger's `id`, as listed")]
WebhookId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the webhook's `id`, as listed")]
Wait = Annotated[
    float | None,
    Query(
        ge=0,
        le=MAX_WAIT_SECONDS,
        description="wait up to this many seconds (max 10) for connected SDKs to confirm the change",
    ),
]
Tag = Annotated[str | None, Query(max_length=200, description="only flags with this tag")]
After = Annotated[str | None, Query(max_length=200, description="the `next` of the previous page")]
Before = Annotated[int | None, Query(ge=1, le=2**53, description="the `next` of the previous page")]
FlagsPerPage = Annotated[int, Query(ge=1, le=1000, description="flags per page")]
SegmentsPerPage = Annotated[int, Query(ge=1, le=1000, description="segments per page")]
VersionsPerPage = Annotated[int, Query(ge=1, le=500, description="versions per page")]
EntriesPerPage = Annotated[int, Query(ge=1, le=1000, description="entries per page")]


@dataclass(frozen=True, slots=True)
class FlagListQuery:
    """A page of flags: those tagged `tag` (all when None), in key order after `after`, `limit` of them."""

    tag: str | None
    after: str | None
    limit: int


async def _flag_list_query(tag: Tag = None, after: After = None, limit: FlagsPerPage = 100) -> FlagListQuery:
    return FlagListQuery(tag, after, limit)


# The query parameters of both lists of flags (definitions, and targeting in one environment).
FlagsPage = Annotated[FlagListQuery, Depends(_flag_list_query)]


async def _flag_ref(project: ProjectKey, env: EnvironmentKey, flag: FlagKey) -> FlagRef:
    return FlagRef(project, env, flag)


# The three path parameters of a flag in one environment, as the one value its use cases take.
FlagPath = Annotated[FlagRef, Depends(_flag_ref)]
