"""Group commit for SDK metrics reports: reports arriving in one process while a write is under way are merged
and written together by one thread, so a burst of instances reporting the same flags costs one transaction per
environment instead of one each, all queueing on the same rows' locks.

Each caller still returns only once its own counts are committed, or raises what failed to write them: an
accepted report is a stored one. Blocking (a worker thread waits), never on the event loop.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from app.storage.metric_repository import Cell

Write = Callable[[int, datetime, Sequence[Cell]], None]
"""Adds cells to one environment's bucket in a transaction of its own."""
_Group = tuple[int, datetime]


class _Batch:
    __slots__ = ("done", "errors", "groups")

    def __init__(self) -> None:
        self.groups: dict[_Group, list[Cell]] = {}
        self.errors: dict[_Group, BaseException] = {}
        self.done = False


class GroupWriter:
    def __init__(self, write: Write) -> None:
        self._write = write
        self._changed = threading.Condition()
        self._open = _Batch()
        self._writing = False
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """Callers waiting for a write to include their cells (not the one writing)."""
        return self._waiting

    def add(self, environment_id: int, bucket_start: datetime, cells: Sequence[Cell]) -> None:
        group = (environment_id, bucket_start)
        with self._changed:
            batch = self._open
            batch.groups.setdefault(group, []).extend(cells)
            # Wait for a write that includes these cells; when no write is running, this thread does it.
            while not batch.done and self._writing:
                self._waiting += 1
                self._changed.wait()
                self._waiting -= 1
            leading = not batch.done
            if leading:
                self._writing, self._open = True, _Batch()
        if leading:
            self._write_batch(batch)
        error = batch.errors.get(group)
        if error is not None:
            raise error

    def _write_batch(self, batch: _Batch) -> None:
        written: set[_Group] = set()
        try:
            # One transaction per environment and bucket: one environment's failure (deleted meanwhile, say)
            # is reported to its own callers only.
            for group, cells in batch.groups.items():
                try:
                    self._write(group[0], group[1], cells)
                    written.add(group)
                except Exception as error:
                    batch.errors[group] = error
        finally:
            with self._changed:
                for group in batch.groups.keys() - written - batch.errors.keys():
                    batch.errors[group] = RuntimeError("the metrics write was interrupted")
                batch.done, self._writing = True, False
                self._changed.notify_all()
