"""The SDK's flag store: the current snapshot, readiness and status, and change notification.

Readers take ``store.snapshot`` without a lock (the reference is swapped atomically); writers (data sources)
are serialised by one lock so that version checks and listener order hold. Listeners are called after that
lock is released, on the writer's thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flagstaff.documents import load_snapshot
from flagstaff.snapshot import Snapshot, empty_snapshot

log = logging.getLogger("flagstaff")

ChangeListener = Callable[[set[str]], None]
StatusListener = Callable[["Status"], None]


# State and Status have the shape of the SDK's other small records (Evaluation's enums and fields, SseEvent):
# plain declarations, which share a layout and nothing that could be written once.
class State(StrEnum):
    INITIALIZING = "initializing"
    VALID = "valid"
    STALE = "stale"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Status:
    state: State
    since: float
    """Wall-clock time (epoch seconds) at which this state began."""
    revision: int | None
    last_error: str | None = None


class FlagStore:
    def __init__(self) -> None:
        self.snapshot: Snapshot = empty_snapshot()
        self.ready = threading.Event()
        self.settled = threading.Event()
        """Set once waiting for data is pointless: it came, the server refused the key, or the store shut."""
        self._lock = threading.Lock()
        self._listeners: list[ChangeListener] = []
        self._status = Status(State.INITIALIZING, time.time(), None)
        self._status_listeners: list[StatusListener] = []
        # Serialises announcements, so that listeners see the states in the order they were entered.
        # Reentrant: a listener may close the client.
        self._announce_lock = threading.RLock()
        self._announced = State.INITIALIZING

    # -- reading ------
    @property
    def initialized(self) -> bool:
        return self.ready.is_set()

    def status(self) -> Status:
        return self._status

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def on_status(self, listener: StatusListener) -> None:
        """Call ``listener(status)`` whenever the state changes (not for a new revision in the same state)."""
        self._status_listeners.append(listener)

    # -- writing (data sources) ------
    def replace(self, data: bytes | Mapping[str, Any]) -> None:
        """Install a full snapshot document (its JSON bytes, or parsed); raises ``FormatError`` (keeping the
        old data) if it is unusable, and for bytes, what ``json.loads`` raises for text that is not JSON."""
        new = load_snapshot(data)
        with self._lock:
            old = self.snapshot
            if self.ready.is_set() and new.revision < old.revision:
                log.info("ignoring snapshot at revision %s older than %s", new.revision, old.revision)
                return
            self.snapshot = new
            changed = _changed_keys(old, new)
            self._mark_valid(new.revision)
        self._announce()
        self._notify(changed)

    def apply(self, kind: str, key: str, data: Mapping[str, Any] | None, version: int, revision: int) -> None:
        """Upsert (``data``) or delete (``None``) one flag or segment; older versions are ignored."""
        with self._lock:
            old = self.snapshot
            new = old.apply(kind, key, data, version, revision)
            self.snapshot = new
            self._mark_valid(new.revision)
        self._announce()
        if new is not old:
            self._notify(_changed_keys(old, new))

    def mark_stale(self, reason: str) -> None:
        with self._lock:
            if self._status.state in (State.CLOSED, State.STALE) and self._status.last_error == reason:
                return
            if self._status.state is not State.CLOSED:
                state = State.STALE if self.ready.is_set() else State.INITIALIZING
                self._status = Status(state, time.time(), self._status.revision, reason)
        self._announce()

    def mark_rejected(self, reason: str) -> None:
        """The server refused the SDK key: retrying will not help soon, so no one should wait for data."""
        self.mark_stale(reason)
        self.settled.set()

    def mark_current(self) -> None:
        """The data source confirms its data is current (e.g. a resumed stream with nothing new to send)."""
        if not self.ready.is_set():
            return
        with self._lock:
            self._mark_valid(self.snapshot.revision)
        self._announce()

    def reset_after_fork(self) -> None:
        """In a forked child: a thread may have held the lock at the fork, and it will never release it."""
        self._lock = threading.Lock()
        self._announce_lock = threading.RLock()

    def mark_closed(self) -> None:
        with self._lock:
            self._status = Status(State.CLOSED, time.time(), self._status.revision, self._status.last_error)
        self.settled.set()
        self._announce()

    def _mark_valid(self, revision: int) -> None:
        if self._status.state is State.CLOSED:
            return
        if self._status.state is not State.VALID:
            self._status = Status(State.VALID, time.time(), revision)
        else:
            self._status = Status(State.VALID, self._status.since, revision)
        self.ready.set()
        self.settled.set()

    def _announce(self) -> None:
        """Tell the status listeners of a new state. The status is read under the announcement lock, so the
        last announcement is always of the current state, whichever writer's call gets here first."""
        with self._announce_lock:
            status = self._status
            if status.state is self._announced:
                return
            self._announced = status.state
            for listener in list(self._status_listeners):
                try:
                    listener(status)
                except Exception:  # a listener's bug must not stop the others hearing of it
                    log.exception("status listener failed")

    def _notify(self, changed: set[str]) -> None:
        if not changed:
            return
        for listener in list(self._listeners):
            try:
                listener(changed)
            except Exception:  # a listener's bug must not stop updates reaching the others
                log.exception("flag change listener failed")


def _changed_keys(old: Snapshot, new: Snapshot) -> set[str]:
    if len(old.segments) != len(new.segments) or any(
        new.segments.get(k) is not s for k, s in old.segments.items()
    ):
        # A segment change can change any flag's result; report every flag rather than guess.
        return set(old.sources) | set(new.sources)
    changed = {k for k, f in new.sources.items() if old.sources.get(k) is not f}
    changed.update(k for k in old.sources if k not in new.sources)
    return changed
