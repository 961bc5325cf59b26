"""First start: the `default` project with its three environments, and the first admin key.

Idempotent, and safe when several replicas start at once: whoever loses a race finds the work done.
"""

from __future__ import annotations

import contextlib
from typing import TextIO

from sqlalchemy.exc import IntegrityError

from app.auth import api_keys
from app.auth.roles import Role
from app.services.change_transaction import Actor, ChangeWriter
from app.services.errors import Conflict
from app.services.project_service import ProjectService
from app.storage import key_repository, project_repository
from app.storage.database import Database
from app.storage.models import AdminKey

BOOTSTRAP_ACTOR = Actor("flagstaff-bootstrap")
DEFAULT_PROJECT = "default"


def bootstrap(database: Database, writer: ChangeWriter, admin_token: str | None, out: TextIO) -> None:
    with database.transaction() as session:
        has_project = project_repository.any_project(session)
        has_key = key_repository.any_active_admin_key(session)
    if not has_project:
        with contextlib.suppress(Conflict, IntegrityError):
            ProjectService(database, writer).create_project(
                BOOTSTRAP_ACTOR, DEFAULT_PROJECT, "Default project"
            )
    if not has_key:
        new = api_keys.from_token(admin_token) if admin_token else api_keys.generate(api_keys.ADMIN_PREFIX)
        try:
            with writer.begin(BOOTSTRAP_ACTOR) as change:
                if key_repository.any_active_admin_key(change.session):
                    change.discard()
                    return
                change.session.add(
                    AdminKey(
                        key_id=new.key_id,
                        secret_hash=new.secret_hash,
                        name="bootstrap",
                        role=Role.ADMIN.value,
                        project_key=None,
                    )
                )
                change.audit(
                    "admin_key.create",
                    new.key_id,
                    project=None,
                    after={"name": "bootstrap", "role": Role.ADMIN.value, "project": None},
                )
        except IntegrityError:
            return
        if not admin_token:
            out.write(
                "\nNo admin key existed, so one was created. It is shown only this once; store it now:\n\n"
                f"    {new.secret}\n\n"
                "Use it as `Authorization: Bearer <key>`, or sign in to the web console (/console) with it. "
                "Set FLAGSTAFF_ADMIN_TOKEN to choose it yourself.\n\n"
            )
            out.flush()
