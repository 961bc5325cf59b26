"""Web console sessions: signing in with an admin key (any role) for a session token, resolving that token on
every request, signing out, and pruning finished sessions.

The browser holds only the session token; the database holds its hash, never the key. A session is valid while
it is not ended, not past its absolute or idle timeout, and its key is not revoked: that is checked on every
request, so revoking a key ends its sessions at once. Knows nothing of HTTP (cookies are the console's).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.auth import api_keys
from app.auth.roles import Principal
from app.services.change_transaction import Actor, ChangeWriter
from app.services.errors import ServiceError
from app.services.key_service import active_admin_key, principal_of
from app.settings import Settings
from app.storage import console_session_repository
from app.storage.database import Database
from app.storage.models import ConsoleSession, utcnow

STREAM_KEY_PREFIX = "console:"
"""A console page's live stream subscribes to the stream hub under `console:<session id>`, so that the hub's
check of live keys ends it when its session ends (`live_stream_keys`)."""
_MAX_TOKEN_LENGTH = 200
# last_seen_at is written at most this often per session: most page loads are a read, not a write.
_TOUCH_EVERY = timedelta(seconds=30)
_KEEP_FINISHED = timedelta(days=1)  # finished sessions stay this long, for whoever investigates a sign-in


class BadKey(ServiceError):
    """The key given to sign in is not an admin key, or is unknown or revoked."""

    code = "unauthorized"


class TooManyAttempts(ServiceError):
    code = "rate_limited"


@dataclass(frozen=True, slots=True)
class ConsoleIdentity:
    """Who a valid console session belongs to: what they may do, and the session's CSRF token."""

    session_id: int
    principal: Principal
    key_id: str
    csrf_token: str
    expires_at: datetime

    @property
    def stream_key(self) -> str:
        return f"{STREAM_KEY_PREFIX}{self.session_id}"


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    """For the browser's cookie only: shown this once, stored as a hash."""
    identity: ConsoleIdentity


@dataclass(frozen=True, slots=True)
class SessionLimits:
    idle: timedelta
    lifetime: timedelta
    failures_per_minute: int

    @classmethod
    def of(cls, settings: Settings) -> SessionLimits:
        return cls(
            idle=timedelta(minutes=settings.console_session_idle_minutes),
            lifetime=timedelta(hours=settings.console_session_max_hours),
            failures_per_minute=settings.console_sign_in_failures_per_minute,
        )


class FailedSignIns:
    """Failed sign-ins per client address over the last minute, in this process. Bounded: past `max_addresses`
    it starts over rather than grow."""

    def __init__(
        self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_addresses: int = 10_000
    ):
        self._per_minute = per_minute
        self._clock = clock
        self._max_addresses = max_addresses
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address)) >= self._per_minute

    def record(self, address: str) -> None:
        with self._lock:
            if address not in self._failures and len(self._failures) >= self._max_addresses:
                self._failures.clear()
            self._recent(address).append(self._clock())

    def _recent(self, address: str) -> deque[float]:
        found = self._failures.setdefault(address, deque())
        cutoff = self._clock() - 60.0
        while found and found[0] <= cutoff:
            found.popleft()
        return found


class ConsoleSessionService:
    def __init__(self, database: Database, writer: ChangeWriter, limits: SessionLimits) -> None:
        self.database = database
        self.writer = writer
        self.limits = limits
        self.failures = FailedSignIns(limits.failures_per_minute)

    def sign_in(self, key_token: str, client_address: str) -> SignedIn:
        """A new session for the admin key `key_token`, audited as `console.sign_in` by the key's name."""
        if self.failures.blocked(client_address):
            raise TooManyAttempts(
                "too many failed sign-ins from this address; wait a minute and retry", "key"
            )
        key_token = key_token.strip()
        with self.database.transaction() as session:
            key = active_admin_key(session, key_token) if len(key_token) <= _MAX_TOKEN_LENGTH else None
            name = None if key is None else key.name
        if name is None:
            self.failures.record(client_address)
            raise BadKey("not a valid admin key: check it, or ask an admin for a new one", "key")
        token = secrets.token_urlsafe(32)
        now = utcnow()
        with self.writer.begin(Actor(name)) as change:
            key = active_admin_key(change.session, key_token)
            if key is None:  # revoked in between
                raise BadKey("not a valid admin key: check it, or ask an admin for a new one", "key")
            row = ConsoleSession(
                token_hash=api_keys.hash_key(token),
                admin_key_id=key.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + self.limits.lifetime,
                last_seen_at=now,
            )
            change.session.add(row)
            change.session.flush()
            change.audit(
                "console.sign_in",
                key.key_id,
                project=key.project_key,
                after={"key": key.key_id, "role": key.role, "expires_at": row.expires_at.isoformat()},
            )
            identity = ConsoleIdentity(row.id, principal_of(key), key.key_id, row.csrf_token, row.expires_at)
        return SignedIn(token, identity)

    def resolve(self, token: str | None) -> ConsoleIdentity | None:
        """A valid session's identity; None if unknown, signed out, past a timeout, or its key revoked."""
        if not token or len(token) > _MAX_TOKEN_LENGTH:
            return None
        now = utcnow()
        with self.database.transaction() as session:
            found = console_session_repository.get_with_key(session, api_keys.hash_key(token))
            if found is None:
                return None
            row, key = found
            if not self._valid(row, key.revoked_at, now):
                return None
            if now - row.last_seen_at >= _TOUCH_EVERY:
                row.last_seen_at = now
            return ConsoleIdentity(row.id, principal_of(key), key.key_id, row.csrf_token, row.expires_at)

    def sign_out(self, identity: ConsoleIdentity) -> None:
        """Ends the session (audited as `console.sign_out`); signing out twice changes nothing more."""
        with self.writer.begin(Actor(identity.principal.name)) as change:
            row = change.session.get(ConsoleSession, identity.session_id)
            if row is None or row.ended_at is not None:
                change.discard()
                return
            row.ended_at = utcnow()
            change.audit("console.sign_out", identity.key_id, project=identity.principal.project)

    def prune(self) -> int:
        """Deletes sessions finished more than a day ago (a periodic job of every process)."""
        now = utcnow()
        with self.database.transaction() as session:
            return console_session_repository.delete_finished(
                session, before=now - _KEEP_FINISHED, idle_since=now - self.limits.idle - _KEEP_FINISHED
            )

    def _valid(self, row: ConsoleSession, key_revoked_at: datetime | None, now: datetime) -> bool:
        return (
            row.ended_at is None
            and key_revoked_at is None
            and row.expires_at > now
            and row.last_seen_at + self.limits.idle > now
        )


def live_stream_keys(session: Session, stream_keys: Collection[str]) -> set[str]:
    """Those of the console stream keys (`console:<id>`) whose session is neither ended nor expired and whose
    key is not revoked. An open page does not count as idle: only the requests it makes are timed."""
    ids = {
        int(key[len(STREAM_KEY_PREFIX) :]): key
        for key in stream_keys
        if key.startswith(STREAM_KEY_PREFIX) and key[len(STREAM_KEY_PREFIX) :].isdigit()
    }
    if not ids:
        return set()
    live = console_session_repository.live_ids(session, ids, utcnow())
    return {ids[found] for found in live}
