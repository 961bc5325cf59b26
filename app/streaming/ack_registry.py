"""Which SDK instances are connected to each environment and which revision each has applied.

Kept in Redis when configured, so every replica sees acknowledgements that arrived at any replica; in process
otherwise. Deliberately not in the database: acknowledgements are frequent, short-lived and safe to lose.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import redis

log = logging.getLogger(__name__)

_KEY_TTL_SECONDS = 86_400  # an environment nobody streams from forgets its instances after a day
# Keeps the highest revision per instance, so a late, reordered acknowledgement never moves it back.
_RECORD_ACK = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local revision = tonumber(string.match(current, '^(%d+):'))
  if revision and revision >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


@dataclass(frozen=True, slots=True)
class Ack:
    revision: int
    at: float
    """Epoch seconds at which the acknowledgement reached a server."""


class AckRegistry(Protocol):
    def record_ack(
        self, environment_id: int, instance_id: str, revision: int, at: float, until: float
    ) -> None:
        """Also marks the instance connected until `until`; raises if not stored (the SDK retries)."""

    def mark_connected(self, entries: Iterable[tuple[int, str]], until: float) -> None: ...

    def mark_disconnected(self, environment_id: int, instance_id: str) -> None: ...

    def instances(self, environment_id: int, now: float) -> dict[str, Ack | None] | None:
        """Connected instances and their latest acknowledgement; None if the registry cannot be read."""


class InProcessAckRegistry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._present: dict[int, dict[str, float]] = {}
        self._acks: dict[int, dict[str, Ack]] = {}

    def record_ack(
        self, environment_id: int, instance_id: str, revision: int, at: float, until: float
    ) -> None:
        with self._lock:
            acks = self._acks.setdefault(environment_id, {})
            current = acks.get(instance_id)
            if current is None or current.revision < revision:
                acks[instance_id] = Ack(revision, at)
            present = self._present.setdefault(environment_id, {})
            present[instance_id] = max(present.get(instance_id, 0.0), until)

    def mark_connected(self, entries: Iterable[tuple[int, str]], until: float) -> None:
        with self._lock:
            for environment_id, instance_id in entries:
                self._present.setdefault(environment_id, {})[instance_id] = until

    def mark_disconnected(self, environment_id: int, instance_id: str) -> None:
        with self._lock:
            self._present.get(environment_id, {}).pop(instance_id, None)

    def instances(self, environment_id: int, now: float) -> dict[str, Ack | None] | None:
        with self._lock:
            present = self._present.get(environment_id, {})
            for instance_id in [i for i, until in present.items() if until < now]:
                del present[instance_id]
                self._acks.get(environment_id, {}).pop(instance_id, None)
            acks = self._acks.get(environment_id, {})
            return {instance_id: acks.get(instance_id) for instance_id in present}


class RedisAckRegistry:
    """`fs:presence:<env>` is a sorted set of instances scored by expiry; `fs:acks:<env>` maps each instance
    to "revision:epoch_ms". A failed read reports the registry unavailable rather than raising."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._record = self._redis.register_script(_RECORD_ACK)

    def record_ack(
        self, environment_id: int, instance_id: str, revision: int, at: float, until: float
    ) -> None:
        try:
            self._record(
                keys=[_acks(environment_id)], args=[instance_id, revision, int(at * 1000), _KEY_TTL_SECONDS]
            )
            self._redis.zadd(_presence(environment_id), {instance_id: until}, gt=True)
        except redis.RedisError as exc:
            log.warning("could not record an acknowledgement: %s", exc)
            raise

    def mark_connected(self, entries: Iterable[tuple[int, str]], until: float) -> None:
        by_environment: dict[int, dict[str, float]] = {}
        for environment_id, instance_id in entries:
            by_environment.setdefault(environment_id, {})[instance_id] = until
        if not by_environment:
            return
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for environment_id, members in by_environment.items():
                    pipe.zadd(_presence(environment_id), members)
                    pipe.expire(_presence(environment_id), _KEY_TTL_SECONDS)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not record connected SDK instances: %s", exc)

    def mark_disconnected(self, environment_id: int, instance_id: str) -> None:
        try:
            self._redis.zrem(_presence(environment_id), instance_id)
        except redis.RedisError as exc:
            log.debug("could not record a disconnected SDK instance: %s", exc)

    def instances(self, environment_id: int, now: float) -> dict[str, Ack | None] | None:
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.zremrangebyscore(_presence(environment_id), "-inf", now)
                pipe.zrange(_presence(environment_id), 0, -1)
                pipe.hgetall(_acks(environment_id))
                _, members, raw_acks = pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not read SDK acknowledgements: %s", exc)
            return None
        acks: dict[str, Ack] = {}
        for instance, value in raw_acks.items():
            revision, _, at_ms = value.decode().partition(":")
            acks[instance.decode()] = Ack(int(revision), int(at_ms) / 1000.0)
        return {member.decode(): acks.get(member.decode()) for member in members}


def _presence(environment_id: int) -> str:
    return f"fs:presence:{environment_id}"


def _acks(environment_id: int) -> str:
    return f"fs:acks:{environment_id}"
