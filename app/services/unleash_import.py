"""Importing an Unleash client-features document into one project environment, through the flag services.

Each flag is written as its definition, then its targeting in the environment, parents before the flags that
depend on them. A flag the server refuses is reported and the others still land.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.services.change_transaction import Actor
from app.services.container import Services
from app.services.errors import InvalidInput, NotFound, ServiceError
from app.services.flag_definition_service import DefinitionInput
from flagstaff.unleash import Unmapped, import_unleash

REASON = "imported from Unleash"


@dataclass(frozen=True, slots=True)
class FlagOutcome:
    key: str
    status: str
    """``created``, ``updated`` or ``failed``."""
    message: str = ""


@dataclass(frozen=True, slots=True)
class ImportReport:
    flags: list[FlagOutcome]
    unmapped: list[Unmapped]


def import_unleash_document(
    services: Services, actor: Actor, project: str, environment: str, document: object
) -> ImportReport:
    """Import ``document`` into ``project``/``environment``; raises only if the document is not one."""
    if not isinstance(document, Mapping) or not isinstance(document.get("features"), list):
        raise InvalidInput("must be an Unleash client-features document with a 'features' list", "features")
    services.projects.get_environment(project, environment)  # NotFound before anything is written
    result = import_unleash(document)
    flags: dict[str, dict[str, Any]] = result.snapshot["flags"]
    outcomes = [_write(services, actor, project, environment, flags[key]) for key in parents_first(flags)]
    return ImportReport(outcomes, result.problems)


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


def _write(services: Services, actor: Actor, project: str, env: str, flag: Mapping[str, Any]) -> FlagOutcome:
    key = flag["key"]
    definition = DefinitionInput(
        name=key,
        description=REASON,
        kind=flag["kind"],
        variations=flag["variations"],
        tags=["unleash"],
        temporary=True,
    )
    try:
        try:
            services.flag_definitions.get(project, key)
            created = False
        except NotFound:
            created = True
        services.flag_definitions.put(actor, project, key, definition, None)
        targeting = {
            name: flag[name]
            for name in ("enabled", "off_variation", "rules", "fallthrough", "prerequisites")
            if name in flag
        }
        targeting.setdefault("prerequisites", [])
        services.flag_configs.patch(actor, project, env, key, targeting, None, REASON)
    except ServiceError as error:
        return FlagOutcome(key, "failed", f"{error.code}: {error.message}")
    return FlagOutcome(key, "created" if created else "updated")
