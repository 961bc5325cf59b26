"""Rule coverage: a rule that applies to a hashed share of the contexts its clauses match.

Compiled into one more matcher at the end of the rule's clauses, so the evaluation loop is unchanged. A
context outside the share (or without the attribute) does not match the rule; evaluation moves on.
"""

from __future__ import annotations

from typing import Any

from flagstaff.bucketing import (
    ALGORITHMS,
    BUCKETS,
    DEFAULT_ALGORITHM,
    MISSING_VALUE_BUCKET,
    bucket_value,
    hashable,
)
from flagstaff.lookup import Context, Lookup, Matcher
from flagstaff.problems import Problem, Reader

COVERAGE_FIELDS = frozenset({"algorithm", "bucket_by", "salt", "seed", "modulus", "weight"})


def compile_coverage(raw: object, path: str, problems: list[Problem], salt: str) -> Matcher | None:
    """A matcher, true for contexts whose bucket is below ``weight``; ``None`` if ``raw`` is invalid."""
    r = Reader(raw, path, problems, COVERAGE_FIELDS)
    algorithm: str = r.get("algorithm", str, DEFAULT_ALGORITHM)
    bucket_by: str = r.get("bucket_by", str, "key")
    salt = r.get("salt", str, salt)
    if not hashable(salt):
        r.fail("salt", "must be valid Unicode (no lone surrogates)")
    seed: int | None = r.get("seed", int)
    modulus: int | None = r.get("modulus", int)
    weight: int | None = r.get("weight", int, required=True)
    factory = ALGORITHMS.get(algorithm)
    if factory is None:
        r.fail(
            "algorithm", f"unknown bucketing algorithm {algorithm!r}; known: {', '.join(sorted(ALGORITHMS))}"
        )
    if modulus is not None and not 1 <= modulus <= BUCKETS:
        r.fail("modulus", f"must be between 1 and {BUCKETS}")
        return None
    if weight is not None and not 0 <= weight <= BUCKETS:
        r.fail("weight", f"must be between 0 and {BUCKETS}")
        return None
    if factory is None or weight is None:
        return None
    bucketer = factory(salt, seed, modulus)
    # Like a rollout, a context without the attribute sits in the last bucket: covered only at 100%.
    missing = weight > MISSING_VALUE_BUCKET
    share = weight

    def covered(ctx: Context, snap: Lookup, now: float | None) -> bool:
        v: Any = ctx.get(bucket_by)
        text = v if type(v) is str and v.isascii() else bucket_value(v)
        if text is None:
            return missing
        return bucketer(text) < share

    return covered
