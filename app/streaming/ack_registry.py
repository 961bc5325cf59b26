"""Which SDK instances receive each environment's flags (presence), which revision each has applied
(acknowledgements), and since when that record is complete.

Kept in Redis when configured, so every replica sees what arrived at any replica; in process otherwise.
Deliberately not in the database: acknowledgements are frequent, short-lived and safe to lose. An instance is
named by its SDK key and its own id: only an instance present with a key (streaming or polling) may
acknowledge with that key, so made-up ids are never counted, and nothing is stored for them.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import redis

log = logging.getLogger(__name__)

INSTANCE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""What an SDK may send as its instance id (`X-Flagstaff-Instance`, an acknowledgement's `instance_id`)."""


@dataclass(frozen=True, slots=True)
class Ack:
    revision: int
    at: float
    """Epoch seconds at which the acknowledgement reached a server."""


@dataclass(frozen=True, slots=True)
class Presence:
    instances: dict[str, Ack | None]
    """Each present instance, as "<key id>/<instance id>", with its latest acknowledgement."""
    since: float
    """Epoch seconds since which presence has been recorded without a gap: until a presence TTL later, an
    instance that has not reconnected yet may be missing."""
    origin: str
    """What began the record at `since`, for the report's note ("this server process started")."""
    seen: dict[str, float] = field(default_factory=dict)
    """Epoch seconds each present instance was last seen: its stream's latest presence refresh, or its
    latest recorded poll (a presence TTL before its presence ends)."""


class AckRegistry(Protocol):
    def mark_connected(self, entries: Iterable[tuple[int, str, str]], until: float) -> None:
        """(environment, key id, instance id) of instances receiving flag data, present until `until`.
        Called on every presence refresh, even with no entries: that keeps the record continuous."""

    def mark_disconnected(self, environment_id: int, key_id: str, instance_id: str, at: float) -> None:
        """The instance's stream ended at `at`; its acknowledgement is kept a TTL for a quick reconnect."""

    def record_ack(
        self, environment_id: int, key_id: str, instance_id: str, revision: int, at: float
    ) -> bool:
        """False, storing nothing, unless the instance is present with this key. Raises if not stored."""

    def instances(self, environment_id: int, now: float) -> Presence | None:
        """Present instances and their latest acknowledgement; None if the registry cannot be read."""

    def prune(self, environment_ids: Iterable[int], now: float) -> None:
        """Forgets instances absent for more than a presence TTL, with their acknowledgements (at least in
        these environments)."""


def _member(key_id: str, instance_id: str) -> str:
    return f"{key_id}/{instance_id}"  # unambiguous: neither a key id nor an instance id holds a "/"


class InProcessAckRegistry:
    def __init__(self, presence_ttl_seconds: float) -> None:
        self._ttl = presence_ttl_seconds
        self._since = time.time()
        self._lock = threading.Lock()
        self._until: dict[int, dict[str, float]] = {}
        self._acks: dict[int, dict[str, Ack]] = {}

    def mark_connected(self, entries: Iterable[tuple[int, str, str]], until: float) -> None:
        with self._lock:
            for environment_id, key_id, instance_id in entries:
                present = self._until.setdefault(environment_id, {})
                member = _member(key_id, instance_id)
                present[member] = max(present.get(member, 0.0), until)

    def mark_disconnected(self, environment_id: int, key_id: str, instance_id: str, at: float) -> None:
        with self._lock:
            present = self._until.get(environment_id, {})
            member = _member(key_id, instance_id)
            if member in present:
                present[member] = min(present[member], at)

    def record_ack(
        self, environment_id: int, key_id: str, instance_id: str, revision: int, at: float
    ) -> bool:
        member = _member(key_id, instance_id)
        with self._lock:
            if self._until.get(environment_id, {}).get(member, 0.0) <= at:
                return False
            acks = self._acks.setdefault(environment_id, {})
            current = acks.get(member)
            if current is None or current.revision < revision:  # never moved back by a late acknowledgement
                acks[member] = Ack(revision, at)
            return True

    def instances(self, environment_id: int, now: float) -> Presence | None:
        with self._lock:
            self._prune_locked(environment_id, now)
            acks = self._acks.get(environment_id, {})
            until = {m: t for m, t in self._until.get(environment_id, {}).items() if t > now}
        present = {m: acks.get(m) for m in until}
        seen = {m: t - self._ttl for m, t in until.items()}
        return Presence(present, self._since, "this server process started", seen)

    def prune(self, environment_ids: Iterable[int], now: float) -> None:
        del environment_ids  # in process every environment is cheap to prune
        with self._lock:
            for environment_id in list(self._until):
                self._prune_locked(environment_id, now)

    def _prune_locked(self, environment_id: int, now: float) -> None:
        present = self._until.get(environment_id, {})
        acks = self._acks.get(environment_id, {})
        for member in [m for m, until in present.items() if until <= now - self._ttl]:
            del present[member]
            acks.pop(member, None)
        if not present:
            self._until.pop(environment_id, None)
            self._acks.pop(environment_id, None)


