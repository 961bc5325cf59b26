"""Use cases for projects and their environments: create, list, read, delete.

A new environment gets every existing flag, switched off, at revision 1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from app.services import lookups, wire_format
from app.services.change_transaction import Actor, ChangeTransaction, ChangeWriter
from app.services.errors import Conflict, InvalidInput
from app.services.read_models import EnvironmentOut, ProjectOut
from app.storage import flag_repository, project_repository
from app.storage.database import Database
from app.storage.models import Environment, FlagConfig, Project

DEFAULT_ENVIRONMENTS = ("development", "staging", "production")
_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def _environment_view(environment: Environment) -> EnvironmentOut:
    return EnvironmentOut.model_validate(environment, from_attributes=True)


def _project_view(session: Session, project: Project) -> ProjectOut:
    environments = project_repository.list_environments(session, project.id)
    return ProjectOut(
        key=project.key, name=project.name, environments=[_environment_view(e) for e in environments]
    )


def check_key(key: str, field: str = "key") -> None:
    if not _KEY.fullmatch(key):
        raise InvalidInput(
            "must be 1-64 characters of lower-case letters, digits, '-', '_' and '.', "
            "starting with a letter or digit",
            field,
        )


class ProjectService:
    def __init__(self, database: Database, writer: ChangeWriter) -> None:
        self.database = database
        self.writer = writer

    def list_projects(self, only: str | None) -> list[ProjectOut]:
        with self.database.transaction() as session:
            return [_project_view(session, p) for p in project_repository.list_projects(session, only)]

    def get_project(self, key: str) -> ProjectOut:
        with self.database.transaction() as session:
            return _project_view(session, lookups.project(session, key))

    def create_project(
        self, actor: Actor, key: str, name: str, environments: Sequence[str] = DEFAULT_ENVIRONMENTS
    ) -> ProjectOut:
        """Creates the project and its environments; returns it as then stored."""
        check_key(key)
        for index, environment_key in enumerate(environments):
            check_key(environment_key, f"environments[{index}]")
        if len(set(environments)) != len(environments):
            raise InvalidInput("environment keys must be unique", "environments")
        with self.writer.begin(actor) as change:
            if project_repository.get_project(change.session, key) is not None:
                raise Conflict(f"project {key!r} already exists", "key")
            project = Project(key=key, name=name or key)
            change.session.add(project)
            change.session.flush()
            for environment_key in environments:
                change.session.add(
                    Environment(project_id=project.id, key=environment_key, name=environment_key)
                )
            change.audit(
                "project.create",
                key,
                project=key,
                after={"name": project.name, "environments": list(environments)},
            )
        return self.get_project(key)

    def delete_project(self, actor: Actor, key: str) -> None:
        with self.writer.begin(actor) as change:
            project = lookups.project(change.session, key)
            change.session.delete(project)
            change.audit("project.delete", key, project=key, before=_named(project))

    def get_environment(self, project_key: str, key: str) -> EnvironmentOut:
        with self.database.transaction() as session:
            return _environment_view(lookups.environment(session, project_key, key)[1])

    def create_environment(self, actor: Actor, project_key: str, key: str, name: str) -> EnvironmentOut:
        check_key(key)
        with self.writer.begin(actor) as change:
            project = lookups.project(change.session, project_key)
            if project_repository.get_environment(change.session, project.id, key) is not None:
                raise Conflict(f"environment {key!r} already exists in project {project_key!r}", "key")
            environment = Environment(project_id=project.id, key=key, name=name or key, revision=0)
            change.session.add(environment)
            change.session.flush()
            _add_existing_flags(change, project, environment)
            change.audit(
                "environment.create", key, project=project_key, environment=key, after=_named(environment)
            )
        return _environment_view(environment)

    def delete_environment(self, actor: Actor, project_key: str, key: str) -> None:
        with self.writer.begin(actor) as change:
            _, environment = lookups.environment(change.session, project_key, key)
            change.session.delete(environment)
            change.audit(
                "environment.delete", key, project=project_key, environment=key, before=_named(environment)
            )


def _named(row: Project | Environment) -> dict[str, Any]:
    """What the audit log records of a project or an environment itself: its name."""
    return {"name": row.name}


def _add_existing_flags(change: ChangeTransaction, project: Project, environment: Environment) -> None:
    definitions = flag_repository.live_definitions(change.session, project.id)
    if not definitions:
        return
    change.bump(environment)
    for definition in definitions:
        config = FlagConfig(
            flag_id=definition.id,
            environment_id=environment.id,
            version=1,
            **wire_format.default_config(definition.kind, definition.variations),
        )
        change.session.add(config)
        change.record_flag(environment, definition.key, 1, wire_format.wire_flag(definition, config))
