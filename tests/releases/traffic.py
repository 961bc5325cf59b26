"""Traffic on real SDK clients, for the guarded-rollout tests and `bench/release_e2e_bench.py`: one thread per
client acts as a service's request handler. Each request checks the flags through the client, reports itself
with `client.track("request")` and, at the error rate of the variation it was served, a failure with
`client.track("error")`, as `examples/canary.py` does. Every thread started here is joined by `stop()`."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from flagstaff import Client

Observer = Callable[[str, Any, bool], None]
"""Called for each flag of each request with (flag, value served, whether the request failed): how an
application exports its own counters (the Prometheus test's)."""
MISSING = "(default)"
"""What a request is served when the client has no such flag: never a variation of the tests' flags."""


class Traffic:
    """`rate` requests per second in total, spread evenly over `clients`. A request fails with the highest
    error rate among the values it was served: `error_rates[flag][value]`, or `base_error_rate` for a value
    not listed (so several flags on one request each see the same failures, when their rates are equal)."""

    def __init__(
        self,
        clients: Sequence[Client],
        error_rates: Mapping[str, Mapping[Any, float]],
        rate: float,
        *,
        base_error_rate: float = 0.0,
        users: int = 1_000_000,
        seed: int | None = None,
        observe: Observer | None = None,
    ) -> None:
        self.clients = clients
        self.error_rates = {flag: dict(rates) for flag, rates in error_rates.items()}
        self.base_error_rate = base_error_rate
        self.rate = rate
        self.users = users
        self.seed = random.randrange(1 << 32) if seed is None else seed
        """Each thread's random choices follow from it: a run with the same seed draws the same keys."""
        self.observe = observe
        self.served: Counter[tuple[str, Any]] = Counter()
        self.requests = 0
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0
        self._stopped: float | None = None

    def start(self) -> Traffic:
        self._started = time.monotonic()
        per_client = self.rate / len(self.clients)
        for index, client in enumerate(self.clients):
            thread = threading.Thread(
                target=self._serve, args=(client, per_client, self.seed + index), daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def set_error_rates(self, flag: str, rates: Mapping[Any, float]) -> None:
        """From the next request on (the benchmark's treatment turning bad)."""
        self.error_rates = {**self.error_rates, flag: dict(rates)}

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._threads = []
        self._stopped = time.monotonic()

    def achieved_rate(self) -> float:
        """Requests per second actually made so far: below `rate` when the process could not keep up."""
        elapsed = (self._stopped or time.monotonic()) - self._started
        return self.requests / elapsed if elapsed > 0 else 0.0

    def _serve(self, client: Client, rate: float, seed: int) -> None:
        rng = random.Random(seed)
        done = 0
        started = time.monotonic()
        while not self._stop.is_set():
            # Paced by the clock, not by sleeping a fixed time per request: a thread that fell behind (the
            # GIL, a loaded machine) catches up in a burst, so the rate is what was asked whenever it can be.
            due = min(int((time.monotonic() - started) * rate) - done, 200)
            if due <= 0:
                self._stop.wait(0.005)
                continue
            served: Counter[tuple[str, Any]] = Counter()
            failures = 0
            for _ in range(due):
                failures += self._request(client, rng, served)
            done += due
            with self._lock:
                self.served.update(served)
                self.requests += due
                self.failures += failures

    def _request(self, client: Client, rng: random.Random, served: Counter[tuple[str, Any]]) -> int:
        context = {"key": f"user-{rng.randrange(self.users)}"}
        error_rate = self.base_error_rate
        values = []
        for flag, rates in self.error_rates.items():
            value = client.variation(flag, context, MISSING)
            values.append((flag, value))
            served[flag, value] += 1
            error_rate = max(error_rate, rates.get(value, self.base_error_rate))
        client.track("request", context)
        failed = rng.random() < error_rate
        if failed:
            client.track("error", context)
        if self.observe is not None:
            for flag, value in values:
                self.observe(flag, value, failed)
        return int(failed)


def serves_everyone(clients: Iterable[Client], flag: str, value: Any, keys: int = 2_000) -> bool:
    """Whether every client serves `value` to each of `keys` context keys (spread over every bucket)."""
    return all(
        client.variation(flag, {"key": f"probe-{index}"}, MISSING) == value
        for client in clients
        for index in range(keys)
    )
