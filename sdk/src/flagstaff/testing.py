"""In-memory flag data for applications' own unit tests.

    source = TestSource()
    client = Client(data_source=source)
    source.set("new-checkout", True)                       # everyone gets True
    source.set("banner", "hello", for_keys={"user-1": "hi"})

Every change is pushed to the client immediately, through the same store a live client uses.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from flagstaff.store import FlagStore
from flagstaff.versions import FORMAT_VERSION

_KINDS = ((bool, "boolean"), (str, "string"), (int, "number"), (float, "number"))


class TestSource:
    """A data source whose flags the test sets. It is ready as soon as it starts."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, dict[str, Any]] = {}
        self._revision = 0
        self._versions: dict[str, int] = {}
        self._stores: list[FlagStore] = []

    def set(self, key: str, value: Any, *, for_keys: Mapping[str, Any] | None = None) -> None:
        """Serve ``value`` to everyone, except the context keys in ``for_keys`` (key -> value)."""
        variations: list[Any] = [value]
        targets: list[dict[str, Any]] = []
        for context_key, special in (for_keys or {}).items():
            # Compared with their types: True == 1 in Python, but they are different flag values.
            index = next(
                (i for i, v in enumerate(variations) if type(v) is type(special) and v == special), None
            )
            if index is None:
                variations.append(special)
                index = len(variations) - 1
            targets.append({"variation": index, "values": [context_key]})
        self.set_flag(
            {
                "key": key,
                "kind": _kind_of(variations),
                "variations": variations,
                "enabled": True,
                "targets": targets,
                "fallthrough": {"variation": 0},
            }
        )

    def set_flag(self, flag: Mapping[str, Any]) -> None:
        """Install a full flag in the wire format (any rules, rollouts, ...); its version is managed here."""
        with self._lock:
            key = str(flag["key"])
            data = {**flag, "version": self._next_version(key)}
            self._flags[key] = data
            self._revision += 1
            for store in self._stores:
                store.apply("flag", key, data, data["version"], self._revision)

    def remove(self, key: str) -> None:
        with self._lock:
            version = self._next_version(key)
            self._flags.pop(key, None)
            self._revision += 1
            for store in self._stores:
                store.apply("flag", key, None, version, self._revision)

    def snapshot(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "revision": self._revision,
            "flags": dict(self._flags),
            "segments": {},
        }

    def start(self, store: FlagStore) -> None:
        with self._lock:
            self._stores.append(store)
            store.replace(self.snapshot())

    def close(self) -> None:
        with self._lock:
            self._stores.clear()

    def _next_version(self, key: str) -> int:
        # Versions only increase, across removals too, as the store refuses anything older than it has seen.
        self._versions[key] = self._versions.get(key, 0) + 1
        return self._versions[key]


def _kind_of(values: list[Any]) -> str:
    for python_type, kind in _KINDS:
        if all(
            isinstance(v, python_type) and (python_type is bool or not isinstance(v, bool)) for v in values
        ):
            return kind
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "number"
    return "json"
