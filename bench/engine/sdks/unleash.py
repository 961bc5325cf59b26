"""Unleash's Python SDK (`UnleashClient`), bootstrapped from a features document held in an in-memory cache.

Registration and metrics are disabled and `initialize_client()` is never called, so no scheduler thread starts
and nothing is fetched: the constructor loads the bootstrapped document into the engine, which is all
evaluation needs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from UnleashClient import UnleashClient  # type: ignore[attr-defined]  # re-exported without __all__
from UnleashClient.cache import BaseCache
from UnleashClient.constants import FEATURES_URL
from UnleashClient.utils import InstanceAllowType

from .. import scenarios as sc
from ..sdk_adapter import SdkEntry

_SEGMENT_ID = 1


class _BootstrapCache(BaseCache):
    """The smallest cache the client accepts: a dictionary, bootstrapped with the features document."""

    def __init__(self, features_json: str) -> None:
        self._values: dict[str, Any] = {FEATURES_URL: features_json}
        self.bootstrapped = True

    def set(self, key: str, value: Any) -> None:
        self._values[key] = value

    def mset(self, data: dict[str, Any]) -> None:
        self._values.update(data)

    def get(self, key: str, default: Any | None = None) -> Any:
        return self._values.get(key, default)

    def exists(self, key: str) -> bool:
        return key in self._values

    def destroy(self) -> None:
        self._values.clear()


def _rollout(group: str, percent: int, variants: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    parameters = {"rollout": str(percent), "stickiness": "userId", "groupId": group}
    strategy: dict[str, Any] = {"name": "flexibleRollout", "parameters": parameters, "constraints": []}
    if variants:
        strategy["variants"] = variants
    return strategy


def _constrained(*constraints: dict[str, Any], segments: list[int] | None = None) -> dict[str, Any]:
    return {"name": "default", "parameters": {}, "constraints": list(constraints), "segments": segments or []}


def _feature(flag: sc.Flag) -> dict[str, Any]:
    base: dict[str, Any] = {"name": flag.key, "type": "release", "enabled": True, "impressionData": False}
    match flag:
        case sc.OnFlag():
            return {**base, "strategies": [_constrained()]}
        case sc.PercentFlag(key=key, percent=percent):
            return {**base, "strategies": [_rollout(key, percent)]}
        case sc.TargetedFlag(key=key, fallthrough_percent=percent):
            # Strategies are OR-ed, so "first rule that matches serves true" is the same as "any strategy
            # matches"; the engine tries them in order and stops at the first match.
            strategies = [
                _constrained({"contextName": "country", "operator": "IN", "values": list(sc.COUNTRIES)}),
                _constrained(
                    {"contextName": "email", "operator": "STR_ENDS_WITH", "values": [sc.EMAIL_SUFFIX]}
                ),
                _constrained({"contextName": "plan", "operator": "IN", "values": [sc.ENTERPRISE_PLAN]}),
                _constrained(
                    {
                        "contextName": "app_version",
                        "operator": "SEMVER_LT",
                        "value": sc.MIN_APP_VERSION,
                        "inverted": True,
                    }
                ),
                _constrained(segments=[_SEGMENT_ID]),
                _rollout(key, percent),
            ]
            return {**base, "strategies": strategies}
        case sc.SplitFlag(key=key, variants=variants):
            # Variant weights are per mille; the value is carried as the variant's string payload.
            unleash_variants = [
                {
                    "name": value,
                    "weight": weight * 10,
                    "weightType": "variable",
                    "stickiness": "userId",
                    "payload": {"type": "string", "value": value},
                }
                for value, weight in variants
            ]
            return {**base, "strategies": [_rollout(key, 100, unleash_variants)]}


def document(flags: sc.FlagSet) -> dict[str, Any]:
    segment = {
        "id": _SEGMENT_ID,
        "name": sc.SEGMENT_KEY,
        "constraints": [{"contextName": "userId", "operator": "IN", "values": list(flags.segment_members)}],
    }
    return {"version": 2, "features": [_feature(f) for f in flags.flags], "segments": [segment]}


def _fallback(default: bool) -> Callable[[str, dict[str, Any]], bool]:
    """Unleash answers an unknown toggle with the fallback function's result (False without one).

    The engine calls it only for toggles it does not know, so passing one costs nothing on the other calls.
    """

    def fallback(feature_name: str, context: dict[str, Any]) -> bool:
        return default

    return fallback


class Unleash:
    def __init__(self, client: UnleashClient) -> None:
        self._client = client

    @classmethod
    def load(cls, path: Path) -> Unleash:
        client = UnleashClient(
            url="http://unleash.invalid/api",
            app_name="flagstaff-bench",
            disable_metrics=True,
            disable_registration=True,
            cache=_BootstrapCache(path.read_text(encoding="utf-8")),
            multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW,
        )
        return cls(client)

    def contexts(self, people: Sequence[sc.Person]) -> list[dict[str, Any]]:
        return [{"userId": person.key, "properties": person.attributes()} for person in people]

    def boolean(self, key: str, context: dict[str, Any], default: bool) -> bool:
        return self._client.is_enabled(key, context, _fallback(default))

    def string(self, key: str, context: dict[str, Any], default: str) -> str:
        variant = self._client.get_variant(key, context)
        if not variant.get("enabled"):
            return default
        value: str = variant["payload"]["value"]
        return value

    def time_boolean(self, key: str, contexts: Sequence[dict[str, Any]], default: bool) -> int:
        is_enabled = self._client.is_enabled
        fallback = _fallback(default)
        start = perf_counter_ns()
        for context in contexts:
            is_enabled(key, context, fallback)
        return perf_counter_ns() - start

    def time_string(self, key: str, contexts: Sequence[dict[str, Any]], default: str) -> int:
        get_variant = self._client.get_variant
        start = perf_counter_ns()
        for context in contexts:
            get_variant(key, context)
        return perf_counter_ns() - start


ENTRY = SdkEntry(
    label="Unleash",
    distribution="UnleashClient",
    call=(
        "`client.is_enabled(key, context, fallback_function)` / `client.get_variant(key, context)`;"
        " `UnleashClient(..., disable_metrics=True, disable_registration=True, cache=<bootstrapped>)`,"
        " `initialize_client()` never called, so no thread and no request"
    ),
    document=document,
    load=Unleash.load,
    notes={
        "S2": "rollout percentages are whole percents (10% is exact, 10.5% would not be)",
        "S3": (
            "rules are OR-ed strategies (same result, as every rule serves true); app_version >= 2.3.0 is"
            " written as an inverted SEMVER_LT, which also matches a context without app_version"
        ),
        "S4": "the default comes from a fallback_function (is_enabled has no default argument)",
        "S5": "get_variant returns a variant dict; the string is its payload (the dict lookup is not timed)",
        "init": (
            "the engine copies the shared segment into every flag that references it, so memory and load time"
            " grow with flags x segment size"
        ),
    },
)
