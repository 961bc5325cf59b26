"""Sends webhook deliveries: claims those due, POSTs each one signed, records the answer, and retries failures
with exponential backoff until the attempts run out.

A webhook's deliveries are sent one at a time, in order, by whichever replica claims them: a delivery
waiting for its retry holds back the webhook's later ones until it succeeds or fails for good.

No transaction stays open while a receiver answers: a claim commits at once, after moving the delivery's
`next_attempt_at` a lease ahead, so that another replica takes it over only if this one died mid-send. Each
attempt counts in `attempts`, which also fences the result: an answer that comes back after its delivery was
taken over is not recorded. Delivery is therefore at least once; receivers drop repeats by
`X-Flagstaff-Delivery`.

What is signed (docs/releases.md): `X-Flagstaff-Signature: sha256=<hex>`, the HMAC-SHA256
with the webhook's secret of `<X-Flagstaff-Timestamp>.<raw body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from app.settings import Settings
from app.storage import webhook_repository
from app.storage.database import Database
from app.storage.models import utcnow

SIGNATURE_HEADER = "X-Flagstaff-Signature"
TIMESTAMP_HEADER = "X-Flagstaff-Timestamp"
EVENT_HEADER = "X-Flagstaff-Event"
DELIVERY_HEADER = "X-Flagstaff-Delivery"
USER_AGENT = "Flagstaff-Webhook/1"
# What `last_error` keeps of a failed answer's body, or of an error's description.
MAX_ERROR_CHARACTERS = 300
# A round claims no further batch after this long, so that it (and a shutdown waiting for it) ends.
ROUND_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    timeout_seconds: float
    max_attempts: int
    backoff_base_seconds: float
    backoff_cap_seconds: float
    concurrency: int

    @classmethod
    def of(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            timeout_seconds=settings.webhook_timeout_seconds,
            max_attempts=settings.webhook_max_attempts,
            backoff_base_seconds=settings.webhook_backoff_base_seconds,
            backoff_cap_seconds=settings.webhook_backoff_cap_seconds,
            concurrency=settings.webhook_concurrency,
        )

    def backoff(self, failures: int) -> timedelta:
        """The wait after the `failures`th failed attempt: base, then doubled each time, at most the cap."""
        exponent = min(failures - 1, 60)  # 2**60 times any base is past every cap
        return timedelta(seconds=min(self.backoff_cap_seconds, self.backoff_base_seconds * 2**exponent))

    @property
    def lease(self) -> timedelta:
        """How long a claimed delivery is left to its sender: connecting, sending and waiting for the answer
        each take at most the timeout, and a margin for the rest."""
        return timedelta(seconds=4 * self.timeout_seconds)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    attempt: int
    url: str
    secret: str
    event: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None  # the receiver's HTTP status; None when no answer came
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Flagstaff-Signature` value: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>`."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def send(claimed: Claimed, timeout_seconds: float) -> Outcome:
    """One attempt. Any 2xx answer delivers; a redirect, another status or no answer is a failure."""
    body = encode(claimed.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: claimed.event,
        DELIVERY_HEADER: str(claimed.id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(claimed.secret, timestamp, body),
    }
    try:
        with (
            httpx.Client(timeout=timeout_seconds, follow_redirects=False) as client,
            client.stream("POST", claimed.url, content=body, headers=headers) as response,
        ):
            if 200 <= response.status_code < 300:
                return Outcome(response.status_code, None)
            return Outcome(response.status_code, f"HTTP {response.status_code}: {_start_of(response)}")
    except Exception as error:  # an unreachable or misbehaving receiver is the receiver's failure, not ours
        return Outcome(None, _bounded(f"{type(error).__name__}: {error}"))


class WebhookSender:
    def __init__(
        self, database: Database, policy: DeliveryPolicy, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.database = database
        self.policy = policy
        self.clock = clock

    def run_once(self) -> int:
        """One round: sends what is due in batches of up to `concurrency` deliveries, each of another
        webhook; returns how many attempts it made."""
        attempts = 0
        ends = time.monotonic() + ROUND_SECONDS
        while time.monotonic() < ends:
            claimed = self._claim()
            if not claimed:
                break
            for delivery, outcome in zip(claimed, self._send_all(claimed), strict=True):
                self._record(delivery, outcome)
            attempts += len(claimed)
        return attempts

    def _claim(self) -> list[Claimed]:
        with self.database.transaction() as session:
            now = self.clock()
            rows = webhook_repository.claim_due_deliveries(session, now, self.policy.concurrency)
            claimed = []
            for delivery, webhook in rows:
                delivery.attempts += 1
                delivery.next_attempt_at = now + self.policy.lease
                claimed.append(
                    Claimed(
                        delivery.id,
                        delivery.attempts,
                        webhook.url,
                        webhook.secret,
                        delivery.event,
                        delivery.payload,
                    )
                )
            return claimed

    def _send_all(self, claimed: Sequence[Claimed]) -> list[Outcome]:
        timeout = self.policy.timeout_seconds
        if len(claimed) == 1:
            return [send(claimed[0], timeout)]
        with ThreadPoolExecutor(len(claimed), thread_name_prefix="flagstaff-webhook") as pool:
            return list(pool.map(lambda delivery: send(delivery, timeout), claimed))

    def _record(self, claimed: Claimed, outcome: Outcome) -> None:
        with self.database.transaction() as session:
            row = webhook_repository.get_delivery(session, claimed.id, lock=True)
            if row is None or row.status != "pending" or row.attempts != claimed.attempt:
                return  # its webhook was deleted, or another replica took it over after the lease
            now = self.clock()
            row.last_status = outcome.status
            row.last_error = outcome.error
            if outcome.delivered:
                row.status = "delivered"
                row.delivered_at = now
            elif row.attempts >= self.policy.max_attempts:
                row.status = "failed"
            else:
                row.next_attempt_at = now + self.policy.backoff(row.attempts)


def _start_of(response: httpx.Response) -> str:
    """The beginning of an answer's body, read no further than needed."""
    received = b""
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= MAX_ERROR_CHARACTERS:
            break
    return _bounded(received.decode("utf-8", "replace"))


def _bounded(text: str) -> str:
    text = text.replace("\x00", "\ufffd").strip()
    return text if len(text) <= MAX_ERROR_CHARACTERS else text[: MAX_ERROR_CHARACTERS - 1] + "…"
