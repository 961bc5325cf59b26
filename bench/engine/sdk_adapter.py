"""What the benchmark needs from each SDK: load a document, translate contexts, evaluate, and time a loop.

Adapters translate; they must not cache results or do anything an application using the SDK would not do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .scenarios import FlagSet, Person

ContextT = TypeVar("ContextT")


class SdkAdapter(Protocol[ContextT]):
    """One SDK client, loaded with one flag set.

    `time_boolean` and `time_string` run the SDK's public evaluation call once per context and return the
    elapsed nanoseconds of the whole loop. The loop lives in the adapter so that nothing stands between the
    loop and the SDK call except what an application would write itself.
    """

    def contexts(self, people: Sequence[Person]) -> list[ContextT]: ...

    def boolean(self, key: str, context: ContextT, default: bool) -> bool: ...

    def string(self, key: str, context: ContextT, default: str) -> str: ...

    def time_boolean(self, key: str, contexts: Sequence[ContextT], default: bool) -> int: ...

    def time_string(self, key: str, contexts: Sequence[ContextT], default: str) -> int: ...


@dataclass(frozen=True, slots=True)
class SdkEntry:
    """How to build one SDK's native document, how to load it offline, and where it differs from ours."""

    label: str
    distribution: str
    # The timed call and the offline load, as an application would write them.
    call: str
    document: Callable[[FlagSet], dict[str, Any]]
    load: Callable[[Path], SdkAdapter[Any]]
    # Scenario id ("S1".."S5", "init") -> what this SDK cannot express exactly, or does differently.
    notes: Mapping[str, str] = field(default_factory=dict)
