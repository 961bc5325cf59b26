"""Unleash variants as Flagstaff variations and serves: overrides first, then a weighted ``unleash`` rollout.

A feature with variants imports as a ``json`` flag whose values are the variant results Unleash returns
(``name``, ``payload``, ``enabled``, ``feature_enabled``); index 0 is the disabled result.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flagstaff.unleash.bucketing import NAME as ALGORITHM
from flagstaff.unleash.bucketing import VARIANT_SEED, slot_threshold
from flagstaff.unleash.constraints import Clause
from flagstaff.unleash.context import attribute_for
from flagstaff.unleash.report import Notes
from flagstaff.unleash.strategies import KEY, RANDOM_NOTE

DISABLED: dict[str, Any] = {"name": "disabled", "enabled": False, "feature_enabled": False}
ENABLED_WITHOUT_VARIANT: dict[str, Any] = {"name": "disabled", "enabled": False, "feature_enabled": True}
MAX_TOTAL_WEIGHT = 100_000


@dataclass
class Variations:
    """The flag's variation list, built as serves need values; equal values share one index."""

    values: list[Any] = field(default_factory=lambda: [dict(DISABLED)])

    def index(self, value: Any) -> int:
        for i, existing in enumerate(self.values):
            if json.dumps(existing, sort_keys=True) == json.dumps(value, sort_keys=True):
                return i
        self.values.append(value)
        return len(self.values) - 1


@dataclass
class Alternative:
    """One rule's worth of a strategy's serve: extra clauses on top of the gate, and what it serves."""

    clauses: list[Clause]
    serve: dict[str, Any]
    suffix: str


def variant_value(variant: Mapping[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {"name": str(variant.get("name", "")), "enabled": True, "feature_enabled": True}
    if variant.get("payload") is not None:
        value["payload"] = variant["payload"]
    return value


def variant_serves(
    variants: list[Mapping[str, Any]],
    stickiness: str,
    group: str,
    variations: Variations,
    notes: Notes,
    where: str,
) -> list[Alternative]:
    """How Unleash picks among ``variants``: overrides in order, then the weighted hash on ``stickiness``."""
    total = sum(_weight(v) for v in variants)
    if not variants or total <= 0:
        return [Alternative([], {"variation": variations.index(dict(ENABLED_WITHOUT_VARIANT))}, "")]
    alternatives: list[Alternative] = []
    for n, v in enumerate(variants):
        for i, override in enumerate(v.get("overrides") or []):
            values = [str(x) for x in override.get("values") or []]
            if not values:
                continue
            attribute = attribute_for(str(override.get("contextName", "")))
            alternatives.append(
                Alternative(
                    [{"attribute": attribute, "op": "in", "values": values}],
                    {"variation": variations.index(variant_value(v))},
                    f"override-{n + 1}-{i + 1}",  # by position: variant names need not be unique
                )
            )
    weighted = [v for v in variants if _weight(v) > 0]
    if len(weighted) == 1:
        alternatives.append(Alternative([], {"variation": variations.index(variant_value(weighted[0]))}, ""))
        return alternatives
    if total > MAX_TOTAL_WEIGHT:
        notes.add(f"{where} variants", f"total weight {total} > {MAX_TOTAL_WEIGHT}; variants not imported")
        alternatives.append(
            Alternative([], {"variation": variations.index(dict(ENABLED_WITHOUT_VARIANT))}, "")
        )
        return alternatives
    steps, cumulative, previous = [], 0, 0
    for v in variants:
        cumulative += _weight(v)
        threshold = slot_threshold(cumulative, total)
        steps.append({"variation": variations.index(variant_value(v)), "weight": threshold - previous})
        previous = threshold

    def rollout(bucket_by: str) -> dict[str, Any]:
        return {
            "rollout": {
                "algorithm": ALGORITHM,
                "bucket_by": bucket_by,
                "salt": group,
                "seed": VARIANT_SEED,
                "modulus": total,
                "variations": steps,
            }
        }

    if stickiness == "default":
        # Unleash's variant stickiness falls back from userId and sessionId (the key) to remoteAddress.
        alternatives.append(
            Alternative(
                [
                    {"attribute": KEY, "op": "exists", "negate": True},
                    {"attribute": "remoteAddress", "op": "exists"},
                ],
                rollout("remoteAddress"),
                "by-remoteAddress",
            )
        )
        alternatives.append(Alternative([], rollout(KEY), ""))
        notes.add(f"{where} variants", RANDOM_NOTE.replace("leaves them out", "serves them the last variant"))
        return alternatives
    attribute = KEY if stickiness == "random" else attribute_for(stickiness)
    notes.add(f"{where} variants", RANDOM_NOTE.replace("leaves them out", "serves them the last variant"))
    alternatives.append(Alternative([], rollout(attribute), ""))
    return alternatives


def _weight(variant: Mapping[str, Any]) -> int:
    weight = variant.get("weight", 0)
    return weight if isinstance(weight, int) and not isinstance(weight, bool) and weight > 0 else 0
