"""The server data source: an SSE stream on a background thread; polling and a cache file while it is down.

Writes into the FlagStore only; never blocks or raises into the application, and never evaluates flags.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from flagstaff.cache import SnapshotDocument, read_cache
from flagstaff.problems import FormatError
from flagstaff.reporter import Reporter
from flagstaff.sse import SseEvent, iter_events
from flagstaff.store import FlagStore

log = logging.getLogger("flagstaff")


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Timings; the defaults suit production (the server's heartbeat is every 15 s)."""

    read_timeout: float = 40.0  # longer than two heartbeats: a silent connection is a dead one
    connect_timeout: float = 5.0
    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    healthy_after: float = 60.0  # a stream that lived this long resets the backoff
    poll_interval: float = 10.0  # polling /sdk/v1/flags while the stream is down
    auth_retry_interval: float = 60.0  # a rejected key is retried this slowly
    ack_interval: float = 0.1
    cache_interval: float = 1.0


class _StreamEnded(Exception):
    """The stream ended in an orderly way; ``delay`` is how long to wait before reconnecting."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


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
    ) -> None:
        self._sdk_key = sdk_key
        self._base_url = base_url.rstrip("/")
        self._cache_path = Path(cache_path) if cache_path is not None else None
        self._options = options or LiveOptions()
        self._store: FlagStore | None = None
        self._document = SnapshotDocument()
        self._document_lock = threading.Lock()
        self._closed = threading.Event()
        self._response: httpx.Response | None = None
        self._last_event_id: str | None = None
        self._served_cache = False
        self._init_runtime()
        _sources.add(self)

    @property
    def instance_id(self) -> str:
        """Names this client in the server's propagation report; a forked child gets its own."""
        return self._instance_id

    def _init_runtime(self) -> None:
        self._instance_id = uuid.uuid4().hex
        self._stop = threading.Event()
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
        )
        self._thread = threading.Thread(target=self._run, name="flagstaff-stream", daemon=True)

    # -- DataSource ------
    def start(self, store: FlagStore) -> None:
        self._store = store
        self._reporter.start()
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        self._stop.set()
        self._interrupt()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._reporter.close()

    def _after_fork_in_child(self) -> None:
        # Threads do not survive fork and the parent's connections must not be shared: start afresh.
        if self._store is None or self._closed.is_set():
            return
        self._response = None
        self._document_lock = threading.Lock()
        self._store.reset_after_fork()
        self._init_runtime()
        self.start(self._store)

    # -- the stream thread ------
    def _run(self) -> None:
        attempt = 0
        timeout = httpx.Timeout(
            connect=self._options.connect_timeout, read=self._options.read_timeout, write=10.0, pool=10.0
        )
        with httpx.Client(headers=self._headers, timeout=timeout) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self._stream(http)
                    delay: float | None = None
                except _StreamEnded as ended:
                    self._stale(str(ended))
                    delay = ended.delay
                except _Rejected as rejected:
                    self._stale(str(rejected))
                    self._sleep(self._options.auth_retry_interval)
                    continue
                except (httpx.HTTPError, OSError, ValueError) as exc:
                    self._stale(f"stream failed: {type(exc).__name__}: {exc}".rstrip(": "))
                    delay = None
                except Exception as exc:  # anything else must not end the thread: updates would stop silently
                    log.warning("unexpected error in the flag stream; reconnecting", exc_info=True)
                    self._stale(f"stream failed: {type(exc).__name__}: {exc}".rstrip(": "))
                    delay = None
                if self._stop.is_set():
                    break
                if time.monotonic() - started >= self._options.healthy_after:
                    attempt = 0
                if delay is None:
                    delay = self._backoff(attempt)
                    attempt += 1
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
        with http.stream("GET", f"{self._base_url}/sdk/v1/stream", headers=headers) as response:
            self._response = response
            try:
                if response.status_code in (401, 403):
                    raise _Rejected(f"the server rejected the SDK key ({response.status_code})")
                if response.status_code != 200:
                    raise _StreamEnded(f"stream refused with status {response.status_code}")
                for event in iter_events(response.iter_lines()):
                    if self._stop.is_set():
                        return
                    self._handle(event)
            finally:
                self._response = None
        raise _StreamEnded("the server closed the stream")

    def _handle(self, event: SseEvent) -> None:
        store = self._store
        assert store is not None
        if event.event == "reconnect":
            delay_ms = _json_object(event.data).get("delay_ms", 0)
            raise _StreamEnded("the server asked to reconnect", max(0.0, float(delay_ms) / 1000.0))
        if event.event == "error":
            code = _json_object(event.data).get("code")
            if code == "key_revoked":
                raise _Rejected("the SDK key was revoked")
            raise _StreamEnded(f"the server reported {code!r}")
        try:
            if event.event == "snapshot":
                document = _json_object(event.data)
                store.replace(document)
                with self._document_lock:
                    self._document.replace(document)
            elif event.event == "change":
                self._apply_change(store, _json_object(event.data))
            else:
                return  # an event type from a newer server: ignore it
        except (ValueError, TypeError, KeyError, FormatError) as exc:
            # Keep the last good data and reconnect for a full snapshot: a resume would replay this event.
            log.warning("malformed %s event from the server (%s); reconnecting", event.event, exc)
            self._last_event_id = None
            raise _StreamEnded(f"malformed {event.event} event: {exc}") from exc
        if event.id is not None:
            self._last_event_id = event.id
        self._served_cache = False
        store.mark_current()
        self._reporter.applied(store.snapshot.revision)

    def _apply_change(self, store: FlagStore, change: dict[str, Any]) -> None:
        revision = int(change["revision"])
        items = change["changes"]
        if not isinstance(items, list):
            raise ValueError("'changes' is not a list")
        parsed = []
        for item in items:  # validate the whole event before applying any of it
            kind, key, version, data = item["kind"], item["key"], int(item["version"]), item.get("data")
            if kind not in ("flag", "segment") or not isinstance(key, str):
                raise ValueError(f"malformed change item {item!r}")
            if not (data is None or isinstance(data, dict)):
                raise ValueError(f"change item {key!r} has data that is not an object")
            parsed.append((kind, key, version, data))
        for kind, key, version, data in parsed:
            store.apply(kind, key, data, version, revision)
            with self._document_lock:
                self._document.apply(kind, key, data, version, revision)

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
        """`GET /sdk/v1/flags` in gzip; True when it brought a new snapshot, now in the store."""
        headers = {"Accept-Encoding": "gzip"}
        if self._last_event_id is not None:
            # The revision held (the stream's last event id, or the last fetch's): unchanged, it is a 304.
            headers["If-None-Match"] = f'"{self._last_event_id}"'
        try:
            response = http.get(f"{self._base_url}/sdk/v1/flags", headers=headers)
        except httpx.HTTPError as exc:
            raise _FetchFailed(f"server unreachable: {type(exc).__name__}") from exc
        if response.status_code == 304:
            return False
        if response.status_code != 200:
            raise _FetchFailed(f"polling refused with status {response.status_code}")
        try:
            document = response.json()
            assert self._store is not None
            self._store.replace(document)
        except (ValueError, FormatError) as exc:
            log.warning("malformed flag data from the server: %s", exc)
            return False
        with self._document_lock:
            self._document.replace(document)
        self._last_event_id = str(self._store.snapshot.revision)  # the stream resumes from here
        self._reporter.applied(self._store.snapshot.revision)
        return True

    def _serve_cache_once(self, reason: str) -> None:
        store = self._store
        if store is None or store.initialized or self._cache_path is None or self._served_cache:
            return
        document = read_cache(self._cache_path)
        if document is None:
            return
        try:
            store.replace(document)
        except FormatError as exc:
            log.warning("ignoring an unusable flag cache: %s", exc)
            return
        self._served_cache = True
        with self._document_lock:
            self._document.replace(document)
        store.mark_stale(f"serving cached flags; {reason}")

    # -- helpers ------
    def _stale(self, reason: str) -> None:
        if self._store is not None and not self._stop.is_set():
            self._store.mark_stale(reason)
        self._serve_cache_once(reason)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._options.max_backoff, self._options.initial_backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)  # jitter: replicas' clients must not reconnect in step

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def _interrupt(self) -> None:
        response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:  # closing from another thread may race the reader; it ends either way
                log.debug("closing the stream raised", exc_info=True)

    def _cache_document(self) -> dict[str, Any]:
        with self._document_lock:
            return self._document.to_json()


def _json_object(data: str) -> dict[str, Any]:
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError("event data is not a JSON object")
    return value


def _restart_in_child() -> None:
    for source in list(_sources):
        try:
            source._after_fork_in_child()
        except Exception:  # never break the application's fork
            log.exception("could not restart the flag data source after fork")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_restart_in_child)
