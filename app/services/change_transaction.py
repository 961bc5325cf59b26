"""One write transaction: bumps environment revisions, appends change-log, flag-history and audit rows, then
notifies.

Every state change goes through here, so revision, change log, history and audit can never disagree.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.services.commit_listener import CommitListener
from app.services.errors import InvalidInput
from app.storage import audit_repository, change_log, project_repository
from app.storage.change_log import EntityKind
from app.storage.database import Database
from app.storage.models import AuditEntry, Environment, FlagConfigVersion, FlagDefinition, Segment
from app.storage.stored_values import UnstorableValue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a change: the key's name (never its secret) and the request it came in."""

    name: str
    request_id: str | None = None


class ChangeTransaction:
    def __init__(self, session: Session, actor: Actor) -> None:
        self.session = session
        self.actor = actor
        self.revisions: dict[int, int] = {}
        self.discarded = False

    def bump(self, environment: Environment) -> int:
        """Takes the environment's write lock (before reading what will change) and its next revision."""
        revision = project_repository.bump_revision(self.session, environment.id)
        self.revisions[environment.id] = revision
        environment.revision = revision
        return revision

    def unbump(self, environment: Environment) -> None:
        """Nothing changed in `environment` after all, though this transaction goes on to change something
        else (a scheduled change marking itself run): its revision goes back, under the lock `bump` took."""
        revision = self.revisions.pop(environment.id)
        environment.revision = project_repository.unbump_revision(self.session, environment.id)
        assert environment.revision == revision - 1

    def revision_before(self, environment: Environment) -> int:
        """The revision `bump` found under the environment's lock: the one at which what this transaction read
        holds, and what a write that turns out to change nothing reports. Not the revision read before the
        lock, which a writer committing in between may have passed."""
        # bump_revision adds one in the very statement that takes the lock, so no other writer came between.
        return self.revisions[environment.id] - 1

    def record(
        self,
        environment: Environment,
        kind: EntityKind,
        key: str,
        version: int,
        payload: dict[str, Any] | None,
    ) -> None:
        change_log.append(
            self.session,
            environment_id=environment.id,
            revision=self.revisions[environment.id],
            kind=kind,
            key=key,
            version=version,
            payload=payload,
        )

    def record_flag(
        self, environment: Environment, key: str, version: int, body: dict[str, Any] | None
    ) -> None:
        """A flag's new version in one environment: its history row and its change-log row, always together.

        `body` is the flag in wire format, or None for a deletion."""
        self.session.add(
            FlagConfigVersion(
                environment_id=environment.id,
                flag_key=key,
                version=version,
                revision=self.revisions[environment.id],
                deleted=body is None,
                payload=body,
                actor=self.actor.name,
            )
        )
        self.record(environment, "flag", key, version, body)

    def audit(
        self,
        action: str,
        target_key: str | None,
        *,
        project: str | None,
        environment: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        """Records `action` (`<kind>.<verb>`, e.g. `flag.kill`) on the `<kind>` named `target_key`."""
        audit_repository.append(
            self.session,
            AuditEntry(
                actor=self.actor.name,
                action=action,
                project_key=project,
                environment_key=environment,
                target_kind=action.partition(".")[0],
                target_key=target_key,
                before=before,
                after=after,
                reason=reason,
                request_id=self.actor.request_id,
            ),
        )

    def discard(self) -> None:
        """Nothing changed after all (an idempotent repeat): roll back, including the revision bump."""
        self.discarded = True


def tombstone(row: FlagDefinition | Segment) -> None:
    """Deletes by keeping the row one version on: re-creating it continues its versions, and an SDK holding an
    older version can never be handed that version back."""
    row.deleted = True
    row.version += 1


class ChangeWriter:
    def __init__(self, database: Database, listener: CommitListener) -> None:
        self.database = database
        self.listener = listener

    @contextmanager
    def begin(self, actor: Actor) -> Iterator[ChangeTransaction]:
        with self.database.session() as session:
            change = ChangeTransaction(session, actor)
            try:
                yield change
                if change.discarded:
                    # Detach first: a rollback would expire the rows the caller is about to return.
                    session.expunge_all()
                    session.rollback()
                    return
                session.commit()
            except UnstorableValue as error:
                # Every flush checks what it writes; input checks should have refused this before.
                session.rollback()
                raise InvalidInput(error.message, error.path) from error
            except BaseException:
                session.rollback()
                raise
        for environment_id, revision in sorted(change.revisions.items()):
            try:
                self.listener(environment_id, revision)
            except Exception:
                # The change is committed; a listener failure must not turn it into an error for the caller.
                log.exception(
                    "commit listener failed for environment %s revision %s", environment_id, revision
                )
