"""Flagstaff's public API, loading a snapshot in wire format v1 (docs/flag-format.md) with `from_file`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from time import perf_counter_ns
from typing import Any

import flagstaff

from .. import scenarios as sc
from ..sdk_adapter import SdkEntry

FlagstaffContext = dict[str, str]


def _rollout(weights: Sequence[int]) -> dict[str, Any]:
    variations = [{"variation": i, "weight": percent * 1000} for i, percent in enumerate(weights)]
    return {"rollout": {"algorithm": "mmh3-v1", "bucket_by": "key", "variations": variations}}


def _rule(rule_id: str, clause: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule_id, "clauses": [clause], "serve": {"variation": 0}}


def _flag(flag: sc.Flag) -> dict[str, Any]:
    base: dict[str, Any] = {"key": flag.key, "enabled": True, "off_variation": 1, "targets": [], "version": 1}
    boolean = {**base, "kind": "boolean", "variations": [True, False]}
    match flag:
        case sc.OnFlag():
            return {**boolean, "rules": [], "fallthrough": {"variation": 0}}
        case sc.PercentFlag(percent=percent):
            return {**boolean, "rules": [], "fallthrough": _rollout([percent, 100 - percent])}
        case sc.TargetedFlag(fallthrough_percent=percent):
            rules = [
                _rule("country", {"attribute": "country", "op": "in", "values": list(sc.COUNTRIES)}),
                _rule("email", {"attribute": "email", "op": "ends_with", "values": [sc.EMAIL_SUFFIX]}),
                _rule("plan", {"attribute": "plan", "op": "in", "values": [sc.ENTERPRISE_PLAN]}),
                _rule(
                    "version",
                    {"attribute": "app_version", "op": "semver_gte", "values": [sc.MIN_APP_VERSION]},
                ),
                _rule("segment", {"attribute": "key", "op": "segment_match", "values": [sc.SEGMENT_KEY]}),
            ]
            return {**boolean, "rules": rules, "fallthrough": _rollout([percent, 100 - percent])}
        case sc.SplitFlag(variants=variants):
            return {
                **base,
                "kind": "string",
                "variations": [value for value, _ in variants],
                "rules": [],
                "fallthrough": _rollout([weight for _, weight in variants]),
            }


def document(flags: sc.FlagSet) -> dict[str, Any]:
    segment = {
        "key": sc.SEGMENT_KEY,
        "included": list(flags.segment_members),
        "excluded": [],
        "rules": [],
        "version": 1,
    }
    return {
        "format": 1,
        "revision": 1,
        "flags": {f.key: _flag(f) for f in flags.flags},
        "segments": {sc.SEGMENT_KEY: segment},
    }


class Flagstaff:
    def __init__(self, client: flagstaff.Client) -> None:
        self._client = client

    @classmethod
    def load(cls, path: Path) -> Flagstaff:
        return cls(flagstaff.Client.from_file(path))

    def contexts(self, people: Sequence[sc.Person]) -> list[FlagstaffContext]:
        return [{"key": person.key, **person.attributes()} for person in people]

    def boolean(self, key: str, context: FlagstaffContext, default: bool) -> bool:
        return self._client.is_enabled(key, context, default)

    def string(self, key: str, context: FlagstaffContext, default: str) -> str:
        value: str = self._client.variation(key, context, default)
        return value

    def time_boolean(self, key: str, contexts: Sequence[FlagstaffContext], default: bool) -> int:
        is_enabled = self._client.is_enabled
        start = perf_counter_ns()
        for context in contexts:
            is_enabled(key, context, default)
        return perf_counter_ns() - start

    def time_string(self, key: str, contexts: Sequence[FlagstaffContext], default: str) -> int:
        variation = self._client.variation
        start = perf_counter_ns()
        for context in contexts:
            variation(key, context, default)
        return perf_counter_ns() - start


ENTRY = SdkEntry(
    label="Flagstaff",
    distribution="flagstaff",
    call=(
        "`client.is_enabled(key, context, default)` / `client.variation(key, context, default)`, the context"
        " a dict; loaded with `Client.from_file(path)`"
    ),
    document=document,
    load=Flagstaff.load,
)
