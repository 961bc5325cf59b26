"""The measuring loop: batches of calls timed with perf_counter_ns, SDKs interleaved, median per call.

Nothing is subtracted: a reported time includes the `for` loop and the method call, exactly as an application
pays them. `floor_subject` measures that loop around a method that does nothing, so a reader can see it.
"""

from __future__ import annotations

import gc
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

MIN_BATCH = 100
MAX_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class Subject:
    """One SDK's timed loop for one scenario, and the (native) contexts it rotates through."""

    run: Callable[[Sequence[Any]], int]
    contexts: Sequence[Any]


def _batch_size(subject: Subject, batch_ns: int) -> int:
    probe = [subject.contexts[i % len(subject.contexts)] for i in range(200)]
    per_call = min(subject.run(probe) for _ in range(3)) / len(probe)
    return max(MIN_BATCH, min(MAX_BATCH, int(batch_ns / max(per_call, 1.0))))


def _rotating_batches(contexts: Sequence[Any], size: int, count: int) -> list[list[Any]]:
    """`count` batches that walk through the contexts in order, wrapping around, so keys keep changing."""
    n = len(contexts)
    return [[contexts[(r * size + i) % n] for i in range(size)] for r in range(count)]


def median_ns_per_call(subjects: Mapping[str, Subject], repeats: int, batch_ns: int) -> dict[str, float]:
    """Median over `repeats` batches of (batch time / calls), per subject.

    Each SDK's batch is sized to take about `batch_ns`, so a slow SDK is not measured on a handful of calls
    and a fast one is not dominated by the clock. Subjects take turns batch by batch (in a rotating order), so
    a change in machine load during the run hits every SDK alike instead of whichever ran at that moment.
    """
    names = list(subjects)
    batches: dict[str, list[list[Any]]] = {}
    for name in names:
        size = _batch_size(subjects[name], batch_ns)
        batches[name] = _rotating_batches(subjects[name].contexts, size, repeats + 1)
        subjects[name].run(batches[name][-1])  # warm-up: first-call caches, lazy compilation
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            batch = batches[name][r]
            samples[name].append(subjects[name].run(batch) / len(batch))
    return {name: statistics.median(values) for name, values in samples.items()}


class _NoOp:
    def check(self, key: str, context: object, default: bool) -> bool:
        return default


def floor_subject() -> Subject:
    """The same loop around a method that returns its argument: the machine's floor for any SDK call.

    Timed alongside the SDKs, in the same rotation, so it sees the same machine load they do.
    """
    check = _NoOp().check

    def run(contexts: Sequence[Any]) -> int:
        start = perf_counter_ns()
        for context in contexts:
            check("flag", context, False)
        return perf_counter_ns() - start

    return Subject(run, [{"key": f"user-{i}"} for i in range(10_000)])


class _DictMiss:
    def __init__(self) -> None:
        self._flags: dict[str, bool] = {}

    def check(self, key: str, context: object, default: bool) -> bool:
        return self._flags.get(key, default)


def dict_miss_subject() -> Subject:
    """The same loop around a method whose whole work is a dict lookup that misses: what an unknown flag would
    cost if flags were a plain dict. The unknown-flag scenario (S4) is held to twice this."""
    check = _DictMiss().check

    def run(contexts: Sequence[Any]) -> int:
        start = perf_counter_ns()
        for context in contexts:
            check("flag", context, False)
        return perf_counter_ns() - start

    return Subject(run, [{"key": f"user-{i}"} for i in range(10_000)])
