"""The wire format's version, and the one rule for versioned changes wherever a copy of flag data is kept.

A change names the revision of the environment it belongs to and the version of the flag or segment. A change
from before the holder's revision is ignored: it is already in, or was superseded, perhaps by a delete that a
full snapshot does not record. Otherwise a version only replaces a lower one, and a delete leaves its version
behind (a tombstone), so that a late upsert of an older version cannot bring the entity back.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Final, TypeVar

FORMAT_VERSION: Final = 1
"""The snapshot format this SDK reads and writes (docs/flag-format.md); the server writes it too."""

T = TypeVar("T")


def supersedes(version: int, held: int | None, deleted: int | None) -> bool:
    """Whether a change at ``version`` replaces the entity held at version ``held`` and deleted at ``deleted``
    (``None``: nothing held, or no delete recorded)."""
    return version > max(-1 if held is None else held, -1 if deleted is None else deleted)


def record(
    table: MutableMapping[str, T],
    tombstones: MutableMapping[str, int],
    key: str,
    value: T | None,
    version: int,
) -> None:
    """Upsert ``value`` at ``key``, or delete it (``None``) and keep the delete's version as a tombstone."""
    if value is None:
        table.pop(key, None)
        tombstones[key] = version
    else:
        table[key] = value
        tombstones.pop(key, None)


def declared_version(raw: object) -> int:
    """The version a flag or segment document declares, as the compiler reads it (0 when it has none)."""
    version = raw.get("version") if isinstance(raw, Mapping) else None
    return version if type(version) is int else 0
