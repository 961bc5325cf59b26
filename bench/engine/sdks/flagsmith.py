"""Flagsmith's Python SDK in offline mode, reading an environment document through `LocalFileHandler`.

Offline mode never creates an HTTP session; analytics and events are off. Flagsmith targets through segments,
so each of S3's rules is a feature-specific segment whose override serves `true`, ordered by priority.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import count
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from flagsmith import Flagsmith
from flagsmith.exceptions import FlagsmithFeatureDoesNotExistError
from flagsmith.offline_handlers import LocalFileHandler

from .. import scenarios as sc
from ..sdk_adapter import SdkEntry

FlagsmithContext = tuple[str, dict[str, str]]


class _Ids:
    """Hands out the integer ids an environment document needs for features, segments and feature states."""

    def __init__(self) -> None:
        self._next = count(1)

    def __call__(self) -> int:
        return next(self._next)


def _feature_state(
    ids: _Ids, feature: dict[str, Any], enabled: bool, value: Any, priority: int | None = None
) -> dict[str, Any]:
    state_id = ids()
    state: dict[str, Any] = {
        "feature": feature,
        "enabled": enabled,
        "feature_state_value": value,
        "django_id": state_id,
        "featurestate_uuid": f"00000000-0000-0000-0000-{state_id:012d}",
        "multivariate_feature_state_values": [],
    }
    if priority is not None:
        state["feature_segment"] = {"priority": priority}
    return state


def _segment(ids: _Ids, name: str, *conditions: dict[str, str]) -> dict[str, Any]:
    rule = {"type": "ALL", "conditions": list(conditions), "rules": []}
    return {"id": ids(), "name": name, "rules": [rule], "feature_states": []}


def _condition(trait: str, operator: str, value: str) -> dict[str, str]:
    return {"property_": trait, "operator": operator, "value": value}


def document(flags: sc.FlagSet) -> dict[str, Any]:
    ids = _Ids()
    feature_states: list[dict[str, Any]] = []
    shared = _segment(
        ids, sc.SEGMENT_KEY, _condition("$.identity.identifier", "IN", ",".join(flags.segment_members))
    )
    segments = [shared]

    def override(segment: dict[str, Any], feature: dict[str, Any], priority: int) -> None:
        segment["feature_states"].append(_feature_state(ids, feature, True, None, priority))

    for flag in flags.flags:
        feature = {"id": ids(), "name": flag.key}
        match flag:
            case sc.OnFlag():
                feature_states.append(_feature_state(ids, feature, True, None))
            case sc.PercentFlag(key=key, percent=percent):
                feature_states.append(_feature_state(ids, feature, False, None))
                rollout = _segment(ids, f"{key}-rollout", _condition("", "PERCENTAGE_SPLIT", str(percent)))
                override(rollout, feature, 0)
                segments.append(rollout)
            case sc.TargetedFlag(key=key, fallthrough_percent=percent):
                feature_states.append(_feature_state(ids, feature, False, None))
                # No "ends with" operator: REGEX, which Flagsmith anchors at the start only.
                suffix = ".*" + sc.EMAIL_SUFFIX.replace(".", "\\.") + "$"
                own = [
                    _segment(ids, f"{key}-country", _condition("country", "IN", ",".join(sc.COUNTRIES))),
                    _segment(ids, f"{key}-email", _condition("email", "REGEX", suffix)),
                    _segment(ids, f"{key}-plan", _condition("plan", "EQUAL", sc.ENTERPRISE_PLAN)),
                    _segment(
                        ids,
                        f"{key}-version",
                        _condition("app_version", "GREATER_THAN_INCLUSIVE", f"{sc.MIN_APP_VERSION}:semver"),
                    ),
                ]
                for priority, segment in enumerate(own):
                    override(segment, feature, priority)
                override(shared, feature, len(own))
                rollout = _segment(ids, f"{key}-rollout", _condition("", "PERCENTAGE_SPLIT", str(percent)))
                override(rollout, feature, len(own) + 1)
                segments.extend([*own, rollout])
            case sc.SplitFlag(variants=variants):
                state = _feature_state(ids, feature, True, variants[0][0])
                state["multivariate_feature_state_values"] = [
                    {
                        "id": ids(),
                        "multivariate_feature_option": {"value": value},
                        "mv_fs_value_uuid": f"00000000-0000-0000-0001-{i:012d}",
                        "percentage_allocation": float(weight),
                    }
                    for i, (value, weight) in enumerate(variants)
                ]
                feature_states.append(state)
    return {
        "api_key": "bench-environment",
        "name": "bench",
        "feature_states": feature_states,
        "identity_overrides": [],
        "project": {"segments": segments},
    }


class FlagsmithSdk:
    def __init__(self, client: Flagsmith) -> None:
        self._client = client

    @classmethod
    def load(cls, path: Path) -> FlagsmithSdk:
        return cls(Flagsmith(offline_mode=True, offline_handler=LocalFileHandler(str(path))))

    def contexts(self, people: Sequence[sc.Person]) -> list[FlagsmithContext]:
        return [(person.key, person.attributes()) for person in people]

    def boolean(self, key: str, context: FlagsmithContext, default: bool) -> bool:
        try:
            return self._client.get_identity_flags(*context).is_feature_enabled(key)
        except FlagsmithFeatureDoesNotExistError:
            return default

    def string(self, key: str, context: FlagsmithContext, default: str) -> str:
        try:
            value: str = self._client.get_identity_flags(*context).get_feature_value(key)
        except FlagsmithFeatureDoesNotExistError:
            return default
        return value

    def time_boolean(self, key: str, contexts: Sequence[FlagsmithContext], default: bool) -> int:
        get_identity_flags = self._client.get_identity_flags
        start = perf_counter_ns()
        for identifier, traits in contexts:
            # Not contextlib.suppress: that would add a context manager to every timed call.
            try:  # noqa: SIM105
                get_identity_flags(identifier, traits).is_feature_enabled(key)
            except FlagsmithFeatureDoesNotExistError:
                pass
        return perf_counter_ns() - start

    def time_string(self, key: str, contexts: Sequence[FlagsmithContext], default: str) -> int:
        get_identity_flags = self._client.get_identity_flags
        start = perf_counter_ns()
        for identifier, traits in contexts:
            try:  # noqa: SIM105
                get_identity_flags(identifier, traits).get_feature_value(key)
            except FlagsmithFeatureDoesNotExistError:
                pass
        return perf_counter_ns() - start


ENTRY = SdkEntry(
    label="Flagsmith",
    distribution="flagsmith",
    call=(
        "`flagsmith.get_identity_flags(identifier, traits).is_feature_enabled(key)`"
        " (or `.get_feature_value(key)`);"
        " `Flagsmith(offline_mode=True, offline_handler=LocalFileHandler(path))`"
    ),
    document=document,
    load=FlagsmithSdk.load,
    notes={
        "S2": (
            "a rollout is a PERCENTAGE_SPLIT segment, hashed on the segment id, not the flag: flags sharing"
            " the segment share their users"
        ),
        "S3": (
            "each rule is a feature-specific segment (ends_with as REGEX '.*@corp\\.example$'); the 1,000-key"
            " segment is an IN condition on $.identity.identifier"
        ),
        "S4": "an unknown flag raises FlagsmithFeatureDoesNotExistError (default_flag_handler is refused in"
        " offline mode); the except clause is timed",
        "init": (
            "5 feature-specific segments per flag (10,000 flags: 50,001 segments); the document is mapped"
            " twice, by LocalFileHandler (to validate it) and by the client"
        ),
    },
)
