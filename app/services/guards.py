"""A rollout guard: what it watches, and the test that decides when the released variation (the treatment) is
worse than everyone else on the flag (the control).

The question asked is "is the treatment's failure rate above `ratio` times the control's?", as a one-sided
likelihood-ratio test of the null hypothesis p_t <= ratio * p_c: the guard trips only when the data make that
null implausible at the configured confidence, and only once both sides have `min_sample` observations. A
healthy treatment (p_t = p_c) sits far inside the null, so noise alone rarely trips it, even judged every
second; a treatment at 3x trips as soon as the samples are large enough to show it. The figures measured for
this (bench/release_bench.py) are in docs/releases.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

from app.services.errors import InvalidInput

Source = Literal["sdk", "prometheus"]
OnTrip = Literal["restore", "kill"]
SOURCES: tuple[Source, ...] = ("sdk", "prometheus")
ON_TRIP: tuple[OnTrip, ...] = ("restore", "kill")
MAX_QUERY_LENGTH = 4_000


@dataclass(frozen=True, slots=True)
class PrometheusQueries:
    """PromQL returning one number each, with `{variation}` replaced by the side's variation value (`true`,
    `"blue"` without quotes): the side's failures and its total over the window wanted (use `increase`)."""

    url: str
    failures: str
    total: str


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    source: Source = "sdk"
    ratio: float = 1.5
    min_sample: int = 200
    """Observations (the total) each side needs before the test may trip."""
    confidence: float = 0.999
    """One-sided: the guard trips when p_t <= ratio * p_c is rejected at 1 - confidence."""
    failure_event: str = "error"
    """SDK source: the `client.track` event counted as a failure."""
    total_event: str | None = "request"
    """SDK source: the event counted as an observation; None counts the flag's evaluations instead."""
    on_trip: OnTrip = "restore"
    """`restore` writes back the flag as it was before the rollout; `kill` turns it off."""
    prometheus: PrometheusQueries | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Sample:
    failures: int
    total: int

    @property
    def rate(self) -> float | None:
        return None if self.total <= 0 else self.failures / self.total


@dataclass(frozen=True, slots=True)
class Verdict:
    tripped: bool
    ready: bool
    """Both sides have reached `min_sample`: the test was made."""
    treatment: Sample
    control: Sample
    observed_ratio: float | None
    z: float | None
    threshold: float

    def figures(self) -> dict[str, Any]:
        """What the audit entry, the plan and a webhook carry about this decision."""
        return {
            "treatment": {**asdict(self.treatment), "rate": self.treatment.rate},
            "control": {**asdict(self.control), "rate": self.control.rate},
            "observed_ratio": self.observed_ratio,
            "z": self.z,
            "z_threshold": self.threshold,
        }


def judge(policy: GuardPolicy, treatment: Sample, control: Sample) -> Verdict:
    """The decision for the counts seen so far (cumulative since the rollout started)."""
    threshold = NormalDist().inv_cdf(policy.confidence)
    # Failures can only be counted up to the observations they belong to (batches may arrive apart).
    treatment = _clamped(treatment)
    control = _clamped(control)
    observed = None
    if treatment.rate is not None and control.rate:
        observed = treatment.rate / control.rate
    if treatment.total < policy.min_sample or control.total < policy.min_sample:
        return Verdict(False, False, treatment, control, observed, None, threshold)
    z = signed_root_z(treatment, control, policy.ratio)
    return Verdict(z > threshold, True, treatment, control, observed, z, threshold)


def signed_root_z(treatment: Sample, control: Sample, ratio: float) -> float:
    """The signed root of the likelihood-ratio statistic for p_t = ratio * p_c: about standard normal on that
    edge of the null, positive when the treatment looks worse than `ratio` times the control.

    Not a Wald or score z: with few failures on a small treatment (the first steps of a rollout) both take
    skewed counts as normal. A score z then trips up to 20 times as often as the confidence says; a Wald z,
    whose variance grows with the very failures that signal trouble, far less often, so a bad treatment is
    rolled back late. The likelihood ratio stays close to its nominal rate (docs/releases.md has the
    figures). Both sides need `total` > 0.
    """
    n_t, n_c = treatment.total, control.total
    x_t, x_c = treatment.failures, control.failures
    if x_t + x_c == 0:
        return 0.0  # no failure anywhere: no evidence either way
    # The rates most likely under p_t = ratio * p_c: p_c is the smaller root of a p^2 + b p + c (the
    # likelihood's derivative set to zero), which lies in (0, min(1, 1 / ratio)].
    a = (n_t + n_c) * ratio
    b = -(n_t * ratio + x_t + n_c + x_c * ratio)
    c = x_t + x_c
    # 2c / (-b + root) is (-b - root) / 2a without its cancellation when failures are rare.
    p_c = 2 * c / (-b + math.sqrt(max(b * b - 4 * a * c, 0.0)))
    p_t = min(ratio * p_c, 1.0)
    deviance = 2 * (_log_likelihood_ratio(x_t, n_t, p_t) + _log_likelihood_ratio(x_c, n_c, p_c))
    worse = x_t * n_c > ratio * x_c * n_t
    return math.copysign(math.sqrt(max(deviance, 0.0)), 1.0 if worse else -1.0)


