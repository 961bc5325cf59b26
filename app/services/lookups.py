"""Finds the project, environment, flag or segment a request names, or raises NotFound; shared by the use
cases."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.services.errors import NotFound
from app.storage import flag_repository, project_repository, segment_repository
from app.storage.models import Environment, FlagDefinition, Project, Segment

MAX_KEY_LENGTH = 200


def _plausible(key: str) -> bool:
    # No stored key is longer or holds NUL, which PostgreSQL would refuse as a parameter anyway.
    return 0 < len(key) <= MAX_KEY_LENGTH and "\x00" not in key


def project(session: Session, key: str) -> Project:
    found = project_repository.get_project(session, key) if _plausible(key) else None
    if found is None:
        raise NotFound(f"project {key!r} does not exist", "project")
    return found


def environment(session: Session, project_key: str, key: str) -> tuple[Project, Environment]:
    owner = project(session, project_key)
    found = project_repository.get_environment(session, owner.id, key) if _plausible(key) else None
    if found is None:
        raise NotFound(f"environment {key!r} does not exist in project {project_key!r}", "environment")
    return owner, found


def flag(session: Session, owner: Project, key: str, *, lock: bool = False) -> FlagDefinition:
    found = flag_repository.get_definition(session, owner.id, key, lock=lock) if _plausible(key) else None
    if found is None or found.deleted:
        raise NotFound(f"flag {key!r} does not exist in project {owner.key!r}", "flag")
    return found


def segment(session: Session, environment: Environment, key: str) -> Segment:
    found = segment_repository.get_segment(session, environment.id, key) if _plausible(key) else None
    if found is None or found.deleted:
        raise NotFound(f"segment {key!r} does not exist in {environment.key!r}", "segment")
    return found
