"""Reads and writes admin and SDK key rows (hashes only, never secrets)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.storage.models import AdminKey, Environment, SdkKey


class SdkKeyTarget(NamedTuple):
    secret_hash: str
    revoked: bool
    environment_id: int
    revision: int
    kind: str


def get_admin_key(session: Session, key_id: str) -> AdminKey | None:
    return session.scalar(select(AdminKey).where(AdminKey.key_id == key_id))


def list_admin_keys(session: Session, project: str | None) -> Sequence[AdminKey]:
    query = select(AdminKey).order_by(AdminKey.id)
    if project is not None:
        query = query.where(AdminKey.project_key == project)
    return session.scalars(query).all()


def any_active_admin_key(session: Session) -> bool:
    return session.scalar(select(AdminKey.id).where(AdminKey.revoked_at.is_(None)).limit(1)) is not None


def get_sdk_key(session: Session, key_id: str) -> SdkKey | None:
    return session.scalar(select(SdkKey).where(SdkKey.key_id == key_id))


def list_sdk_keys(session: Session, environment_id: int) -> Sequence[SdkKey]:
    return session.scalars(
        select(SdkKey).where(SdkKey.environment_id == environment_id).order_by(SdkKey.id)
    ).all()


def live_sdk_key_ids(session: Session, key_ids: Collection[str]) -> set[str]:
    """Those of `key_ids` that still exist and are not revoked."""
    rows = session.scalars(
        select(SdkKey.key_id).where(SdkKey.key_id.in_(list(key_ids)), SdkKey.revoked_at.is_(None))
    ).all()
    return set(rows)


def sdk_key_target(session: Session, key_id: str) -> SdkKeyTarget | None:
    """The hot path of `/sdk/v1/flags` and OFREP: the key's hash and kind, and its environment's current
    revision, in one query."""
    row = session.execute(
        select(SdkKey.secret_hash, SdkKey.revoked_at, Environment.id, Environment.revision, SdkKey.kind)
        .join(Environment, Environment.id == SdkKey.environment_id)
        .where(SdkKey.key_id == key_id)
    ).first()
    if row is None:
        return None
    return SdkKeyTarget(row[0], row[1] is not None, int(row[2]), int(row[3]), str(row[4]))
