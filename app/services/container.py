"""Builds every service for one database and commit listener; the app factory holds the result."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.audit_service import AuditService
from app.services.change_transaction import ChangeWriter
from app.services.commit_listener import CommitListener
from app.services.evaluation_service import EvaluationLimits, EvaluationService
from app.services.flag_config_service import FlagConfigService
from app.services.flag_definition_service import FlagDefinitionService
from app.services.key_service import KeyService
from app.services.ofrep_service import OfrepService
from app.services.project_service import ProjectService
from app.services.segment_service import SegmentService
from app.services.snapshot_service import SnapshotService
from app.settings import Settings
from app.storage.database import Database


@dataclass(frozen=True, slots=True)
class Services:
    database: Database
    writer: ChangeWriter
    projects: ProjectService
    flag_definitions: FlagDefinitionService
    flag_configs: FlagConfigService
    segments: SegmentService
    snapshots: SnapshotService
    evaluations: EvaluationService
    audit: AuditService
    keys: KeyService
    ofrep: OfrepService


def build_services(
    database: Database, listener: CommitListener, settings: Settings | None = None
) -> Services:
    snapshots = SnapshotService(database)

    def on_commit(environment_id: int, revision: int) -> None:
        snapshots.note_commit(environment_id, revision)
        listener(environment_id, revision)

    writer = ChangeWriter(database, on_commit)
    return Services(
        database=database,
        writer=writer,
        projects=ProjectService(database, writer),
        flag_definitions=FlagDefinitionService(database, writer),
        flag_configs=FlagConfigService(database, writer),
        segments=SegmentService(database, writer),
        snapshots=snapshots,
        evaluations=EvaluationService(snapshots, EvaluationLimits.of(settings or Settings())),
        audit=AuditService(database),
        keys=KeyService(database, writer, on_sdk_key_revoked=snapshots.poll_cache.forget_key),
        ofrep=OfrepService(snapshots),
    )
