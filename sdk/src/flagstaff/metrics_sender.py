"""Sending a client's metrics: ``POST /sdk/v1/metrics`` once per interval, and a last batch at close, on the
reporter's thread.

Owns what each answer means for the cells of a request: sent, kept for the next batch, refused, too many for
one request (cut smaller), or the route missing (an older server), after which nothing is sent or recorded.
Never lets a network failure out.
"""

from __future__ import annotations

import enum
import logging
import time

import httpx
import msgspec

from flagstaff.metric_batch import Batch
from flagstaff.metrics import Metrics

log = logging.getLogger("flagstaff")

TIMEOUT = httpx.Timeout(5.0)
FINAL_CONNECT, FINAL_READ = 0.5, 1.0
"""The last batch, at close, is best effort: a server that does not answer promptly loses it."""
FINAL_BUDGET = 1.5
"""Seconds the last batch's requests may take together (the reporter's join waits 2 s): no request starts
after it, and none waits beyond it."""
_RETRIED = frozenset({401, 403, 408, 425, 429})
"""Answers after which the cells are kept for the next batch: a key not (yet) accepted, as for
acknowledgements, or a server asking to be tried later. Any 5xx too. Any other 4xx refuses this body, which
would be refused again: its cells are dropped (413, and 422 on ``counts``, excepted: ``_too_big``)."""


class Answer(enum.Enum):
    """What became of a request's cells (or, from ``_deliver``, of a batch's)."""

    SENT = "sent"
    KEPT = "kept"
    """Not taken (the server unreachable, busy, or not accepting the key yet): kept for the next batch."""
    REFUSED = "refused"
    """Refused as invalid: dropped, as they would be refused again."""
    TOO_BIG = "too big"
    """Refused as too large for one request (413, or 422 on ``counts``): sent again in halves."""
    GONE = "gone"
    """The server has no metrics route."""


