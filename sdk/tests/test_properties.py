"""Property-based tests: whatever the context and whatever well-formed flag, evaluation never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import flagstaff
from flagstaff import Client, Reason
from flagstaff.operators import OPERATORS

ATTRIBUTES = ["key", "country", "email", "age", "version", "ip", "now", "groups", "missing"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "1.2.3",
            "2.3.0-rc.1",
            "10.0.0.1",
            "2001:db8::1",
            "2024-01-01T00:00:00Z",
            "NL",
            "",
            "\ud800",
            "k\udfff",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
contexts = st.one_of(
    st.dictionaries(st.sampled_from(ATTRIBUTES) | st.text(max_size=5), values, max_size=8),
    values,  # not even a mapping
)


@st.composite
def clauses(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(sorted(OPERATORS)))
    pool = {
        "in": st.lists(st.one_of(st.text(max_size=5), st.integers(), st.booleans()), min_size=1, max_size=3),
        "matches": st.lists(
            st.sampled_from(["^a", "b+$", r"\d{2}", "(x|y)*z", "[a-f]+"]), min_size=1, max_size=2
        ),
        "before": st.lists(st.sampled_from(["2024-01-01T00:00:00Z", 1700000000]), min_size=1, max_size=2),
        "in_cidr": st.lists(
            st.sampled_from(["10.0.0.0/8", "2001:db8::/32", "1.2.3.4"]), min_size=1, max_size=2
        ),
        "semver": st.lists(st.sampled_from(["1.0.0", "2.3", "v3.0.0-beta.1"]), min_size=1, max_size=2),
        "number": st.lists(
            st.integers() | st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=2
        ),
        "segment_match": st.lists(st.sampled_from(["seg", "unknown"]), min_size=1, max_size=2),
        "text": st.lists(st.text(max_size=5), min_size=1, max_size=3),
    }
    if op in ("before", "after"):
        vals = draw(pool["before"])
    elif op.startswith("semver"):
        vals = draw(pool["semver"])
    elif op in ("lt", "lte", "gt", "gte"):
        vals = draw(pool["number"])
    elif op in ("starts_with", "ends_with", "contains"):
        vals = draw(pool["text"])
    elif op == "exists":
        vals = []
    else:
        vals = draw(pool[op])
    clause: dict[str, Any] = {
        "attribute": draw(st.sampled_from(ATTRIBUTES)),
        "op": op,
        "values": vals,
        "negate": draw(st.booleans()),
    }
    if op in ("in", "starts_with", "ends_with", "contains", "matches"):
        clause["case_insensitive"] = draw(st.booleans())
    return clause


@st.composite
def serves(draw: st.DrawFn, n: int) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"variation": draw(st.integers(0, n - 1))}
    first = draw(st.integers(0, 100_000))
    return {
        "rollout": {
            "bucket_by": draw(st.sampled_from(["key", "email", "age"])),
            "variations": [
                {"variation": 0, "weight": first},
                {"variation": n - 1, "weight": 100_000 - first},
            ],
        }
    }


@st.composite
def flags(draw: st.DrawFn) -> dict[str, Any]:
    variations = draw(st.lists(st.booleans(), min_size=2, max_size=2))
    n = len(variations)
    return {
        "key": "f",
        "kind": "boolean",
        "variations": variations,
        "enabled": draw(st.booleans()),
        "off_variation": draw(st.none() | st.integers(0, n - 1)),
        "targets": [{"variation": 0, "values": draw(st.lists(st.text(max_size=4), max_size=3, unique=True))}],
        "rules": [
            {"id": f"r{i}", "clauses": draw(st.lists(clauses(), max_size=3)), "serve": draw(serves(n))}
            for i in range(draw(st.integers(0, 3)))
        ],
        "fallthrough": draw(serves(n)),
        "prerequisites": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"flag": st.sampled_from(["g", "f", "missing"]), "variation": st.integers(0, 1)}
                ),
                max_size=2,
            )
        ),
        "version": 1,
    }


SEGMENT = {
    "key": "seg",
    "included": ["a"],
    "excluded": ["b"],
    "version": 1,
    "rules": [{"id": "s", "clauses": [{"attribute": "email", "op": "ends_with", "values": ["@x"]}]}],
}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(flag=flags(), context=contexts, now=st.none() | st.floats(allow_nan=False))
def test_well_formed_flags_never_raise_for_any_context(flag: dict[str, Any], context: Any, now: Any) -> None:
    other = {**flag, "key": "g", "prerequisites": [{"flag": "f", "variation": 0}]}
    snapshot = {"format": 1, "revision": 1, "flags": {"f": flag, "g": other}, "segments": {"seg": SEGMENT}}

    result = flagstaff.load_snapshot(snapshot).evaluate("f", context, now=now)
    client = Client.from_dict(snapshot)

    assert isinstance(result, flagstaff.Evaluation)
    assert (
        result.reason is Reason.ERROR
        or result.variation_index is not None
        or not flag["enabled"]
        or (result.reason is Reason.PREREQUISITE_FAILED)
    )
    assert isinstance(client.is_enabled("f", context), bool)
    assert client.variation("g", context, default="x") == "x"  # a string default for a boolean flag: mismatch


@settings(max_examples=200, deadline=None)
@given(data=values)
def test_arbitrary_flag_data_never_raises_while_loading(data: Any) -> None:
    snapshot = {"format": 1, "revision": 1, "flags": {"f": data}, "segments": {}}
    assert flagstaff.validate_snapshot(snapshot) != []
    assert Client.from_dict(snapshot).is_enabled("f", {"key": "k"}, default=True) is True
