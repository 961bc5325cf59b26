"""What changed between two versions of a flag, as readable lines: "Turned off", "Rule vip added: If ...".

Reads two wire-format flags (history payloads; ``None`` for "did not exist") and returns structured lines
whose sentences are tokens (see ``sentences``), so a template escapes every value. Pure; never raises.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app.console.sentences import (
    Sentence,
    Token,
    all_sentences,
    as_list,
    bucketing,
    coverage_share,
    describe_clause,
    describe_flag,
    describe_prerequisite,
    describe_rule,
    describe_serve,
    listed,
    percent,
    plain,
    value_text,
    variation_token,
    words,
)

ChangeKind = Literal["added", "removed", "changed"]
_MARKS = {"added": "+", "removed": "-", "changed": "~"}
# Fields of the flag definition shown as "key: before -> after"; the version is left out, it always changes.
_PLAIN_FIELDS = ("key", "kind", "variations", "salt")


@dataclass(frozen=True, slots=True)
class DiffLine:
    change: ChangeKind
    field: str
    """The part of the flag: ``enabled``, ``targets``, ``rules[vip]``, ``fallthrough``..."""
    sentence: Sentence


def diff_flags(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    other_flags: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[DiffLine, ...]:
    """The lines that take ``before`` to ``after``, in the order a flag is evaluated; empty if equal."""
    if before is None and after is None:
        return ()
    if after is None:
        return (DiffLine("removed", "flag", words("Flag deleted")),)
    if before is None:
        created = [DiffLine("added", "flag", words("Flag created"))]
        targeting = all_sentences(describe_flag(after, other_flags))
        return tuple(created + [DiffLine("added", "targeting", sentence) for sentence in targeting])
    return (
        *_definition(before, after),
        *_switch(before, after),
        *_prerequisites(before, after, other_flags),
        *_targets(before, after),
        *_rules(before, after),
        *_fallthrough(before, after),
    )


def diff_fields(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> tuple[DiffLine, ...]:
    """For anything else the audit log records (a flag's definition, a segment, a key): each field that was
    added, removed or changed, with its values. The version is left out: it changes every time."""
    old, new = before or {}, after or {}
    lines = []
    for name in dict.fromkeys([*new, *old]):
        if name == "version" or _canonical(old.get(name)) == _canonical(new.get(name)):
            continue
        if name not in old:
            lines.append(
                DiffLine("added", name, (*words(f"{name}: "), Token(value_text(new[name]), "value")))
            )
        elif name not in new:
            lines.append(
                DiffLine("removed", name, (*words(f"{name}: "), Token(value_text(old[name]), "value")))
            )
        else:
            lines.append(DiffLine("changed", name, _was(words(f"{name}: "), old[name], new[name])))
    return tuple(lines)


def plain_diff(lines: Iterable[DiffLine]) -> list[str]:
    """``+``, ``-`` or ``~``, then the sentence: for tests and logs."""
    return [f"{_MARKS[line.change]} {plain(line.sentence)}" for line in lines]


def _definition(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterable[DiffLine]:
    for name in _PLAIN_FIELDS:
        if _canonical(before.get(name)) != _canonical(after.get(name)):
            yield DiffLine("changed", name, _was(words(f"{name}: "), before.get(name), after.get(name)))
    if bool(before.get("track_events")) != bool(after.get("track_events")):
        tracking = "Events tracked" if after.get("track_events") else "Events no longer tracked"
        yield DiffLine("changed", "track_events", words(tracking))


def _switch(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterable[DiffLine]:
    variations = as_list(after.get("variations"))
    if (before.get("enabled") is not False) != (after.get("enabled") is not False):
        yield DiffLine("changed", "enabled", words("Turned on" if after.get("enabled") else "Turned off"))
    if before.get("off_variation") != after.get("off_variation"):
        yield DiffLine(
            "changed",
            "off_variation",
            words("When off, serves ")
            + _off(after.get("off_variation"), variations)
            + words(" (was ")
            + _off(before.get("off_variation"), as_list(before.get("variations")))
            + words(")"),
        )


def _prerequisites(
    before: Mapping[str, Any], after: Mapping[str, Any], other_flags: Mapping[str, Mapping[str, Any]] | None
) -> Iterable[DiffLine]:
    old, new = _dicts(before.get("prerequisites")), _dicts(after.get("prerequisites"))
    removed, added = _unmatched(old, new)
    for side, change, prerequisites in ((before, "removed", removed), (after, "added", added)):
        for p in prerequisites:
            sentence = describe_prerequisite(
                p, side.get("off_variation"), as_list(side.get("variations")), other_flags
            )
            label = "Prerequisite added: " if change == "added" else "Prerequisite removed: "
            yield DiffLine(
                "added" if change == "added" else "removed", "prerequisites", words(label) + sentence
            )


def _targets(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterable[DiffLine]:
    old, new = _target_map(before), _target_map(after)
    old_variations, new_variations = as_list(before.get("variations")), as_list(after.get("variations"))
    added: dict[int, list[str]] = {}
    removed: dict[int, list[str]] = {}
    moved: dict[tuple[int, int], list[str]] = {}
    for key, variation in new.items():
        if key not in old:
            added.setdefault(variation, []).append(key)
        elif old[key] != variation:
            moved.setdefault((old[key], variation), []).append(key)
    for key, variation in old.items():
        if key not in new:
            removed.setdefault(variation, []).append(key)
    for variation, keys in added.items():
        yield DiffLine(
            "added",
            "targets",
            _users(keys) + words(" now ") + _get(keys) + variation_token(variation, new_variations),
        )
    for variation, keys in removed.items():
        yield DiffLine(
            "removed",
            "targets",
            _users(keys) + words(" no longer ") + _get(keys) + variation_token(variation, old_variations),
        )
    for (was, now), keys in moved.items():
        yield DiffLine(
            "changed",
            "targets",
            _users(keys)
            + words(" now ")
            + _get(keys)
            + variation_token(now, new_variations)
            + words(" (was ")
            + variation_token(was, old_variations)
            + words(")"),
        )


def _rules(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterable[DiffLine]:
    old_variations, new_variations = as_list(before.get("variations")), as_list(after.get("variations"))
    old = {str(rule.get("id", "")): rule for rule in _dicts(before.get("rules"))}
    new = {str(rule.get("id", "")): rule for rule in _dicts(after.get("rules"))}
    for rule_id, rule in old.items():
        if rule_id not in new:
            yield DiffLine(
                "removed",
                _rule_field(rule_id),
                _rule_label(rule_id, " removed: ") + describe_rule(rule, old_variations),
            )
    for rule_id, rule in new.items():
        if rule_id not in old:
            yield DiffLine(
                "added",
                _rule_field(rule_id),
                _rule_label(rule_id, " added: ") + describe_rule(rule, new_variations),
            )
        elif _canonical(rule) != _canonical(old[rule_id]):
            yield from _rule_changes(rule_id, old[rule_id], rule, old_variations, new_variations)
    kept_before = [rule_id for rule_id in old if rule_id in new]
    kept_after = [rule_id for rule_id in new if rule_id in old]
    if kept_before != kept_after:
        yield DiffLine(
            "changed",
            "rules",
            words("Rules reordered: ")
            + listed(kept_after)
            + words(" (was ")
            + listed(kept_before)
            + words(")"),
        )


def _rule_changes(
    rule_id: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_variations: Sequence[Any],
    new_variations: Sequence[Any],
) -> Iterable[DiffLine]:
    field = _rule_field(rule_id)
    label = _rule_label(rule_id, ": ")
    removed, added = _unmatched(_dicts(old.get("clauses")), _dicts(new.get("clauses")))
    for was, now in _pair_alike(removed, added):
        yield DiffLine("changed", field, label + describe_clause(now) + _value_changes(was, now))
    for clause in removed:
        yield DiffLine("removed", field, label + words("condition removed: ") + describe_clause(clause))
    for clause in added:
        yield DiffLine("added", field, label + words("condition added: ") + describe_clause(clause))
    old_coverage, new_coverage = old.get("coverage"), new.get("coverage")
    if _canonical(old_coverage) != _canonical(new_coverage):
        yield DiffLine(
            "changed",
            field,
            label
            + words("applies to ")
            + _share(new_coverage)
            + words(" (was ")
            + _share(old_coverage)
            + words(")"),
        )
    yield from _serve_changes(
        field, label, old.get("serve"), new.get("serve"), old_variations, new_variations
    )


def _fallthrough(before: Mapping[str, Any], after: Mapping[str, Any]) -> Iterable[DiffLine]:
    yield from _serve_changes(
        "fallthrough",
        words("Everyone else: "),
        before.get("fallthrough"),
        after.get("fallthrough"),
        as_list(before.get("variations")),
        as_list(after.get("variations")),
    )


def _serve_changes(
    field: str,
    label: Sentence,
    old: object,
    new: object,
    old_variations: Sequence[Any],
    new_variations: Sequence[Any],
) -> Iterable[DiffLine]:
    """A rollout whose weights changed as "true 10% -> 25%"; any other change as "now X (was Y)"."""
    if _canonical(old) == _canonical(new):
        return
    old_rollout, new_rollout = _rollout(old), _rollout(new)
    if old_rollout is None or new_rollout is None or not _same_variations(old_variations, new_variations):
        yield DiffLine(
            "changed",
            field,
            label
            + words("now ")
            + describe_serve(new, new_variations)
            + words(" (was ")
            + describe_serve(old, old_variations)
            + words(")"),
        )
        return
    weights = _weight_changes(old_rollout, new_rollout, new_variations)
    if weights:
        yield DiffLine("changed", field, label + words("rollout ") + weights)
    if plain(bucketing(old_rollout)) != plain(bucketing(new_rollout)):
        yield DiffLine(
            "changed",
            field,
            label
            + words("rollout now split ")
            + bucketing(new_rollout)
            + words(" (was ")
            + bucketing(old_rollout)
            + words(")"),
        )


def _weight_changes(old: Mapping[str, Any], new: Mapping[str, Any], variations: Sequence[Any]) -> Sentence:
    old_weights, new_weights = _weights(old), _weights(new)
    parts: list[Token] = []
    for variation in dict.fromkeys([*new_weights, *old_weights]):
        was, now = old_weights.get(variation, 0), new_weights.get(variation, 0)
        if was == now:
            continue
        if parts:
            parts += words(", ")
        parts += variation_token(variation, variations)
        parts += (*words(" "), Token(percent(was), "percent"), *words(" → "), Token(percent(now), "percent"))
    return tuple(parts)


def _value_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> Sentence:
    """For a condition whose values changed: which were added and which removed."""
    old_values, new_values = as_list(old.get("values")), as_list(new.get("values"))
    old_set, new_set = {_canonical(v) for v in old_values}, {_canonical(v) for v in new_values}
    added = [v for v in new_values if _canonical(v) not in old_set]
    removed = [v for v in old_values if _canonical(v) not in new_set]
    parts: list[Token] = []
    if added:
        parts += words(" (added ") + listed(added) + words(")")
    if removed:
        parts += words(" (removed ") + listed(removed) + words(")")
    options = [
        name
        for name in ("negate", "case_insensitive", "match_missing", "parse_numbers")
        if bool(old.get(name)) != bool(new.get(name))
    ]
    if options:
        parts += words(" (changed ") + listed(options, "attribute") + words(")")
    return tuple(parts)


def _pair_alike(
    removed: list[dict[str, Any]], added: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Takes out of both lists the conditions on the same attribute with the same operator: these changed
    rather than were replaced, and are shown with the values that changed."""
    pairs = []
    for clause in list(added):
        match = next((c for c in removed if _same_test(c, clause)), None)
        if match is not None:
            removed.remove(match)
            added.remove(clause)
            pairs.append((match, clause))
    return pairs


def _same_test(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return a.get("attribute") == b.get("attribute") and a.get("op") == b.get("op")


def _unmatched(
    old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The entries of ``old`` not in ``new``, and of ``new`` not in ``old``, counting repeats."""
    remaining = Counter(_canonical(item) for item in new)
    removed = []
    for item in old:
        key = _canonical(item)
        if remaining[key]:
            remaining[key] -= 1
        else:
            removed.append(item)
    remaining = Counter(_canonical(item) for item in old)
    added = []
    for item in new:
        key = _canonical(item)
        if remaining[key]:
            remaining[key] -= 1
        else:
            added.append(item)
    return removed, added


def _target_map(flag: Mapping[str, Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for target in _dicts(flag.get("targets")):
        variation = target.get("variation")
        if isinstance(variation, int):
            for key in as_list(target.get("values")):
                found[str(key)] = variation
    return found


def _weights(rollout: Mapping[str, Any]) -> dict[int, int]:
    weights: dict[int, int] = {}
    for entry in _dicts(rollout.get("variations")):
        variation, weight = entry.get("variation"), entry.get("weight")
        if isinstance(variation, int) and isinstance(weight, int):
            weights[variation] = weights.get(variation, 0) + weight
    return weights


def _rollout(serve: object) -> Mapping[str, Any] | None:
    rollout = serve.get("rollout") if isinstance(serve, Mapping) else None
    return rollout if isinstance(rollout, Mapping) else None


def _same_variations(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return _canonical(list(a)) == _canonical(list(b))


def _share(coverage: object) -> Sentence:
    return coverage_share(coverage) if isinstance(coverage, Mapping) else words("everyone it matches")


def _off(index: object, variations: Sequence[Any]) -> Sentence:
    return words("the caller's default value") if index is None else variation_token(index, variations)


def _was(label: Sentence, old: object, new: object) -> Sentence:
    return (
        *label,
        Token(value_text(new), "value"),
        *words(" (was "),
        Token(value_text(old), "value"),
        *words(")"),
    )


def _users(keys: Sequence[str]) -> Sentence:
    return words("User " if len(keys) == 1 else "Users ") + listed(keys)


def _get(keys: Sequence[str]) -> Sentence:
    return words("gets " if len(keys) == 1 else "get ")


def _rule_field(rule_id: str) -> str:
    return f"rules[{rule_id}]"


def _rule_label(rule_id: str, after: str) -> Sentence:
    return (*words("Rule "), Token(rule_id, "value"), *words(after))


def _dicts(value: object) -> list[dict[str, Any]]:
    return [dict(item) for item in as_list(value) if isinstance(item, Mapping)]


def _canonical(value: object) -> str:
    """One spelling of a JSON value, so that equal values compare equal whatever their key order."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):
        return repr(value)
