"""LaunchDarkly's server-side Python SDK, loaded offline from a flag file through `Files.new_data_source`.

Events and diagnostics are off, so the client opens no connection; the data source reads the file once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from ldclient import Context
from ldclient.client import LDClient
from ldclient.config import Config
from ldclient.integrations import Files

from .. import scenarios as sc
from ..sdk_adapter import SdkEntry


def _rollout(weights: Sequence[int]) -> dict[str, Any]:
    # LaunchDarkly weights are thousandths of a percent, like Flagstaff's.
    return {"rollout": {"variations": [{"variation": i, "weight": w * 1000} for i, w in enumerate(weights)]}}


def _rule(rule_id: str, attribute: str, op: str, values: list[Any], negate: bool = False) -> dict[str, Any]:
    clause = {"attribute": attribute, "op": op, "values": values, "negate": negate}
    return {"id": rule_id, "clauses": [clause], "variation": 0}


def _flag(flag: sc.Flag) -> dict[str, Any]:
    base: dict[str, Any] = {"key": flag.key, "version": 1, "on": True, "salt": flag.key, "offVariation": 1}
    match flag:
        case sc.OnFlag():
            return {**base, "variations": [True, False], "fallthrough": {"variation": 0}}
        case sc.PercentFlag(percent=percent):
            return {**base, "variations": [True, False], "fallthrough": _rollout([percent, 100 - percent])}
        case sc.TargetedFlag(fallthrough_percent=percent):
            rules = [
                _rule("country", "country", "in", list(sc.COUNTRIES)),
                _rule("email", "email", "endsWith", [sc.EMAIL_SUFFIX]),
                _rule("plan", "plan", "in", [sc.ENTERPRISE_PLAN]),
                # No semVerGreaterThanOrEqual: "not less than" is exact, as a missing attribute fails the
                # clause before negation.
                _rule("version", "app_version", "semVerLessThan", [sc.MIN_APP_VERSION], negate=True),
                _rule("segment", "key", "segmentMatch", [sc.SEGMENT_KEY]),
            ]
            fallthrough = _rollout([percent, 100 - percent])
            return {**base, "variations": [True, False], "rules": rules, "fallthrough": fallthrough}
        case sc.SplitFlag(variants=variants):
            values = [value for value, _ in variants]
            return {**base, "variations": values, "fallthrough": _rollout([w for _, w in variants])}


def document(flags: sc.FlagSet) -> dict[str, Any]:
    segment = {
        "key": sc.SEGMENT_KEY,
        "version": 1,
        "included": list(flags.segment_members),
        "salt": sc.SEGMENT_KEY,
    }
    return {"flags": {f.key: _flag(f) for f in flags.flags}, "segments": {sc.SEGMENT_KEY: segment}}


class LaunchDarkly:
    def __init__(self, client: LDClient) -> None:
        self._client = client

    @classmethod
    def load(cls, path: Path) -> LaunchDarkly:
        config = Config(
            "bench-offline-sdk-key",
            update_processor_class=Files.new_data_source(paths=[str(path)]),
            send_events=False,
            diagnostic_opt_out=True,
        )
        client = LDClient(config=config)
        if not client.is_initialized():
            raise RuntimeError(f"LaunchDarkly could not load {path}")
        return cls(client)

    def contexts(self, people: Sequence[sc.Person]) -> list[Context]:
        built = []
        for person in people:
            builder = Context.builder(person.key)
            for name, value in person.attributes().items():
                builder.set(name, value)
            built.append(builder.build())
        return built

    def boolean(self, key: str, context: Context, default: bool) -> bool:
        value: bool = self._client.variation(key, context, default)
        return value

    def string(self, key: str, context: Context, default: str) -> str:
        value: str = self._client.variation(key, context, default)
        return value

    def time_boolean(self, key: str, contexts: Sequence[Context], default: bool) -> int:
        variation = self._client.variation
        start = perf_counter_ns()
        for context in contexts:
            variation(key, context, default)
        return perf_counter_ns() - start

    def time_string(self, key: str, contexts: Sequence[Context], default: str) -> int:
        variation = self._client.variation
        start = perf_counter_ns()
        for context in contexts:
            variation(key, context, default)
        return perf_counter_ns() - start


ENTRY = SdkEntry(
    label="LaunchDarkly",
    distribution="launchdarkly-server-sdk",
    call=(
        "`client.variation(key, context, default)`, contexts built once with `Context.builder` (not timed);"
        " `LDClient(Config(key, update_processor_class=Files.new_data_source(paths=[path]),"
        " send_events=False, diagnostic_opt_out=True))`"
    ),
    document=document,
    load=LaunchDarkly.load,
    notes={
        "S3": "app_version >= 2.3.0 written as NOT semVerLessThan (no >= operator; same result)",
    },
)
