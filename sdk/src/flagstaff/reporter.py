"""The live data source's second thread: reports the applied revision to the server, saves the cache file and
sends the SDK metrics (``flagstaff.metrics_sender``), with a last batch at close.

Kept off the stream thread so that neither a slow acknowledgement nor a slow disk delays applying changes.
Like the stream thread, it never ends before close(): a failed round is logged and the next one goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from flagstaff.cache import remove_leftovers, write_cache
from flagstaff.metrics_sender import MetricsSender

log = logging.getLogger("flagstaff")


class Reporter:
    """Sends ``POST /sdk/v1/acks`` at most once per ``ack_interval`` and only when the revision moved on, and
    ``metrics``' batches when they are due (none without it)."""

    def __init__(
        self,
        *,
        acks_url: str,
        headers: dict[str, str],
        instance_id: str,
        ack_interval: float,
        cache_path: Path | None,
        cache_interval: float,
        document: Callable[[], dict[str, Any]],
        extensions: dict[str, Any] | None = None,
        metrics: MetricsSender | None = None,
    ) -> None:
        self._acks_url = acks_url
        self._headers = headers
        self._instance_id = instance_id
        self._ack_interval = ack_interval
        self._cache_path = cache_path
        self._cache_interval = cache_interval
        self._document = document
        self._extensions = extensions or {}
        self._metrics = metrics
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._applied = 0
        self._acked = 0
        self._cache_dirty = False
        self._last_cache_write = 0.0
        self._thread = threading.Thread(target=self._run, name="flagstaff-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def applied(self, revision: int) -> None:
        """Called by the stream thread after each applied event or poll answer; never blocks."""
        if revision > self._applied:
            self._applied = revision
        self._cache_dirty = True
        self._wake.set()

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        if self._cache_path is not None:
            remove_leftovers(self._cache_path)
        failing = False
        with httpx.Client(headers=self._headers, timeout=httpx.Timeout(5.0)) as http:
            while not self._stopped.is_set():
                self._wake.wait(timeout=self._pause())
                self._wake.clear()
                if self._stopped.is_set():
                    break
                try:
                    self._round(http)
                    failing = False
                except Exception:  # a bug here must not end the thread: acks and the cache would stop
                    if not failing:  # once per run of failures: a round comes every ack_interval
                        log.exception("reporting the applied revision failed; going on")
                    failing = True
                # Batching: whatever arrives during this pause goes out in the next single request.
                self._stopped.wait(self._ack_interval)
        if self._cache_dirty and self._cache_path is not None:
            write_cache(self._cache_path, self._document())
        if self._metrics is not None:
            self._metrics.flush()

    def _pause(self) -> float:
        if self._metrics is None:
            return self._cache_interval
        return min(self._cache_interval, self._metrics.pause())

    def _round(self, http: httpx.Client) -> None:
        revision = self._applied
        if revision > self._acked:
            self._send_ack(http, revision)
        if self._metrics is not None:
            self._metrics.send_if_due()
        if self._cache_dirty and time.monotonic() - self._last_cache_write >= self._cache_interval:
            self._cache_dirty = False
            self._last_cache_write = time.monotonic()
            if self._cache_path is not None:
                write_cache(self._cache_path, self._document())

    def _send_ack(self, http: httpx.Client, revision: int) -> None:
        try:
            body = {"instance_id": self._instance_id, "revision": revision}
            response = http.post(self._acks_url, json=body, extensions=self._extensions)
        except httpx.HTTPError as exc:
            log.debug("could not acknowledge revision %s: %s", revision, exc)
            return
        if response.status_code < 300:
            self._acked = revision
        else:
            log.debug("acknowledgement of revision %s refused: %s", revision, response.status_code)
