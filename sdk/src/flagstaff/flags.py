"""Compiled flags and the evaluation order: disabled, prerequisites, targets, rules, fallthrough.

A flag is compiled once when a snapshot is loaded; every result that does not depend on the context is built
then (as shared ``Evaluation`` objects), so evaluating allocates nothing on the common paths.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flagstaff.bucketing import bucket_value, hashable
from flagstaff.clauses import NOW_ATTRIBUTE, SEGMENT_MATCH, all_of, compile_clause
from flagstaff.coverage import compile_coverage
from flagstaff.evaluation import ErrorCode, Evaluation, Reason, error, failure, served
from flagstaff.keys import check_key
from flagstaff.limits import MAX_VARIATIONS
from flagstaff.lookup import Lookup, Matcher
from flagstaff.problems import Problem, Reader, join, type_name
from flagstaff.rollouts import Rollout, compile_rollout

KINDS = ("boolean", "string", "number", "json")
DEFAULT_TYPES: dict[str, frozenset[type]] = {
    "boolean": frozenset({bool}),
    "string": frozenset({str}),
    "number": frozenset({int, float}),
    "json": frozenset({dict, list, str, int, float, bool}),
}
"""Python types of a caller's default that certainly fit a flag of each kind (a fast, partial check)."""
FLAG_FIELDS = frozenset(
    {
        "key",
        "kind",
        "variations",
        "enabled",
        "off_variation",
        "targets",
        "rules",
        "fallthrough",
        "prerequisites",
        "salt",
        "track_events",
        "version",
    }
)
TARGET_FIELDS = frozenset({"variation", "values"})
RULE_FIELDS = frozenset({"id", "clauses", "serve", "coverage"})
SERVE_FIELDS = frozenset({"variation", "rollout"})
PREREQUISITE_FIELDS = frozenset({"flag", "variation"})

