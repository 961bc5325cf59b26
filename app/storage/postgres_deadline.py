"""A deadline on every round trip to PostgreSQL, kept by the client: a connection class and its watchdog.

A server that has stopped answering altogether (frozen, cut off while the kernel still acknowledges) cannot
enforce its own statement_timeout, and a thread waiting for it would wait for ever. Knows nothing of queries.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any, TypeVar

import psycopg
from psycopg.abc import PQGen

RV = TypeVar("RV")


class _Round:
    __slots__ = ("deadline", "fileno", "fired")

    def __init__(self, deadline: float, fileno: int) -> None:
        self.deadline, self.fileno, self.fired = deadline, fileno, False


class _Watchdog:
    """One daemon thread for the whole process: shuts down the socket of every round trip that overran its
    deadline, which wakes the waiting thread with a connection error instead of leaving it blocked."""

    def __init__(self) -> None:
        self._start_afresh()
        # A forked child has none of its parent's threads, and its own connections to watch.
        os.register_at_fork(after_in_child=self._start_afresh)

    def _start_afresh(self) -> None:
        self._changed = threading.Condition()
        self._armed: set[_Round] = set()
        self._wakes_at = float("inf")
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fileno: int) -> _Round:
        armed = _Round(time.monotonic() + seconds, fileno)
        with self._changed:
            self._armed.add(armed)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="postgres-deadline", daemon=True)
                self._thread.start()
            # Rounds share a few timeouts, so a new deadline is nearly always later than the one the thread
            # sleeps until: waking it for every round trip would only cost a context switch.
            if armed.deadline < self._wakes_at:
                self._changed.notify()
        return armed

    def disarm(self, armed: _Round) -> None:
        with self._changed:
            self._armed.discard(armed)
        os.close(armed.fileno)  # only now: the watchdog may use it until the round is out of its set

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for overdue in [armed for armed in self._armed if armed.deadline <= now]:
                    # Under the lock, so the round is still in progress and its socket still open.
                    self._armed.discard(overdue)
                    overdue.fired = True
                    _shut_down(overdue.fileno)
                self._wakes_at = min((armed.deadline for armed in self._armed), default=float("inf"))
                self._changed.wait(None if self._wakes_at == float("inf") else self._wakes_at - now)


def _shut_down(fileno: int) -> None:
    # Shutdown acts on the socket itself, not on one descriptor: every pending and later read of the
    # connection's own descriptor returns at once.
    duplicate = socket.socket(fileno=fileno)
    try:
        duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:  # already disconnected
        pass
    finally:
        duplicate.detach()  # the descriptor stays the round's, closed when it is disarmed


_WATCHDOG = _Watchdog()


class DeadlineConnection(psycopg.Connection[Any]):
    """A psycopg connection none of whose round trips (query, commit, rollback, ping) may outlast
    `round_trip_seconds`; one that does leaves the connection closed and raises `psycopg.OperationalError`."""

    round_trip_seconds: float = 0.0  # 0: no deadline

    def wait(self, gen: PQGen[RV], *args: Any, **kwargs: Any) -> RV:
        # Every exchange with the server goes through here; connecting does not (connect_timeout bounds it).
        if self.round_trip_seconds <= 0:
            return super().wait(gen, *args, **kwargs)
        # A descriptor of the round's own: should libpq close the connection's (a lost connection) just as the
        # deadline passes, the watchdog still shuts down this socket and never one that reused the number.
        armed = _WATCHDOG.arm(self.round_trip_seconds, os.dup(self.pgconn.socket))
        try:
            result = super().wait(gen, *args, **kwargs)
        except psycopg.Error as error:
            if armed.fired:
                raise self._gave_up() from error
            raise
        finally:
            _WATCHDOG.disarm(armed)
        if armed.fired:  # the answer came just as the deadline passed, but the socket is shut down by now
            raise self._gave_up()
        return result

    def _gave_up(self) -> psycopg.OperationalError:
        # Closed, so that the pool discards the connection rather than handing out a dead one.
        self.pgconn.finish()
        return psycopg.OperationalError(f"the database did not answer within {self.round_trip_seconds:g} s")
