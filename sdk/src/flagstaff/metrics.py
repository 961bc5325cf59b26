"""A client's metrics: flag checks per flag and variation, and ``track``'s outcomes, until a batch is taken.

Flag checks count themselves, in the compiled flag's own ``counts`` cells (``flagstaff.flags``); this module
gathers them, records ``track`` calls, and hands out batches. It never does I/O and never raises into the
application: counts lost to races between threads are accepted, exceptions are not.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from flagstaff.flags import Flag
from flagstaff.json_values import valid_text
from flagstaff.metric_batch import EVALUATION, Batch, Cell
from flagstaff.snapshot import UNCOMPILED, Snapshot
from flagstaff.store import FlagStore
from flagstaff.tracked_flags import tracked_among

log = logging.getLogger("flagstaff")
T = TypeVar("T")

MAX_EVENT_LENGTH = 200
_EMPTY: Mapping[str, Any] = {}


class Metrics:
    """Counts for one client. ``take`` hands out what was counted since the last ``take`` and starts anew;
    ``restore`` gives back a batch that could not be sent, to go out with the next one (still bounded).

    Memory is bounded: the flags' own cells (also for the versions they replaced since the last batch), at
    most ``max_cells`` cells of ``track``'s, and as many of flags deleted since the last batch; what does not
    fit is counted as dropped."""

    def __init__(self, store: FlagStore, max_cells: int) -> None:
        self._store = store
        self._limit = max_cells
        self._lock = threading.Lock()
        self._totals: dict[str, list[float]] = {}
        """Each event's total since the last batch: [count, sum of values]."""
        self._cells: dict[Cell, list[float]] = {}
        """``track``'s attributions since the last batch, by (flag, variation, event): [count, sum]."""
        self._dropped = 0
        self._replaced: dict[tuple[str, int | None], float] = {}
        """Checks counted by compiled flags that left the snapshot (changed, deleted) since the last batch."""
        self._deleted = 0
        """How many of ``_replaced`` are of flags deleted since: at most ``max_cells``."""
        self._carry: Batch | None = None
        self._start = time.time()
        self._seen: Snapshot = store.snapshot
        self._tracking: set[str] = set()
        self._tracked: tuple[str, ...] = ()
        """The keys of the flags whose document sets ``track_events`` (``_tracking``, published whole for
        ``track`` to read without a lock), kept as the snapshot changes rather than looked for per call."""
        self._stopped = False
        self._warned = False
        store.on_change(self._changed)

    # -- recording (application threads) ------
    def track(self, event: str, context: Mapping[str, Any] | None, value: float | None) -> None:
        """Count ``event`` once in its total, and once per ``track_events`` flag under the variation that flag
        serves ``context`` now. An invalid event or value is ignored (and logged once)."""
        if value is None:
            amount = 0.0
        elif (type(value) is float or type(value) is int) and math.isfinite(value):
            amount = float(value)
        else:
            self._ignore("the value must be a finite number or None", event)
            return
        # An event already in the totals was checked when it went in; only a new one is checked here.
        total = self._totals.get(event) if type(event) is str else None
        if total is None:
            total = self._new_total(event)
            if total is None:
                return
        total[0] += 1.0
        total[1] += amount
        tracked = self._tracked
        if not tracked:
            return
        snap = self._store.snapshot
        ctx = _EMPTY if context is None else context
        table, cells = snap.table, self._cells
        for key in tracked:
            flag = table.get(key)
            if flag is UNCOMPILED:
                flag = snap.flag(key)
            if flag is None or not flag.track_events:
                continue  # the snapshot moved on since the keys were listed
            # The flag's own decision, as a check makes it, without counting as one.
            result = flag.static or flag.decide(ctx, snap, time.time() if flag.uses_now else None)
            cell = (key, result.variation_index, event)
            counted = cells.get(cell)
            if counted is None:
                counted = self._new_cell(cells, cell)
            counted[0] += 1.0
            counted[1] += amount

    def _new_total(self, event: str) -> list[float] | None:
        if self._stopped:
            return None
        if (
            type(event) is not str
            or not 0 < len(event) <= MAX_EVENT_LENGTH
            or event[0] == "$"
            or not valid_text(event)  # a lone surrogate has no UTF-8 form: the batch could not be sent
        ):
            self._ignore(f"event names are 1 to {MAX_EVENT_LENGTH} characters, not starting with '$'", event)
            return None
        return self._new_cell(self._totals, event)

    def _new_cell(self, cells: dict[Any, list[float]], key: object) -> list[float]:
        """A new cell of ``track``'s; when they are ``max_cells`` already, one kept nowhere (and one count
        dropped), so that ``dropped`` and the counts kept add up to every count made."""
        if len(self._totals) + len(self._cells) >= self._limit:
            self._dropped += 1
            return [0.0, 0.0]
        return cells.setdefault(key, [0.0, 0.0])  # one step: two threads adding it at once share one cell

    def _ignore(self, why: str, event: object) -> None:
        if not self._warned:
            self._warned = True
            log.warning("ignoring client.track(%.80r): %s (logged once)", event, why)

    # -- batches (the sending thread, or a caller of client.metrics()) ------
    def take(self) -> Batch | None:
        """What was counted since the last batch (with any batch given back), or ``None`` if nothing was."""
        with self._lock:
            return self._collect(consume=True)

    def peek(self) -> Batch:
        """What ``take`` would hand out now, leaving it all in place."""
        with self._lock:
            batch = self._collect(consume=False)
        return batch if batch is not None else Batch(self._start, self._limit)

    def restore(self, batch: Batch) -> None:
        """A batch that could not be sent: merged into the next one, within the same bound."""
        with self._lock:
            if not self._stopped:
                self._carry = batch

    def stop(self) -> None:
        """Nothing will be sent any more (the server has no route for it): stop recording ``track``."""
        self._stopped = True
        with self._lock:
            self._carry = None
            self._totals, self._cells, self._replaced = {}, {}, {}
            self._deleted = 0

    def reset_after_fork(self) -> None:
        """In a forked child: the parent reports what it counted before the fork; the child starts at zero."""
        self._lock = threading.Lock()
        with self._lock:
            self._collect(consume=True)

    def _collect(self, consume: bool) -> Batch | None:
        now = time.time()
        snap = self._store.snapshot
        if snap is not self._seen:
            self._follow(snap, None)  # the flags compiled in the snapshot before count in this batch too
        table = snap.table
        batch = Batch(self._start, self._limit)
        batch.end = now
        if self._carry is not None:
            batch.merge(self._carry, table)
        totals, cells, dropped, replaced = self._totals, self._cells, self._dropped, self._replaced
        if consume:
            # Swapped, not cleared: a thread counting into the old dict at this moment loses that count only.
            self._totals, self._cells, self._dropped, self._replaced = {}, {}, 0, {}
            self._deleted = 0
            self._carry = None
            self._start = now
        batch.dropped += dropped
        for (key, index), count in replaced.items():
            batch.add((key, index, EVALUATION), count, 0.0, table)
        for key, flag in table.items():
            if flag is not UNCOMPILED and any(flag.counts):
                for variation, count in _taken(flag, consume):
                    batch.add((key, variation, EVALUATION), count, 0.0, table)
        for event, (count, total) in _items(totals):
            batch.add((None, None, event), count, total, table)
        for cell, (count, total) in _items(cells):
            batch.add(cell, count, total, table)
        return None if batch.empty else batch

    # -- the snapshot's changes (the data source's thread) ------
    def _changed(self, keys: set[str]) -> None:
        """Keep the checks counted by the compiled flags the snapshot no longer holds; update tracked keys."""
        with self._lock:
            self._follow(self._store.snapshot, keys)

    def _follow(self, new: Snapshot, keys: Iterable[str] | None) -> None:
        """Move on to snapshot ``new``; ``keys``: the flags changed, or ``None`` when they are not known (a
        snapshot installed with no change reported, as when a data source reinstalls the same flags)."""
        old = self._seen
        self._seen = new
        if not self._stopped:
            self._keep_replaced(old, new, old.table if keys is None else keys)
        if keys is not None:
            self._retrack(old, new, keys)

    def _keep_replaced(self, old: Snapshot, new: Snapshot, keys: Iterable[str]) -> None:
        if not old.table:
            return  # the first flags: nothing counted before them
        for key in keys:
            flag = old.table.get(key)
            if flag is None or flag is UNCOMPILED or new.table.get(key) is flag:
                continue
            # A flag still in the snapshot (a new version, a full snapshot reloaded) is bounded by its
            # variations, as its cells are in every batch; only the cells of deleted flags count to the bound.
            bounded = key not in new.table
            for variation, count in _taken(flag, consume=True):
                cell = (key, variation)
                if bounded and cell not in self._replaced:
                    if self._deleted >= self._limit:
                        self._dropped += int(count)
                        continue
                    self._deleted += 1
                self._replaced[cell] = self._replaced.get(cell, 0.0) + count

    def _retrack(self, old: Snapshot, new: Snapshot, keys: Iterable[str]) -> None:
        before, after = old.sources, new.sources
        if old is new or not before:
            looked_at = set(keys)
        else:  # only the flags that changed (after a segment change, every key is reported)
            looked_at = {key for key in keys if after.get(key) is not before.get(key)}
        tracking = (self._tracking - looked_at) | tracked_among(after, looked_at)
        if tracking != self._tracking:
            self._tracking = tracking
            self._tracked = tuple(sorted(tracking))


def _taken(flag: Flag, consume: bool) -> Iterator[tuple[int | None, float]]:
    """Each variation checks of ``flag`` served (``None``: the default) and how often; reset if consumed."""
    counts = flag.counts
    last = len(counts) - 1
    for index, count in enumerate(counts):
        if count:
            if consume:
                counts[index] -= count  # not zeroed: a check counted meanwhile stays for the next batch
            yield (None if index == last else index), count


def _items(cells: dict[T, list[float]]) -> list[tuple[T, list[float]]]:
    """A copy of ``cells``, which application threads may still be adding to."""
    while True:
        try:
            return list(cells.items())
        except RuntimeError:  # changed size during the copy; the next try is almost certainly clean
            continue
