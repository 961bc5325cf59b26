"""Importing an Unleash client-features document into one project environment, through the flag services.

Each flag is written as its definition, then its targeting in the environment, parents before the flags that
depend on them. A flag the server refuses is reported and the others still land.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from app.services.change_transaction import Actor
from app.services.errors import InvalidInput, NotFound, ServiceError
from app.services.flag_config_service import FlagConfigService, FlagRef
from app.services.flag_definition_service import FlagDefinitionService
from app.services.input_models import FlagDefinitionIn
from app.services.project_service import ProjectService
from app.services.read_models import ImportedFlag, ImportOut, UnmappedItem
from flagstaff.unleash import import_unleash

REASON = "imported from Unleash"


class UnleashImportService:
    def __init__(
        self, projects: ProjectService, definitions: FlagDefinitionService, configs: FlagConfigService
    ) -> None:
        self.projects = projects
        self.definitions = definitions
        self.configs = configs

    def import_document(self, actor: Actor, project: str, environment: str, document: object) -> ImportOut:
        """Import ``document`` into ``project``/``environment``; raises only if the document is not one."""
        if not isinstance(document, Mapping) or not isinstance(document.get("features"), list):
            raise InvalidInput(
                "must be an Unleash client-features document with a 'features' list", "features"
            )
        self.projects.get_environment(project, environment)  # NotFound before anything is written
        result = import_unleash(document)
        flags: dict[str, dict[str, Any]] = result.snapshot["flags"]
        outcomes = [self._write(actor, project, environment, flags[key]) for key in parents_first(flags)]
        unmapped = [UnmappedItem(flag=u.flag, what=u.what, why=u.why) for u in result.problems]
        return ImportOut(flags=outcomes, unmapped=unmapped)

    def _write(self, actor: Actor, project: str, env: str, flag: Mapping[str, Any]) -> ImportedFlag:
        key = flag["key"]
        try:
            # No name: the key serves as the name, so a bad key is reported by the flag's own check.
            definition = FlagDefinitionIn(
                description=REASON, kind=flag["kind"], variations=flag["variations"], tags=["unleash"]
            )
            try:
                self.definitions.get(project, key)
                created = False
            except NotFound:
                created = True
            self.definitions.put(actor, project, key, definition, None)
            targeting = {
                name: flag[name]
                for name in ("enabled", "off_variation", "rules", "fallthrough", "prerequisites")
                if name in flag
            }
            targeting.setdefault("prerequisites", [])
            self.configs.patch(actor, FlagRef(project, env, key), targeting, None, REASON)
        except ValidationError as error:  # a kind that is not text: the importer writes none
            return ImportedFlag(key=key, status="failed", message=f"invalid: {error.errors()[0]['msg']}")
        except ServiceError as error:
            return ImportedFlag(key=key, status="failed", message=f"{error.code}: {error.message}")
        return ImportedFlag(key=key, status="created" if created else "updated", message="")


def parents_first(flags: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Flag keys, every prerequisite before the flags that name it (the importer writes no cycles)."""
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen or key not in flags:
            return
        seen.add(key)
        for prerequisite in flags[key].get("prerequisites") or []:
            visit(prerequisite["flag"])
        ordered.append(key)

    for key in flags:
        visit(key)
    return ordered
