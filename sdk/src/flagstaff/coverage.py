"""Rule coverage: a rule that applies to a hashed share of the contexts its clauses match.

Compiled into one more matcher at the end of the rule's clauses, so the evaluation loop is unchanged. A
context outside the share (or without the attribute) does not match the rule; evaluation moves on.
"""

from __future__ import annotations

from typing import Any

from flagstaff.bucketing import BUCKETS, MISSING_VALUE_BUCKET, bucket_value
from flagstaff.lookup import Context, Lookup, Matcher
from flagstaff.problems import Problem, Reader
from flagstaff.rollouts import BUCKETING_FIELDS, compile_bucketing

COVERAGE_FIELDS = BUCKETING_FIELDS | {"weight"}


def compile_coverage(raw: object, path: str, problems: list[Problem], salt: str) -> Matcher | None:
    """A matcher, true for contexts whose bucket is below ``weight``; ``None`` if ``raw`` is invalid."""
    r = Reader(raw, path, problems, COVERAGE_FIELDS)
    bucketing = compile_bucketing(r, salt)
    weight: int | None = r.get("weight", int, required=True)
    if weight is not None and not 0 <= weight <= BUCKETS:
        r.fail("weight", f"must be between 0 and {BUCKETS}")
        return None
    if bucketing is None or weight is None:
        return None
    bucket_by, bucketer = bucketing.bucket_by, bucketing.bucketer
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
