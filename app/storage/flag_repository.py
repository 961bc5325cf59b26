"""Reads and writes flag definitions, their per-environment configs and the config version history.

Rows only: the flag shape is the SDK's; validation, audit and revisions are the services' job.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from app.storage.models import Environment, FlagConfig, FlagConfigVersion, FlagDefinition


def get_definition(
    session: Session, project_id: int, key: str, *, lock: bool = False
) -> FlagDefinition | None:
    """Returns deleted definitions too: a re-created flag continues their versions.

    `lock` holds the row until the transaction ends (PostgreSQL; SQLite serialises every writer), so two
    writers of one definition cannot both start from the same version."""
    query = select(FlagDefinition).where(FlagDefinition.project_id == project_id, FlagDefinition.key == key)
    return session.scalar(query.with_for_update() if lock else query)


def list_definitions(
    session: Session, project_id: int, *, tag: str | None, after: str | None, limit: int
) -> Sequence[FlagDefinition]:
    query = select(FlagDefinition).where(
        FlagDefinition.project_id == project_id, FlagDefinition.deleted.is_(False)
    )
    if tag is not None:
        # Tags are a JSON list stored as text on both backends; the tag's JSON encoding, quotes included,
        # can only occur in that text as a whole element.
        query = query.where(cast(FlagDefinition.tags, String).contains(json.dumps(tag), autoescape=True))
    if after is not None:
        query = query.where(FlagDefinition.key > after)
    return session.scalars(query.order_by(FlagDefinition.key).limit(limit)).all()


def definitions_named(session: Session, project_id: int, keys: Collection[str]) -> Sequence[FlagDefinition]:
    """The live definitions among `keys`, in one query."""
    query = select(FlagDefinition).where(
        FlagDefinition.project_id == project_id,
        FlagDefinition.deleted.is_(False),
        FlagDefinition.key.in_(list(keys)),
    )
    return session.scalars(query.order_by(FlagDefinition.key)).all()


def get_config(session: Session, flag_id: int, environment_id: int) -> FlagConfig | None:
    return session.scalar(
        select(FlagConfig).where(FlagConfig.flag_id == flag_id, FlagConfig.environment_id == environment_id)
    )


def configs_of_flag(session: Session, flag_id: int) -> Sequence[FlagConfig]:
    return session.scalars(select(FlagConfig).where(FlagConfig.flag_id == flag_id)).all()


def live_flags_in_environment(
    session: Session,
    project_id: int,
    environment_id: int,
    *,
    tag: str | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> Sequence[tuple[FlagDefinition, FlagConfig]]:
    definitions = list_definitions(session, project_id, tag=tag, after=after, limit=limit or 2**31 - 1)
    if not definitions:
        return []
    configs = {
        config.flag_id: config
        for config in session.scalars(
            select(FlagConfig).where(
                FlagConfig.environment_id == environment_id,
                FlagConfig.flag_id.in_([d.id for d in definitions]),
            )
        )
    }
    return [(d, configs[d.id]) for d in definitions if d.id in configs]


def live_definitions(session: Session, project_id: int) -> Sequence[FlagDefinition]:
    return session.scalars(
        select(FlagDefinition).where(
            FlagDefinition.project_id == project_id, FlagDefinition.deleted.is_(False)
        )
    ).all()


def history(
    session: Session, environment_id: int, flag_key: str, *, before: int | None, limit: int
) -> Sequence[FlagConfigVersion]:
    query = select(FlagConfigVersion).where(
        FlagConfigVersion.environment_id == environment_id, FlagConfigVersion.flag_key == flag_key
    )
    if before is not None:
        query = query.where(FlagConfigVersion.version < before)
    return session.scalars(query.order_by(FlagConfigVersion.version.desc()).limit(limit)).all()


def get_version(
    session: Session, environment_id: int, flag_key: str, version: int
) -> FlagConfigVersion | None:
    return session.scalar(
        select(FlagConfigVersion).where(
            FlagConfigVersion.environment_id == environment_id,
            FlagConfigVersion.flag_key == flag_key,
            FlagConfigVersion.version == version,
        )
    )


def latest_version(session: Session, environment_id: int, flag_key: str) -> int:
    value = session.scalar(
        select(func.max(FlagConfigVersion.version)).where(
            FlagConfigVersion.environment_id == environment_id, FlagConfigVersion.flag_key == flag_key
        )
    )
    return int(value or 0)


def client_side_keys(session: Session, environment_id: int) -> frozenset[str]:
    """The keys of the environment's live flags whose definition says `client_side`."""
    rows = session.scalars(
        select(FlagDefinition.key)
        .join(Environment, Environment.project_id == FlagDefinition.project_id)
        .where(
            Environment.id == environment_id,
            FlagDefinition.deleted.is_(False),
            FlagDefinition.client_side.is_(True),
        )
    )
    return frozenset(rows)


