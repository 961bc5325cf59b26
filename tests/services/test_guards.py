"""The rollout guard's decision: the score test on hand-computed cases and against the exact test it
approximates, the minimum sample, the edges (no failures, counts out of order), and a guard's validation."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import pytest

from app.services.errors import InvalidInput
from app.services.guards import (
    GuardPolicy,
    PrometheusQueries,
    Sample,
    from_stored,
    judge,
    parse,
    signed_root_z,
)

GUARD = GuardPolicy(min_sample=200)


def test_with_ratio_one_it_is_the_likelihood_ratio_test_of_equal_rates() -> None:
    # 20/100 against 10/100: under p_t = p_c both are 30/200 = 0.15, and the deviance is
    # 2 (20 ln(0.20/0.15) + 80 ln(0.80/0.85) + 10 ln(0.10/0.15) + 90 ln(0.90/0.85))
    # = 2 (5.75364 - 4.85000 - 4.05465 + 5.14423) = 3.98644, whose root is 1.99661.
    assert signed_root_z(Sample(20, 100), Sample(10, 100), 1.0) == pytest.approx(1.99661, abs=1e-4)
    assert signed_root_z(Sample(10, 100), Sample(20, 100), 1.0) == pytest.approx(-1.99661, abs=1e-4)


def test_the_null_is_fitted_at_the_rates_most_likely_under_the_ratio() -> None:
    # 30/1000 against 10/1000 at ratio 1.5. Under p_t = 1.5 p_c the likelihood is greatest where
    # 3000 p^2 - 2545 p + 40 = 0 (a = 2000 * 1.5, b = -(1000 * 1.5 + 30 + 1000 + 10 * 1.5), c = 40):
    # p_c = (2545 - sqrt(2545^2 - 4 * 3000 * 40)) / 6000 = (2545 - 2448.8824) / 6000 = 0.0160196 and
    # p_t = 0.0240294. The deviance against the observed 0.03 and 0.01:
    deviance = 2 * (
        30 * math.log(0.03 / 0.0240294)
        + 970 * math.log(0.97 / 0.9759706)
        + 10 * math.log(0.01 / 0.0160196)
        + 990 * math.log(0.99 / 0.9839804)
    )
    z = signed_root_z(Sample(30, 1000), Sample(10, 1000), 1.5)
    assert z == pytest.approx(math.sqrt(deviance), abs=1e-5)
    assert z == pytest.approx(2.01543, abs=1e-4)


def _exact_conditional_z(treatment: Sample, control: Sample, ratio: float) -> float:
    """For rare failures the failures are Poisson; given their sum, the treatment's share is binomial with
    p = ratio n_t / (ratio n_t + n_c) at the null's edge. Its exact tail (mid-p: half the observed count's
    own probability, so that the discrete test is not conservative by construction), as a z."""
    failures = treatment.failures + control.failures
    share = ratio * treatment.total / (ratio * treatment.total + control.total)

    def probability(k: int) -> float:
        return math.comb(failures, k) * share**k * (1 - share) ** (failures - k)

    tail = (
        sum(probability(k) for k in range(treatment.failures, failures + 1))
        - probability(treatment.failures) / 2
    )
    return NormalDist().inv_cdf(1 - tail)


@pytest.mark.parametrize(
    ("treatment", "control"),
    [
        (Sample(60, 100_000), Sample(20, 100_000)),
        (Sample(45, 20_000), Sample(100, 100_000)),
        (Sample(12, 5_000), Sample(30, 50_000)),
        # A small treatment beside a large control, as in a rollout's first steps: the exact 4.3 here, where
        # a score z says 6.3 (it would trip too often) and a Wald z 2.6 (it would trip late).
        (Sample(8, 300), Sample(20, 10_000)),
        (Sample(5, 200), Sample(2, 2_000)),
    ],
)
def test_with_rare_failures_it_agrees_with_the_exact_test(treatment: Sample, control: Sample) -> None:
    exact = _exact_conditional_z(treatment, control, 1.5)
    assert signed_root_z(treatment, control, 1.5) == pytest.approx(exact, abs=0.2)


def test_never_trips_below_the_minimum_sample_on_either_side() -> None:
    awful = Sample(199, 199)
    verdict = judge(GUARD, awful, Sample(0, 100_000))
    assert (verdict.tripped, verdict.ready, verdict.z) == (False, False, None)
    verdict = judge(GUARD, Sample(500, 1000), Sample(0, 199))
    assert (verdict.tripped, verdict.ready) == (False, False)
    assert judge(GUARD, Sample(200, 200), Sample(0, 200)).tripped


def test_trips_at_three_times_the_control_rate_with_enough_samples() -> None:
    verdict = judge(GUARD, Sample(60, 2_000), Sample(200, 20_000))
    assert verdict.ready and verdict.tripped
    assert verdict.observed_ratio == pytest.approx(3.0)
    assert verdict.z is not None and verdict.z > verdict.threshold


def test_does_not_trip_at_equal_rates_however_large_the_samples() -> None:
    for total in (200, 10_000, 10_000_000):
        verdict = judge(GUARD, Sample(total // 50, total), Sample(total // 50, total))
        assert verdict.ready and not verdict.tripped
        assert verdict.z is not None and verdict.z < 0


def test_a_rate_just_above_the_ratio_trips_only_once_the_samples_show_it() -> None:
    # 1.6x the control's rate: above the ratio, but only a large sample tells it from 1.5x.
    assert not judge(GUARD, Sample(32, 2_000), Sample(20, 2_000)).tripped
    assert judge(GUARD, Sample(16_000, 1_000_000), Sample(10_000, 1_000_000)).tripped


def test_a_control_without_failures_gives_a_finite_statistic() -> None:
    nothing = judge(GUARD, Sample(0, 1000), Sample(0, 1000))
    assert nothing.ready and not nothing.tripped and nothing.z == 0.0
    assert nothing.observed_ratio is None
    # 5 failures in 1000 against none: a z of 2.26, short of 0.999's 3.09 but past 0.99's 2.33 at 7 ...
    some = judge(GUARD, Sample(5, 1000), Sample(0, 1000))
    assert some.z == pytest.approx(2.2619, abs=1e-4) and not some.tripped
    assert judge(GuardPolicy(confidence=0.99), Sample(7, 1000), Sample(0, 1000)).tripped
    # ... and 20 against none is far past it.
    assert judge(GUARD, Sample(20, 1000), Sample(0, 1000)).tripped


def test_every_observation_failing_on_both_sides_is_no_evidence() -> None:
    verdict = judge(GuardPolicy(ratio=1.0), Sample(300, 300), Sample(300, 300))
    assert verdict.ready and not verdict.tripped and verdict.z == 0.0


def test_failures_beyond_the_total_are_clamped_to_it() -> None:
    verdict = judge(GUARD, Sample(250, 200), Sample(-3, 400))
    assert verdict.treatment == Sample(200, 200) and verdict.control == Sample(0, 400)
    assert verdict.figures()["treatment"] == {"failures": 200, "total": 200, "rate": 1.0}
    assert verdict.figures()["control"]["rate"] == 0.0


def test_the_threshold_follows_the_confidence() -> None:
    assert judge(GuardPolicy(confidence=0.999), Sample(0, 0), Sample(0, 0)).threshold == pytest.approx(
        3.0902, 1e-4
    )
    assert judge(GuardPolicy(confidence=0.99), Sample(0, 0), Sample(0, 0)).threshold == pytest.approx(
        2.3263, 1e-4
    )


def test_a_guard_left_empty_takes_the_defaults_and_round_trips_through_storage() -> None:
    assert parse({}) == GuardPolicy()
    prometheus = parse(
        {
            "source": "prometheus",
            "confidence": 0.99,
            "prometheus": {"url": "http://prometheus:9090/", "failures": "sum(a)", "total": "sum(b)"},
        }
    )
    assert prometheus.prometheus == PrometheusQueries("http://prometheus:9090", "sum(a)", "sum(b)")
    assert from_stored(prometheus.to_dict()) == prometheus
    assert from_stored(parse({"min_sample": 50}).to_dict()) == GuardPolicy(min_sample=50)


QUERIES = {"url": "http://prometheus:9090", "failures": "sum(a)", "total": "sum(b)"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "guard"),
        ({"threshold": 3}, "guard.threshold"),
        ({"source": "datadog"}, "guard.source"),
        ({"ratio": 0.9}, "guard.ratio"),
        ({"ratio": "2"}, "guard.ratio"),
        ({"ratio": True}, "guard.ratio"),
        ({"ratio": float("nan")}, "guard.ratio"),
        ({"confidence": 1.0}, "guard.confidence"),
        ({"confidence": 0.4}, "guard.confidence"),
        ({"min_sample": 0}, "guard.min_sample"),
        ({"min_sample": 2.5}, "guard.min_sample"),
        ({"min_sample": True}, "guard.min_sample"),
        ({"failure_event": "$evaluation"}, "guard.failure_event"),
        ({"failure_event": None}, "guard.failure_event"),
        ({"total_event": ""}, "guard.total_event"),
        ({"on_trip": "page"}, "guard.on_trip"),
        ({"prometheus": QUERIES}, "guard.prometheus"),
        ({"source": "prometheus"}, "guard.prometheus"),
        ({"source": "prometheus", "prometheus": {**QUERIES, "step": "1m"}}, "guard.prometheus.step"),
        (
            {"source": "prometheus", "prometheus": {**QUERIES, "url": "prometheus:9090"}},
            "guard.prometheus.url",
        ),
        ({"source": "prometheus", "prometheus": {**QUERIES, "failures": " "}}, "guard.prometheus.failures"),
        ({"source": "prometheus", "prometheus": {**QUERIES, "total": "x" * 4001}}, "guard.prometheus.total"),
    ],
)
def test_a_bad_guard_is_refused_naming_its_field(data: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse(data)
    assert error.value.field == field


def test_the_field_prefix_is_the_callers() -> None:
    with pytest.raises(InvalidInput) as error:
        parse({"ratio": 0}, "steps[2].guard")
    assert error.value.field == "steps[2].guard.ratio"
