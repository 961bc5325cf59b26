"""One batch of SDK metrics: counts and sums per (flag, variation, event) cell over a time window, bounded.

Plain data and its wire form (``POST /sdk/v1/metrics``, docs/releases.md "SDK metrics"); no clock, no threads.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from flagstaff.json_values import valid_text

EVALUATION = "$evaluation"
"""The event of flag-check cells; applications' own event names may not start with ``$``."""

Cell = tuple[str | None, int | None, str]
"""(flag key, variation index, event). A ``None`` variation: the caller's default was served; a ``None`` flag:
the total of an event whatever flags it was attributed to."""


class Batch:
    """Cells over ``start`` to ``end`` (epoch seconds), with at most ``limit`` cells that no current flag
    bounds: the evaluation cells of the flags in the current snapshot (at most one per variation and one for
    the default) are always kept, every other cell counts against ``limit``. What a full batch cannot take is
    added to ``dropped`` (in counts, not cells)."""

    __slots__ = ("bounded", "cells", "dropped", "end", "limit", "start")

    def __init__(self, start: float, limit: int) -> None:
        self.start = start
        self.end = start
        self.limit = limit
        self.cells: dict[Cell, list[float]] = {}
        """Each cell's [count, sum of values]."""
        self.bounded = 0
        """How many of ``cells`` count against ``limit``."""
        self.dropped = 0

    def add(self, cell: Cell, count: float, total: float, flags: Container[str | None]) -> None:
        """Add ``count`` observations summing to ``total``; ``flags`` are the keys of the current flags."""
        counted = self.cells.get(cell)
        if counted is None:
            if cell[0] is not None and not valid_text(cell[0]):
                return  # a flag key with no UTF-8 form (from a broken document) could not be sent
            if cell[2] != EVALUATION or cell[0] not in flags:
                if self.bounded >= self.limit:
                    self.dropped += int(count)
                    return
                self.bounded += 1
            counted = self.cells[cell] = [0.0, 0.0]
        counted[0] += count
        counted[1] += total

    def merge(self, other: Batch, flags: Container[str | None]) -> None:
        """Take in an earlier batch (one that could not be sent): its window, cells and drops."""
        self.start = min(self.start, other.start)
        self.dropped += other.dropped
        for cell, (count, total) in other.cells.items():
            self.add(cell, count, total, flags)

    @property
    def empty(self) -> bool:
        return not self.cells and not self.dropped

    def to_json(self) -> dict[str, Any]:
        """The wire body without ``instance``: cells in a stable order (flag, variation, event)."""
        counts = [
            {"flag": flag, "variation": variation, "event": event, "count": int(count), "sum": total}
            for (flag, variation, event), (count, total) in sorted(self.cells.items(), key=_order)
        ]
        return {"start": self.start, "end": self.end, "counts": counts, "dropped": self.dropped}


def _order(item: tuple[Cell, list[float]]) -> tuple[str, int, str]:
    flag, variation, event = item[0]
    return ("" if flag is None else flag, -1 if variation is None else variation, event)
