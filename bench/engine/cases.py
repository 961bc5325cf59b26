"""The five evaluation scenarios: which flag is asked, for which contexts, and what a right answer looks like.

The checks run on every SDK before it is timed, so a fast wrong answer (say, a rollout that serves nobody)
shows up as wrong instead of as fast.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from . import scenarios as sc

Value = bool | str


@dataclass(frozen=True, slots=True)
class Check:
    """A property the answers for `people` must have; `verdict` returns (passed, what was observed)."""

    name: str
    people: Sequence[sc.Person]
    verdict: Callable[[Sequence[Value]], tuple[bool, str]]


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str
    flag_key: str
    kind: Literal["boolean", "string"]
    default: Value
    timed_people: Sequence[sc.Person]
    checks: tuple[Check, ...]


def _all_equal(expected: Value) -> Callable[[Sequence[Value]], tuple[bool, str]]:
    def verdict(values: Sequence[Value]) -> tuple[bool, str]:
        matching = sum(1 for v in values if v == expected)
        return matching == len(values), f"{matching}/{len(values)} {expected!r}"

    return verdict


def _share_true(low: float, high: float) -> Callable[[Sequence[Value]], tuple[bool, str]]:
    """Bounds are about +-5 standard deviations around the configured share for the sample sizes used here."""

    def verdict(values: Sequence[Value]) -> tuple[bool, str]:
        share = sum(1 for v in values if v is True) / len(values)
        others = sum(1 for v in values if v is not True and v is not False)
        return low <= share <= high and others == 0, f"{share:.1%} true"

    return verdict


def _split(expected: dict[str, float], tolerance: float) -> Callable[[Sequence[Value]], tuple[bool, str]]:
    def verdict(values: Sequence[Value]) -> tuple[bool, str]:
        counts = Counter(values)
        shares = {value: counts[value] / len(values) for value in expected}
        unexpected = set(counts) - set(expected)
        ok = not unexpected and all(abs(shares[v] - expected[v]) <= tolerance for v in expected)
        observed = "/".join(f"{shares[v]:.1%}" for v in expected)
        return ok, observed + (f", unexpected {sorted(map(str, unexpected))}" if unexpected else "")

    return verdict


def all_cases() -> tuple[Case, ...]:
    rotating = sc.rotating_people()
    members = sc.segment_people()
    split = {value: percent / 100 for value, percent in sc.S5.variants}
    rule_checks = tuple(
        Check(f"rule '{rule}' serves true", people, _all_equal(True))
        for rule, people in sc.rule_probes().items()
    )
    return (
        Case(
            "S1",
            "boolean flag, on, no targeting",
            sc.S1.key,
            "boolean",
            False,
            rotating,
            (Check("true for everyone", rotating, _all_equal(True)),),
        ),
        Case(
            "S2",
            "10% rollout, 10,000 rotating keys",
            sc.S2.key,
            "boolean",
            False,
            rotating,
            (Check("about 10% true", rotating, _share_true(0.085, 0.115)),),
        ),
        Case(
            "S3",
            "5 rules, the last (segment of 1,000) matches",
            sc.S3.key,
            "boolean",
            False,
            members,
            (
                Check("segment members get true", members, _all_equal(True)),
                *rule_checks,
                Check("about 25% of non-matching contexts true", sc.outsiders(), _share_true(0.216, 0.284)),
            ),
        ),
        Case(
            "S4",
            "unknown flag, default served",
            sc.UNKNOWN_FLAG_KEY,
            "boolean",
            True,
            rotating,
            (Check("the default (true) is served", rotating[:1_000], _all_equal(True)),),
        ),
        Case(
            "S5",
            "string flag, 50/30/20 variants, rotating keys",
            sc.S5.key,
            "string",
            "default",
            rotating,
            (Check("50/30/20 split", rotating, _split(split, tolerance=0.015)),),
        ),
    )
