"""Sending a client's metrics: ``POST /sdk/v1/metrics`` once per interval, and a last batch at close, on the
reporter's thread.

Owns what each answer means for the batch: sent, kept for the next one, refused, or the route missing (an
older server), after which nothing is sent or recorded. Never lets a network failure out.
"""

from __future__ import annotations

import logging
import time

import httpx
import msgspec

from flagstaff.metrics import Metrics

log = logging.getLogger("flagstaff")

TIMEOUT = httpx.Timeout(5.0)
FINAL_TIMEOUT = httpx.Timeout(0.5, read=1.0)
"""The last batch, at close, is best effort: a server that does not answer promptly loses it."""
_RETRIED = frozenset({401, 403, 408, 425, 429})
"""Answers after which the batch is kept for the next one: a key not (yet) accepted, as for acknowledgements,
or a server asking to be tried later. Any 5xx too. Any other 4xx refuses this body, which would be refused
again: it is dropped."""


class MetricsSender:
    """Its requests go on a connection pool of their own that close() does not shut down (as it does the
    stream's and the acknowledgements'): a batch cut off after the server read it would be kept and sent
    again, counted twice. A batch in flight at close therefore delays it, by the reporter's join at most."""

    def __init__(
        self, *, url: str, headers: dict[str, str], instance_id: str, interval: float, metrics: Metrics
    ) -> None:
        self._url = url
        self._headers = {**headers, "Content-Type": "application/json"}
        self._instance_id = instance_id
        self._interval = interval
        self._metrics = metrics
        self._due = time.monotonic() + interval
        self._stopped = False
        self._refusal_logged = False
        self._http: httpx.Client | None = None  # opened on the reporter's thread, by the first batch

    def pause(self) -> float:
        """Seconds until the next batch is due."""
        return self._interval if self._stopped else max(0.0, self._due - time.monotonic())

    def send_if_due(self) -> None:
        now = time.monotonic()
        if self._stopped or now < self._due:
            return
        self._due = now + self._interval
        self._send(TIMEOUT)

    def flush(self) -> None:
        """The last batch, at close; then the connections are closed."""
        try:
            self._send(FINAL_TIMEOUT)
        except Exception:  # best effort, as the process may be ending
            log.debug("the last batch of SDK metrics could not be sent", exc_info=True)
        finally:
            self._stopped = True
            if self._http is not None:
                self._http.close()

    def _send(self, timeout: httpx.Timeout) -> None:
        if self._stopped:
            return
        batch = self._metrics.take()
        if batch is None:
            return  # nothing counted: no request
        body = msgspec.json.encode({"instance": self._instance_id, **batch.to_json()})
        if self._http is None:
            self._http = httpx.Client(headers=self._headers)
        try:
            response = self._http.post(self._url, content=body, timeout=timeout)
        except httpx.HTTPError as exc:
            log.debug("could not send SDK metrics (kept for the next batch): %s", exc)
            self._metrics.restore(batch)
            return
        status = response.status_code
        if status < 300:
            return
        if status == 404:
            self._stopped = True
            self._metrics.stop()
            log.warning("the server has no SDK metrics route (404): flag checks and track() are not reported")
        elif status in _RETRIED or status >= 500:
            log.debug("SDK metrics refused with status %s; kept for the next batch", status)
            self._metrics.restore(batch)
        elif not self._refusal_logged:
            self._refusal_logged = True
            log.warning("the server refused a batch of SDK metrics (%s); dropped (logged once)", status)
