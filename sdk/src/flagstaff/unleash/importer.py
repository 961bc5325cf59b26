"""Unleash client-features documents as Flagstaff snapshots (wire format v1), with a per-flag report.

Pure: no I/O. Each feature becomes one flag; its strategies become rules in order (a strategy that misses
falls through to the next), its dependencies prerequisites. What cannot be carried over exactly is reported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flagstaff.keys import KEY_PATTERN
from flagstaff.unleash.report import Notes, Unmapped
from flagstaff.unleash.strategies import Gate, convert_strategy
from flagstaff.unleash.variants import DISABLED, Alternative, Variations, variant_serves
from flagstaff.versions import FORMAT_VERSION

Segments = Mapping[Any, list[Any]]


@dataclass(frozen=True, slots=True)
class ImportResult:
    snapshot: dict[str, Any]
    """A wire-format v1 snapshot; ``flagstaff.validate_snapshot`` finds no problem in it."""
    problems: list[Unmapped]
    """Everything dropped or changed, flag by flag."""
    keys: dict[str, str] = field(default_factory=dict)
    """Unleash feature name -> Flagstaff flag key (they differ only where a name is not a valid key)."""


@dataclass
class Converted:
    """One feature before its dependencies are resolved against the others."""

    name: str
    key: str
    flag: dict[str, Any]
    dependencies: list[Any]
    notes: Notes


def import_unleash(document: Mapping[str, Any], *, revision: int = 1, version: int = 1) -> ImportResult:
    """Convert a client-features document (``features``, optional ``segments``) into a snapshot."""
    segments = segment_constraints(document.get("segments") or [])
    features = [f for f in document.get("features") or [] if isinstance(f, Mapping)]
    converted = {str(f.get("name")): convert_feature(f, segments, version) for f in features}
    flags: dict[str, Any] = {}
    problems: list[Unmapped] = []
    for item in converted.values():
        flags[item.key] = resolve_dependencies(item, converted)
        problems.extend(item.notes.items)
    snapshot = {"format": FORMAT_VERSION, "revision": revision, "flags": flags, "segments": {}}
    return ImportResult(snapshot, problems, {c.name: c.key for c in converted.values()})


def segment_constraints(raw_segments: list[Any]) -> dict[Any, list[Any]]:
    """Segment id -> its constraints. Unleash segments are shared constraint lists; strategies inline them."""
    return {s.get("id"): list(s.get("constraints") or []) for s in raw_segments if isinstance(s, Mapping)}


def flag_key(name: str) -> str:
    """``name`` if it is a valid flag key, else with each other character spelled ``_u{hex}_``."""
    if KEY_PATTERN.fullmatch(name):
        return name
    return re.sub(r"[^\w.:-]", lambda m: f"_u{ord(m.group(0)):x}_", name)[:200] or "_"


def convert_feature(feature: Mapping[str, Any], segments: Segments, version: int = 1) -> Converted:
    """One feature as a flag, without prerequisites (see ``resolve_dependencies``)."""
    name = str(feature.get("name", ""))
    key = flag_key(name)
    notes = Notes(key)
    if key != name:
        notes.add("name", f"{name!r} is not a valid flag key; imported as {key!r}")
    if feature.get("impressionData"):
        notes.add(
            "impressionData", "Flagstaff has no impression events; evaluations are not reported per call"
        )
    feature_variants = [v for v in feature.get("variants") or [] if isinstance(v, Mapping)]
    strategies = [s for s in feature.get("strategies") or [] if isinstance(s, Mapping)]
    has_variants = bool(feature_variants) or any(s.get("variants") for s in strategies)
    variations = Variations()
    rules: list[dict[str, Any]] = []
    for i, strategy in enumerate(strategies):
        where = f"strategy {i + 1} ({strategy.get('name')})"
        gate = convert_strategy(strategy, name, segments, notes, where)
        if gate is None:
            continue
        rule_id = f"strategy-{i + 1}"
        if not has_variants:
            rules.append(_rule(rule_id, gate, Alternative([], {"variation": 0}, "")))
            continue
        for alternative in _strategy_serves(strategy, feature_variants, name, variations, notes, where):
            rules.append(_rule(rule_id, gate, alternative))
    if not strategies:
        # Unleash enables a feature without strategies for everyone.
        if has_variants:
            alternatives = variant_serves(
                feature_variants, _stickiness(feature_variants), name, variations, notes, "feature"
            )
            rules.extend(_rule("variants", Gate(), a) for a in alternatives)
        else:
            rules.append(_rule("everyone", Gate(), Alternative([], {"variation": 0}, "")))
    off = 0 if has_variants else 1
    fallthrough: dict[str, Any] = {"variation": off}
    if rules and not rules[-1]["clauses"] and "coverage" not in rules[-1]:
        fallthrough = rules.pop()["serve"]  # a last rule that matches everyone is the fallthrough
    flag: dict[str, Any] = {
        "key": key,
        "kind": "json" if has_variants else "boolean",
        "variations": variations.values if has_variants else [True, False],
        "enabled": bool(feature.get("enabled")),
        "off_variation": off,
        "rules": rules,
        "fallthrough": fallthrough,
        "version": version,
    }
    return Converted(name, key, flag, list(feature.get("dependencies") or []), notes)


def _strategy_serves(
    strategy: Mapping[str, Any],
    feature_variants: list[Mapping[str, Any]],
    feature: str,
    variations: Variations,
    notes: Notes,
    where: str,
) -> list[Alternative]:
    parameters = strategy.get("parameters") or {}
    own = [v for v in strategy.get("variants") or [] if isinstance(v, Mapping)]
    if own:
        # Strategy variants take the strategy's stickiness and groupId.
        stickiness = str(parameters.get("stickiness") or "default")
        group = str(parameters.get("groupId") or feature)
        return variant_serves(own, stickiness, group, variations, notes, where)
    return variant_serves(
        feature_variants, _stickiness(feature_variants), feature, variations, notes, "feature"
    )


def _stickiness(variants: list[Mapping[str, Any]]) -> str:
    return str(variants[0].get("stickiness") or "default") if variants else "default"


def _rule(rule_id: str, gate: Gate, alternative: Alternative) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": f"{rule_id}.{alternative.suffix}" if alternative.suffix else rule_id,
        "clauses": [*gate.clauses, *alternative.clauses],
        "serve": alternative.serve,
    }
    if gate.coverage is not None:
        rule["coverage"] = gate.coverage
    return rule


def resolve_dependencies(item: Converted, converted: Mapping[str, Converted]) -> dict[str, Any]:
    """``item``'s flag with its Unleash dependencies as prerequisites.

    Unleash supports one level of dependencies: a feature whose parent is missing, has dependencies of its
    own, or can never be in the required state is never enabled, so it is imported switched off (reported).
    """
    flag = dict(item.flag)
    prerequisites: list[dict[str, Any]] = []
    for raw in item.dependencies:
        if not isinstance(raw, Mapping):
            continue
        parent_name = str(raw.get("feature", ""))
        parent = converted.get(parent_name)
        what = f"dependency on {parent_name!r}"
        if parent is None:
            return _switched_off(flag, item, what, "the parent does not exist; Unleash never enables it")
        if parent.dependencies:
            return _switched_off(
                flag, item, what, "the parent has dependencies of its own; Unleash never enables the feature"
            )
        indexes = _required_variations(parent.flag, raw)
        if not indexes:
            return _switched_off(flag, item, what, "the parent can never be in the required state")
        if len(indexes) > 1:
            return _switched_off(
                flag,
                item,
                what,
                f"the parent would have to serve one of {len(indexes)} variations; a "
                "Flagstaff prerequisite names one, so the feature is imported switched off",
            )
        prerequisites.append({"flag": parent.key, "variation": indexes[0]})
    if prerequisites:
        flag["prerequisites"] = prerequisites
    return flag


def _required_variations(parent: Mapping[str, Any], dependency: Mapping[str, Any]) -> list[int]:
    values: list[Any] = parent["variations"]
    boolean = parent["kind"] == "boolean"
    if dependency.get("enabled", True) is False:
        return [1 if boolean else 0]
    wanted = [str(v) for v in dependency.get("variants") or []]
    if boolean:
        # An enabled feature without variants has the variant "disabled".
        return [0] if not wanted or "disabled" in wanted else []
    return [
        i
        for i, v in enumerate(values)
        if v != DISABLED and v.get("feature_enabled") and (not wanted or v.get("name") in wanted)
    ]


def _switched_off(flag: dict[str, Any], item: Converted, what: str, why: str) -> dict[str, Any]:
    item.notes.add(what, why)
    return {**flag, "enabled": False}