class MetricsSender:
    """Its requests go on a connection pool of their own that close() does not shut down (as it does the
    stream's and the acknowledgements'): a batch cut off after the server read it would be kept and sent
    again, counted twice. A batch in flight at close therefore delays it, by the reporter's join at most.

    A batch goes out as several requests when it holds more than ``cells_per_request`` cells, or more than
    ``MAX_REQUEST_BYTES`` of JSON: the server refuses a larger one whole (``FLAGSTAFF_MAX_METRIC_CELLS``,
    ``FLAGSTAFF_MAX_BODY_BYTES``). Each request's cells meet their own fate: a request refused as too large
    (413, or 422 on ``counts``) is sent again at once in halves, and later batches keep to the smaller size;
    one not taken is kept for the next batch with the cells not sent yet."""

    def __init__(
        self,
        *,
        url: str,
        headers: dict[str, str],
        instance_id: str,
        interval: float,
        cells_per_request: int,
        metrics: Metrics,
    ) -> None:
        self._url = url
        self._headers = {**headers, "Content-Type": "application/json"}
        self._instance_id = instance_id
        self._interval = interval
        self._cells_per_request = cells_per_request
        self._metrics = metrics
        self._due = time.monotonic() + interval
        self._stopped = False
        self._logged: set[str] = set()
        """The kinds of warning logged already: each once per client."""
        self._http: httpx.Client | None = None  # opened on the reporter's thread, by the first batch

    def pause(self) -> float:
        """Seconds until the next batch is due."""
        return self._interval if self._stopped else max(0.0, self._due - time.monotonic())

    def send_if_due(self) -> None:
        now = time.monotonic()
        if self._stopped or now < self._due:
            return
        self._due = now + self._interval
        self._send(None)

    def flush(self) -> None:
        """The last batch, at close; then the connections are closed."""
        try:
            self._send(time.monotonic() + FINAL_BUDGET)
        except Exception:  # best effort, as the process may be ending
            log.debug("the last batch of SDK metrics could not be sent", exc_info=True)
        finally:
            self._stopped = True
            if self._http is not None:
                self._http.close()

    def _send(self, deadline: float | None) -> None:
        """``deadline``: the last batch's, after which no request starts."""
        if self._stopped:
            return
        batch = self._metrics.take()
        if batch is None:
            return  # nothing counted: no request
        if self._http is None:
            self._http = httpx.Client(headers=self._headers)
        self._deliver(self._http, batch, deadline)

    def _deliver(self, http: httpx.Client, batch: Batch, deadline: float | None) -> Answer:
        """Send ``batch`` in requests, in order, until one stops the round: ``KEPT`` (what was not sent is
        given back to ``Metrics``), ``GONE``, or ``TOO_BIG`` (a single cell: the rest is dropped)."""
        requests = batch.requests(self._instance_id, self._cells_per_request)
        for body, part in requests:
            timeout = _timeout(deadline)
            answer = Answer.KEPT if timeout is None else self._post(http, body, timeout)
            unsent: Batch | None = part
            if answer is Answer.TOO_BIG and len(part.cells) > 1:
                self._shrink(len(part.cells))
                answer = self._deliver(http, part, deadline)  # in smaller requests, at once
                unsent = None  # what of it was not sent, that call gave back itself
                requests.max_cells = self._cells_per_request
            if answer is Answer.KEPT:
                if unsent is not None:
                    self._metrics.restore(unsent)
                rest = requests.rest()
                if rest is not None:
                    self._metrics.restore(rest)
                return answer
            if answer is Answer.TOO_BIG:
                self._log_once("hopeless", "the server refused one cell of SDK metrics as too large; dropped")
                return answer
            if answer is Answer.GONE:
                return answer
        return Answer.SENT

    def _post(self, http: httpx.Client, body: bytes, timeout: httpx.Timeout) -> Answer:
        try:
            response = http.post(self._url, content=body, timeout=timeout)
        except httpx.HTTPError as exc:
            log.debug("could not send SDK metrics (kept for the next batch): %s", exc)
            return Answer.KEPT
        status = response.status_code
        if status < 300:
            return Answer.SENT
        if status == 404:
            self._stopped = True
            self._metrics.stop()
            log.warning("the server has no SDK metrics route (404): flag checks and track() are not reported")
            return Answer.GONE
        if _too_big(response):
            return Answer.TOO_BIG
        if status in _RETRIED or status >= 500:
            log.debug("SDK metrics refused with status %s; kept for the next batch", status)
            return Answer.KEPT
        self._log_once("refused", f"the server refused a report of SDK metrics ({status}); dropped")
        return Answer.REFUSED

    def _shrink(self, cells: int) -> None:
        """``cells`` were refused as too many for one request: from now on, at most half as many."""
        self._cells_per_request = min(self._cells_per_request, cells // 2)
        self._log_once(
            "shrunk",
            f"the server refused {cells} cells of SDK metrics in one request as too large; sending at most "
            f"{self._cells_per_request} per request",
        )

    def _log_once(self, kind: str, message: str) -> None:
        if kind not in self._logged:
            self._logged.add(kind)
            log.warning("%s (logged once)", message)


def _timeout(deadline: float | None) -> httpx.Timeout | None:
    """A request's timeout: the usual one, or at close what is left of the last batch's budget (``None``: no
    time is left)."""
    if deadline is None:
        return TIMEOUT
    left = deadline - time.monotonic()
    return httpx.Timeout(min(FINAL_CONNECT, left), read=min(FINAL_READ, left)) if left > 0 else None


def _too_big(response: httpx.Response) -> bool:
    """413, or 422 naming ``counts`` itself: more cells than the server takes in one report
    (``FLAGSTAFF_MAX_METRIC_CELLS``), as a server set below ``cells_per_request`` answers."""
    if response.status_code == 413:
        return True
    if response.status_code != 422:
        return False
    try:
        error = msgspec.json.decode(response.content).get("error")
        return isinstance(error, dict) and error.get("field") == "counts"
    except (msgspec.DecodeError, AttributeError):
        return False
