"""One batch of SDK metrics: counts and sums per (flag, variation, event) cell over a time window, bounded.

Plain data and its wire form (``POST /sdk/v1/metrics``, docs/releases.md "SDK metrics"), cut into requests the
server accepts; no clock, no threads, no I/O.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from typing import Any, NamedTuple

import msgspec

from flagstaff.json_values import valid_text

EVALUATION = "$evaluation"
"""The event of flag-check cells; applications' own event names may not start with ``$``."""

Cell = tuple[str | None, int | None, str]
"""(flag key, variation index, event). A ``None`` variation: the caller's default was served; a ``None`` flag:
the total of an event whatever flags it was attributed to."""

MAX_REQUEST_BYTES = 512 * 1024
"""The most one request's body holds: half the server's default bound on bodies (``FLAGSTAFF_MAX_BODY_BYTES``,
1 MiB). A cell takes at most about 2.1 kB (a flag key of 200 four-byte letters, an event name of 200 control
characters, each escaped in 6 bytes), so no request needs more."""


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
        counts = msgspec.to_builtins([_row(cell, counted) for cell, counted in _ordered(self)])
        return {"start": self.start, "end": self.end, "counts": counts, "dropped": self.dropped}

    def requests(self, instance: str, max_cells: int, max_bytes: int = MAX_REQUEST_BYTES) -> Requests:
        """The batch as requests of at most ``max_cells`` cells and ``max_bytes`` bytes each."""
        return Requests(self, instance, max_cells, max_bytes)

    def part(self, dropped: int = 0) -> Batch:
        """An empty batch over the same window and bound, to hold a share of this one's cells."""
        part = Batch(self.start, self.limit)
        part.end = self.end
        part.dropped = dropped
        return part


class Request(NamedTuple):
    body: bytes
    """A whole report: ``{"instance", "start", "end", "counts", "dropped"}``, as JSON."""
    part: Batch
    """The cells in it (and, in a batch's first request only, its ``dropped``): what to keep if it fails."""


class Requests(Iterator[Request]):
    """A batch cut into reports, each of at most ``max_cells`` cells and ``max_bytes`` bytes (a single larger
    cell alone), in the batch's order of cells. Each is a report of its own, as the server checks each whole:
    the same instance, start and end, and the batch's ``dropped`` in the first one only. Each cell is
    encoded once, as its request is made: only one body is held at a time."""

    def __init__(self, batch: Batch, instance: str, max_cells: int, max_bytes: int) -> None:
        self._batch = batch
        self.max_cells = max(1, max_cells)
        """May be lowered between requests: the next ones keep to it."""
        self._max_bytes = max_bytes
        self._cells = _ordered(batch)
        self._next = 0
        """The first cell not handed out yet."""
        self._dropped = batch.dropped
        """What the next request reports as dropped: the batch's in the first, 0 after."""
        self._first = True
        window = _ENCODER.encode({"instance": instance, "start": batch.start, "end": batch.end})
        self._head = window[:-1] + b',"counts":['

    def __next__(self) -> Request:
        cells = self._cells
        if self._next == len(cells) and not self._first:
            raise StopIteration
        part = self._batch.part(self._dropped)
        tail = b'],"dropped":%d}' % self._dropped
        self._dropped, self._first = 0, False
        rows: list[bytes] = []
        size = len(self._head) + len(tail) - 1  # each row adds its length and a comma: one comma too many
        while self._next < len(cells) and len(rows) < self.max_cells:
            cell, counted = cells[self._next]
            row = _ENCODER.encode(_row(cell, counted))
            if rows and size + 1 + len(row) > self._max_bytes:
                break  # encoded again for the next request: one cell per request, a few microseconds
            size += 1 + len(row)
            rows.append(row)
            part.cells[cell] = counted
            self._next += 1
        return Request(self._head + b",".join(rows) + tail, part)

    def rest(self) -> Batch | None:
        """The cells not handed out in a request yet (and ``dropped``, if no request was), as one batch; none
        are handed out after."""
        part = self._batch.part(self._dropped)
        part.cells.update(self._cells[self._next :])
        self._next, self._dropped, self._first = len(self._cells), 0, False
        return None if part.empty else part


class _Row(msgspec.Struct):
    """One cell on the wire, its fields in this order."""

    flag: str | None
    variation: int | None
    event: str
    count: int
    sum: float


_ENCODER = msgspec.json.Encoder()


def _row(cell: Cell, counted: list[float]) -> _Row:
    return _Row(cell[0], cell[1], cell[2], int(counted[0]), counted[1])


def _ordered(batch: Batch) -> list[tuple[Cell, list[float]]]:
    return sorted(batch.cells.items(), key=_order)


def _order(item: tuple[Cell, list[float]]) -> tuple[str, int, str]:
    flag, variation, event = item[0]
    return ("" if flag is None else flag, -1 if variation is None else variation, event)
