"""The page of a flag in one environment, gathered from the services: the flag, its history and audit
entries, the segments and prerequisite flags it names, its rollout plans and scheduled changes; rendered with
what an edit form sent back (its values, the refusal at its field, a version conflict) when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.console import flag_forms
from app.console.audit_view import audit_rows
from app.console.console_route import pages
from app.console.flag_detail import (
    flag_url,
    history_items,
    operator_choices,
    rollout_inputs,
    segment_uses,
    switch_state,
    variation_choices,
)
from app.console.place import navigation
from app.console.release_pages import flag_releases
from app.console.sentences import describe_flag
from app.console.signed_in import ConsoleUser
from app.services.container import Services
from app.services.errors import NotFound
from app.services.flag_config_service import FlagRef
from app.services.read_models import SegmentOut

HISTORY_PER_PAGE = 20
AUDIT_ENTRIES = 20


def render_flag_page(
    request: Request,
    services: Services,
    user: ConsoleUser,
    ref: FlagRef,
    *,
    history_before: int | None = None,
    extra: Mapping[str, Any] | None = None,
    status: int = 200,
) -> Response:
    state = services.flag_configs.get(ref)
    flag = state.flag
    targeting = describe_flag(flag, _prerequisite_flags(services, ref, flag))
    entries = services.flag_configs.history(ref, before=history_before, limit=HISTORY_PER_PAGE + 1)
    shown, older = (
        entries[:HISTORY_PER_PAGE],
        entries[HISTORY_PER_PAGE] if len(entries) > HISTORY_PER_PAGE else None,
    )
    submitted: Mapping[str, Mapping[str, str]] = (extra or {}).get("submitted", {})
    audit = services.audit.query(
        project=ref.project, environment=ref.environment, flag=ref.flag, limit=AUDIT_ENTRIES
    )
    context = {
        **navigation(services, user, ref.project, ref.environment),
        "ref": ref,
        "flag_url": flag_url(ref),
        "definition": services.flag_definitions.get(ref.project, ref.flag),
        "environments": services.projects.get_project(ref.project).environments,
        "flag": flag,
        "revision": state.revision,
        "targeting": targeting,
        "segments": segment_uses(targeting.segments, _segments(services, ref, targeting.segments)),
        "variations": variation_choices(flag),
        "operators": operator_choices(),
        "rollout": rollout_inputs(flag, submitted.get("rollout")),
        "serves_one": "variation" in (flag.get("fallthrough") or {}),
        "json_text": submitted.get("json", {}).get("json") or flag_forms.json_text(flag),
        "history": history_items(shown, older, flag["version"]),
        "history_next": shown[-1].version if older is not None else None,
        "audit_rows": audit_rows(audit),
        "state": switch_state(flag, audit),
        "errors": {},
        "submitted": submitted,
        "conflict": None,
        # The flag's plans, schedules and triggers here, with their forms (app/console/release_pages.py).
        "releases": flag_releases(services, ref),
        **(extra or {}),
    }
    return pages(request).render(request, "flag_detail.html", context, status=status)


def _prerequisite_flags(
    services: Services, ref: FlagRef, flag: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The flags this one depends on, so that their variations read as values."""
    found = {}
    for prerequisite in flag.get("prerequisites") or []:
        key = prerequisite.get("flag")
        try:
            found[key] = services.flag_configs.get(FlagRef(ref.project, ref.environment, key)).flag
        except NotFound:
            continue  # the sentence then names the variation by its index
    return found


def _segments(services: Services, ref: FlagRef, keys: tuple[str, ...]) -> dict[str, SegmentOut | None]:
    found: dict[str, SegmentOut | None] = {}
    for key in keys:
        try:
            found[key] = services.segments.get(ref.project, ref.environment, key)
        except NotFound:
            found[key] = None
    return found
