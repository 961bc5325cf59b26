"""Roles, the route classes they may use, and project scoping.

The policy as data; enforcing it per route is the API layer's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    OPERATOR = "operator"
    READER = "reader"


class Permission(StrEnum):
    READ = "read"  # every GET, and server-side evaluation
    TOGGLE = "toggle"  # on, off, kill: break-glass
    EDIT = "edit"  # flag definitions and configs, segments, revert
    MANAGE = "manage"  # projects, environments, keys


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.EDITOR: frozenset({Permission.READ, Permission.TOGGLE, Permission.EDIT}),
    Role.OPERATOR: frozenset({Permission.READ, Permission.TOGGLE}),
    Role.READER: frozenset({Permission.READ}),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an admin key's name (never its secret), role and scope (None = every project)."""

    name: str
    role: Role
    project: str | None

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    def covers(self, project: str) -> bool:
        return self.project is None or self.project == project
