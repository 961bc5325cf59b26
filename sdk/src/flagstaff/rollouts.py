"""Compiled rollouts: a context's bucket decides which weighted variation it gets."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mmh3

from flagstaff.bucketing import (
    ALGORITHMS,
    BUCKETS,
    DEFAULT_ALGORITHM,
    MISSING_VALUE_BUCKET,
    Bucketer,
    bucket_value,
    hashable,
)
from flagstaff.evaluation import ErrorCode, Evaluation, Reason, failure, served
from flagstaff.problems import Problem, Reader, join

BUCKETING_FIELDS = frozenset({"algorithm", "bucket_by", "salt", "seed", "modulus"})
"""The fields of every hashed share of contexts: a rollout's, and a rule's coverage."""
ROLLOUT_FIELDS = BUCKETING_FIELDS | {"variations"}
WEIGHT_FIELDS = frozenset({"variation", "weight"})
_hash32 = mmh3.hash


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Rollout:
    """Cumulative thresholds over the buckets; a context gets the first whose threshold exceeds its bucket."""

    bucket_by: str
    bucketer: Callable[[str], int]
    thresholds: tuple[int, ...]
    """Only non-zero weights are kept, so thresholds strictly increase and the last is BUCKETS: bisect_right
    finds the first threshold above the bucket in C, with no Python loop."""
    evaluations: tuple[Evaluation, ...]
    """What each threshold's share of the buckets is served."""
    missing: Evaluation
    mmh3_prefix: str | None = None
    """``"{salt}:"`` when the algorithm is the default ``mmh3-v1``, which ``decide`` then runs inline."""
    hash_thresholds: tuple[int, ...] = field(init=False)
    hash_split: int | None = field(init=False)

    def __post_init__(self) -> None:
        # For mmh3-v1, the thresholds scaled up to the raw 32-bit hash: (h * BUCKETS) >> 32 < t exactly when
        # h < ceil(t * 2**32 / BUCKETS), so the bucket itself need not be computed per call.
        hash_thresholds = tuple(-(-(t << 32) // BUCKETS) for t in self.thresholds)
        object.__setattr__(self, "hash_thresholds", hash_thresholds)
        object.__setattr__(self, "hash_split", hash_thresholds[0] if len(hash_thresholds) == 2 else None)

    def decide(self, ctx: Mapping[str, Any], snap: object = None, now: object = None) -> Evaluation:
        """The variation for ``ctx`` (``snap`` and ``now`` are unused: the signature of every decision).
        Never raises: an odd context gives a ``GENERAL`` error."""
        try:
            v = ctx.get(self.bucket_by)
            text = v if type(v) is str and v.isascii() else bucket_value(v)
            if text is None:
                return self.missing
            prefix = self.mmh3_prefix
            if prefix is not None:
                # The default algorithm, bucketing.mmh3_v1, inlined on the SDK's hottest path; test_bucketing
                # holds it equal to flagstaff.bucket, boundaries included.
                h = _hash32(prefix + text, 0, False)
                split = self.hash_split
                if split is not None:
                    return self.evaluations[h >= split]
                return self.evaluations[bisect_right(self.hash_thresholds, h)]
            return self.evaluations[bisect_right(self.thresholds, self.bucketer(text))]
        except Exception as exc:
            return failure(exc)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bucketing:
    bucket_by: str
    """The context attribute hashed."""
    bucketer: Bucketer
    mmh3_prefix: str | None
    """``"{salt}:"`` for the default algorithm, ``mmh3-v1``, which the hot paths run inline; else ``None``."""


def compile_bucketing(r: Reader, salt: str) -> Bucketing | None:
    """How a rollout or a coverage hashes contexts, read from its ``BUCKETING_FIELDS``; ``None`` if one is
    invalid, with the problems recorded. ``salt`` is the flag's, used unless the object names its own
    (imported data has one per strategy)."""
    algorithm: str = r.get("algorithm", str, DEFAULT_ALGORITHM)
    bucket_by: str = r.get("bucket_by", str, "key")
    salt = r.get("salt", str, salt)
    seed: int | None = r.get("seed", int)
    # For algorithms that hash into fewer slots than BUCKETS before scaling: that number of slots.
    modulus: int | None = r.get("modulus", int)
    valid = True
    if not hashable(salt):
        r.fail("salt", "must be valid Unicode (no lone surrogates)")
        valid = False
    if modulus is not None and not 1 <= modulus <= BUCKETS:
        r.fail("modulus", f"must be between 1 and {BUCKETS}")
        valid = False
    factory = ALGORITHMS.get(algorithm)
    if factory is None:
        known = ", ".join(sorted(ALGORITHMS))
        r.fail("algorithm", f"unknown bucketing algorithm {algorithm!r}; known: {known}")
        valid = False
    if factory is None or not valid:
        return None
    prefix = f"{salt}:" if algorithm == DEFAULT_ALGORITHM else None
    return Bucketing(bucket_by=bucket_by, bucketer=factory(salt, seed, modulus), mmh3_prefix=prefix)


def compile_rollout(
    raw: object,
    path: str,
    problems: list[Problem],
    salt: str,
    variations: Sequence[Any],
    reason: Reason,
    rule_id: str | None,
) -> Rollout | None:
    r = Reader(raw, path, problems, ROLLOUT_FIELDS)
    bucketing = compile_bucketing(r, salt)
    weights: list[Any] = r.get("variations", list, [], required=True)
    if not weights:
        r.fail("variations", "must list at least one weighted variation")
    steps: list[tuple[int, Evaluation]] = []
    cumulative = 0
    ok = True
    for i, raw_weight in enumerate(weights):
        wr = Reader(raw_weight, join(join(path, "variations"), i), problems, WEIGHT_FIELDS)
        index = wr.index("variation", len(variations), required=True)
        weight: int | None = wr.get("weight", int, required=True)
        if weight is not None and weight < 0:
            wr.fail("weight", "must be >= 0")
            weight = None
        if index is None or weight is None:
            ok = False
            continue
        cumulative += weight
        if weight:
            steps.append((cumulative, served(variations[index], index, reason, rule_id)))
    if ok and weights and cumulative != BUCKETS:
        r.fail("variations", f"weights must sum to {BUCKETS} (100%), not {cumulative}")
        ok = False
    if not ok or bucketing is None or not steps:
        return None
    last = steps[-1][1]
    missing = Evaluation(
        last.value,
        last.variation_index,
        reason,
        rule_id,
        ErrorCode.TARGETING_KEY_MISSING,
        f"the context has no {bucketing.bucket_by!r} to bucket by; served bucket {MISSING_VALUE_BUCKET}",
    )
    return Rollout(
        bucket_by=bucketing.bucket_by,
        bucketer=bucketing.bucketer,
        thresholds=tuple(threshold for threshold, _ in steps),
        evaluations=tuple(evaluation for _, evaluation in steps),
        missing=missing,
        mmh3_prefix=bucketing.mmh3_prefix,
    )