def _log_likelihood_ratio(failures: int, total: int, rate: float) -> float:
    """log L(observed rate) - log L(`rate`) for one side, term by term: the difference of the two
    log-likelihoods themselves would lose its digits to their size when the counts are large."""
    observed = failures / total
    if rate >= 1.0:  # only where every observation failed, or the likelihood at `rate` is zero
        return 0.0 if failures == total else math.inf
    result = 0.0
    if failures:
        result += failures * math.log(observed / rate)
    if failures < total:
        result += (total - failures) * (math.log1p(-observed) - math.log1p(-rate))
    return result


def _clamped(sample: Sample) -> Sample:
    total = max(sample.total, 0)
    return Sample(min(max(sample.failures, 0), total), total)


def parse(data: object, field: str = "guard") -> GuardPolicy:
    """A guard from a request body, every problem a 422 naming its field."""
    if not isinstance(data, dict):
        raise InvalidInput("must be an object", field)
    known = {
        "source",
        "ratio",
        "min_sample",
        "confidence",
        "failure_event",
        "total_event",
        "on_trip",
        "prometheus",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(f"unknown field; a guard has {', '.join(sorted(known))}", f"{field}.{unknown[0]}")
    source = data.get("source", "sdk")
    if source not in SOURCES:
        raise InvalidInput(f"must be one of {', '.join(SOURCES)}", f"{field}.source")
    ratio = _number(data, "ratio", 1.5, field, low=1.0, high=100.0)
    confidence = _number(data, "confidence", 0.999, field, low=0.5, high=0.999999, high_open=True)
    min_sample = data.get("min_sample", 200)
    if isinstance(min_sample, bool) or not isinstance(min_sample, int) or not 1 <= min_sample <= 10**12:
        raise InvalidInput("must be an integer from 1 to 10^12", f"{field}.min_sample")
    failure_event = _event(data.get("failure_event", "error"), f"{field}.failure_event", nullable=False)
    total_event = _event(data.get("total_event", "request"), f"{field}.total_event", nullable=True)
    on_trip = data.get("on_trip", "restore")
    if on_trip not in ON_TRIP:
        raise InvalidInput(f"must be one of {', '.join(ON_TRIP)}", f"{field}.on_trip")
    prometheus = None
    if source == "prometheus":
        prometheus = _prometheus(data.get("prometheus"), f"{field}.prometheus")
    elif data.get("prometheus") is not None:
        raise InvalidInput('only a guard with source "prometheus" names queries', f"{field}.prometheus")
    return GuardPolicy(
        source=source,
        ratio=ratio,
        min_sample=min_sample,
        confidence=confidence,
        failure_event=failure_event or "error",
        total_event=total_event,
        on_trip=on_trip,
        prometheus=prometheus,
    )


def from_stored(data: dict[str, Any]) -> GuardPolicy:
    """A guard as `GuardPolicy.to_dict` stored it."""
    queries = data.get("prometheus")
    return GuardPolicy(**{**data, "prometheus": PrometheusQueries(**queries) if queries else None})


def _number(
    data: dict[str, Any],
    name: str,
    default: float,
    field: str,
    *,
    low: float,
    high: float,
    high_open: bool = False,
) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput("must be a number", f"{field}.{name}")
    if value < low or value > high or (high_open and value == high):
        raise InvalidInput(f"must be between {low} and {high}", f"{field}.{name}")
    return float(value)


def _event(value: object, field: str, *, nullable: bool) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 200 or value.startswith("$"):
        raise InvalidInput("must be an event name: 1-200 characters, not starting with $", field)
    return value


def _prometheus(value: object, field: str) -> PrometheusQueries:
    if not isinstance(value, dict):
        raise InvalidInput('a guard with source "prometheus" needs {"url", "failures", "total"}', field)
    unknown = sorted(set(value) - {"url", "failures", "total"})
    if unknown:
        raise InvalidInput("unknown field; the queries are url, failures and total", f"{field}.{unknown[0]}")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2_000:
        raise InvalidInput("must be the Prometheus server's http(s) URL", f"{field}.url")
    queries = {}
    for name in ("failures", "total"):
        query = value.get(name)
        if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_LENGTH:
            raise InvalidInput(
                f"must be a PromQL query of at most {MAX_QUERY_LENGTH} characters", f"{field}.{name}"
            )
        queries[name] = query
    return PrometheusQueries(url=url.rstrip("/"), failures=queries["failures"], total=queries["total"])
