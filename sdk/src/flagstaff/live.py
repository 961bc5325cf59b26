"""The server data source: an SSE stream on a background thread; polling and a cache file while it is down.

Writes into the FlagStore only; never blocks or raises into the application, and never evaluates flags. Its
thread lives until close(): every failure is caught, shown in the store's status and the log, and retried.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any

import httpx

from flagstaff.backoff import Backoff
from flagstaff.cache import SnapshotDocument, read_cache
from flagstaff.live_options import LiveOptions
from flagstaff.metrics import Metrics
from flagstaff.metrics_sender import MetricsSender
from flagstaff.open_sockets import OpenSockets
from flagstaff.problems import FormatError
from flagstaff.reporter import Reporter
from flagstaff.sse import SseEvent, iter_events, iter_lines
from flagstaff.store import FlagStore
from flagstaff.wire import (
    Change,
    MalformedAnswer,
    brief,
    change_event,
    checked_snapshot,
    error_code,
    reconnect_delay,
    snapshot_document,
)

__all__ = ["LiveDataSource", "LiveOptions"]

log = logging.getLogger("flagstaff")

_EXPECTED = (httpx.HTTPError, OSError, ValueError)  # the network, or an answer that cannot be used
_MAX_LOGGED_REASONS = 100  # distinct reasons logged per outage; the status shows every one


class _StreamEnded(Exception):
    """The stream ended or was refused; ``delay`` is how long to wait before reconnecting."""

    def __init__(self, reason: str, delay: float | None = None, *, orderly: bool = False) -> None:
        super().__init__(reason)
        self.delay = delay
        self.orderly = orderly  # the server ended it on purpose: worth an info line, not a warning


class _FetchFailed(Exception):
    """`GET /sdk/v1/flags` brought no flags: the server is unreachable, or refused."""


class _Rejected(Exception):
    """The server refused the SDK key (401/403, or the stream reported it revoked)."""


_sources: weakref.WeakSet[LiveDataSource] = weakref.WeakSet()


class LiveDataSource:
    def __init__(
        self,
        sdk_key: str,
        base_url: str,
        *,
        cache_path: str | Path | None = None,
        options: LiveOptions | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._sdk_key = sdk_key
        self._base_url = base_url.rstrip("/")
        self._cache_path = Path(cache_path) if cache_path is not None else None
        self._options = options or LiveOptions()
        self._backoff = Backoff(self._options.initial_backoff, self._options.max_backoff)
        self._store: FlagStore | None = None
        self._document = SnapshotDocument()
        self._document_lock = threading.Lock()
        self._closed = threading.Event()
        self._last_event_id: str | None = None
        self._served_cache = False
        self._logged: set[str] = set()  # reasons already logged since data last flowed
        self._key_warned = False
        self._metrics = metrics
        self._init_runtime()
        _sources.add(self)

    @property
    def instance_id(self) -> str:
        """Names this client in the server's propagation report; a forked child gets its own."""
        return self._instance_id

    def _init_runtime(self) -> None:
        self._instance_id = uuid.uuid4().hex
        self._stop = threading.Event()
        self._sockets = OpenSockets()
        self._headers = {
            "Authorization": f"Bearer {self._sdk_key}",
            "User-Agent": "flagstaff-python",
            "X-Flagstaff-Instance": self._instance_id,
        }
        self._reporter = Reporter(
            acks_url=f"{self._base_url}/sdk/v1/acks",
            headers=self._headers,
            instance_id=self._instance_id,
            ack_interval=self._options.ack_interval,
            cache_path=self._cache_path,
            cache_interval=self._options.cache_interval,
            document=self._cache_document,
            extensions=self._sockets.extensions,
            metrics=self._metrics_sender(),
        )
        self._thread = threading.Thread(target=self._run, name="flagstaff-stream", daemon=True)

    def _metrics_sender(self) -> MetricsSender | None:
        """What sends the client's counts every ``metrics_interval``; none when metrics are off."""
        interval = self._options.metrics_interval
        if self._metrics is None or not interval:
            return None
        return MetricsSender(
            url=f"{self._base_url}/sdk/v1/metrics",
            headers=self._headers,
            instance_id=self._instance_id,
            interval=interval,
            cells_per_request=self._options.max_metric_cells_per_request,
            metrics=self._metrics,
        )

    # -- DataSource ------
    def start(self, store: FlagStore) -> None:
        self._store = store
        self._reporter.start()
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._stop.set()
        self._sockets.shut_down()  # wakes a read in progress; every wait is on self._stop
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            # Only a connection attempt in progress can hold the thread longer, for at most connect_timeout.
            self._thread.join(timeout=self._options.connect_timeout + 1.0)
        self._reporter.close()

    def _after_fork_in_child(self) -> None:
        # Threads do not survive fork and the parent's connections must not be shared: start afresh.
        if self._store is None or self._closed.is_set():
            return
        self._document_lock = threading.Lock()
        self._store.reset_after_fork()
        if self._metrics is not None:
            self._metrics.reset_after_fork()
        self._init_runtime()
        self.start(self._store)

    # -- the stream thread ------
    def _run(self) -> None:
        timeout = httpx.Timeout(
            connect=self._options.connect_timeout, read=self._options.read_timeout, write=10.0, pool=10.0
        )
        while not self._stop.is_set():
            try:
                with httpx.Client(headers=self._headers, timeout=timeout) as http:
                    self._loop(http)
            except Exception as exc:  # only a bug gets here; the thread must go on, or updates would stop
                log.exception("the flag data source failed; restarting it")
                with contextlib.suppress(Exception):
                    if self._store is not None and not self._stop.is_set():
                        self._store.mark_stale(f"internal error: {_describe(exc)}")
                self._sleep(self._options.max_backoff)

    def _loop(self, http: httpx.Client) -> None:
        self._backoff.reset()
        while not self._stop.is_set():
            try:
                self._attempt(http)
            except _Rejected as rejected:
                self._rejected(str(rejected))
                self._sleep(self._options.auth_retry_interval)
            except Exception as exc:  # guards the whole iteration, polling included
                self._failed(exc)
                self._sleep(self._backoff.next_delay())

    def _attempt(self, http: httpx.Client) -> None:
        """One stream connection, then the wait (polling) before the next."""
        started = time.monotonic()
        delay: float | None = None
        try:
            self._stream(http)
        except _StreamEnded as ended:
            self._report(str(ended), level=logging.INFO if ended.orderly else logging.WARNING)
            delay = ended.delay
        except _Rejected:
            raise
        except Exception as exc:
            self._failed(exc)
        if self._stop.is_set():
            return
        if time.monotonic() - started >= self._options.healthy_after:
            self._backoff.reset()
        if delay is None:
            delay = self._backoff.next_delay()
        self._wait_polling(http, delay)

    def _stream(self, http: httpx.Client) -> None:
        if self._last_event_id is None:
            # The stream's first event would be the whole snapshot, uncompressed: take it from /sdk/v1/flags
            # in gzip instead, and open the stream from its revision (Last-Event-ID). If that fails, the
            # stream either fails too (and says why) or sends the snapshot itself.
            with contextlib.suppress(_FetchFailed):
                self._fetch(http)
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if self._last_event_id is not None:
            headers["Last-Event-ID"] = self._last_event_id
        url = f"{self._base_url}/sdk/v1/stream"
        with http.stream("GET", url, headers=headers, extensions=self._sockets.extensions) as response:
            if response.status_code in (401, 403):
                raise _Rejected(f"the server rejected the SDK key ({response.status_code})")
            if response.status_code != 200:
                raise _StreamEnded(f"stream refused with status {response.status_code}")
            lines = iter_lines(response.iter_bytes(), self._options.max_line_bytes)
            try:
                for event in iter_events(lines, self._options.max_event_bytes):
                    if self._stop.is_set():
                        return
                    self._handle(event)
            except (_StreamEnded, _Rejected, httpx.HTTPError, OSError):
                raise
            except Exception:
                # Keep the last good data and reconnect for a full snapshot: a resume would replay this event.
                self._last_event_id = None
                raise
        raise _StreamEnded("the server closed the stream", orderly=True)

    def _handle(self, event: SseEvent) -> None:
        store = self._store
        assert store is not None
        if event.retry_ms is not None:
            self._backoff.hint(event.retry_ms)
        if event.event == "reconnect":
            delay = reconnect_delay(event.data, self._options.max_backoff)
            raise _StreamEnded("the server asked to reconnect", delay, orderly=True)
        if event.event == "error":
            code = error_code(event.data)
            if code == "key_revoked":
                raise _Rejected("the SDK key was revoked")
            raise _StreamEnded(f"the server reported {brief(code)}")
        if event.event == "snapshot":
            self._install(snapshot_document(event.data, "snapshot event"), "snapshot event")
        elif event.event == "change":
            self._apply_change(store, change_event(event.data))
        else:
            return  # an event type from a newer server: ignore it
        if event.id is not None:
            self._last_event_id = event.id
        self._served_cache = False
        self._logged.clear()
        self._key_warned = False
        store.mark_current()
        self._reporter.applied(store.snapshot.revision)

    def _install(self, document: dict[str, Any], what: str) -> None:
        assert self._store is not None
        try:
            self._store.replace(document)
        except FormatError as exc:
            raise MalformedAnswer(f"malformed {what}: {exc}") from exc
        with self._document_lock:
            self._document.replace(document)

    def _apply_change(self, store: FlagStore, change: Change) -> None:
        for item in change.items:
            store.apply(item.kind, item.key, item.data, item.version, change.revision)
            with self._document_lock:
                self._document.apply(item.kind, item.key, item.data, item.version, change.revision)

    # -- while the stream is down ------
    def _wait_polling(self, http: httpx.Client, delay: float) -> None:
        deadline = time.monotonic() + delay
        while not self._stop.is_set():
            self._poll(http)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._sleep(min(remaining, self._options.poll_interval))

    def _poll(self, http: httpx.Client) -> None:
        """One poll; raises only ``_Rejected``: any other failure is reported and the next poll goes on."""
        try:
            fetched = self._fetch(http)
        except _FetchFailed as failed:
            self._serve_cache_once(str(failed))
            return
        if fetched:
            assert self._store is not None
            # The stream is still down: the data is current, but say so until the stream is back.
            self._store.mark_stale("streaming interrupted; polling")

    def _fetch(self, http: httpx.Client) -> bool:
        """`GET /sdk/v1/flags` in gzip; True when it brought a new snapshot, now in the store.

        Raises ``_Rejected`` for a refused key and ``_FetchFailed`` when the server gave nothing usable; a
        malformed answer is reported and brings nothing (False)."""
        headers = {"Accept-Encoding": "gzip"}
        if self._last_event_id is not None:
            # The revision held (the stream's last event id, or the last fetch's): unchanged, it is a 304.
            headers["If-None-Match"] = f'"{self._last_event_id}"'
        url = f"{self._base_url}/sdk/v1/flags"
        try:
            response = http.get(url, headers=headers, extensions=self._sockets.extensions)
        except httpx.HTTPError as exc:
            raise _FetchFailed(f"server unreachable: {type(exc).__name__}") from exc
        if response.status_code == 304:
            return False
        if response.status_code in (401, 403):
            raise _Rejected(f"the server rejected the SDK key ({response.status_code})")
        if response.status_code != 200:
            raise _FetchFailed(f"polling refused with status {response.status_code}")
        try:
            self._install(snapshot_document(response.content, "poll answer"), "poll answer")
        except Exception as exc:
            self._failed(exc)
            return False
        store = self._store
        assert store is not None
        self._last_event_id = str(store.snapshot.revision)  # the stream resumes from here
        self._key_warned = False
        self._reporter.applied(store.snapshot.revision)
        return True

    def _serve_cache_once(self, reason: str) -> None:
        store = self._store
        if store is None or store.initialized or self._cache_path is None or self._served_cache:
            return
        if not self._cache_path.exists():
            return  # perhaps later: another process may write it meanwhile
        self._served_cache = True  # one try per outage: an unusable file is reported once, not at every poll
        try:
            document = read_cache(self._cache_path)
            if document is None:
                return
            self._install(checked_snapshot(document, "cache file"), "cache file")
        except Exception as exc:
            log.warning("ignoring an unusable flag cache %s: %s", self._cache_path, _describe(exc))
            return
        store.mark_stale(f"serving cached flags; {reason}")

    # -- reporting ------
    def _failed(self, exc: BaseException) -> None:
        expected = isinstance(exc, _EXPECTED)
        self._report(_describe(exc), exc_info=None if expected else exc)

    def _report(
        self, reason: str, *, level: int = logging.WARNING, exc_info: BaseException | None = None
    ) -> None:
        """The status says every reason; the log says each once until data flows again, so that a long
        outage does not flood it."""
        if self._stop.is_set():
            return  # closing: the errors are our own doing
        if self._store is not None:
            self._store.mark_stale(reason)
        if reason not in self._logged and len(self._logged) < _MAX_LOGGED_REASONS:
            self._logged.add(reason)
            log.log(level, "flag updates interrupted: %s", reason, exc_info=exc_info)
        self._serve_cache_once(reason)

    def _rejected(self, reason: str) -> None:
        if self._stop.is_set():
            return
        if not self._key_warned:
            self._key_warned = True
            log.warning(
                "%s: no flag updates until it is accepted (retrying every %g s); check the SDK key",
                reason,
                self._options.auth_retry_interval,
            )
        if self._store is not None:
            self._store.mark_rejected(reason)
        self._serve_cache_once(reason)

    # -- helpers ------
    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _cache_document(self) -> dict[str, Any]:
        with self._document_lock:
            return self._document.to_json()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MalformedAnswer | FormatError):
        return str(exc)  # already says what was wrong with which answer
    return f"{type(exc).__name__}: {exc}".rstrip(": ")


def _restart_in_child() -> None:
    for source in list(_sources):
        try:
            source._after_fork_in_child()
        except Exception:  # never break the application's fork
            log.exception("could not restart the flag data source after fork")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)
