"""A client's metrics: flag checks per flag and variation, and ``track``'s outcomes, until a batch is taken.

Flag checks count themselves, in the compiled flag's own ``counts`` cells (``flagstaff.flags``); this module
gathers them, records ``track`` calls, and hands out batches. It never does I/O and never raises into the
application: counts lost to races between threads are accepted, exceptions are not.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from flagstaff.evaluation import Evaluation
from flagstaff.flags import Decide, Flag
from flagstaff.json_values import valid_text
from flagstaff.metric_batch import EVALUATION, Batch
from flagstaff.snapshot import UNCOMPILED, Snapshot
from flagstaff.store import FlagStore
from flagstaff.tracked_flags import tracked_among

log = logging.getLogger("flagstaff")
K = TypeVar("K")
V = TypeVar("V")

MAX_EVENT_LENGTH = 200
_EMPTY: Mapping[str, Any] = {}

_Attribution = tuple[str, Evaluation | None, Decide, bool]
"""A tracked flag as ``track`` calls it: its key, ``static`` result, ``decide`` and ``uses_now``."""


_NOT_ATTRIBUTED: dict[str, dict[int | None, list[float]]] = {}
"""The attributions of an outcome no tracked flag claimed yet: read, never written (most events have none)."""


class Outcome:
    """One event's cells since the last batch: its total, and its attributions to tracked flags."""

    __slots__ = ("count", "flags", "sum")

    def __init__(self) -> None:
        self.count = 0.0
        self.sum = 0.0
        """Of the values given (0.0 when none was)."""
        self.flags = _NOT_ATTRIBUTED
        """By tracked flag and variation served: [count, sum]."""


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
        self._events: dict[str, Outcome] = {}
        """Each event's total since the last batch, and its attributions to tracked flags."""
        self._tickets = itertools.count()
        """One per ``track`` cell added since the last batch (totals and attributions): ``next`` is atomic, so
        threads adding cells at once still stop at ``max_cells``."""
        self._dropped = 0
        self._replaced: dict[tuple[str, int | None], float] = {}
        """Checks counted by compiled flags that left the snapshot (changed, deleted) since the last batch."""
        self._deleted = 0
        """How many of ``_replaced`` are of flags deleted since: at most ``max_cells``."""
        self._carry: list[Batch] = []
        """Batches (or parts of one) that could not be sent, merged into the next one."""
        self._start = time.time()
        self._seen: Snapshot = store.snapshot
        self._tracking: set[str] = set()
        self._tracked: tuple[str, ...] = ()
        """The keys of the flags whose document sets ``track_events`` (``_tracking``, published whole for
        ``track`` to read without a lock), kept as the snapshot changes rather than looked for per call."""
        self._plan: tuple[Snapshot | None, tuple[str, ...], tuple[_Attribution, ...]] = (None, (), ())
        """The tracked flags as compiled in one snapshot, for ``_tracked`` keys: what ``track`` calls, built
        once per snapshot (or change of ``_tracked``) by the first call that finds it out of date."""
        self._stopped = False
        self._warned = False
        store.on_change(self._changed)

    # -- recording (application threads) ------
    # The hot path: an event already counted in this batch, with a number or no value, costs one dict lookup
    # and two additions; each tracked flag, its decision and two lookups more. Nothing is allocated on it, and
    # it is one call: a client's ``track`` is this method (``flagstaff.client``).
    def track(self, event: str, context: Mapping[str, Any] | None = None, value: float | None = None) -> None:
        """Count ``event`` once in its total, and once per ``track_events`` flag under the variation that flag
        serves ``context`` now (``Client.track`` says more). Never raises: an invalid event or value is
        ignored (and logged once)."""
        try:
            if value is not None and (type(value) is not float or value - value != 0.0):  # not finite float
                value = self._number(value, event)
                if value is None:
                    return
            # An event already counted was checked when it went in; only a new one is checked, once per batch.
            # (So an object equal to a name counted already, as a str subclass may be, finds its outcome.)
            try:
                outcome = self._events[event]
            except (KeyError, TypeError):  # new, or not a name at all (unhashable)
                found = self._new_outcome(event)
                if found is None:
                    return
                outcome = found
            outcome.count += 1.0
            if value is not None:
                outcome.sum += value
            tracked = self._tracked
            if not tracked:
                return
            snap = self._store.snapshot
            seen, keys, flags = self._plan
            if seen is not snap or keys is not tracked:
                flags = self._plan_for(snap, tracked)
            ctx = _EMPTY if context is None else context
            attributed = outcome.flags
            for key, static, decide, uses_now in flags:
                # The flag's own decision, as a check makes it, without counting as one.
                index = (static or decide(ctx, snap, time.time() if uses_now else None)).variation_index
                by_variation = attributed.get(key)
                cell = None if by_variation is None else by_variation.get(index)
                if cell is None:
                    cell = self._new_attribution(outcome, key, index)
                cell[0] += 1.0
                if value is not None:
                    cell[1] += value
        except Exception:  # an outcome is never worth an exception in application code; a count is lost
            return

    def _number(self, value: object, event: object) -> float | None:
        """``value`` as a finite float, or ``None`` (the call ignored, and logged once) if it is not one."""
        if type(value) is int:
            try:
                return float(value)
            except OverflowError:  # beyond a float's range: no finite sum could hold it
                pass
        elif type(value) is float and math.isfinite(value):
            return value
        self._ignore("the value must be a finite number or None", event)
        return None

    def _new_outcome(self, event: str) -> Outcome | None:
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
        if self._full():
            return Outcome()  # kept nowhere; its attributions find no room either
        return self._events.setdefault(event, Outcome())  # one step: two threads adding it share one

    def _new_attribution(self, outcome: Outcome, key: str, index: int | None) -> list[float]:
        if self._full():
            return [0.0, 0.0]
        flags = outcome.flags
        if flags is _NOT_ATTRIBUTED:
            # A thread doing the same at this moment may replace it: that loses its count, as races may.
            flags = outcome.flags = {}
        return flags.setdefault(key, {}).setdefault(index, [0.0, 0.0])

    def _full(self) -> bool:
        """Whether a new cell of ``track``'s finds no room: then one count is dropped, so that ``dropped`` and
        the counts kept add up to every count made."""
        if next(self._tickets) < self._limit:
            return False
        self._dropped += 1
        return True

    def _plan_for(self, snap: Snapshot, tracked: tuple[str, ...]) -> tuple[_Attribution, ...]:
        """The tracked flags of ``snap`` as ``track`` calls them, compiling any not compiled yet."""
        flags = []
        for key in tracked:
            flag = snap.flag(key)
            if flag is not None and flag.track_events:  # else the snapshot moved on since keys were listed
                flags.append((key, flag.static, flag.decide, flag.uses_now))
        plan = tuple(flags)
        self._plan = (snap, tracked, plan)
        return plan

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
        """A batch (or a part of one) that could not be sent: merged into the next one, within the same
        bound, the earliest given back first."""
        with self._lock:
            if not self._stopped:
                self._carry.append(batch)

    def stop(self) -> None:
        """Nothing will be sent any more (the server has no route for it): stop recording ``track``."""
        self._stopped = True
        with self._lock:
            self._carry = []
            self._events, self._replaced = {}, {}
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
        for earlier in self._carry:
            batch.merge(earlier, table)
        events, dropped, replaced = self._events, self._dropped, self._replaced
        if consume:
            # Swapped, not cleared: a thread counting into the old dict at this moment loses that count only.
            self._events, self._tickets, self._dropped, self._replaced = {}, itertools.count(), 0, {}
            self._deleted = 0
            self._carry = []
            self._start = now
        batch.dropped += dropped
        for (key, index), count in replaced.items():
            batch.add((key, index, EVALUATION), count, 0.0, table)
        for key, flag in table.items():
            if flag is not UNCOMPILED and any(flag.counts):
                for variation, count in _taken(flag, consume):
                    batch.add((key, variation, EVALUATION), count, 0.0, table)
        outcomes = _items(events)
        for event, outcome in outcomes:
            batch.add((None, None, event), outcome.count, outcome.sum, table)
        for event, outcome in outcomes:
            for key, by_variation in _items(outcome.flags):
                for index, (count, total) in _items(by_variation):
                    batch.add((key, index, event), count, total, table)
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


def _items(cells: dict[K, V]) -> list[tuple[K, V]]:
    """A copy of ``cells``, which application threads may still be adding to."""
    while True:
        try:
            return list(cells.items())
        except RuntimeError:  # changed size during the copy; the next try is almost certainly clean
            continue
