"""Where a console page is: its project and environment, and the projects the signed-in key may switch to
(the navigation every project page shows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.console.signed_in import ConsoleUser
from app.services.container import Services


@dataclass(frozen=True, slots=True)
class Place:
    project: str
    environment: str = ""


def navigation(services: Services, user: ConsoleUser, project: str, environment: str = "") -> dict[str, Any]:
    """The context every project page's layout needs: `place` and `projects`."""
    return {"place": Place(project, environment), "projects": services.projects.list_projects(user.project)}
