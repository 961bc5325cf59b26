"""The server data source's settings: timings, retries, the bounds on what it accepts from the server, and
the SDK metrics' interval and bound.

Only values, checked when built; kept apart from ``flagstaff.live`` so that naming them loads no HTTP stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Every field must be a positive number, except ``metrics_interval``, which may also be 0 or ``None``
    (no metrics); the defaults suit production (the server's heartbeat is every 15 s). Durations are in
    seconds."""

    read_timeout: float = 40.0  # longer than two heartbeats: a silent connection is a dead one
    connect_timeout: float = 5.0  # also the longest close() waits for a connection attempt in progress
    initial_backoff: float = 1.0  # the first wait, until the server's retry: hint replaces it
    max_backoff: float = 30.0  # the longest wait between connections, also when the server asks for longer
    healthy_after: float = 60.0  # a stream that lived this long resets the backoff
    poll_interval: float = 10.0  # polling /sdk/v1/flags while the stream is down
    auth_retry_interval: float = 60.0  # a rejected key is retried this slowly
    ack_interval: float = 0.1
    cache_interval: float = 1.0
    # A snapshot travels as one line, so both bounds must exceed the largest snapshot the server may send.
    max_line_bytes: int = 64 << 20  # a longer line of the event stream drops the connection
    max_event_bytes: int = 64 << 20  # so does an event whose data lines add up to more
    # A batch of flag-check counts and track() outcomes is sent this often; 0 or None: none counted or sent.
    metrics_interval: float | None = 5.0
    max_metric_cells: int = 10_000  # distinct cells a batch holds beyond the current flags' check counts
    # A batch goes out in requests of at most this many cells (and 512 KiB): a server takes 20,000 and 1 MiB.
    max_metric_cells_per_request: int = 5_000

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            optional = field.name == "metrics_interval"
            if optional and not isinstance(value, bool) and value in (None, 0):
                continue
            integral = field.name.startswith("max_") and not field.name.endswith("_backoff")
            kinds = int if integral else int | float
            if isinstance(value, bool) or not isinstance(value, kinds) or not 0 < value < math.inf:
                kind = "integer" if integral else "number"
                other = ", 0 or None" if optional else ""
                raise ValueError(f"LiveOptions.{field.name} must be a positive {kind}{other}, not {value!r}")
        if self.initial_backoff > self.max_backoff:
            raise ValueError("LiveOptions.initial_backoff must not exceed max_backoff")