# Stores the acknowledgement only for a present member, and only if its revision is higher than the stored
# one, so a made-up id stores nothing and a late, reordered acknowledgement never moves a revision back.
# KEYS: presence, acks. ARGV: member, revision, epoch ms, now. Returns -1 (absent), 0 (older), 1 (stored).
_RECORD_ACK = """
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) <= tonumber(ARGV[4]) then return -1 end
local current = redis.call('HGET', KEYS[2], ARGV[1])
if current then
  local revision = tonumber(string.match(current, '^(%d+):'))
  if revision and revision >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return 1
"""
# Forgets members absent since before the cutoff, from both keys at once. KEYS: presence, acks. ARGV: cutoff.
_PRUNE = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 1, #gone, 500 do
  local chunk = {unpack(gone, i, math.min(i + 499, #gone))}
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('HDEL', KEYS[2], unpack(chunk))
end
return #gone
"""
# The record's start: set by the first writer or reader after Redis lost it (a restart, a flush, or no server
# for a presence TTL, after which every entry would have expired), and kept alive by every server.
# KEYS: the marker. ARGV: now, TTL in ms. Returns the start.
_SINCE = """
local since = redis.call('GET', KEYS[1])
if not since then
  since = ARGV[1]
  redis.call('SET', KEYS[1], since)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return since
"""
_SINCE_KEY = "fs:present:since"
_ORIGIN = "Redis's record of connected SDKs began afresh (Redis restarted or lost its data, or no server ran)"


class RedisAckRegistry:
    """`fs:present:<env>` is a sorted set of "<key id>/<instance id>" scored by presence expiry (kept a TTL
    past it); `fs:acked:<env>` maps each to "revision:epoch_ms"; `fs:present:since` is when the record began.
    Both per-environment keys expire a TTL after their last presence. A failed read reports the registry
    unavailable rather than raising."""

    def __init__(self, url: str, presence_ttl_seconds: float) -> None:
        self._ttl = presence_ttl_seconds
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._record = self._redis.register_script(_RECORD_ACK)
        self._prune = self._redis.register_script(_PRUNE)
        self._since = self._redis.register_script(_SINCE)

    def mark_connected(self, entries: Iterable[tuple[int, str, str]], until: float) -> None:
        by_environment: dict[int, dict[str, float]] = {}
        for environment_id, key_id, instance_id in entries:
            by_environment.setdefault(environment_id, {})[_member(key_id, instance_id)] = until
        now = time.time()
        expire = max(1, math.ceil(until - now + self._ttl))
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for environment_id, members in by_environment.items():
                    pipe.zadd(_presence(environment_id), members, gt=True)
                    pipe.expire(_presence(environment_id), expire)
                    pipe.expire(_acks(environment_id), expire)
                self._since(keys=[_SINCE_KEY], args=[now, self._ttl_ms()], client=pipe)
                pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not record connected SDK instances: %s", exc)

    def mark_disconnected(self, environment_id: int, key_id: str, instance_id: str, at: float) -> None:
        try:
            self._redis.zadd(_presence(environment_id), {_member(key_id, instance_id): at}, xx=True, lt=True)
        except redis.RedisError as exc:
            log.debug("could not record a disconnected SDK instance: %s", exc)

    def record_ack(
        self, environment_id: int, key_id: str, instance_id: str, revision: int, at: float
    ) -> bool:
        keys = [_presence(environment_id), _acks(environment_id)]
        try:
            stored = self._record(
                keys=keys, args=[_member(key_id, instance_id), revision, int(at * 1000), at]
            )
        except redis.RedisError as exc:
            log.warning("could not record an acknowledgement: %s", exc)
            raise
        return int(stored) >= 0

    def instances(self, environment_id: int, now: float) -> Presence | None:
        presence, acks = _presence(environment_id), _acks(environment_id)
        try:
            with self._redis.pipeline(transaction=True) as pipe:
                self._prune(keys=[presence, acks], args=[now - self._ttl], client=pipe)
                pipe.zrangebyscore(presence, f"({now}", "+inf", withscores=True)
                pipe.hgetall(acks)
                self._since(keys=[_SINCE_KEY], args=[now, self._ttl_ms()], client=pipe)
                _, members, raw_acks, since = pipe.execute()
        except redis.RedisError as exc:
            log.warning("could not read SDK acknowledgements: %s", exc)
            return None
        stored: dict[str, Ack] = {}
        for member, value in raw_acks.items():
            revision, _, at_ms = value.decode().partition(":")
            stored[member.decode()] = Ack(int(revision), int(at_ms) / 1000.0)
        until = {member.decode(): float(score) for member, score in members}
        present = {member: stored.get(member) for member in until}
        seen = {member: score - self._ttl for member, score in until.items()}
        return Presence(present, float(since), _ORIGIN, seen)

    def prune(self, environment_ids: Iterable[int], now: float) -> None:
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                for environment_id in environment_ids:
                    keys = [_presence(environment_id), _acks(environment_id)]
                    self._prune(keys=keys, args=[now - self._ttl], client=pipe)
                pipe.execute()
        except redis.RedisError as exc:
            log.debug("could not prune SDK presence: %s", exc)

    def _ttl_ms(self) -> int:
        return max(1, int(self._ttl * 1000))


def _presence(environment_id: int) -> str:
    return f"fs:present:{environment_id}"


def _acks(environment_id: int) -> str:
    return f"fs:acked:{environment_id}"
