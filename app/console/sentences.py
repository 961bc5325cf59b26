"""A flag's targeting as readable sentences: "If country is one of NL, BE, serve true".

A sentence is a tuple of tokens, prose apart from the values it quotes, so that a template escapes every value
and may style it; nothing here builds HTML. Reads a wire-format flag (docs/flag-format.md) as it is: whatever
the shape, it describes and never raises.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

TokenKind = Literal["word", "attribute", "value", "variation", "segment", "flag", "percent", "more"]
SHOWN_VALUES: Final = 10
"""Values shown of a long list before "and 4,995 more": a page stays readable whatever a clause holds."""
_LONGEST_VALUE: Final = 80  # characters of one value (a JSON variation may be large) before it is cut


@dataclass(frozen=True, slots=True)
class Token:
    """One piece of a sentence: prose (``word``) or something quoted from the flag, by what it is."""

    text: str
    kind: TokenKind = "word"


Sentence = tuple[Token, ...]


@dataclass(frozen=True, slots=True)
class RuleText:
    id: str
    sentence: Sentence


@dataclass(frozen=True, slots=True)
class TargetingText:
    """A flag's targeting in evaluation order, each part as sentences."""

    enabled: bool
    state: Sentence
    """On: "The flag is on."; off: what everyone gets instead."""
    prerequisites: tuple[Sentence, ...]
    targets: tuple[Sentence, ...]
    rules: tuple[RuleText, ...]
    fallthrough: Sentence
    segments: tuple[str, ...]
    """The segments the rules use, each once, in the order they first appear."""


def plain(sentence: Iterable[Token]) -> str:
    """The sentence as plain text, for tests and logs."""
    return "".join(token.text for token in sentence)


def all_sentences(text: TargetingText) -> list[Sentence]:
    """Every sentence of a flag's targeting, in evaluation order."""
    return [
        text.state,
        *text.prerequisites,
        *text.targets,
        *(rule.sentence for rule in text.rules),
        text.fallthrough,
    ]


def plain_targeting(text: TargetingText) -> list[str]:
    """Every sentence of a flag's targeting as plain text, in evaluation order."""
    return [plain(sentence) for sentence in all_sentences(text)]


def describe_flag(
    flag: Mapping[str, Any], other_flags: Mapping[str, Mapping[str, Any]] | None = None
) -> TargetingText:
    """The targeting of ``flag``. ``other_flags`` (key -> wire flag) names a prerequisite's variation by its
    value; without it, the prerequisite's variation is shown by index."""
    variations = as_list(flag.get("variations"))
    enabled = flag.get("enabled") is not False
    rules = [rule for rule in as_list(flag.get("rules")) if isinstance(rule, Mapping)]
    targets = [target for target in as_list(flag.get("targets")) if isinstance(target, Mapping)]
    prerequisites = [p for p in as_list(flag.get("prerequisites")) if isinstance(p, Mapping)]
    decided_before = bool(rules or targets)
    return TargetingText(
        enabled=enabled,
        state=_state(enabled, flag.get("off_variation"), variations),
        prerequisites=tuple(
            describe_prerequisite(p, flag.get("off_variation"), variations, other_flags)
            for p in prerequisites
        ),
        targets=tuple(describe_target(t, variations) for t in targets),
        rules=tuple(
            RuleText(id=str(rule.get("id", "")), sentence=describe_rule(rule, variations)) for rule in rules
        ),
        fallthrough=(
            words("Everyone else: " if decided_before else "Everyone: ")
            + describe_serve(flag.get("fallthrough"), variations)
        ),
        segments=tuple(dict.fromkeys(_segments(rules))),
    )


def describe_rule(rule: Mapping[str, Any], variations: Sequence[Any]) -> Sentence:
    """ "If country is NL and the user is in segment beta, for 25% of them, serve true"."""
    clauses = [c for c in as_list(rule.get("clauses")) if isinstance(c, Mapping)]
    coverage = rule.get("coverage")
    parts: list[Token] = []
    if clauses:
        parts += words("If ")
        for i, clause in enumerate(clauses):
            if i:
                parts += words(" and ")
            parts += describe_clause(clause)
        if isinstance(coverage, Mapping):
            parts += words(", for ") + coverage_share(coverage) + words(" of them")
        parts += words(", serve ")
    elif isinstance(coverage, Mapping):
        parts += words("For ") + coverage_share(coverage) + words(" of everyone, serve ")
    else:
        parts += words("For everyone, serve ")
    return tuple(parts) + describe_serve(rule.get("serve"), variations)


