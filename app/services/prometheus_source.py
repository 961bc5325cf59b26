"""A rollout guard's second metric source: counts read from a Prometheus server's HTTP API.

(Interface fixed here; the implementation arrives with the Prometheus guard work.)
"""

from __future__ import annotations

from typing import Any

from app.services.guards import PrometheusQueries, Sample


class GuardSourceError(Exception):
    """The source could not answer (unreachable, bad query, no such series): the guard waits, and says why."""


def read_prometheus(
    queries: PrometheusQueries, treatment_value: Any, control_value: Any, timeout_seconds: float
) -> tuple[Sample, Sample]:
    """(treatment, control): each side's `failures` and `total` queries with `{variation}` replaced by that
    side's variation value, evaluated now. Raises `GuardSourceError`."""
    raise GuardSourceError("the Prometheus source is not available yet")
