"""Unleash delta-API events (hydration, feature and segment updates, removals) applied to a ``FlagStore``.

Keeps the Unleash state the events describe; after each event, only the flags whose conversion changed are
upserted or deleted through ``FlagStore.apply``, at the event id as version and revision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flagstaff.store import FlagStore
from flagstaff.unleash.importer import import_unleash
from flagstaff.unleash.report import Unmapped


class UnleashDelta:
    """Feeds one store from a stream of delta events. Not thread-safe: one caller applies events in order."""

    def __init__(self, store: FlagStore) -> None:
        self.store = store
        self.features: dict[str, Mapping[str, Any]] = {}
        self.segments: dict[Any, Mapping[str, Any]] = {}
        self.flags: dict[str, Any] = {}
        self.keys: dict[str, str] = {}
        self.problems: list[Unmapped] = []

    def apply(self, event: Mapping[str, Any]) -> None:
        """Apply one event; an unknown event type is ignored, as Unleash clients do."""
        kind = event.get("type")
        event_id = int(event.get("eventId", 0))
        if kind == "hydration":
            self.features = {str(f.get("name")): f for f in event.get("features") or []}
            self.segments = {s.get("id"): s for s in event.get("segments") or []}
            result = self._convert(event_id)
            self.store.replace(result)
            self.flags = dict(result["flags"])
            return
        if kind == "feature-updated":
            feature = event.get("feature") or {}
            self.features[str(feature.get("name"))] = feature
        elif kind == "feature-removed":
            self.features.pop(str(event.get("featureName")), None)
        elif kind == "segment-updated":
            segment = event.get("segment") or {}
            self.segments[segment.get("id")] = segment
        elif kind == "segment-removed":
            self.segments.pop(event.get("segmentId"), None)
        else:
            return
        self._publish(event_id)

    def _convert(self, event_id: int) -> dict[str, Any]:
        document = {"features": list(self.features.values()), "segments": list(self.segments.values())}
        result = import_unleash(document, revision=event_id, version=event_id)
        self.keys = result.keys
        self.problems = result.problems
        return result.snapshot

    def _publish(self, event_id: int) -> None:
        # A feature's flag also depends on its segments and its parents, so every flag is converted again and
        # only those that differ are sent: the store sees exactly the changes.
        flags: dict[str, Any] = self._convert(event_id)["flags"]
        for key, flag in flags.items():
            old = self.flags.get(key)
            if old is None or _without_version(old) != _without_version(flag):
                self.store.apply("flag", key, flag, event_id, event_id)
        for key in self.flags.keys() - flags.keys():
            self.store.apply("flag", key, None, event_id, event_id)
        self.flags = {
            key: flag
            if key not in self.flags or _without_version(self.flags[key]) != _without_version(flag)
            else self.flags[key]
            for key, flag in flags.items()
        }


def _without_version(flag: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in flag.items() if k != "version"}, sort_keys=True)