def describe_clause(clause: Mapping[str, Any]) -> Sentence:
    """One condition: "country is not one of NL, BE (ignoring case)"."""
    op = str(clause.get("op", ""))
    negate = clause.get("negate") is True
    values = as_list(clause.get("values"))
    attribute = clause.get("attribute")
    name = str(attribute) if attribute is not None else "key"
    if op == "segment_match":
        subject = words("the user") if attribute in (None, "key") else attribute_token(name)
        verb = " is not in " if negate else " is in "
        noun = "segment " if len(values) == 1 else "one of the segments "
        return subject + words(verb + noun) + listed(values, "segment")
    if op == "exists":
        return attribute_token(name) + words(" is not set" if negate else " is set")
    subject = words("the current time") if name == "now" else attribute_token(name)
    phrases = _PHRASES.get(op)
    if phrases is None:  # from a newer server, or a document nobody validated
        return (
            subject + words(f" {op} ") + listed(values) + words(" (an operator this console does not know)")
        )
    one, after_one, several = phrases
    if negate:
        one, several = _negated(one), _negated(several)
    parts = subject + words(" " + (one if len(values) == 1 else several)) + listed(values)
    if len(values) == 1:
        parts += words(after_one)
    if clause.get("case_insensitive") is True:
        parts += words(" (ignoring case)")
    if clause.get("parse_numbers") is True:
        parts += words(" (text read as a number)")
    if clause.get("match_missing") is True:
        parts += words(" or is not set")
    return parts


def describe_serve(serve: object, variations: Sequence[Any]) -> Sentence:
    """A fixed variation ("true") or a rollout ("true for 10%, false for 90%")."""
    if not isinstance(serve, Mapping):
        return words("nothing")
    rollout = serve.get("rollout")
    if isinstance(rollout, Mapping):
        return describe_rollout(rollout, variations)
    return variation_token(serve.get("variation"), variations)


def describe_rollout(rollout: Mapping[str, Any], variations: Sequence[Any]) -> Sentence:
    parts: list[Token] = []
    for i, entry in enumerate(e for e in as_list(rollout.get("variations")) if isinstance(e, Mapping)):
        if i:
            parts += words(", ")
        parts += variation_token(entry.get("variation"), variations)
        parts += words(" for ")
        parts.append(Token(percent(entry.get("weight")), "percent"))
    return tuple(parts) + bucketing_note(rollout)


def variation_token(index: object, variations: Sequence[Any]) -> Sentence:
    """A variation by its value; by its index only when the flag has no such variation."""
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(variations):
        return (Token(value_text(variations[index]), "variation"),)
    return (Token(f"variation #{index}", "variation"),)


def percent(weight: object) -> str:
    """A weight in thousandths of a percent as a percentage: 10000 -> "10%", 12345 -> "12.345%"."""
    if not isinstance(weight, int) or isinstance(weight, bool):
        return "?%"
    whole, part = divmod(weight, 1000)
    return f"{whole}.{part:03d}".rstrip("0").rstrip(".") + "%" if part else f"{whole}%"


def value_text(value: object) -> str:
    """A value as a person reads it: a string as it is (quoted only when empty or padded), else JSON."""
    if isinstance(value, str) and value and value.strip() == value:
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= _LONGEST_VALUE else text[: _LONGEST_VALUE - 1] + "…"


