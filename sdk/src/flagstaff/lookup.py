"""What an evaluation may look up beyond the flag it evaluates: other flags (prerequisites) and segments.

A leaf module: flags, segments and matchers receive a ``Lookup`` (the snapshot implements it) and never import
the snapshot, so the engine's modules depend on what they need, not on their container.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from flagstaff.evaluation import Evaluation

Context = Mapping[str, Any]


class Audience(Protocol):
    """A segment, as a clause sees it."""

    def contains(self, value: Any, ctx: Context, lookup: Lookup, now: float | None) -> bool: ...


class Prerequisite(Protocol):
    """A flag, as another flag's prerequisite check sees it."""

    def evaluate(
        self, ctx: Context, lookup: Lookup, now: float | None, chain: tuple[str, ...] = ()
    ) -> Evaluation: ...


class Lookup(Protocol):
    @property
    def segments(self) -> Mapping[str, Audience]:
        """Segments by key: a plain mapping, read on the hot path of a segment clause."""
        ...

    def flag(self, key: str) -> Prerequisite | None:
        """The flag ``key``, ready to evaluate, or ``None`` if there is none."""
        ...


Matcher = Callable[[Context, Lookup, float | None], bool]
"""A compiled clause (or a rule's clauses together): whether a context matches. Never raises on odd values."""
