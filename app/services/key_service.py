"""Use cases for admin and SDK keys: authenticate, create (the secret is returned once), list, revoke.

Only hashes are stored; audit entries name keys by name and id, never by secret.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from app.auth import api_keys
from app.auth.roles import Principal, Role
from app.services import lookups
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter
from app.services.errors import NotFound, PermissionDenied
from app.services.read_models import AdminKeyCreated, AdminKeyOut, SdkKeyCreated, SdkKeyOut
from app.storage import console_session_repository, key_repository
from app.storage.database import Database
from app.storage.models import AdminKey, SdkKey, utcnow


def active_admin_key(session: Session, token: str) -> AdminKey | None:
    """The admin key `token` is, if it exists and is not revoked: the one key check, for the API's header
    and the console's sign-in alike."""
    # SDK and client keys never reach admin routes
    if not token or token.startswith((api_keys.SDK_PREFIX, api_keys.CLIENT_PREFIX)):
        return None
    key = key_repository.get_admin_key(session, api_keys.key_id_of(token, api_keys.ADMIN_PREFIX))
    if key is None or key.revoked_at is not None or not api_keys.matches(token, key.secret_hash):
        return None
    return key


def principal_of(key: AdminKey) -> Principal:
    return Principal(key.name, Role(key.role), key.project_key)


def _admin_view(key: AdminKey) -> AdminKeyOut:
    return AdminKeyOut.model_validate(key)


def _sdk_view(key: SdkKey) -> SdkKeyOut:
    return SdkKeyOut.model_validate(key, from_attributes=True)


class KeyService:
    def __init__(
        self,
        database: Database,
        writer: ChangeWriter,
        on_sdk_key_revoked: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.database = database
        self.writer = writer
        self.on_sdk_key_revoked = on_sdk_key_revoked  # so caches of this process drop the key at once

    def authenticate_admin(self, token: str) -> Principal | None:
        with self.database.transaction() as session:
            key = active_admin_key(session, token)
        return None if key is None else principal_of(key)

    def create_admin_key(
        self, actor: Actor, caller: Principal, name: str, role: Role, project: str | None
    ) -> AdminKeyCreated:
        """The new key, with its secret: the only time anything returns it."""
        if caller.project is not None and project != caller.project:
            raise PermissionDenied("a project-scoped key can only create keys for its own project", "project")
        new = api_keys.generate(api_keys.ADMIN_PREFIX)
        with self.writer.begin(actor) as change:
            if project is not None:
                lookups.project(change.session, project)
            key = AdminKey(
                key_id=new.key_id,
                secret_hash=new.secret_hash,
                name=name,
                role=role.value,
                project_key=project,
            )
            change.session.add(key)
            change.audit(
                "admin_key.create",
                new.key_id,
                project=project,
                after={"name": name, "role": role.value, "project": project},
            )
        return AdminKeyCreated(**_admin_view(key).model_dump(), secret=new.secret)

    def list_admin_keys(self, caller: Principal) -> list[AdminKeyOut]:
        with self.database.transaction() as session:
            return [_admin_view(key) for key in key_repository.list_admin_keys(session, caller.project)]

    def revoke_admin_key(self, actor: Actor, caller: Principal, key_id: str) -> AdminKeyOut:
        with self.writer.begin(actor) as change:
            key = key_repository.get_admin_key(change.session, key_id) if _plausible(key_id) else None
            if key is None or (caller.project is not None and key.project_key != caller.project):
                raise NotFound(f"admin key {key_id!r} does not exist", "key_id")
            _revoke(change, key, key.project_key, None, {"name": key.name, "role": key.role})
            # Every request of a console session checks its key anyway; this records when the sessions ended.
            console_session_repository.end_sessions_of_key(change.session, key.id, key.revoked_at or utcnow())
        return _admin_view(key)

    def create_sdk_key(
        self, actor: Actor, project_key: str, environment_key: str, name: str, kind: str = "server"
    ) -> SdkKeyCreated:
        """The new key, with its secret: the only time anything returns it. `kind` `server` makes an `fs_sdk_`
        key; `client` a public `fs_client_` key (OFREP, client-side flags only)."""
        new = api_keys.generate(api_keys.CLIENT_PREFIX if kind == "client" else api_keys.SDK_PREFIX)
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            key = SdkKey(
                key_id=new.key_id,
                secret_hash=new.secret_hash,
                name=name,
                environment_id=environment.id,
                kind=kind,
            )
            change.session.add(key)
            change.audit(
                "sdk_key.create",
                new.key_id,
                project=project_key,
                environment=environment_key,
                after={"name": name, "kind": kind},
            )
        return SdkKeyCreated(**_sdk_view(key).model_dump(), secret=new.secret)

    def list_sdk_keys(self, project_key: str, environment_key: str) -> list[SdkKeyOut]:
        with self.database.transaction() as session:
            _, environment = lookups.environment(session, project_key, environment_key)
            return [_sdk_view(key) for key in key_repository.list_sdk_keys(session, environment.id)]

    def revoke_sdk_key(self, actor: Actor, project_key: str, environment_key: str, key_id: str) -> SdkKeyOut:
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, environment_key)
            key = key_repository.get_sdk_key(change.session, key_id) if _plausible(key_id) else None
            if key is None or key.environment_id != environment.id:
                raise NotFound(f"SDK key {key_id!r} does not exist in {environment_key!r}", "key_id")
            _revoke(change, key, project_key, environment_key, {"name": key.name})
        self.on_sdk_key_revoked(key_id)
        return _sdk_view(key)


def _revoke(
    change: ChangeTransaction,
    key: AdminKey | SdkKey,
    project: str | None,
    environment: str | None,
    before: dict[str, Any],
) -> None:
    """Revokes once: revoking a revoked key changes nothing and is not audited again."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        action = "admin_key.revoke" if isinstance(key, AdminKey) else "sdk_key.revoke"
        change.audit(action, key.key_id, project=project, environment=environment, before=before)


def _plausible(key_id: str) -> bool:
    return len(key_id) <= 32 and "\x00" not in key_id