Serve = Evaluation | Rollout
Rule = tuple[Matcher, Serve]
"""A rule: one matcher standing for all its clauses, and what it serves."""
Decide = Callable[[Mapping[str, Any], Lookup, float | None], Evaluation]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Flag:
    """One compiled flag. Its ``decide`` is the one decision every flag check makes, and never raises."""

    key: str
    kind: str
    version: int
    variations: tuple[Any, ...]
    enabled: bool
    off: Evaluation
    fallthrough: Serve
    prerequisites: tuple[tuple[str, int], ...] = ()
    targets: Mapping[str, Evaluation] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    static: Evaluation | None = None
    """The result for every context, when it depends on none (a disabled flag, a flag serving one value)."""
    tests_now: bool = False
    """A rule tests the clock (``now``), or a prerequisite might."""
    track_events: bool = False
    """``client.track`` outcomes are attributed to the variation this flag serves the tracked context."""
    reads_segments: bool = False
    """A rule tests segment membership."""
    segments_test_now: bool = False
    """Set by the snapshot holding this flag: one of its segments has a rule on ``now``."""
    uses_now: bool = field(init=False)
    """Whether an evaluation needs the clock."""
    is_boolean: bool = field(init=False)
    default_types: frozenset[type] = field(init=False)
    decide: Decide = field(init=False)
    """The narrowest function that gives this flag's result: a flag that is only a rollout skips the checks
    for prerequisites, targets and rules that it does not have. ``static`` flags need no call at all."""
    counts: list[float] = field(init=False, repr=False)
    """A client's checks of this compiled flag, by variation index served; the last cell (index -1) counts
    the checks that served the caller's default. The one mutable part of a flag: a client adds one to a cell
    per check and its metrics gather them (``flagstaff.metrics``); the engine never reads or writes it.
    Floats, exact to 2**53: adding 1.0 to a float takes its result from CPython's float free list, where
    adding 1 to an int above 256 allocates (a third of the cost of a count, measured in bench/README.md)."""

    def __post_init__(self) -> None:
        # Derived once, here, so the hot path reads one attribute instead of working each out per call.
        fallthrough = self.fallthrough
        targeted = self.prerequisites or self.targets or self.rules
        only_rollout = isinstance(fallthrough, Rollout) and not targeted
        derived = {
            "uses_now": self.tests_now or (self.reads_segments and self.segments_test_now),
            "is_boolean": self.kind == "boolean",
            "default_types": DEFAULT_TYPES.get(self.kind, frozenset()),
            "decide": fallthrough.decide if only_rollout else self.evaluate,  # type: ignore[union-attr]
            "counts": [0.0] * (len(self.variations) + 1),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def evaluate(
        self, ctx: Mapping[str, Any], snap: Lookup, now: float | None, chain: tuple[str, ...] = ()
    ) -> Evaluation:
        """This flag's result for ``ctx``. Never raises: a context that breaks a test (an odd mapping, say)
        gives a ``GENERAL`` error (the ``try`` costs nothing until something raises)."""
        try:
            if self.static is not None:
                return self.static
            if self.prerequisites:
                failed = self._failed_prerequisite(ctx, snap, now, chain)
                if failed is not None:
                    return failed
            if self.targets:
                key = ctx.get("key")
                target = self.targets.get(key if type(key) is str else bucket_value(key))  # type: ignore[arg-type]
                if target is not None:
                    return target
            for matches, serve in self.rules:
                if matches(ctx, snap, now):
                    return serve if serve.__class__ is Evaluation else serve.decide(ctx, snap, now)  # type: ignore[union-attr]
            serve = self.fallthrough
            return serve if serve.__class__ is Evaluation else serve.decide(ctx, snap, now)  # type: ignore[union-attr]
        except Exception as exc:
            return failure(exc)

    def _failed_prerequisite(
        self, ctx: Mapping[str, Any], snap: Lookup, now: float | None, chain: tuple[str, ...]
    ) -> Evaluation | None:
        chain = (*chain, self.key)
        for key, required in self.prerequisites:
            if key in chain:
                return error(ErrorCode.GENERAL, "prerequisite cycle: " + " -> ".join((*chain, key)))
            flag = snap.flag(key)
            if flag is None:
                result = None
            else:
                result = flag.evaluate(ctx, snap, now, chain)
                if result.reason is Reason.ERROR and result.error_code is ErrorCode.GENERAL:
                    return result
            if result is None or result.variation_index != required:
                off = self.off
                return Evaluation(
                    off.value,
                    off.variation_index,
                    Reason.PREREQUISITE_FAILED,
                    None,
                    None,
                    f"prerequisite {key!r} did not serve variation {required}",
                )
        return None


def broken_flag(key: str, problems: list[Problem], version: int = -1) -> Flag:
    """A flag whose data could not be read: every evaluation reports PARSE_ERROR and serves the default.

    It keeps the version it arrived with, so a late, older update still cannot replace it."""
    message = "; ".join(str(p) for p in problems if p.fatal)[:500]
    static = error(ErrorCode.PARSE_ERROR, f"flag {key!r} is invalid: {message}")
    return Flag(
        key=key,
        kind="",
        version=version,
        variations=(),
        enabled=False,
        off=static,
        fallthrough=static,
        static=static,
    )


def compile_flag(raw: object, path: str, problems: list[Problem]) -> Flag:
    r = Reader(raw, path, problems, FLAG_FIELDS)
    key: str = r.get("key", str, "", required=True)
    check_key(key, join(path, "key"), problems)
    kind: str = r.get("kind", str, "json", required=True)
    if kind not in KINDS:
        r.fail("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    variations = tuple(_variations(r, kind))
    n = len(variations)
    version: int = r.get("version", int, 0, required=True)
    if version < 0:
        r.fail("version", "must be >= 0")
    enabled: bool = r.get("enabled", bool, False, required=True)
    track_events: bool = r.get("track_events", bool, False)
    salt: str = r.get("salt", str, key)
    if not hashable(salt):
        r.fail("salt", "must be valid Unicode (no lone surrogates)")
        salt = key
    off_index = r.index("off_variation", n)
    off = served(None if off_index is None else variations[off_index], off_index, Reason.DISABLED)
    prerequisites = _prerequisites(r, path, problems)
    targets = _targets(r, path, problems, variations)
    rules, tests_now, reads_segments = _rules(r, path, problems, salt, variations)
    has_targeting = bool(prerequisites or targets or rules)
    reason = Reason.DEFAULT if has_targeting else Reason.STATIC
    fallthrough = _serve(r, "fallthrough", salt, variations, reason, None)
    static: Evaluation | None = None
    if not enabled:
        static = off
    elif not has_targeting and isinstance(fallthrough, Evaluation):
        static = fallthrough
    return Flag(
        key=key,
        kind=kind,
        version=version,
        variations=variations,
        enabled=enabled,
        off=off,
        fallthrough=fallthrough if fallthrough is not None else off,
        prerequisites=prerequisites,
        targets=targets,
        rules=rules,
        static=static,
        tests_now=tests_now or bool(prerequisites),  # a prerequisite may test the clock
        reads_segments=reads_segments,
        track_events=track_events,
    )


def _variations(r: Reader, kind: str) -> list[Any]:
    values: list[Any] = r.get("variations", list, [], required=True)
    if "variations" in r.raw and not values:
        r.fail("variations", "must hold at least one value")
    if len(values) > MAX_VARIATIONS:
        r.fail("variations", f"at most {MAX_VARIATIONS} variations")
    for i, v in enumerate(values):
        if not is_kind(v, kind):
            r.fail(join("variations", i), f"a {kind} flag's variations must be {kind}s, not {type_name(v)}")
    return values


def is_kind(v: object, kind: str) -> bool:
    """Whether ``v`` is a value of a flag of this kind (``json``: any value)."""
    if kind == "boolean":
        return isinstance(v, bool)
    if kind == "string":
        return isinstance(v, str)
    if kind == "number":
        return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    return True


def _prerequisites(r: Reader, path: str, problems: list[Problem]) -> tuple[tuple[str, int], ...]:
    result: list[tuple[str, int]] = []
    for i, raw in enumerate(r.get("prerequisites", list, [])):
        pr = Reader(raw, join(join(path, "prerequisites"), i), problems, PREREQUISITE_FIELDS)
        key: str | None = pr.get("flag", str, required=True)
        index: int | None = pr.get("variation", int, required=True)
        if index is not None and index < 0:
            pr.fail("variation", "must be >= 0")
        elif key is not None and index is not None:
            result.append((key, index))
    return tuple(result)


def _targets(
    r: Reader, path: str, problems: list[Problem], variations: tuple[Any, ...]
) -> dict[str, Evaluation]:
    targets: dict[str, Evaluation] = {}
    for i, raw in enumerate(r.get("targets", list, [])):
        tr = Reader(raw, join(join(path, "targets"), i), problems, TARGET_FIELDS)
        index = tr.index("variation", len(variations), required=True)
        keys: list[Any] = tr.get("values", list, [], required=True)
        if index is None:
            continue
        serves = served(variations[index], index, Reason.TARGETING_MATCH)
        for j, k in enumerate(keys):
            if not isinstance(k, str):
                tr.fail(join("values", j), "must be a string context key")
            elif k in targets:
                tr.fail(join("values", j), f"context key {k!r} is targeted twice")
            else:
                targets[k] = serves
    return targets


def _rules(
    r: Reader, path: str, problems: list[Problem], salt: str, variations: tuple[Any, ...]
) -> tuple[tuple[Rule, ...], bool, bool]:
    """The rules, whether any tests the clock, and whether any tests segment membership."""
    rules: list[Rule] = []
    ids: set[str] = set()
    tests_now = reads_segments = False
    for i, raw in enumerate(r.get("rules", list, [])):
        rule_path = join(join(path, "rules"), i)
        rr = Reader(raw, rule_path, problems, RULE_FIELDS)
        rule_id: str = rr.get("id", str, f"#{i}", required=True)
        if rule_id in ids:
            rr.fail("id", f"duplicate rule id {rule_id!r}")
        ids.add(rule_id)
        raw_clauses: list[Any] = rr.get("clauses", list, [], required=True)
        clauses = tuple(
            compile_clause(c, join(join(rule_path, "clauses"), j), problems)
            for j, c in enumerate(raw_clauses)
        )
        if "coverage" in rr.raw:
            covered = compile_coverage(rr.raw["coverage"], join(rule_path, "coverage"), problems, salt)
            if covered is not None:
                clauses = (*clauses, covered)  # last: the hash runs only once the cheaper clauses matched
        tests_now = tests_now or any(
            type(c) is dict and c.get("attribute") == NOW_ATTRIBUTE for c in raw_clauses
        )
        reads_segments = reads_segments or any(
            type(c) is dict and c.get("op") == SEGMENT_MATCH for c in raw_clauses
        )
        serve = _serve(rr, "serve", salt, variations, Reason.TARGETING_MATCH, rule_id)
        if serve is not None:
            rules.append((all_of(clauses), serve))
    return tuple(rules), tests_now, reads_segments


def _serve(
    parent: Reader, name: str, salt: str, variations: tuple[Any, ...], reason: Reason, rule_id: str | None
) -> Serve | None:
    """What the required field ``name`` of ``parent`` (a flag's fallthrough, a rule's serve) serves."""
    raw = parent.get(name, dict, required=True)
    if raw is None:
        return None
    path, problems = join(parent.path, name), parent.problems
    r = Reader(raw, path, problems, SERVE_FIELDS)
    if ("variation" in r.raw) == ("rollout" in r.raw):
        r.fail("", "must hold exactly one of 'variation' or 'rollout'")
        return None
    if "rollout" in r.raw:
        return compile_rollout(
            r.raw["rollout"], join(path, "rollout"), problems, salt, variations, Reason.SPLIT, rule_id
        )
    index = r.index("variation", len(variations), required=True)
    if index is None:
        return None
    return served(variations[index], index, reason, rule_id)
