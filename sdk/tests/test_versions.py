"""The rule for versioned changes, run against every holder of flag data: the store and the cache document.

Both must end with the same flags after the same changes, or the cache file would hold what the client did not
serve.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

import pytest

import flagstaff
from flagstaff import FlagStore
from flagstaff.cache import SnapshotDocument


class Holder(Protocol):
    def replace(self, document: dict[str, Any]) -> None: ...

    def apply(
        self, kind: str, key: str, data: dict[str, Any] | None, version: int, revision: int
    ) -> None: ...

    def versions(self) -> dict[str, int]: ...


class StoreHolder:
    def __init__(self) -> None:
        self.store = FlagStore()

    def replace(self, document: dict[str, Any]) -> None:
        self.store.replace(document)

    def apply(self, kind: str, key: str, data: dict[str, Any] | None, version: int, revision: int) -> None:
        self.store.apply(kind, key, data, version, revision)

    def versions(self) -> dict[str, int]:
        return {key: flag.version for key, flag in self.store.snapshot.flags.items()}


class DocumentHolder:
    def __init__(self) -> None:
        self.document = SnapshotDocument()

    def replace(self, document: dict[str, Any]) -> None:
        self.document.replace(document)

    def apply(self, kind: str, key: str, data: dict[str, Any] | None, version: int, revision: int) -> None:
        self.document.apply(kind, key, data, version, revision)

    def versions(self) -> dict[str, int]:
        # What the cache file would hold, read back as a client starting from it would read it.
        written = json.loads(json.dumps(self.document.to_json()))
        return {key: flag.version for key, flag in flagstaff.load_snapshot(written).flags.items()}


HOLDERS: dict[str, Callable[[], Holder]] = {"store": StoreHolder, "cache document": DocumentHolder}


def _flag(version: int) -> dict[str, Any]:
    return {
        "key": "x",
        "kind": "boolean",
        "variations": [True, False],
        "enabled": True,
        "version": version,
        "fallthrough": {"variation": 0},
    }


def _snapshot(revision: int, version: int | None = None) -> dict[str, Any]:
    flags = {} if version is None else {"x": _flag(version)}
    return {"format": flagstaff.FORMAT_VERSION, "revision": revision, "flags": flags, "segments": {}}


@pytest.fixture(params=sorted(HOLDERS))
def holder(request: pytest.FixtureRequest) -> Holder:
    return HOLDERS[request.param]()


def test_an_older_version_never_replaces_a_newer_one(holder: Holder) -> None:
    holder.replace(_snapshot(1))
    holder.apply("flag", "x", _flag(2), 2, 2)
    holder.apply("flag", "x", _flag(1), 1, 2)

    assert holder.versions() == {"x": 2}


def test_a_delete_is_remembered_against_an_older_upsert_in_the_same_revision(holder: Holder) -> None:
    holder.replace(_snapshot(1, 4))
    holder.apply("flag", "x", None, 5, 2)
    holder.apply("flag", "x", _flag(4), 4, 2)  # reordered within one revision

    assert holder.versions() == {}


def test_a_change_from_before_the_holders_revision_is_ignored(holder: Holder) -> None:
    holder.replace(_snapshot(5))
    holder.apply("flag", "x", _flag(9), 9, 4)

    assert holder.versions() == {}


def test_a_full_snapshot_starts_afresh_without_tombstones(holder: Holder) -> None:
    holder.replace(_snapshot(1, 4))
    holder.apply("flag", "x", None, 5, 2)
    holder.replace(_snapshot(3))
    holder.apply("flag", "x", _flag(1), 1, 3)  # created again, at a version below its old delete

    assert holder.versions() == {"x": 1}


def test_the_format_version_is_the_one_the_schema_declares() -> None:
    assert flagstaff.SNAPSHOT_SCHEMA["properties"]["format"]["const"] == flagstaff.FORMAT_VERSION
    assert SnapshotDocument().to_json()["format"] == flagstaff.FORMAT_VERSION
