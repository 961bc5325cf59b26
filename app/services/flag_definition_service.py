"""Use cases for a flag's project-wide definition: put (create or replace), patch, read, list, delete.

A change to what SDKs evaluate (kind, variations, salt) is a new version of the flag in every environment of
the project, each with a revision bump, a change-log row and a history row; one audit entry covers the whole
change. Descriptive fields (name, description, tags, temporary) are the definition's alone: changing them
moves no environment's revision.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from app.services import environment_snapshot, flag_checks, lookups, wire_format
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter, tombstone
from app.services.errors import Conflict, InvalidInput, PreconditionRequired, check_version
from app.services.input_models import FlagDefinitionIn, FlagDefinitionPatch
from app.services.read_models import FlagDefinitionOut
from app.storage import flag_repository, project_repository
from app.storage.database import Database
from app.storage.models import Environment, FlagConfig, FlagDefinition, utcnow

_DEFINITION_FIELDS = frozenset({"key", "kind", "variations", "salt"})
# `client_side` is set by a PUT, never a PATCH: a PUT is a new revision of every environment, which OFREP's
# compiled snapshots (kept per revision) need to see the change.


def _view(definition: FlagDefinition) -> FlagDefinitionOut:
    return FlagDefinitionOut.model_validate(definition, from_attributes=True)


def _fields(definition: FlagDefinition) -> dict[str, Any]:
    """The definition as a plain object: what the audit log records before and after a change."""
    return _view(definition).model_dump()


class FlagDefinitionService:
    def __init__(self, database: Database, writer: ChangeWriter) -> None:
        self.database = database
        self.writer = writer

    def get(self, project_key: str, flag_key: str) -> FlagDefinitionOut:
        with self.database.transaction() as session:
            return _view(lookups.flag(session, lookups.project(session, project_key), flag_key))

    def get_many(self, project_key: str, keys: Collection[str]) -> dict[str, FlagDefinitionOut]:
        """The live flags among `keys`, by key, in one query; keys naming none are left out."""
        with self.database.transaction() as session:
            project = lookups.project(session, project_key)
            rows = flag_repository.definitions_named(session, project.id, keys) if keys else []
            return {row.key: _view(row) for row in rows}

    def list(
        self, project_key: str, *, tag: str | None, after: str | None, limit: int
    ) -> list[FlagDefinitionOut]:
        with self.database.transaction() as session:
            project = lookups.project(session, project_key)
            rows = flag_repository.list_definitions(session, project.id, tag=tag, after=after, limit=limit)
            return [_view(row) for row in rows]

    def put(
        self,
        actor: Actor,
        project_key: str,
        flag_key: str,
        given: FlagDefinitionIn,
        if_match: int | None,
        *,
        may_replace: bool = True,
    ) -> tuple[FlagDefinitionOut, bool]:
        """Creates or replaces; returns the definition and whether it was created.

        A replacement resets every field `given` leaves out, so with `may_replace` false (an HTTP PUT without
        If-Match) a live flag is only ever re-put unchanged. A live flag's kind never changes."""
        probe = FlagDefinition(key=flag_key)
        _assign(probe, given, flag_key)
        _check_definition(probe)  # before any query, so a malformed key never reaches the database
        with self.writer.begin(actor) as change:
            project = lookups.project(change.session, project_key)
            environments = project_repository.list_environments(change.session, project.id)
            for environment in environments:  # in id order, so concurrent writers lock in the same order
                change.bump(environment)
            definition = flag_repository.get_definition(change.session, project.id, flag_key, lock=True)
            live = definition is not None and not definition.deleted
            check_version(f"flag {flag_key!r}", definition.version if definition and live else None, if_match)
            before = _fields(definition) if definition is not None and live else None
            if definition is None:
                definition = FlagDefinition(project_id=project.id, key=flag_key, version=0)
            _assign(definition, given, flag_key)
            _check_definition(definition)
            change.session.add(definition)
            if before is not None and _same(before, _fields(definition)):
                change.discard()
                return _view(definition), False
            if before is not None:
                _check_replacement(before, definition, may_replace)
            definition.version = (definition.version or 0) + 1
            definition.deleted = False
            definition.updated_at = utcnow()
            change.session.flush()
            for environment in environments:
                _write_config(change, definition, environment, revive=not live)
                if before is not None and len(definition.variations) < len(before["variations"]):
                    # Fewer variations may break another flag's prerequisite on one of the dropped ones.
                    flag_checks.check_references(environment_snapshot.build(change.session, environment))
            change.audit(
                "flag.create" if not live else "flag.update",
                flag_key,
                project=project_key,
                before=before,
                after=_fields(definition),
            )
        return _view(definition), not live

    def patch(
        self,
        actor: Actor,
        project_key: str,
        flag_key: str,
        changes: FlagDefinitionPatch,
        if_match: int | None,
    ) -> FlagDefinitionOut:
        """Changes descriptive fields only: SDKs never see them, so no environment's revision moves."""
        with self.writer.begin(actor) as change:
            project = lookups.project(change.session, project_key)
            definition = lookups.flag(change.session, project, flag_key, lock=True)
            check_version(f"flag {flag_key!r}", definition.version, if_match)
            before = _fields(definition)
            if changes.name is not None:
                definition.name = changes.name or flag_key
            if changes.description is not None:
                definition.description = changes.description
            if changes.tags is not None:
                definition.tags = sorted(set(changes.tags))
            if changes.temporary is not None:
                definition.temporary = changes.temporary
            if _same(before, _fields(definition)):
                change.discard()
                return _view(definition)
            definition.version += 1
            definition.updated_at = utcnow()
            change.audit(
                "flag.update", flag_key, project=project_key, before=before, after=_fields(definition)
            )
        return _view(definition)

    def delete(self, actor: Actor, project_key: str, flag_key: str, if_match: int | None) -> None:
        with self.writer.begin(actor) as change:
            project = lookups.project(change.session, project_key)
            environments = project_repository.list_environments(change.session, project.id)
            for environment in environments:
                change.bump(environment)
            definition = lookups.flag(change.session, project, flag_key, lock=True)
            check_version(f"flag {flag_key!r}", definition.version, if_match)
            for environment in environments:
                flag_checks.check_still_referenced(
                    environment_snapshot.build(change.session, environment, flags={flag_key: None}),
                    f"flag {flag_key!r}",
                )
            before = _fields(definition)
            tombstone(definition)
            for config in flag_repository.configs_of_flag(change.session, definition.id):
                environment = next(e for e in environments if e.id == config.environment_id)
                # A versioned tombstone: an SDK holding the old version can never be handed it back.
                config.version += 1
                change.record_flag(environment, flag_key, config.version, None)
            change.audit("flag.delete", flag_key, project=project_key, before=before)


