"""A rollout guard's second metric source: counts read from a Prometheus server's HTTP API.

Each side's `failures` and `total` queries are instant queries with `{variation}` replaced by that side's
variation value, escaped so that a value can never end the label matcher string it sits in. Every answer must
be one count; anything else is a `GuardSourceError` saying which query and why, and the guard waits.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import httpx

from app.services.guards import PrometheusQueries, Sample

PLACEHOLDER = "{variation}"


class GuardSourceError(Exception):
    """The source could not answer (unreachable, bad query, no such series): the guard waits, and says why."""


def read_prometheus(
    queries: PrometheusQueries, treatment_value: Any, control_value: Any, timeout_seconds: float
) -> tuple[Sample, Sample]:
    """(treatment, control): each side's `failures` and `total` queries with `{variation}` replaced by that
    side's variation value, evaluated now. Raises `GuardSourceError`.

    All four queries are evaluated at one instant, so that a side's failures and total describe the same
    window; `timeout_seconds` bounds the whole call, not each query."""
    deadline = time.monotonic() + timeout_seconds
    # One evaluation time for every query: a scrape landing between two queries cannot skew a side's rate.
    at = f"{time.time():.3f}"
    samples = []
    with httpx.Client(base_url=queries.url, follow_redirects=False) as client:
        for side, value in (("treatment", treatment_value), ("control", control_value)):
            counts = []
            for name, template in (("failures", queries.failures), ("total", queries.total)):
                query = template.replace(PLACEHOLDER, label_text(value))
                counts.append(_count(client, query, at, deadline, f"{side} {name} query {_shown(query)}"))
            samples.append(Sample(failures=counts[0], total=counts[1]))
    return samples[0], samples[1]


def label_text(value: Any) -> str:
    """A variation value as it appears inside a double-quoted PromQL string: booleans `true`/`false`, strings
    as they are, numbers and JSON values as JSON; quotes, backslashes and control characters escaped.

    PromQL strings take Go's escapes, which include every escape JSON writes, so JSON's string encoding is
    exactly the escaping wanted (non-ASCII characters stay as they are: Go refuses escaped surrogates)."""
    if isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _shown(query: str) -> str:
    return repr(query if len(query) <= 300 else query[:300] + "...")


def _count(client: httpx.Client, query: str, at: str, deadline: float, what: str) -> int:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise GuardSourceError(f"Prometheus did not answer in time; the {what} was not asked")
    try:
        # POST keeps long queries out of the URL; `timeout` makes Prometheus itself give up in time.
        response = client.post(
            "/api/v1/query",
            data={"query": query, "time": at, "timeout": f"{max(int(remaining * 1000), 1)}ms"},
            timeout=remaining,
        )
    except httpx.TimeoutException:
        raise GuardSourceError(f"Prometheus did not answer the {what} in time") from None
    except httpx.HTTPError as error:
        raise GuardSourceError(
            f"cannot reach Prometheus at {client.base_url} for the {what}: {error}"
        ) from None
    try:
        body = response.json()
    except ValueError:
        raise GuardSourceError(
            f"not a Prometheus API answer (HTTP {response.status_code}) to the {what}"
        ) from None
    if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
        raise GuardSourceError(f"not a Prometheus API answer (HTTP {response.status_code}) to the {what}")
    if body["status"] == "error":
        raise GuardSourceError(f"Prometheus refused the {what}: {body.get('errorType')}: {body.get('error')}")
    return _single_number(body.get("data"), what)


def _single_number(data: Any, what: str) -> int:
    if not isinstance(data, dict):
        raise GuardSourceError(f"Prometheus answered the {what} without data")
    kind, result = data.get("resultType"), data.get("result")
    text: Any = None
    if kind == "scalar":
        if isinstance(result, list) and len(result) == 2:
            text = result[1]
    elif kind == "vector" and isinstance(result, list):
        if not result:
            return 0  # no series: nothing was counted yet
        if len(result) > 1:
            raise GuardSourceError(
                f"the {what} returned {len(result)} series, not one number; wrap it in sum(...)"
            )
        value = result[0].get("value") if isinstance(result[0], dict) else None
        if isinstance(value, list) and len(value) == 2:
            text = value[1]
    else:
        raise GuardSourceError(
            f"the {what} returned a {kind}, not one number (an instant vector or a scalar)"
        )
    # Prometheus writes sample values as strings ("12", "NaN", "+Inf"); anything else is not its answer.
    try:
        number = float(text) if isinstance(text, str) else None
    except ValueError:
        number = None
    if number is None:
        raise GuardSourceError(f"Prometheus answered the {what} with {text!r}, not a number")
    if not math.isfinite(number):
        raise GuardSourceError(f"the {what} returned {text}, not a count")
    if number < 0:
        raise GuardSourceError(f"the {what} returned {text}, a negative count")
    # `increase` extrapolates to the window's edges, so a count arrives with a fraction.
    return round(number)
