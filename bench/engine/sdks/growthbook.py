"""GrowthBook's Python SDK, given its features and saved groups as a payload document, with no API host.

Without a client key the SDK never fetches; one `GrowthBook` instance serves every context through
`set_attributes`, which is how a server evaluates for many users without rebuilding its features.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter_ns
from typing import Any

from growthbook import GrowthBook

from .. import scenarios as sc
from ..sdk_adapter import SdkEntry


def _force(condition: dict[str, Any]) -> dict[str, Any]:
    return {"condition": condition, "force": True}


def _feature(flag: sc.Flag) -> dict[str, Any]:
    match flag:
        case sc.OnFlag():
            return {"defaultValue": True}
        case sc.PercentFlag(percent=percent):
            return {
                "defaultValue": False,
                "rules": [{"force": True, "coverage": percent / 100, "hashAttribute": "id"}],
            }
        case sc.TargetedFlag(fallthrough_percent=percent):
            suffix_pattern = json.dumps(sc.EMAIL_SUFFIX)[1:-1].replace(".", "\\.") + "$"
            rules = [
                _force({"country": {"$in": list(sc.COUNTRIES)}}),
                # No "ends with" operator: an anchored regular expression instead.
                _force({"email": {"$regex": suffix_pattern}}),
                _force({"plan": sc.ENTERPRISE_PLAN}),
                _force({"app_version": {"$vgte": sc.MIN_APP_VERSION}}),
                _force({"id": {"$inGroup": sc.SEGMENT_KEY}}),
                {"force": True, "coverage": percent / 100, "hashAttribute": "id"},
            ]
            return {"defaultValue": False, "rules": rules}
        case sc.SplitFlag(key=key, variants=variants):
            # A weighted split of several values is an experiment rule in GrowthBook.
            experiment = {
                "key": key,
                "variations": [value for value, _ in variants],
                "weights": [weight / 100 for _, weight in variants],
                "hashAttribute": "id",
            }
            return {"defaultValue": variants[0][0], "rules": [experiment]}


def document(flags: sc.FlagSet) -> dict[str, Any]:
    return {
        "features": {f.key: _feature(f) for f in flags.flags},
        "savedGroups": {sc.SEGMENT_KEY: list(flags.segment_members)},
    }


class GrowthBookSdk:
    def __init__(self, client: GrowthBook) -> None:
        self._client = client

    @classmethod
    def load(cls, path: Path) -> GrowthBookSdk:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return cls(GrowthBook(features=payload["features"], saved_groups=payload["savedGroups"]))

    def contexts(self, people: Sequence[sc.Person]) -> list[dict[str, Any]]:
        return [{"id": person.key, **person.attributes()} for person in people]

    def boolean(self, key: str, context: dict[str, Any], default: bool) -> bool:
        self._client.set_attributes(context)
        value: bool = self._client.get_feature_value(key, default)
        return value

    def string(self, key: str, context: dict[str, Any], default: str) -> str:
        self._client.set_attributes(context)
        value: str = self._client.get_feature_value(key, default)
        return value

    def time_boolean(self, key: str, contexts: Sequence[dict[str, Any]], default: bool) -> int:
        set_attributes = self._client.set_attributes
        get_feature_value = self._client.get_feature_value
        start = perf_counter_ns()
        for context in contexts:
            set_attributes(context)
            get_feature_value(key, default)
        return perf_counter_ns() - start

    def time_string(self, key: str, contexts: Sequence[dict[str, Any]], default: str) -> int:
        set_attributes = self._client.set_attributes
        get_feature_value = self._client.get_feature_value
        start = perf_counter_ns()
        for context in contexts:
            set_attributes(context)
            get_feature_value(key, default)
        return perf_counter_ns() - start


ENTRY = SdkEntry(
    label="GrowthBook",
    distribution="growthbook",
    call=(
        "`gb.set_attributes(attributes)` then `gb.get_feature_value(key, default)` on one shared instance;"
        " `GrowthBook(features=..., saved_groups=...)` from the payload file, no API host or client key"
    ),
    document=document,
    load=GrowthBookSdk.load,
    notes={
        "S3": "email ends_with written as $regex '@corp\\.example$'; the segment is a saved group ($inGroup)",
        "S4": "logs a warning per unknown-flag call (silenced here; the disabled log call is still timed)",
        "S5": "a weighted split is an experiment rule (fires its tracking hooks, none registered)",
        "init": "keeps the parsed features as they are: conditions are interpreted at every evaluation",
    },
)