# op -> (the words before one value, after it, and before several): "is version 2.0.0 or earlier"
_PHRASES: Final[Mapping[str, tuple[str, str, str]]] = {
    "in": ("is ", "", "is one of "),
    "starts_with": ("starts with ", "", "starts with one of "),
    "ends_with": ("ends with ", "", "ends with one of "),
    "contains": ("contains ", "", "contains one of "),
    "matches": ("matches the pattern ", "", "matches one of the patterns "),
    "lt": ("is less than ", "", "is less than one of "),
    "lte": ("is at most ", "", "is at most one of "),
    "gt": ("is more than ", "", "is more than one of "),
    "gte": ("is at least ", "", "is at least one of "),
    "before": ("is before ", "", "is before one of "),
    "after": ("is after ", "", "is after one of "),
    "semver_eq": ("is version ", "", "is one of the versions "),
    "semver_lt": ("is a version before ", "", "is a version before one of "),
    "semver_lte": ("is version ", " or earlier", "is a version up to one of "),
    "semver_gt": ("is a version after ", "", "is a version after one of "),
    "semver_gte": ("is version ", " or later", "is a version from one of "),
    "in_cidr": ("is in the network ", "", "is in one of the networks "),
}
_NEGATIONS: Final = (
    ("starts with", "does not start with"),
    ("ends with", "does not end with"),
    ("contains", "does not contain"),
    ("matches", "does not match"),
    ("is ", "is not "),
)


def _negated(phrase: str) -> str:
    for positive, negative in _NEGATIONS:
        if phrase.startswith(positive):
            return negative + phrase[len(positive) :]
    return f"not {phrase}"


def _state(enabled: bool, off_variation: object, variations: Sequence[Any]) -> Sentence:
    if enabled:
        return words("The flag is on.")
    if off_variation is None:
        return words("The flag is off: everyone gets the caller's default value.")
    return words("The flag is off: everyone gets ") + variation_token(off_variation, variations) + words(".")


def describe_prerequisite(
    prerequisite: Mapping[str, Any],
    off_variation: object,
    variations: Sequence[Any],
    other_flags: Mapping[str, Mapping[str, Any]] | None,
) -> Sentence:
    key = str(prerequisite.get("flag", ""))
    other = (other_flags or {}).get(key)
    other_variations = as_list(other.get("variations")) if isinstance(other, Mapping) else []
    otherwise = (
        words("the caller's default value")
        if off_variation is None
        else variation_token(off_variation, variations)
    )
    return (
        *words("Only if flag "),
        Token(key, "flag"),
        *words(" serves "),
        *variation_token(prerequisite.get("variation"), other_variations),
        *words("; otherwise everyone gets "),
        *otherwise,
    )


def describe_target(target: Mapping[str, Any], variations: Sequence[Any]) -> Sentence:
    values = as_list(target.get("values"))
    one = len(values) == 1
    return (
        words("User " if one else "Users ")
        + listed(values, "value")
        + words(" gets " if one else " get ")
        + variation_token(target.get("variation"), variations)
    )


def coverage_share(coverage: Mapping[str, Any]) -> Sentence:
    return (Token(percent(coverage.get("weight")), "percent"), *bucketing_note(coverage))


def bucketing_note(share: Mapping[str, Any]) -> Sentence:
    """ " (by org)": how contexts are split, when not the usual way; nothing when by key with mmh3-v1."""
    split = bucketing(share)
    return (*words(" ("), *split, *words(")")) if plain(split) != "by key" else ()


def bucketing(share: Mapping[str, Any]) -> Sentence:
    """ "by org, unleash hashing": the attribute hashed, and the algorithm when not the default."""
    split = words("by ") + attribute_token(str(share.get("bucket_by", "key")))
    algorithm = share.get("algorithm", "mmh3-v1")
    return split if algorithm == "mmh3-v1" else split + words(f", {algorithm} hashing")


def _segments(rules: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for rule in rules:
        for clause in as_list(rule.get("clauses")):
            if isinstance(clause, Mapping) and clause.get("op") == "segment_match":
                yield from (str(v) for v in as_list(clause.get("values")))


def listed(values: Sequence[Any], kind: TokenKind = "value", shown: int = SHOWN_VALUES) -> Sentence:
    """ "NL, BE, FR", or the first ``shown`` values and "and 4,995 more"."""
    if not values:
        return words("(no values)")
    parts: list[Token] = []
    for i, value in enumerate(values[:shown]):
        if i:
            parts += words(", ")
        parts.append(Token(value_text(value), kind))
    if len(values) > shown:
        parts.append(Token(f" and {len(values) - shown:,} more", "more"))
    return tuple(parts)


def attribute_token(name: str) -> Sentence:
    return (Token(name, "attribute"),)


def words(text: str) -> Sentence:
    return (Token(text),)


def as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []
