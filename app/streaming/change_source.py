"""The `ChangeSource` role: what streaming reads from the source of truth (current revisions, the change log,
live SDK keys), and the `Change` it reads.

A role only: the database implementation lives outside this package, so streaming holds no SQL. Calls are
synchronous and may block; the hub and the stream session run them in worker threads.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Change:
    """One changed flag or segment of one environment revision, as the change log holds it."""

    revision: int
    kind: str
    """"flag" or "segment"."""
    key: str
    version: int
    data: dict[str, Any] | None
    """The entity in wire format; None for a deletion (a versioned tombstone)."""


class ChangeSource(Protocol):
    def current_revisions(self, environment_ids: Collection[int]) -> dict[int, int]:
        """The current revision of each of these environments that exists."""

    def changes_after(self, environment_id: int, revision: int) -> Sequence[Change]:
        """Every change after `revision`, oldest first (by revision, then in the order written)."""

    def resume_window(
        self, environment_id: int, revision: int, limit: int
    ) -> tuple[int | None, Sequence[Change]]:
        """Read together, in one consistent view: the environment's current revision (None when it does not
        exist) and at most `limit` of the changes after `revision`, oldest first."""

    def live_sdk_keys(self, key_ids: Collection[str]) -> set[str]:
        """Those of `key_ids` that still exist and are not revoked."""
