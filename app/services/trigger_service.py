"""Use cases for monitoring triggers: create (the secret URL is returned once), list, revoke, and fire.

A trigger's secret is its only credential, so only its hash is stored, and an unknown secret answers exactly
as a revoked one. A fire is one flag switch (kill, on or off) audited as `trigger:<name>`, idempotent, and
limited per trigger; the flag write goes through `FlagConfigService.write_in`, never around it.
"""

from __future__ import annotations

from typing import Any

from app.auth import api_keys
from app.services import lookups
from app.services.change_transaction import Actor, ChangeWriter
from app.services.errors import NotFound, RateLimited
from app.services.flag_config_service import FlagConfigService, FlagRef
from app.services.input_models import TriggerIn
from app.services.read_models import TriggerCreated, TriggerFired, TriggerOut
from app.services.trigger_signal import read_signal
from app.storage import trigger_repository
from app.storage.database import Database
from app.storage.models import Trigger, utcnow
from app.streaming.key_rate_limiter import KeyRateLimiter

# action -> (the audit action of the flag write, the state it leaves the flag in)
SWITCHES: dict[str, tuple[str, bool]] = {
    "kill": ("flag.kill", False),
    "on": ("flag.on", True),
    "off": ("flag.off", False),
}
ACTOR_PREFIX = "trigger:"
_FINGERPRINT_LENGTH = 8
_UNKNOWN = "no trigger has this URL (it is unknown or was revoked)"


def _view(trigger: Trigger) -> TriggerOut:
    return TriggerOut(
        id=trigger.id,
        name=trigger.name,
        flag=trigger.flag_key,
        action=trigger.action,
        fire_on_resolved=trigger.fire_on_resolved,
        fingerprint=trigger.secret_hash[:_FINGERPRINT_LENGTH],
        created_by=trigger.created_by,
        created_at=trigger.created_at,
        revoked_at=trigger.revoked_at,
        last_fired_at=trigger.last_fired_at,
        fire_count=trigger.fire_count,
    )


class TriggerService:
    def __init__(
        self,
        database: Database,
        writer: ChangeWriter,
        flag_configs: FlagConfigService,
        fires_per_minute: float,
    ) -> None:
        self.database = database
        self.writer = writer
        self.flag_configs = flag_configs
        # Per process, as the SDK acknowledgement limit: a flapping alert cannot turn into a write storm.
        self.limiter = KeyRateLimiter(fires_per_minute / 60.0, burst=fires_per_minute)

    def create(self, actor: Actor, project_key: str, environment_key: str, new: TriggerIn) -> TriggerCreated:
        """The new trigger with its secret: the only time anything returns it."""
        secret = api_keys.generate_secret(api_keys.TRIGGER_PREFIX)
        with self.writer.begin(actor) as change:
            project, environment = lookups.environment(change.session, project_key, environment_key)
            lookups.flag(change.session, project, new.flag)
            trigger = Trigger(
                environment_id=environment.id,
                flag_key=new.flag,
                name=new.name,
                action=new.action,
                secret_hash=secret.secret_hash,
                fire_on_resolved=new.fire_on_resolved,
                created_by=actor.name,
                fire_count=0,
            )
            change.session.add(trigger)
            change.session.flush()
            change.audit(
                "trigger.create",
                str(trigger.id),
                project=project_key,
                environment=environment_key,
                after=_described(trigger),
            )
        return TriggerCreated(**_view(trigger).model_dump(), secret=secret.secret)

    def list(self, project_key: str, environment_key: str) -> list[TriggerOut]:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            return [_view(row) for row in trigger_repository.list_in_environment(session, environment.id)]

    def get(self, project_key: str, environment_key: str, trigger_id: int) -> TriggerOut:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            return _view(_trigger(trigger_repository.get(session, environment.id, trigger_id), trigger_id))

    def revoke(self, actor: Actor, project_key: str, environment_key: str, trigger_id: int) -> TriggerOut:
        """Revokes once: its URL answers 404 from then on. Revoking again changes nothing, and is not
        audited."""
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            found = trigger_repository.get(change.session, environment.id, trigger_id, lock=True)
            trigger = _trigger(found, trigger_id)
            if trigger.revoked_at is None:
                trigger.revoked_at = utcnow()
                change.audit(
                    "trigger.revoke",
                    str(trigger.id),
                    project=project_key,
                    environment=environment_key,
                    before=_described(trigger),
                )
        return _view(trigger)

    def fire(self, secret: str, body: dict[str, Any] | None, request_id: str | None = None) -> TriggerFired:
        """Performs the trigger's action, unless the body reports a resolved alert and the trigger acts on
        firing only. Repeating a fire changes nothing more (`changed` false) but is counted."""
        target = self._find(secret)
        trigger = target.trigger
        answer = TriggerFired(
            trigger=trigger.name, action=trigger.action, flag=trigger.flag_key, changed=False, revision=None
        )
        # Checked before the body is read: the limit is what keeps a noisy caller off the database.
        wait = self.limiter.take(str(trigger.id))
        if wait > 0:
            raise RateLimited(f"trigger {trigger.name!r} fired too often; retry in {wait:.0f} s", wait)
        signal = read_signal(body)
        if signal.resolved and not trigger.fire_on_resolved:
            return answer.model_copy(update={"ignored": "resolved"})
        action, enabled = SWITCHES[trigger.action]
        reason = signal.reason or f"trigger {trigger.name!r} fired"
        ref = FlagRef(target.project_key, target.environment_key, trigger.flag_key)
        with self.writer.begin(Actor(ACTOR_PREFIX + trigger.name, request_id)) as change:
            # The flag write takes the environment's lock first, as every write does; then the trigger's row,
            # so that a revocation committed meanwhile is seen and nothing is done.
            state = self.flag_configs.write_in(
                change, ref, action, None, reason, lambda _session, _config: {"enabled": enabled}
            )
            locked = trigger_repository.lock(change.session, trigger.id)
            if locked is None or locked.revoked_at is not None:
                raise NotFound(_UNKNOWN)
            locked.fire_count += 1
            locked.last_fired_at = utcnow()
        return answer.model_copy(update={"changed": state.changed, "revision": state.revision})

    def _find(self, secret: str) -> trigger_repository.TriggerTarget:
        plausible = secret.startswith(api_keys.TRIGGER_PREFIX) and len(secret) <= 200 and "\x00" not in secret
        with self.database.transaction() as session:
            found = (
                trigger_repository.by_secret_hash(session, api_keys.hash_key(secret)) if plausible else None
            )
        if (
            found is None
            or found.trigger.revoked_at is not None
            or not api_keys.matches(secret, found.trigger.secret_hash)
        ):
            raise NotFound(_UNKNOWN)
        return found


def _trigger(found: Trigger | None, trigger_id: int) -> Trigger:
    if found is None:
        raise NotFound(f"trigger {trigger_id} does not exist in this environment", "trigger_id")
    return found


def _described(trigger: Trigger) -> dict[str, Any]:
    """A trigger as its audit entries record it: never its secret or hash."""
    return {
        "name": trigger.name,
        "flag": trigger.flag_key,
        "action": trigger.action,
        "fire_on_resolved": trigger.fire_on_resolved,
    }
