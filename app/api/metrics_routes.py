"""What SDKs reported, for people: `GET .../flags/{flag}/metrics` (a flag's counts by variation, and when it
was last evaluated) and `GET .../stale-flags` (flags nobody evaluates, or that serve everyone one value).

`/api/v1/projects/{project}/environments/{env}/...`; HTTP only, the answers are `MetricsService`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.dependencies import Reader, ServicesDep
from app.api.errors import COMMON_RESPONSES
from app.api.parameters import EnvironmentKey, FlagPath, ProjectKey
from app.services.read_models import FlagMetricsOut, StaleFlagsOut

router = APIRouter(
    prefix="/api/v1/projects/{project}/environments/{env}", tags=["metrics"], responses=COMMON_RESPONSES
)
Hours = Annotated[
    int, Query(ge=1, le=8784, description="the window: this many hours up to now (at most a year)")
]
Days = Annotated[
    int,
    Query(ge=1, le=3660, description="list flags not evaluated for this many days (retention permitting)"),
]


@router.get("/flags/{flag}/metrics", summary="A flag's evaluations and tracked outcomes by variation")
def flag_metrics(services: ServicesDep, at: FlagPath, caller: Reader, hours: Hours = 24) -> FlagMetricsOut:
    return services.sdk_metrics.flag_metrics(at, hours)


@router.get("/stale-flags", summary="Flags not evaluated for a while, or serving one value to everyone")
def stale_flags(
    services: ServicesDep, project: ProjectKey, env: EnvironmentKey, caller: Reader, days: Days = 30
) -> StaleFlagsOut:
    return services.sdk_metrics.stale_flags(project, env, days)