def last_changes(
    session: Session, project_id: int, environment_id: int, keys: Collection[str] | None = None
) -> dict[str, tuple[str, datetime]]:
    """Who wrote each flag's current version in the environment, and when: flag key -> (actor, at)."""
    query = (
        select(FlagConfigVersion.flag_key, FlagConfigVersion.actor, FlagConfigVersion.created_at)
        .join(
            FlagDefinition,
            (FlagDefinition.project_id == project_id) & (FlagDefinition.key == FlagConfigVersion.flag_key),
        )
        .join(
            FlagConfig,
            (FlagConfig.flag_id == FlagDefinition.id)
            & (FlagConfig.environment_id == FlagConfigVersion.environment_id)
            & (FlagConfig.version == FlagConfigVersion.version),
        )
        .where(FlagConfigVersion.environment_id == environment_id)
    )
    if keys is not None:
        query = query.where(FlagConfigVersion.flag_key.in_(list(keys)))
    return {key: (actor, at) for key, actor, at in session.execute(query)}


class FlagGlance(NamedTuple):
    """What a list of flags shows of each, read as plain columns (no ORM objects): cheap at thousands."""

    key: str
    name: str
    kind: str
    tags: list[Any]
    variations: list[Any]
    enabled: bool
    off_variation: int | None
    fallthrough: dict[str, Any]
    rules: list[Any]
    targets: list[Any]
    version: int


def flags_at_a_glance(
    session: Session, project_id: int, environment_id: int, keys: Collection[str] | None = None
) -> list[FlagGlance]:
    """The live flags of the project (those among `keys`, if given) as in the environment, by key."""
    query = (
        select(
            FlagDefinition.key,
            FlagDefinition.name,
            FlagDefinition.kind,
            FlagDefinition.tags,
            FlagDefinition.variations,
            FlagConfig.enabled,
            FlagConfig.off_variation,
            FlagConfig.fallthrough,
            FlagConfig.rules,
            FlagConfig.targets,
            FlagConfig.version,
        )
        .join(FlagConfig, FlagConfig.flag_id == FlagDefinition.id)
        .where(
            FlagDefinition.project_id == project_id,
            FlagDefinition.deleted.is_(False),
            FlagConfig.environment_id == environment_id,
        )
        .order_by(FlagDefinition.key)
    )
    if keys is not None:
        query = query.where(FlagDefinition.key.in_(list(keys)))
    return [FlagGlance(*row) for row in session.execute(query)]


@dataclass(frozen=True, slots=True)
class FlagSummary:
    key: str
    created_at: datetime
    temporary: bool
    variations: list[Any]


def flag_summaries(session: Session, project_id: int, environment_id: int) -> list[FlagSummary]:
    """The environment's live flags in key order, with only what reports about many flags need: one query,
    no ORM objects, so that it stays cheap at thousands of flags."""
    rows = session.execute(
        select(
            FlagDefinition.key, FlagDefinition.created_at, FlagDefinition.temporary, FlagDefinition.variations
        )
        .join(FlagConfig, FlagConfig.flag_id == FlagDefinition.id)
        .where(
            FlagDefinition.project_id == project_id,
            FlagDefinition.deleted.is_(False),
            FlagConfig.environment_id == environment_id,
        )
        .order_by(FlagDefinition.key)
    )
    return [
        FlagSummary(key, created_at, bool(temporary), list(variations))
        for key, created_at, temporary, variations in rows
    ]