def _assign(definition: FlagDefinition, given: FlagDefinitionIn, flag_key: str) -> None:
    definition.name = given.name or flag_key
    definition.description = given.description
    definition.kind = given.kind
    definition.variations = given.variations
    definition.tags = sorted(set(given.tags))
    definition.temporary = given.temporary
    definition.client_side = given.client_side
    definition.salt = given.salt if given.salt is not None else (definition.salt or flag_key)


def _check_definition(definition: FlagDefinition) -> None:
    """The definition on its own, with default targeting, before anything is written."""
    variations = definition.variations if isinstance(definition.variations, list) else []
    kind = definition.kind if isinstance(definition.kind, str) else "json"
    flag_checks.check_flag(
        {
            "key": definition.key,
            "kind": definition.kind,
            "variations": definition.variations,
            "salt": definition.salt,
            "version": 1,
            **wire_format.default_config(kind, variations),
        }
    )


def _check_replacement(before: dict[str, Any], definition: FlagDefinition, may_replace: bool) -> None:
    """Refuses the two replacements that break callers silently: a kind change, and an unasked-for reset."""
    key, kind = definition.key, before["kind"]
    if definition.kind != kind:
        # SDK calls typed for the old kind would all answer their default with TYPE_MISMATCH.
        raise Conflict(
            f"flag {key!r} is a {kind} flag and SDKs evaluate it as one; it cannot become a "
            f"{definition.kind} flag while it exists: delete it and create it again, or use a new key",
            "kind",
        )
    if not may_replace:
        version = before["version"]
        raise PreconditionRequired(
            f"flag {key!r} exists (version {version}) and a PUT replaces all of it, resetting every "
            f'field the body leaves out: send If-Match: "{version}" to replace it, or PATCH it to change '
            "single fields",
            "If-Match",
        )


def _same(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return {k: v for k, v in before.items() if k != "version"} == {
        k: v for k, v in after.items() if k != "version"
    }


def _write_config(
    change: ChangeTransaction, definition: FlagDefinition, environment: Environment, *, revive: bool
) -> None:
    # Only called once the definition passed `_check_definition`: kind and variations are well-formed.
    config = flag_repository.get_config(change.session, definition.id, environment.id)
    defaults = wire_format.default_config(definition.kind, definition.variations)
    if config is None:
        config = FlagConfig(flag_id=definition.id, environment_id=environment.id, version=0, **defaults)
        change.session.add(config)
    elif revive:
        wire_format.apply_config(config, defaults)
    config.version = (
        max(config.version, flag_repository.latest_version(change.session, environment.id, definition.key))
        + 1
    )
    config.updated_at = utcnow()
    body = wire_format.wire_flag(definition, config)
    _check_body(body, environment)
    change.record_flag(environment, definition.key, config.version, body)


def _check_body(body: dict[str, Any], environment: Environment) -> None:
    try:
        flag_checks.check_flag(body)
    except InvalidInput as error:
        # Definition fields (kind, variations, salt, key) are the caller's; anything else is an environment's
        # existing targeting that the new definition would break.
        if error.field is not None and error.field.split("[")[0].split(".")[0] not in _DEFINITION_FIELDS:
            error.field = f"environments.{environment.key}.{error.field}"
        raise
